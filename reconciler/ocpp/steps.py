"""Station totals as step functions over time: capped at a station's rating, and added up for a site.

Used by the grid guard (validation) and by the plan's site power view. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
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
