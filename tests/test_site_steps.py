"""Station totals added up for a site (`steps.add_steps`) agree with reading every line at every instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.ocpp.steps import add_steps

START = datetime(2026, 11, 23, 12, tzinfo=UTC)
Line = list[tuple[datetime, Decimal]]


@st.composite
def lines(draw: st.DrawFn) -> Line:
    """A step line from START: changes on some of the first 30 minutes, values in tenths of a watt."""
    minutes = sorted(draw(st.sets(st.integers(1, 30), max_size=8)))
    values = draw(st.lists(st.integers(0, 50), min_size=len(minutes) + 1, max_size=len(minutes) + 1))
    moments = [START, *(START + timedelta(minutes=m) for m in minutes)]
    return [(moment, Decimal(value) / 10) for moment, value in zip(moments, values, strict=True)]


def _at(line: Line, moment: datetime) -> Decimal:
    return [value for start, value in line if start <= moment][-1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(lines(), st.integers(1, 4)), min_size=1, max_size=5))
def test_the_sum_at_every_minute_is_each_line_counted_its_times(counted: list[tuple[Line, int]]) -> None:
    """At every minute the sum holds each line's value times its count, it changes at no moment where
    its value stays, and counting a line n times is adding it n times."""
    lines_, times = [line for line, _ in counted], [count for _, count in counted]
    total = add_steps(lines_, times)
    assert add_steps([line for line, count in counted for _ in range(count)]) == total
    for minute in range(32):
        moment = START + timedelta(minutes=minute)
        assert _at(total, moment) == sum(_at(line, moment) * count for line, count in counted)
    assert total[0][0] == START
    assert all(first[1] != second[1] for first, second in pairwise(total))
