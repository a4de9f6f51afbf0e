"""Composite schedules worked by hand: the specification's example, stacking, validity, duration,
recurrence and Relative schedules. Units, purposes and connectors are in test_schedule_units.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from reconciler.ocpp.firmware import CompositeOptions, RelativeStart
from reconciler.ocpp.schedule import Installed, composite_schedule

from .schedule_builders import at, on, profile, rows, run

# OCPP 1.6 §3.13.7: 11 kW all day except 6 kW from 08:00 to 20:00 UTC, repeating daily.
SPEC_EXAMPLE = {
    "chargingProfileId": 100,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Recurring",
    "recurrencyKind": "Daily",
    "chargingSchedule": {
        "duration": 86400,
        "startSchedule": "2013-01-01T00:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11000, "numberPhases": 3},
            {"startPeriod": 28800, "limit": 6000, "numberPhases": 3},
            {"startPeriod": 72000, "limit": 11000, "numberPhases": 3},
        ],
    },
}


def _jan(day: int, hour: int) -> datetime:
    return datetime(2013, 1, day, hour, tzinfo=UTC)


def test_specification_example_over_one_day() -> None:
    """The spec's daily profile gives 11 kW to 08:00, 6 kW to 20:00, then 11 kW to midnight."""
    result = composite_schedule([Installed(0, SPEC_EXAMPLE)], 1, _jan(2, 0), 86400)
    assert [(p.start, p.end, p.limit) for p in result] == [
        (_jan(2, 0), _jan(2, 8), Decimal(11000)),
        (_jan(2, 8), _jan(2, 20), Decimal(6000)),
        (_jan(2, 20), _jan(3, 0), Decimal(11000)),
    ]


def test_specification_example_across_midnight_merges_the_evening_and_the_next_morning() -> None:
    """From noon, 20:00 to 08:00 spans two occurrences of the schedule but is one 11 kW period."""
    result = composite_schedule([Installed(0, SPEC_EXAMPLE)], 1, _jan(2, 12), 86400)
    assert [(p.start, p.end, p.limit) for p in result] == [
        (_jan(2, 12), _jan(2, 20), Decimal(6000)),
        (_jan(2, 20), _jan(3, 8), Decimal(11000)),
        (_jan(3, 8), _jan(3, 12), Decimal(6000)),
    ]


def test_specification_example_is_inactive_before_its_start_by_default() -> None:
    """Before its first startSchedule a Recurring profile sets nothing; after it, 11 kW."""
    result = composite_schedule(
        [Installed(0, SPEC_EXAMPLE)], 1, datetime(2012, 12, 31, 20, tzinfo=UTC), 28800
    )
    assert [(p.start, p.end, p.limit) for p in result] == [
        (datetime(2012, 12, 31, 20, tzinfo=UTC), _jan(1, 0), None),
        (_jan(1, 0), _jan(1, 4), Decimal(11000)),
    ]


def test_recurring_before_start_repeats_backwards_when_asked() -> None:
    """With recur_before_start, 20:00-24:00 of the day before is the previous run's 11 kW evening."""
    options = CompositeOptions(recur_before_start=True)
    result = composite_schedule(
        [Installed(0, SPEC_EXAMPLE)], 1, datetime(2012, 12, 31, 20, tzinfo=UTC), 28800, options=options
    )
    assert [(p.start, p.end, p.limit) for p in result] == [
        (datetime(2012, 12, 31, 20, tzinfo=UTC), _jan(1, 4), Decimal(11000))
    ]


BASE = profile(level=0, periods=((0, 7000),))


def test_lower_stack_level_shows_where_the_higher_one_has_ended() -> None:
    """A one-hour level-5 profile at 10:00 wins for its hour; level 0 holds before and after."""
    top = profile(level=5, start="10:00", duration=3600, periods=((0, 3000),))
    assert run(on(1, BASE, top)) == rows(
        ("08:00", "10:00", 7000), ("10:00", "11:00", 3000), ("11:00", "14:00", 7000)
    )


def test_profile_not_yet_valid_lets_the_lower_level_show() -> None:
    """A higher profile started at 06:00 but valid only from 10:00 takes over at 10:00."""
    top = profile(level=5, start="06:00", valid_from="10:00", periods=((0, 3000),))
    assert run(on(1, BASE, top)) == rows(("08:00", "10:00", 7000), ("10:00", "14:00", 3000))


