"""Reading a charger's composite schedule and comparing it with the expected one (`ocpp.drift`), pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.ocpp.drift import ReportError, Tolerance, Verdict, compare, read_reported
from reconciler.ocpp.schedule import CompositePeriod

from .schedule_builders import at

RATED_W = Decimal(22000)
VOLTAGE_V = Decimal(230)


def periods(*rows: tuple[str, str, int | None]) -> list[CompositePeriod]:
    """Periods from clock times (see `at`) and limits in W."""
    return [CompositePeriod(at(s), at(e), None if w is None else Decimal(w)) for s, e, w in rows]


def conf(*rows: tuple[int, float], unit: str = "W", start: str = "08:00", phases: int | None = None) -> Any:
    """A GetCompositeSchedule.conf with (startPeriod, limit) periods from `start`."""
    return {
        "status": "Accepted",
        "connectorId": 0,
        "scheduleStart": at(start).isoformat().replace("+00:00", "Z"),
        "chargingSchedule": {
            "duration": 21600,
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [
                {"startPeriod": s, "limit": limit, **({"numberPhases": phases} if phases else {})}
                for s, limit in rows
            ],
        },
    }


def read(answer: Any) -> list[CompositePeriod]:
    return read_reported(answer, at("08:00"), 21600, VOLTAGE_V)


def test_a_report_is_laid_out_from_its_start_with_no_limit_before_its_first_period() -> None:
    """Periods start at scheduleStart + startPeriod; before the first one there is no limit."""
    assert read(conf((3600, 11000), (7200, 8000))) == periods(
        ("08:00", "09:00", None), ("09:00", "10:00", 11000), ("10:00", "14:00", 8000)
    )


def test_minus_one_is_no_limit_and_amps_become_watts_with_each_periods_phases() -> None:
    """A -1 limit is no limit; 16 A on one phase at 230 V is 3,680 W, on the default three 11,040 W."""
    assert read(conf((0, -1), (3600, 16), unit="A", phases=1)) == periods(
        ("08:00", "09:00", None), ("09:00", "14:00", 3680)
    )
    assert read(conf((0, 16), unit="A")) == periods(("08:00", "14:00", 11040))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status": "Rejected"}, "answered 'Rejected'"),
        ({"status": "Accepted", "chargingSchedule": [1]}, "not an object"),
        ({"status": "Accepted", "chargingSchedule": {"chargingRateUnit": "kW"}}, "cannot be read"),
        ({"status": "Accepted", "chargingSchedule": {"chargingRateUnit": "W"}}, "cannot be read"),
    ],
)
def test_an_answer_that_is_not_a_schedule_is_a_report_error(answer: Any, message: str) -> None:
    """A refusal, a missing schedule, an unknown unit or no periods is an error naming what is wrong."""
    with pytest.raises(ReportError, match=message):
        read(answer)


def test_an_accepted_answer_without_a_schedule_has_no_limit_anywhere() -> None:
    """A charger with nothing installed may answer Accepted with no schedule: no limit over the window."""
    assert read({"status": "Accepted"}) == periods(("08:00", "14:00", None))


def test_the_three_ways_of_writing_no_limit_all_agree_with_no_limit() -> None:
    """Omitted, -1 and the rated power all match an expected "no limit"; so does a limit above rated."""
    expected = periods(("08:00", "14:00", None))
    for answer in (conf((21600, 5000)), conf((0, -1)), conf((0, 22000)), conf((0, 30000))):
        assert compare(expected, read(answer), RATED_W).verdict is Verdict.IN_SYNC


def test_a_lost_profile_allows_more_from_the_moment_it_is_gone() -> None:
    """Expected 5 kW all day, reported no limit from 12:00: allows more, first differing at 12:00."""
    expected = periods(("08:00", "14:00", 5000))
    reported = periods(("08:00", "12:00", 5000), ("12:00", "14:00", None))
    found = compare(expected, reported, RATED_W)
    assert found.verdict is Verdict.ALLOWS_MORE
    assert found.first_difference == at("12:00")
    assert [(d.start, d.end, d.expected_w, d.reported_w) for d in found.differences] == [
        (at("12:00"), at("14:00"), Decimal(5000), None)
    ]


def test_a_limit_nobody_sent_allows_less() -> None:
    """Reported 7 kW where nothing was expected: a stricter limit (eDRV's own), so allows less."""
    found = compare(periods(("08:00", "14:00", None)), periods(("08:00", "14:00", 7000)), RATED_W)
    assert found.verdict is Verdict.ALLOWS_LESS
    assert found.differences[0].allows_more is False


def test_more_anywhere_outweighs_less_elsewhere() -> None:
    """Less in the morning and more in the afternoon is allows-more: the dangerous half decides."""
    expected = periods(("08:00", "14:00", 8000))
    reported = periods(("08:00", "11:00", 6000), ("11:00", "14:00", 11000))
    assert compare(expected, reported, RATED_W).verdict is Verdict.ALLOWS_MORE


def test_rounding_within_the_tolerance_is_not_drift() -> None:
    """11,040 W reported for 11,000 W expected is within 2%; 11,500 W is not."""
    expected = periods(("08:00", "14:00", 11000))
    assert compare(expected, periods(("08:00", "14:00", 11040)), RATED_W).verdict is Verdict.IN_SYNC
    assert compare(expected, periods(("08:00", "14:00", 11500)), RATED_W).verdict is Verdict.ALLOWS_MORE
    loose = Tolerance(fraction=Decimal("0.05"))
    assert compare(expected, periods(("08:00", "14:00", 11500)), RATED_W, loose).verdict is Verdict.IN_SYNC


def test_clocks_a_few_seconds_apart_are_not_drift() -> None:
    """A step 5 s late agrees within the 10 s alignment; one 30 s late does not."""
    expected = periods(("08:00", "10:00", 5000), ("10:00", "14:00", 8000))

    def late(seconds: int) -> list[CompositePeriod]:
        moved = at("10:00") + timedelta(seconds=seconds)
        return [
            CompositePeriod(at("08:00"), moved, Decimal(5000)),
            CompositePeriod(moved, at("14:00"), Decimal(8000)),
        ]

    assert compare(expected, late(5), RATED_W).verdict is Verdict.IN_SYNC
    assert compare(expected, late(30), RATED_W).verdict is Verdict.ALLOWS_LESS


def test_only_the_stretch_both_cover_is_compared() -> None:
    """A report that starts later than the expectation is compared from its own start."""
    expected = periods(("08:00", "09:00", 3000), ("09:00", "14:00", 8000))
    assert compare(expected, periods(("09:00", "14:00", 8000)), RATED_W).verdict is Verdict.IN_SYNC


HOURS = [at("08:00") + timedelta(hours=h) for h in range(7)]
limits = st.one_of(st.none(), st.integers(min_value=0, max_value=30000).map(Decimal))


def _steps(values: list[Decimal | None]) -> list[CompositePeriod]:
    return [CompositePeriod(HOURS[i], HOURS[i + 1], value) for i, value in enumerate(values)]


@given(st.lists(limits, min_size=6, max_size=6))
def test_a_schedule_always_agrees_with_itself(values: list[Decimal | None]) -> None:
    """Whatever the limits, a charger reporting exactly what is expected is in sync."""
    assert compare(_steps(values), _steps(values), RATED_W) == compare(
        _steps(values), _steps(values), RATED_W
    )
    assert compare(_steps(values), _steps(values), RATED_W).verdict is Verdict.IN_SYNC


@given(st.lists(limits, min_size=6, max_size=6), st.lists(limits, min_size=6, max_size=6))
def test_swapping_expected_and_reported_swaps_more_and_less(
    first: list[Decimal | None], second: list[Decimal | None]
) -> None:
    """The same stretches differ both ways round, and every one that allows more one way allows less the
    other way."""
    there, back = (
        compare(_steps(first), _steps(second), RATED_W),
        compare(_steps(second), _steps(first), RATED_W),
    )
    assert [(d.start, d.end) for d in there.differences] == [(d.start, d.end) for d in back.differences]
    for one, other in zip(there.differences, back.differences, strict=True):
        assert one.allows_more is not other.allows_more
    if there.verdict is Verdict.ALLOWS_LESS:
        assert back.verdict is Verdict.ALLOWS_MORE


def test_datetimes_in_reports_are_aware_utc() -> None:
    """A report's periods are in UTC whatever offset its start was written with."""
    answer = conf((0, 5000))
    answer["scheduleStart"] = "2026-03-02T09:00:00+01:00"
    (period,) = read(answer)
    assert period.start == at("08:00")
    assert period.start.utcoffset() == timedelta(0)
    assert isinstance(period.start, datetime)


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-1, 30)), max_size=30))
def test_a_period_replaces_those_listed_before_it_that_start_at_or_after_it(
    rows: list[tuple[int, int]],
) -> None:
    """However the starts are ordered, each period drops the earlier-listed ones starting at or after it,
    as an answer read one period at a time would: the one-pass reading agrees with filtering anew."""
    start = at("08:00")
    steps: list[tuple[datetime, Decimal | None]] = [(start, None)]
    for offset_s, limit in rows:
        moment = start + timedelta(seconds=offset_s)
        steps = [s for s in steps if s[0] < moment] + [(moment, None if limit < 0 else Decimal(limit))]
    end = start + timedelta(seconds=21600)
    ends = [moment for moment, _ in steps[1:]] + [end]
    expected = [CompositePeriod(s, e, w) for (s, w), e in zip(steps, ends, strict=True) if s < e]
    assert read_reported(conf(*rows), at("08:00"), 21600, VOLTAGE_V) == expected


