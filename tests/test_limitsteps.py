"""Step functions combined in one pass (`limitsteps.combine`) and a station's connectors summed in one
sweep (`limitsteps.summed`) agree with reading each function at every instant, None (no limit) making
a sum unlimited; values stay exact, ints where whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.ocpp.limitsteps import Exact, Steps, combine, exact, lowest, summed

START = datetime(2026, 1, 1, tzinfo=UTC)
values = st.one_of(st.none(), st.fractions(min_value=0, max_value=100, max_denominator=7).map(exact))


whole = st.one_of(st.none(), st.integers(0, 100_000))


@st.composite
def lines(draw: st.DrawFn, limits: st.SearchStrategy[Exact | None] = values) -> Steps:
    """A step function starting at START: increasing moments (seconds after it), any `limits`."""
    offsets = sorted(draw(st.sets(st.integers(1, 200), max_size=12)))
    return [(START + timedelta(seconds=s), draw(limits)) for s in [0, *offsets]]


def _at(line: Steps, moment: datetime) -> Exact | None:
    """The value a step function holds at `moment`: that of its last step starting no later."""
    return [value for start, value in line if start <= moment][-1]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(lines(), min_size=1, max_size=8), st.lists(lines(whole), min_size=1, max_size=8)))
def test_the_sweep_equals_the_sum_read_instant_by_instant(connectors: list[Steps]) -> None:
    """At every moment any connector changes, the sweep holds the sum of each connector's value then,
    exact (an int when whole), and holds it until the next such moment, whether limits are whole or not."""
    total = summed(connectors, START)
    moments = sorted({moment for line in connectors for moment, _ in line})
    assert [moment for moment, _ in total] == moments
    for moment, value in total:
        each = [_at(line, moment) for line in connectors]
        limited = [v for v in each if v is not None]
        assert value == (None if len(limited) < len(each) else sum(limited, Fraction(0)))
        assert value is None or type(value) is (int if value.denominator == 1 else Fraction)


@settings(max_examples=300, deadline=None)
@given(lines(), lines())
def test_combining_equals_the_lowest_read_instant_by_instant(first: Steps, second: Steps) -> None:
    """Two step functions combined hold, from every moment either changes, the lower of their values then
    (the other where one has no limit), one step per such moment."""
    both = combine(first, second, lowest)
    moments = sorted({moment for line in (first, second) for moment, _ in line})
    assert [moment for moment, _ in both] == moments
    for moment, value in both:
        assert value == lowest(_at(first, moment), _at(second, moment))
