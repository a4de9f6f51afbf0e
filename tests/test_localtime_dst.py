"""Local-time schedules stay exact across every UTC-offset change of 2026-2028, by the composite engine.

A site in each zone below holds two local-time profiles on a one-connector station, in W: a Weekly
TxDefaultProfile (weekdays 07:00 and 19:00, Saturday 00:00, and Sunday 02:30, which the spring-forward
Sunday skips in Europe and North America) and a Daily ChargePointMaxProfile that caps 01:30-06:00,
across the hours the clocks change in, and leaves the rest of the day to the other profile. The
intent is computed straight from the wall clock (each UTC minute converted with the zone's rules and
looked up among the written times), apart from the compiler.

Two histories, replayed through the real plan against the model charger (`ocpp.charger`), whose
profiles the engine's composite schedule then reads:

- one apply long before each change (an hour after the change before it), and none since: exact from
  that apply through the change and up to the change after it; past that, with no apply, the limits
  keep the last offset (the written times an hour off, never no limit);
- a second apply at a random moment between a change and the next (hypothesis picks it): exactly two
  sets per local-time profile, both marked as a roll-forward, and exact again up to the change after
  the next one.

Within a day either side of each change every minute is compared; elsewhere the comparison is made at
every boundary of either step function (the composite's periods, and each moment the wall clock shows
a written time or the offset changes), since two step functions that agree at each of their
boundaries agree everywhere.

Zones: Europe/Berlin, America/New_York, Australia/Sydney (southern hemisphere), Australia/Lord_Howe
(a 30-minute change), Asia/Kolkata (no change at all), and Africa/Casablanca, which changed its rules
in 2018: UTC+01:00 all year but UTC+00:00 during Ramadan, so its changes move by about eleven days a
year and its UTC+01:00 period lasts some eleven months (the next change is far ahead, and the saving
counts backwards). They are read from this machine's time-zone database.
"""

from __future__ import annotations

import bisect
import functools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.desired.clock import SiteClock
from reconciler.desired.loader import zone
from reconciler.desired.validate import DesiredSite, check_site
from reconciler.desired.yamlread import parse
from reconciler.ocpp.charger import Charger
from reconciler.ocpp.schedule import Installed, composite_schedule
from reconciler.plan.change import Action
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import build
from reconciler.state.recorded import RecordedState

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Africa/Casablanca",
)
YEARS = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))
MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Written times: (weekdays, seconds into the day, limit in W); no weekdays: every day; no limit: none set.
Entry = tuple[Sequence[int] | None, int, int | None]
WEEKLY: list[Entry] = [
    (range(5), 7 * 3600, 6900),
    (range(5), 19 * 3600, 11000),
    ((5,), 0, 22000),
    ((6,), 2 * 3600 + 1800, 15000),
]
DAILY: list[Entry] = [(None, 3600 + 1800, 7400), (None, 2 * 3600 + 1800, 4200), (None, 6 * 3600, None)]


def _site_yaml(zone_name: str) -> str:
    def at(days: Sequence[int] | None, seconds: int) -> str:
        time = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
        if days is None:
            return time
        names = [WEEKDAYS[d] for d in days]
        return f"{names[0]}-{names[-1]} {time}" if len(names) > 1 else f"{names[0]} {time}"

    def local(entries: list[Entry]) -> str:
        return "".join(
            f'            - {{at: "{at(days, s)}", limit: {"null" if w is None else w}}}\n'
            for days, s, w in entries
        )

    return (
        f"site: {{name: Proof, timezone: {zone_name}}}\n"
        "stations:\n"
        "  CS-1:\n"
        "    connectors: 1\n"
        "    rated_power_kw: 22\n"
        "    profiles:\n"
        "      weekly:\n"
        "        connectorId: 0\n"
        "        stackLevel: 20\n"
        "        chargingProfilePurpose: TxDefaultProfile\n"
        "        chargingProfileKind: Recurring\n"
        "        recurrencyKind: Weekly\n"
        "        chargingSchedule:\n"
        "          chargingRateUnit: W\n"
        "          local:\n" + local(WEEKLY) + "      night-cap:\n"
        "        connectorId: 0\n"
        "        stackLevel: 30\n"
        "        chargingProfilePurpose: ChargePointMaxProfile\n"
        "        chargingProfileKind: Recurring\n"
        "        recurrencyKind: Daily\n"
        "        chargingSchedule:\n"
        "          chargingRateUnit: W\n"
        "          local:\n" + local(DAILY)
    )


