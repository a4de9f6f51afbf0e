"""Station totals as step functions over time: capped at a station's rating, and added up for a site.

Used by the grid guard (validation) and by the plan's site power view. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from reconciler.ocpp.schedule import CompositePeriod


def capped(periods: Sequence[CompositePeriod], rated_w: Decimal) -> list[tuple[datetime, Decimal]]:
    """A station total as steps (start, W) that never exceed the rated power; no limit counts as rated."""
    steps: list[tuple[datetime, Decimal]] = []
    for period in periods:
        value = rated_w if period.limit is None else min(period.limit, rated_w)
        if not steps or steps[-1][1] != value:
            steps.append((period.start, value))
    return steps


def add_steps(
    lines: Sequence[Sequence[tuple[datetime, Decimal]]], times: Sequence[int] | None = None
) -> list[tuple[datetime, Decimal]]:
    """The sum of step functions that all start at the same moment, at every change of any of them;
    with `times`, each line counted that many times (stations alike counted, not added one by one)."""
    changes: dict[datetime, Decimal] = {}
    for index, line in enumerate(lines):
        previous, count = Decimal(0), 1 if times is None else times[index]
        for moment, value in line:
            changes[moment] = changes.get(moment, Decimal(0)) + (value - previous) * count
            previous = value
    total, out = Decimal(0), list[tuple[datetime, Decimal]]()
    for moment in sorted(changes):
        total += changes[moment]
        if not out or out[-1][1] != total:
            out.append((moment, total))
    return out
