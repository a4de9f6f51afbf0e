"""The site's clock and local-time schedules: offset periods, texts people read, compiled profiles.

The exactness of compiled profiles across every change of 2026-2028 is proved in `test_localtime_dst`;
these pin the parts: how `at` is read, where a compiled schedule starts and ends in its cycle, which
levels and bounds the profiles take, and how moments are written.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired.clock import SiteClock
from reconciler.desired.loader import zone
from reconciler.desired.localtime import LocalEntry, cycle_periods, parse_at
from reconciler.desired.validate import DesiredSite, check_site
from reconciler.desired.yamlread import parse

BERLIN = SiteClock("Europe/Berlin", zoneinfo.ZoneInfo("Europe/Berlin"))
SPRING_2027 = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
AUTUMN_2026 = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
AUTUMN_2027 = datetime(2027, 10, 31, 1, 0, tzinfo=UTC)


def _site_text(timezone: str, local: str = '[{at: "07:00", limit: 10}, {at: "19:00", limit: 16}]') -> str:
    """A one-station depot in `timezone` whose daily default gives its periods as wall-clock times."""
    return f"""
site: {{name: Depot, timezone: {timezone}}}
stations:
  CS-1:
    connectors: 1
    rated_power_kw: 22
    profiles:
      office-hours:
        connectorId: 0
        stackLevel: 20
        chargingProfilePurpose: TxDefaultProfile
        chargingProfileKind: Recurring
        recurrencyKind: Daily
        chargingSchedule: {{chargingRateUnit: A, local: {local}}}
"""


def _site(
    timezone: str, now: datetime, local: str = '[{at: "07:00", limit: 10}, {at: "19:00", limit: 16}]'
) -> DesiredSite:
    site, findings = check_site("depot", "depot.yaml", parse(_site_text(timezone, local)), now, zone)
    assert not findings, findings
    assert site is not None
    return site


def test_at_reads_a_time_after_a_weekday_or_a_range_that_may_wrap() -> None:
    """`07:00` has no weekday; `Sat 00:00` one; `Mon-Fri 07:00` five; `Sat-Mon 22:30` wraps past Sunday."""
    assert parse_at("07:00") == (None, 7 * 3600)
    assert parse_at("Sat 00:00") == ((5,), 0)
    assert parse_at("Mon-Fri 07:00") == ((0, 1, 2, 3, 4), 7 * 3600)
    assert parse_at("Sat-Mon 22:30") == ((5, 6, 0), 22 * 3600 + 1800)
    with pytest.raises(ValueError, match="not a wall-clock time"):
        parse_at("7:00")


def test_times_in_yaml_are_text_not_base_60_numbers() -> None:
    """YAML 1.1 reads an unquoted 19:00 as 1140; site files read it as the time it is, like 07:00."""
    assert parse("a: 19:00\nb: 07:00\nc: 12\nd: 1.5") == {"a": "19:00", "b": "07:00", "c": 12, "d": 1.5}


def test_a_cycle_without_a_gap_starts_at_its_first_time_and_runs_whole() -> None:
    """Without `limit: null` the schedule starts at the earliest time and runs the full day; the last
    period carries over midnight into the first."""
    items = [LocalEntry(7 * 3600, Decimal(10), None, 0), LocalEntry(19 * 3600, Decimal(16), None, 1)]
    start, duration, order = cycle_periods(items, 86400)
    assert (start, duration, [e.index for e in order]) == (7 * 3600, 86400, [0, 1])


def test_a_cycle_with_a_gap_starts_after_it_and_ends_where_it_begins() -> None:
    """`17:00 7.4 kW, 20:00 null, 06:00 5 kW`: the schedule starts at 06:00 and lasts 14 h, leaving
    20:00-06:00 to lower stack levels."""
    items = [
        LocalEntry(6 * 3600, Decimal(5000), None, 2),
        LocalEntry(17 * 3600, Decimal(7400), None, 0),
        LocalEntry(20 * 3600, None, None, 1),
    ]
    start, duration, order = cycle_periods(items, 86400)
    assert (start, duration, [e.index for e in order]) == (6 * 3600, 14 * 3600, [2, 0])


def test_a_profile_compiles_into_the_period_in_force_and_the_next_on_two_levels() -> None:
    """In winter, level 20 holds winter time until the spring change and level 21 summer time from it,
    with no end; each recurrence starts at 07:00 on that offset, on or before its period's start."""
    winter, summer = _site("Europe/Berlin", datetime(2026, 11, 23, 12, tzinfo=UTC)).profiles["CS-1"]
    assert (winter.name, summer.name) == ("office-hours@20", "office-hours@21")
    assert (winter.profile.valid_from, winter.profile.valid_to) == (
        "2026-10-25T01:00:00Z",
        "2027-03-28T01:00:00Z",
    )
    assert (summer.profile.valid_from, summer.profile.valid_to) == ("2027-03-28T01:00:00Z", None)
    assert winter.profile.schedule.start_schedule == "2026-10-24T06:00:00Z"  # 07:00 CET
    assert summer.profile.schedule.start_schedule == "2027-03-27T05:00:00Z"  # 07:00 CEST
    assert [(p.start_period_s, p.limit) for p in summer.profile.schedule.periods] == [
        (0, Decimal(10)),
        (43200, Decimal(16)),
    ]
    assert summer.profile.schedule.duration_s == 86400
    assert summer.local is not None
    assert (summer.local.start, summer.local.levels) == (SPRING_2027, (20, 21))


