"""Limits as step functions over a window, exact (Fractions), for the composite schedule. Pure.

A step function is a list of (start, value) in time order, each value holding until the next start;
None is "no limit". `combine` takes two pointwise (a connector's limit against the station's cap);
`summed` adds a station's connectors in one sweep over all their changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction

Steps = list[tuple[datetime, Fraction | None]]


def combine(
    first: Steps, second: Steps, how: Callable[[Fraction | None, Fraction | None], Fraction | None]
) -> Steps:
    """Two step functions over one window, combined value by value at every change of either."""
    out: Steps = []
    i = j = 0
    for moment in sorted({m for m, _ in first}.union(m for m, _ in second)):
        while i + 1 < len(first) and first[i + 1][0] <= moment:
            i += 1
        while j + 1 < len(second) and second[j + 1][0] <= moment:
            j += 1
        out.append((moment, how(first[i][1], second[j][1])))
    return out


def lowest(a: Fraction | None, b: Fraction | None) -> Fraction | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def summed(lines: Sequence[Steps], start: datetime) -> Steps:
    """Step functions over one window starting at `start`, added value by value at every change of any;
    unlimited (None) wherever one of them is: a connector without a limit may draw anything.

    One sweep keeps the running sum and applies each line's changes as they come: adding the lines one
    to another instead redoes every change so far for each line, the square of a station's connectors.
    """
    # Limits in W from amps are whole watts nearly always: the sum is then kept in plain integers, exact
    # as well and several times faster to add than Fractions, and each step made a Fraction again.
    whole = all(v is None or v.denominator == 1 for line in lines for _, v in line)
    numbers: Sequence[Sequence[tuple[datetime, Fraction | int | None]]] = (
        [[(moment, None if v is None else v.numerator) for moment, v in line] for line in lines]
        if whole
        else lines
    )
    changes: dict[datetime, list[tuple[Fraction | int | None, Fraction | int | None]]] = {start: []}
    for line in numbers:
        for (_, before), (moment, after) in itertools.pairwise(line):
            changes.setdefault(moment, []).append((before, after))
    values = [line[0][1] for line in numbers if line]
    total: Fraction | int = sum((v for v in values if v is not None), 0)
    unlimited = sum(v is None for v in values)
    out: Steps = []
    for moment in sorted(changes):
        for before, after in changes[moment]:
            if before is None:
                unlimited -= 1
            else:
                total -= before
            if after is None:
                unlimited += 1
            else:
                total += after
        out.append((moment, None if unlimited else Fraction(total)))
    return out