def test_valid_to_is_exclusive() -> None:
    """A profile valid to 12:00 no longer applies at 12:00 itself: the lower level starts there."""
    top = profile(level=5, valid_to="12:00", periods=((0, 3000),))
    assert run(on(1, BASE, top)) == rows(("08:00", "12:00", 3000), ("12:00", "14:00", 7000))


def test_before_start_schedule_with_nothing_below_is_no_limit() -> None:
    """An Absolute profile starting at 10:00 leaves 08:00-10:00 without a limit."""
    late = profile(start="10:00", periods=((0, 5000),))
    assert run(on(1, late)) == rows(("08:00", "10:00", None), ("10:00", "14:00", 5000))


def test_duration_shorter_than_the_periods_drops_the_rest() -> None:
    """Duration 5,400 s ends the schedule at 09:30: the period due at 10:00 never runs."""
    short = profile(start="08:00", duration=5400, periods=((0, 5000), (3600, 4000), (7200, 3000)))
    assert run(on(1, short)) == rows(
        ("08:00", "09:00", 5000), ("09:00", "09:30", 4000), ("09:30", "14:00", None)
    )


def test_duration_longer_than_the_periods_keeps_the_last_limit() -> None:
    """The last period (from 08:30) holds until the duration ends at 10:00."""
    long = profile(start="08:00", duration=7200, periods=((0, 5000), (1800, 4000)))
    assert run(on(1, long)) == rows(
        ("08:00", "08:30", 5000), ("08:30", "10:00", 4000), ("10:00", "14:00", None)
    )


def test_daily_recurrence_with_a_short_duration_falls_back_each_day() -> None:
    """A daily 06:00-14:00 cap of 4 kW over a 9 kW base, over two days from midnight."""
    base = profile(level=0, periods=((0, 9000),))
    cap = profile(
        level=3, kind="Recurring", recurrency="Daily", start="06:00", duration=28800, periods=((0, 4000),)
    )
    assert run(on(1, base, cap), start="00:00", hours=48) == rows(
        ("00:00", "06:00", 9000),
        ("06:00", "14:00", 4000),
        ("14:00", "3T06:00", 9000),
        ("3T06:00", "3T14:00", 4000),
        ("3T14:00", "4T00:00", 9000),
    )


def test_recurring_schedule_longer_than_its_day_is_cut_at_the_next_occurrence() -> None:
    """A 100,000 s daily schedule restarts at midnight: its period from 25:00 never runs."""
    long = profile(
        kind="Recurring",
        recurrency="Daily",
        duration=100000,
        periods=((0, 5000), (79200, 3000), (90000, 1000)),
    )
    assert run(on(1, long), start="20:00") == rows(
        ("20:00", "22:00", 5000), ("22:00", "3T00:00", 3000), ("3T00:00", "3T02:00", 5000)
    )


def test_weekly_recurrence_across_the_window_edges() -> None:
    """A weekly schedule from Monday (22 kW, 11 kW from Friday) seen from Sunday noon to Tuesday."""
    weekly = profile(kind="Recurring", recurrency="Weekly", periods=((0, 22000), (345600, 11000)))
    assert run(on(0, weekly), start="8T12:00", hours=36) == rows(
        ("8T12:00", "9T00:00", 11000), ("9T00:00", "10T00:00", 22000)
    )


RAMP = profile(kind="Relative", start=None, duration=3600, periods=((0, 3000), (1800, 6000)))


def test_relative_schedule_starts_at_the_session_start() -> None:
    """With a session from 09:15, the ramp runs 09:15-09:45 at 3 kW and 09:45-10:15 at 6 kW."""
    assert run(on(1, RAMP), start="09:00", hours=2, sessions={1: at("09:15")}) == rows(
        ("09:00", "09:15", None), ("09:15", "09:45", 3000), ("09:45", "10:15", 6000), ("10:15", "11:00", None)
    )


def test_relative_schedule_without_session_starts_at_the_window_start_by_default() -> None:
    """Without a session the ramp is anchored at the window start, as libocpp does."""
    assert run(on(1, RAMP), start="09:00", hours=2) == rows(
        ("09:00", "09:30", 3000), ("09:30", "10:00", 6000), ("10:00", "11:00", None)
    )


