"""Profiles of one purpose stacked by rank, a step of the composite schedule (`schedule`). Pure.

At every instant the piece of the highest-ranked profile active then shows; lower ones show through
where those above set nothing. A connector's transaction limit and a station's ChargePointMaxProfile are
each one such stack.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from reconciler.ocpp.firmware import CompositeOptions
from reconciler.ocpp.recurrence import LimitPiece, TimedProfile, limit_pieces


def stack(
    profiles: Sequence[TimedProfile],
    rank: Callable[[TimedProfile], tuple[int, ...]],
    start: datetime,
    end: datetime,
    *,
    anchor: datetime | None,
    options: CompositeOptions,
) -> list[LimitPiece]:
    """At every instant the piece of the highest-ranked profile active then; gaps where none is.

    Profiles are laid from the top rank down, each filling only what those above left open. Full ties
    (impossible on a real charger) go to the lower limits, then to a fixed order of the fields, so the
    order of the input never matters."""

    def key(profile: TimedProfile) -> tuple[Any, ...]:
        return (rank(profile), profile.tie_key)

    # Ranks (ids among them) rarely tie, and then order alone; a tie needs the limits, a full tie every
    # field.
    count = len(profiles)
    if len({rank(p) for p in profiles}) == count:
        ordered = sorted(profiles, key=rank, reverse=True)
    else:
        tied = len({key(p) for p in profiles}) < count
        ordered = sorted(profiles, key=lambda p: (*key(p), repr(p)) if tied else key(p), reverse=True)
    covered: list[LimitPiece] = []
    uncovered = end - start
    for index, profile in enumerate(ordered, 1):
        if uncovered <= _NOTHING:
            break  # every instant has its profile: nothing ranked lower shows anywhere
        pieces = limit_pieces(profile, start, end, anchor, recur_before_start=options.recur_before_start)
        floor = profile.min_rate if options.min_rate_raises else None
        if floor is not None:
            pieces = [p._replace(limit=floor) if p.limit < floor else p for p in pieces]
        covered, added = _fill_gaps(covered, pieces)
        if index < count:  # what is left open matters only to a profile ranked lower
            # Pieces lie inside [start, end) (`limit_pieces` clips them to it).
            uncovered -= sum((p.end - p.start for p in added), _NOTHING)
    return covered


_NOTHING = timedelta(0)


def _fill_gaps(upper: list[LimitPiece], lower: list[LimitPiece]) -> tuple[list[LimitPiece], list[LimitPiece]]:
    """`upper` plus the parts of `lower` that `upper` leaves uncovered (both sorted and disjoint), and
    those parts.

    Each piece of `lower` finds the first piece of `upper` that may cover it by bisection, and the parts
    found go in as blocks between slices of `upper`: a connector stacked with 100 profiles of short
    slots fills each where it lies, in time with its own pieces, not with everything stacked above it."""
    if not upper:
        return lower, lower
    added: list[LimitPiece] = []
    blocks: list[tuple[int, list[LimitPiece]]] = []  # parts that go in before upper[index], in order
    index = 0
    for piece in lower:
        cursor = piece.start
        # The first piece above that ends after `cursor` (disjoint and sorted, so their ends are too).
        index = bisect_right(upper, cursor, lo=index, key=_END)
        scan = index
        while cursor < piece.end:
            if scan < len(upper) and upper[scan].start <= cursor:
                cursor = upper[scan].end
                scan += 1
                continue
            gap_end = piece.end if scan == len(upper) else min(piece.end, upper[scan].start)
            part = LimitPiece(cursor, gap_end, piece.limit, piece.unit, piece.number_phases)
            added.append(part)
            if blocks and blocks[-1][0] == scan:
                blocks[-1][1].append(part)
            else:
                blocks.append((scan, [part]))
            cursor = gap_end
    covered: list[LimitPiece] = []
    taken = 0  # the pieces of `upper` already in `covered`
    for where, block in blocks:
        covered += upper[taken:where]
        covered += block
        taken = where
    covered += upper[taken:]
    return covered, added


_END = itemgetter(1)  # a LimitPiece's end
