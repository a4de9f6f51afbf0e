"""Limits as step functions over a window, exact, for the composite schedule. Pure.

A step function is a list of (start, value) in time order, each value holding until the next start;
None is "no limit". A value is exact (`Exact`): a whole number as an int, anything else a Fraction.
Limits are whole amperes or watts nearly always, and ints compare, add and take their minimum many
times faster than Fractions do, with the same results. `combine` takes two pointwise (a connector's
limit against the station's cap); `summed` adds a station's connectors in one sweep over all their
changes; `every_day` repeats a day's steps over a window of days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from itertools import pairwise, repeat
from operator import add, itemgetter

Exact = int | Fraction
Steps = list[tuple[datetime, Exact | None]]


def exact(value: Fraction) -> Exact:
    """`value` as an int when it is whole, else itself."""
    return value.numerator if value.denominator == 1 else value


def combine(first: Steps, second: Steps, how: Callable[[Exact | None, Exact | None], Exact | None]) -> Steps:
    """Two step functions over one window, combined value by value at every change of either.

    One pass over both, each being in time order; before a function's first step its first value holds
    (both start at the window's start)."""
    out: Steps = []
    held_first = first[0][1] if first else None
    held_second = second[0][1] if second else None
    i = j = 0  # the next step of each not yet taken
    count_first, count_second = len(first), len(second)
    while i < count_first or j < count_second:
        if j == count_second or (i < count_first and first[i][0] <= second[j][0]):
            moment = first[i][0]
        else:
            moment = second[j][0]
        while i < count_first and first[i][0] == moment:
            held_first = first[i][1]
            i += 1
        while j < count_second and second[j][0] == moment:
            held_second = second[j][1]
            j += 1
        out.append((moment, how(held_first, held_second)))
    return out


def lowest(a: Exact | None, b: Exact | None) -> Exact | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def summed(lines: Sequence[Steps], start: datetime) -> Steps:
    """Step functions over one window starting at `start`, added value by value at every change of any;
    unlimited (None) wherever one of them is: a connector without a limit may draw anything.

    One sweep keeps the running sum and applies each line's changes as they come: adding the lines one
    to another instead redoes every change so far for each line, the square of a station's connectors.
    """
    if len(lines) == 1 and lines[0] and lines[0][0][0] == start:
        return list(lines[0])  # a station of one connector: its total is that connector's line
    # Every line's changes in one list, put in time order by one sort (each line is in order already,
    # which the sort takes runs of): a week of minute tariffs on 30 connectors is 200,000 of them.
    changes = [(moment, before, after) for line in lines for (_, before), (moment, after) in pairwise(line)]
    changes.sort(key=_moment)
    values = [line[0][1] for line in lines if line]
    # Kept in ints while every limit is whole (the sum of Fractions is a Fraction, of ints an int).
    total: Exact = sum((v for v in values if v is not None), 0)
    unlimited = sum(v is None for v in values)
    out: Steps = []
    current = start
    for moment, before, after in changes:
        if moment != current:  # every change at `current` is in: its total holds from there
            out.append((current, None if unlimited else (total if isinstance(total, int) else exact(total))))
            current = moment
        if before is None:
            unlimited -= 1
        else:
            total -= before
        if after is None:
            unlimited += 1
        else:
            total += after
    out.append((current, None if unlimited else (total if isinstance(total, int) else exact(total))))
    return out


_moment = itemgetter(0)


DAY = timedelta(days=1)


def every_day(day: Steps, end: datetime) -> Steps:
    """The steps of a day (they begin at its start) repeated day after day up to `end`, as laying out
    the whole stretch gives them: where a day ends on the value it begins with, no step is added where
    the next one begins."""
    moments = [moment for moment, _ in day]
    values = [value for _, value in day]
    skip = 1 if values[0] == values[-1] else 0  # None only equals None; 16 equals 16 and Fraction(16)
    moments, values = moments[skip:], values[skip:]
    out = list(day)
    shift = DAY
    while moments and day[0][0] + shift < end:
        shifted = list(map(add, moments, repeat(shift)))
        out += zip(shifted[: bisect_left(shifted, end)], values, strict=False)  # the last day cut at `end`
        shift += DAY
    return out