def _cycle(entries: list[Entry], weekly: bool) -> tuple[list[int], list[int | None]]:
    """The written times as seconds into the day or week, in order, and the limit from each on."""
    items = sorted(
        (day * 86400 + s if weekly else s, w)
        for days, s, w in entries
        for day in (days if weekly and days is not None else (0,))
    )
    return [position for position, _ in items], [w for _, w in items]


CYCLES = {"weekly": _cycle(WEEKLY, weekly=True), "daily": _cycle(DAILY, weekly=False)}


def _wall_limit(cycle: str, wall: datetime) -> int | None:
    """The limit written for a wall-clock moment: the last written time at or before it, round the cycle."""
    positions, limits = CYCLES[cycle]
    at = (
        wall.hour * 3600
        + wall.minute * 60
        + wall.second
        + (wall.weekday() * 86400 if cycle == "weekly" else 0)
    )
    return limits[bisect.bisect_right(positions, at) - 1]  # index -1 wraps to the last of the cycle


def intent(tz: tzinfo, moment: datetime, offset: timedelta | None = None) -> int:
    """What the site's operators wrote for `moment`: the weekly limit, capped by the night cap where it
    sets one. `offset` reads the wall clock at a fixed offset instead of the zone's own."""
    wall = (moment + offset).replace(tzinfo=None) if offset is not None else moment.astimezone(tz)
    weekly = _wall_limit("weekly", wall)
    cap = _wall_limit("daily", wall)
    assert weekly is not None
    return weekly if cap is None else min(weekly, cap)