def test_the_period_in_force_keeps_its_level_and_the_next_takes_the_one_left_free() -> None:
    """After the spring change summer time stays on level 21, now ending in autumn, and level 20,
    which winter left, takes the next winter."""
    summer, winter = sorted(
        _site("Europe/Berlin", datetime(2027, 4, 10, tzinfo=UTC)).profiles["CS-1"],
        key=lambda p: p.name,
        reverse=True,
    )
    assert (summer.name, summer.profile.valid_from, summer.profile.valid_to) == (
        "office-hours@21",
        "2027-03-28T01:00:00Z",
        "2027-10-31T01:00:00Z",
    )
    assert (winter.name, winter.profile.valid_from, winter.profile.valid_to) == (
        "office-hours@20",
        "2027-10-31T01:00:00Z",
        None,
    )


def test_a_zone_without_changes_gets_one_profile_without_bounds() -> None:
    """Asia/Kolkata changes its offset no more: one profile, valid as soon as received, never ending."""
    (only,) = _site("Asia/Kolkata", datetime(2026, 11, 23, 12, tzinfo=UTC)).profiles["CS-1"]
    assert (only.name, only.profile.valid_from, only.profile.valid_to) == ("office-hours@20", None, None)
    assert only.profile.schedule.start_schedule == "2000-01-03T01:30:00Z"  # 07:00 IST


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(
        ["Europe/Berlin", "Australia/Lord_Howe", "Africa/Casablanca", "America/Nuuk", "UTC"]
    ),
    seconds=st.integers(min_value=0, max_value=30 * 365 * 86400),
)
def test_offset_periods_hold_their_moment_and_take_turns(name: str, seconds: int) -> None:
    """The period of a moment (2001-2030) holds it, has its offset, and the next period takes the
    other turn and starts where this one ends."""
    clock = SiteClock(name, zoneinfo.ZoneInfo(name))
    moment = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    period = clock.offset_period(moment)
    assert period.start is None or period.start <= moment
    assert period.end is None or moment < period.end
    assert period.offset == moment.astimezone(clock.tz).utcoffset()
    if period.start is not None:
        assert clock.offset_period(period.start).turn == period.turn
        assert (period.start - timedelta(seconds=1)).astimezone(clock.tz).utcoffset() != period.offset
    if period.end is not None:
        after = clock.offset_period(period.end)
        assert (after.start, after.turn) == (period.end, 1 - period.turn)
        assert after.offset != period.offset