@st.composite
def laid_out(draw: st.DrawFn) -> list[CompositePeriod]:
    """Periods one after the other, as composites and answers are laid out, on a one-minute grid."""
    out: list[CompositePeriod] = []
    cursor = at("08:00") + timedelta(minutes=draw(st.integers(0, 3)))
    for _ in range(draw(st.integers(0, 12))):
        end = cursor + timedelta(minutes=draw(st.integers(1, 5)))
        out.append(CompositePeriod(cursor, end, draw(st.one_of(st.none(), st.integers(0, 50).map(Decimal)))))
        cursor = end
    return out


@given(laid_out(), laid_out())
def test_the_comparison_agrees_with_reading_both_schedules_minute_by_minute(
    expected: list[CompositePeriod], reported: list[CompositePeriod]
) -> None:
    """Where the two schedules both run, a difference is reported exactly at the minutes their limits
    (capped at the rated power, no limit outside a period) disagree, whatever their lengths."""
    rated_w = Decimal(40)
    found = compare(expected, reported, rated_w, Tolerance(Decimal(0), 0))
    if not expected or not reported:
        assert found.differences == ()
        return

    def value(periods: list[CompositePeriod], moment: datetime) -> Decimal | None:
        held = next((p.limit for p in periods if p.start <= moment < p.end), None)
        return None if held is None or held >= rated_w else held

    start = max(expected[0].start, reported[0].start)
    end = min(expected[-1].end, reported[-1].end)
    minute = start
    while minute < end:
        differs = value(expected, minute) != value(reported, minute)
        assert differs == any(d.start <= minute < d.end for d in found.differences), minute
        minute += timedelta(minutes=1)