def intent_boundaries(tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """Every moment in [start, end) the wall clock shows a written time, or the offset changes.

    Found from local dates and the zone's rules alone: a written time on a date is a boundary at each
    UTC moment the wall clock reads it (none on a skipped hour, two on a repeated one).
    """
    offsets = {(start + DAY * n).astimezone(tz).utcoffset() for n in range((end - start).days + 2)}
    times = sorted({s for _, s, _ in WEEKLY} | {s for _, s, _ in DAILY})
    found = set(changes(tz, start, end))
    day = start.astimezone(tz).date() - timedelta(days=1)
    while day <= end.astimezone(tz).date():
        for seconds in times:
            wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
            for offset in offsets:
                assert offset is not None
                moment = (wall - offset).replace(tzinfo=UTC)
                if start <= moment < end and moment.astimezone(tz).replace(tzinfo=None) == wall:
                    found.add(moment)
        day += timedelta(days=1)
    return sorted(found)


def changes(tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """The moments the zone's UTC offset changes in [start, end), found apart from the code under test."""
    return [moment for moment in _all_changes(tz) if start <= moment < end]


@functools.cache
def _all_changes(tz: tzinfo) -> tuple[datetime, ...]:
    """Every change of offset from 2024 to 2030, by the minute, from probes of the zone's rules every three
    hours (no zone changes twice within three hours)."""
    found = []
    moment, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    before = moment.astimezone(tz).utcoffset()
    while moment < end:
        after = (moment + timedelta(hours=3)).astimezone(tz).utcoffset()
        if after != before:
            minute = moment
            while minute.astimezone(tz).utcoffset() == before:
                minute += MINUTE
            found.append(minute)
            before = after
        moment += timedelta(hours=3)
    return tuple(found)


@dataclass
class Station:
    """The model charger of CS-1 and the recorded state of its site, as apply would leave them."""

    tz: tzinfo
    text: str
    charger: Charger
    recorded: RecordedState | None = None

    def apply(self, now: datetime) -> list[str]:
        """Plan at `now` from what is recorded, send every change to the charger, record it as accepted;
        returns each change as `<action> <name>: <reason>` with ` (roll-forward)` when marked so."""
        site = desired(self.text, now)
        self.charger.purge_expired(now)
        plan = build("proof", site, self.recorded, now)
        for change in plan.changes:
            assert change.action is Action.SET, change
            assert change.after is not None
            answer = self.charger.set_profile(change.connector_id, change.after)
            assert answer.accepted, answer
        self.recorded = assume_applied(self.recorded or RecordedState.new("proof"), plan, now)
        return [
            f"{c.action} {c.name}: {c.reason}" + (" (roll-forward)" if c.rolls_forward else "")
            for c in plan.changes
        ]

    def limits(self, start: datetime, end: datetime) -> Limits:
        held = [Installed(p.connector_id, p.profile) for p in self.charger.installed.values()]
        periods = composite_schedule(held, 1, start, int((end - start).total_seconds()), connectors=1)
        return Limits([p.start for p in periods], [p.limit for p in periods])


@dataclass
class Limits:
    """A composite schedule as a step function that can be read at any moment of its window."""

    starts: list[datetime]
    values: list[object]

    def at(self, moment: datetime) -> object:
        return self.values[bisect.bisect_right(self.starts, moment) - 1]


def desired(text: str, now: datetime) -> DesiredSite:
    site, findings = check_site("proof", "proof.yaml", parse(text), now, zone)
    assert not findings, findings
    assert site is not None
    return site


def station(zone_name: str) -> Station:
    return Station(zoneinfo.ZoneInfo(zone_name), _site_yaml(zone_name), Charger(1))


def assert_exact(station: Station, start: datetime, end: datetime) -> int:
    """The composite equals the written intent over [start, end): every minute within a day of each
    change of offset, every boundary elsewhere. Returns how many moments were compared."""
    limits = station.limits(start, end)
    moments = set(limits.starts) | set(intent_boundaries(station.tz, start, end))
    for change in changes(station.tz, start, end):
        minute = max(start, change - DAY)
        while minute < min(end, change + DAY):
            moments.add(minute)
            minute += MINUTE
    for moment in sorted(moments):
        assert limits.at(moment) == intent(station.tz, moment), (
            f"{moment} ({moment.astimezone(station.tz)}): composite {limits.at(moment)}, "
            f"written {intent(station.tz, moment)}"
        )
    return len(moments)


def _transitions(zone_name: str) -> list[tuple[datetime, datetime, datetime, datetime]]:
    """(the change before, a change of 2026-2028, the change after, the one after that) for each change
    of the zone in those years."""
    clock = SiteClock(zone_name, zoneinfo.ZoneInfo(zone_name))
    found = clock.changes(YEARS[0] - timedelta(days=800), YEARS[1] + timedelta(days=800))
    return [
        (found[index - 1], moment, found[index + 1], found[index + 2])
        for index, moment in enumerate(found)
        if YEARS[0] <= moment < YEARS[1]
    ]


@pytest.mark.parametrize("zone_name", ZONES)
def test_one_apply_long_before_a_change_holds_through_it_and_keeps_the_last_offset(zone_name: str) -> None:
    """For every change of 2026-2028: applied an hour after the change before it and never again, the
    charger meets the written times at every minute up to the change after it, then keeps that offset."""
    transitions = list(_transitions(zone_name))
    if not transitions:  # Asia/Kolkata: one apply holds the whole three years
        proof = station(zone_name)
        assert [line.split(":")[0] for line in proof.apply(YEARS[0])] == ["set night-cap@30", "set weekly@20"]
        assert assert_exact(proof, YEARS[0], YEARS[1]) > 3 * 365 * 4
        return
    for before, change, after, _ in transitions:
        proof = station(zone_name)
        applied = before + timedelta(hours=1)
        proof.apply(applied)
        assert assert_exact(proof, applied, after) > 0
        # No apply came before `after`: the limits keep the offset in force since `change`.
        offset = (change + MINUTE).astimezone(proof.tz).utcoffset()
        limits = proof.limits(after, after + timedelta(days=14))
        for moment in limits.starts + intent_boundaries(proof.tz, after, after + timedelta(days=14)):
            assert limits.at(moment) == intent(proof.tz, moment, offset), moment


@pytest.mark.parametrize("zone_name", [z for z in ZONES if z != "Asia/Kolkata"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_roll_forward_at_a_random_moment_takes_two_sets_per_profile_and_stays_exact(
    zone_name: str, data: st.DataObject
) -> None:
    """Applied long before a change and again at a random moment after it, the second apply sends two
    sets per local-time profile, both roll-forwards, and the charger is exact up to the change after next."""
    before, change, after, following = data.draw(st.sampled_from(_transitions(zone_name)), label="change")
    fraction = data.draw(st.floats(min_value=0, max_value=1, exclude_max=True), label="fraction")
    moment = change + timedelta(seconds=int((after - change).total_seconds() * fraction))
    proof = station(zone_name)
    proof.apply(before + timedelta(hours=1))
    rolled = proof.apply(moment)
    assert sorted(line.split(":")[0] for line in rolled) == [
        "set night-cap@30",
        "set night-cap@31",
        "set weekly@20",
        "set weekly@21",
    ]
    assert all(line.endswith("(roll-forward)") for line in rolled), rolled
    assert sum("prepares" in line for line in rolled) == 2, rolled
    assert assert_exact(proof, moment, following) > 0
    assert proof.apply(moment) == []  # and a plan right after it has nothing left to do