def test_moments_are_written_in_the_sites_wall_clock_time() -> None:
    """Stamps carry the zone's own name, or the offset where it has none; seconds only when present."""
    moment = datetime(2026, 11, 23, 12, 0, 7, 500, tzinfo=UTC)
    assert BERLIN.stamp(moment) == "2026-11-23 13:00:07 CET"
    assert BERLIN.stamp(SPRING_2027, weekday=True) == "Sun 2027-03-28 03:00 CEST"
    assert BERLIN.stamp(SPRING_2027, zone=False) == "2027-03-28 03:00"
    assert BERLIN.mention(SPRING_2027) == "Sun 2027-03-28 03:00 CEST (2027-03-28T01:00:00Z)"
    assert SiteClock("UTC", UTC).mention(SPRING_2027) == "2027-03-28T01:00:00Z"
    assert BERLIN.zone(moment) == "Europe/Berlin, CET (UTC+01:00)"
    lord_howe = SiteClock("Australia/Lord_Howe", zoneinfo.ZoneInfo("Australia/Lord_Howe"))
    assert lord_howe.zone(moment) == "Australia/Lord_Howe, UTC+11:00"
    st_johns = SiteClock("America/St_Johns", zoneinfo.ZoneInfo("America/St_Johns"))
    assert st_johns.offset_text(moment) == "UTC-03:30"
    assert SiteClock("UTC", UTC).zone(moment) == "UTC"


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(["Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "UTC"]),
    seconds=st.lists(st.integers(min_value=0, max_value=3 * 365 * 86400), min_size=1, max_size=30),
    zoned=st.booleans(),
)
def test_the_parts_of_many_moments_are_their_stamps(name: str, seconds: list[int], zoned: bool) -> None:
    """Read on the clock many at once (a schedule's bounds, each day's date written once), each moment's
    weekday, date and time of day are its stamp, zone and seconds as `stamp` writes them."""
    clock = SiteClock(name, zoneinfo.ZoneInfo(name))
    moments = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in sorted(seconds)]
    walls = clock.walls(moments, zone=zoned)
    assert [" ".join(parts) for parts in walls] == [clock.stamp(m, weekday=True, zone=zoned) for m in moments]


def test_a_window_names_each_change_of_offset_in_it() -> None:
    """A heading over a window across the spring change says both offsets and when the second begins."""
    assert BERLIN.zone_over(SPRING_2027 - timedelta(days=1), SPRING_2027 + timedelta(days=1)) == (
        "Europe/Berlin, CET (UTC+01:00); CEST (UTC+02:00) from 2027-03-28 03:00 CEST"
    )
    assert BERLIN.season(AUTUMN_2026) == "standard-time (CET, UTC+01:00)"
    assert BERLIN.season(SPRING_2027) == "summer-time (CEST, UTC+02:00)"
    assert BERLIN.changes(AUTUMN_2026, AUTUMN_2027 + timedelta(seconds=1)) == [
        AUTUMN_2026,
        SPRING_2027,
        AUTUMN_2027,
    ]


def test_a_moment_outside_the_years_periods_are_known_for_is_an_error_not_a_crash() -> None:
    """Checked as of 2300 (a --now far off), a local-time profile is an error at its `local` list, found
    at once, rather than a scan of three centuries or an overflow."""
    text = _site_text("Europe/Berlin", '[{at: "07:00", limit: 10}]')
    site, findings = check_site("depot", "depot.yaml", parse(text), datetime(2300, 1, 1, tzinfo=UTC), zone)
    assert [(f.field, f.message) for f in findings] == [
        (
            ("chargingSchedule", "local"),
            "local-time schedules are compiled for moments from 1971 to 2199, and this check runs as of "
            "2300-01-01T00:00:00Z",
        )
    ]
    assert site is not None
    assert site.profiles["CS-1"] == ()