def test_relative_schedule_without_session_can_be_inactive() -> None:
    """With RelativeStart.INACTIVE a Relative schedule needs a session, as MicroOcpp does."""
    options = CompositeOptions(relative_without_session=RelativeStart.INACTIVE)
    assert run(on(1, RAMP), start="09:00", hours=2, options=options) == rows(("09:00", "11:00", None))


def test_absolute_without_start_schedule_is_anchored_like_a_relative_one() -> None:
    """A session cap written without startSchedule starts with the session (10:00) and lasts its hour."""
    cap = profile("TxProfile", start=None, duration=3600, periods=((0, 2000),))
    assert run(on(1, BASE, cap), sessions={1: at("10:00")}) == rows(
        ("08:00", "10:00", 7000), ("10:00", "11:00", 2000), ("11:00", "14:00", 7000)
    )


def test_non_increasing_periods_are_dropped() -> None:
    """A period whose start goes back in time (1,800 s after 3,600 s) is ignored."""
    odd = profile(start="08:00", periods=((0, 5000), (3600, 4000), (1800, 3000)))
    assert run(on(1, odd)) == rows(("08:00", "09:00", 5000), ("09:00", "14:00", 4000))


def test_a_first_period_after_zero_leaves_the_lower_level_before_it() -> None:
    """A schedule whose first period starts at 1,800 s sets nothing for its first half hour."""
    late_first = profile(level=5, start="08:00", periods=((1800, 5000),))
    assert run(on(1, BASE, late_first)) == rows(("08:00", "08:30", 7000), ("08:30", "14:00", 5000))


def test_adjacent_periods_with_equal_limits_merge() -> None:
    """Level 5 at 6 kW from 10:00 to 11:00 over level 0 at 6 kW is one 6 kW period."""
    equal = profile(level=5, start="10:00", duration=3600, periods=((0, 6000),))
    assert run(on(1, profile(periods=((0, 6000),)), equal)) == rows(("08:00", "14:00", 6000))


def test_tie_in_one_slot_goes_to_the_higher_profile_id() -> None:
    """Two profiles in one (connector, purpose, level) slot: the higher id wins, in either order."""
    older = profile(level=2, periods=((0, 3000),), profile_id=7)
    newer = profile(level=2, periods=((0, 8000),), profile_id=9)
    assert run(on(1, older, newer)) == run(on(1, newer, older)) == rows(("08:00", "14:00", 8000))


def test_window_given_with_an_offset_comes_back_in_utc() -> None:
    """A window start of 10:00+02:00 is 08:00 UTC, and every period is reported in UTC."""
    start = datetime.fromisoformat("2026-03-02T10:00:00+02:00")
    result = composite_schedule(on(1, BASE), 1, start, 3600)
    assert [(p.start, p.end, p.limit) for p in result] == rows(("08:00", "09:00", 7000))
    assert result[0].start.tzinfo is UTC


def test_limits_written_as_floats_stay_exact() -> None:
    """8.1 A read from JSON as a float is 8.1 A, not the binary double below it."""
    amps = profile(unit="A", periods=((0, 8.1),))
    assert run(on(1, amps), unit="A") == rows(("08:00", "14:00", "8.1"))


def test_min_charging_rate_does_not_raise_a_limit() -> None:
    """minChargingRate 6 A beside a 4 A limit leaves the limit at 4 A."""
    amps = profile(unit="A", periods=((0, 4),))
    amps["chargingSchedule"]["minChargingRate"] = 6
    assert run(on(1, amps), unit="A") == rows(("08:00", "14:00", 4))


@pytest.mark.parametrize(
    ("start", "connector_id", "duration_s", "payload", "message"),
    [
        (datetime(2026, 3, 2, 8), 1, 3600, BASE, "aware"),  # noqa: DTZ001 - the naive start is the point
        (at("08:00"), -1, 3600, BASE, "start at 0"),
        (at("08:00"), 1, 0, BASE, "at least one second"),
        (at("08:00"), 1, 3600, {"chargingProfileId": 1}, "lacks"),
    ],
)
def test_bad_requests_are_refused(
    start: datetime, connector_id: int, duration_s: int, payload: dict[str, object], message: str
) -> None:
    """A naive start, a negative connector, an empty window or a schedule-less payload is a ValueError."""
    with pytest.raises(ValueError, match=message):
        composite_schedule([Installed(1, payload)], connector_id, start, duration_s)
