"""Station totals as step functions over time: capped at a station's rating, and added up for a site.

Used by the grid guard (validation) and by the plan's site power view. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from operator import itemgetter

from reconciler.ocpp.schedule import CompositePeriod


def capped(periods: Sequence[CompositePeriod], rated_w: Decimal) -> list[tuple[datetime, Decimal]]:
    """A station total as steps (start, W) that never exceed the rated power; no limit counts as rated."""
    steps: list[tuple[datetime, Decimal]] = []
    for start, _, limit in periods:  # unpacked: a week of minute tariffs is 200,000 periods
        value = rated_w if limit is None or limit > rated_w else limit
        if not steps or steps[-1][1] != value:
            steps.append((start, value))
    return steps


def add_steps(
    lines: Sequence[Sequence[tuple[datetime, Decimal]]], times: Sequence[int] | None = None
) -> list[tuple[datetime, Decimal]]:
    """The sum of step functions that all start at the same moment, at every change of any of them;
    with `times`, each line counted that many times (stations alike counted, not added one by one)."""
    # Every line's changes in one list, put in time order by one sort (each line is in order already).
    changes: list[tuple[datetime, Decimal]] = []
    for index, line in enumerate(lines):
        previous, count = Decimal(0), 1 if times is None else times[index]
        for moment, value in line:
            changes.append((moment, value - previous if count == 1 else (value - previous) * count))
            previous = value
    changes.sort(key=itemgetter(0))
    total, out = Decimal(0), list[tuple[datetime, Decimal]]()
    for index, (moment, change) in enumerate(changes):
        total += change
        last_at_moment = index + 1 == len(changes) or changes[index + 1][0] != moment
        if last_at_moment and (not out or out[-1][1] != total):
            out.append((moment, total))
    return out


def site_total_w(
    stations: Iterable[tuple[Sequence[CompositePeriod], Decimal]],
) -> list[tuple[datetime, Decimal]]:
    """Station totals (periods in W, with the station's rated power) each capped at its rating and added
    up as steps (start, W).

    Stations alike share one total object (the grid guard's cache, the power view's kinds): each such
    total is capped once per rating and counted, and a site of one of them needs no sum."""
    kinds: dict[tuple[int, Decimal], Sequence[CompositePeriod]] = {}
    counts: Counter[tuple[int, Decimal]] = Counter()
    for periods, rated_w in stations:
        key = (id(periods), rated_w)  # the object is held in `kinds`, so its id is not reused meanwhile
        kinds.setdefault(key, periods)
        counts[key] += 1
    lines = [capped(periods, rated_w) for (_, rated_w), periods in kinds.items()]
    times = [counts[key] for key in kinds]
    return lines[0] if times == [1] else add_steps(lines, times)
