"""The semantic rules of desired profiles: what OCPP 1.6, eDRV and the charger would refuse or misread.

Types are checked by the models; these rules relate fields to each other, to the station they are on,
and to `now`. Each returns findings placed by YAML path. A local-time profile gets the rules of its
connector, stack levels and transactionId here, the rest from `localrules`. Pure; called by
`validate.check_site`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.limitrules import check_limit, check_rate, check_unit
from reconciler.desired.localtime import EXTRA_LEVELS
from reconciler.desired.model import EDRV_RESERVED_MAX_STACK_LEVEL, Site, Station
from reconciler.desired.template import PlacedProfile
from reconciler.errors import Finding, Severity, YamlPath
from reconciler.ocpp.configuration import MOST_STATION_PERIODS
from reconciler.ocpp.profile import Kind, Purpose, parse_timestamp

ERROR, WARNING = Severity.ERROR, Severity.WARNING
_PERIODS: YamlPath = ("chargingSchedule", "chargingSchedulePeriod")


def check_profile(
    placed: PlacedProfile, station: Station, site: Site, now: datetime, clock: SiteClock = UTC_CLOCK
) -> list[Finding]:
    """Every rule about one profile on its station; `clock` writes the moments its messages name.

    Of the station it reads only its connectors, rated power and OCPP limits: `validate` runs it once
    for all stations alike in those (`validate._TemplateRules`), so a rule reading more must add it there.
    """
    out: list[Finding] = []

    def add(field: YamlPath, severity: Severity, message: str, fix: str) -> None:
        out.append(Finding(placed.origins, field, severity, message, fix))

    profile, schedule = placed.profile, placed.profile.schedule
    connector, local = profile.connector_id, schedule.local is not None
    if profile.purpose is Purpose.CHARGE_POINT_MAX and connector != 0:
        add(
            ("connectorId",),
            ERROR,
            f"a ChargePointMaxProfile limits the whole station, so it belongs on "
            f"connector 0, not {connector}",
            "set connectorId: 0",
        )
    if profile.purpose is Purpose.TX and connector == 0:
        add(
            ("connectorId",),
            ERROR,
            "a TxProfile caps one session on one connector; connector 0 is the whole station",
            f"set connectorId to the session's connector (1-{station.connectors})",
        )
    if not 0 <= connector <= station.connectors:
        add(
            ("connectorId",),
            ERROR,
            f"connector {connector} does not exist: the station has {station.connectors} connector(s)",
            f"use 0-{station.connectors}, or correct the station's 'connectors'",
        )

    lowest, highest = EDRV_RESERVED_MAX_STACK_LEVEL + 1, station.ocpp.max_stack_level
    # A local-time profile also takes the level above its own (see `localtime`).
    extra = EXTRA_LEVELS if local else 0
    if not lowest <= profile.stack_level <= highest - extra:
        why = (
            "eDRV reserves 0-10 for its own power management"
            if profile.stack_level < lowest
            else "the charger's ChargeProfileMaxStackLevel is " + str(highest)
        )
        levels = f"stackLevel {profile.stack_level}"
        if extra:
            levels += f" and {profile.stack_level + extra} (a local-time profile takes one per UTC offset)"
        add(
            ("stackLevel",),
            ERROR,
            f"{levels} {'are' if extra else 'is'} outside {lowest}-{highest}: {why}",
            f"pick a stack level from {lowest} to {highest - extra}",
        )
    if profile.transaction_id is not None:
        add(
            ("transactionId",),
            ERROR,
            "transactionId is inserted by eDRV from the active session",
            "remove transactionId",
        )
    if local:
        return out  # the rest are `localrules`'

    if profile.kind is not Kind.RELATIVE:
        if profile.purpose is Purpose.TX and profile.kind is Kind.ABSOLUTE:
            if schedule.start_schedule is not None:
                add(
                    ("chargingSchedule", "startSchedule"),
                    ERROR,
                    "a session cap starts with its session: "
                    "startSchedule is filled in from the session when the cap is sent",
                    "remove startSchedule; 'duration' is the cap's length from the moment it is sent",
                )
        elif schedule.start_schedule is None:
            add(
                ("chargingSchedule",),
                ERROR,
                f"{'an' if profile.kind is Kind.ABSOLUTE else 'a'} {profile.kind} profile needs "
                "chargingSchedule.startSchedule "
                "(chargers reject it or anchor it to their own clock)",
                "add startSchedule, a moment in the past such as 2026-01-01T00:00:00Z",
            )
    elif schedule.start_schedule is not None:
        add(
            ("chargingSchedule", "startSchedule"),
            WARNING,
            "a Relative profile runs from the start of charging; chargers ignore or reject its startSchedule",
            "remove startSchedule",
        )
    if profile.kind is Kind.RECURRING and profile.recurrency is None:
        add(
            ("chargingProfileKind",),
            ERROR,
            "a Recurring profile needs recurrencyKind",
            "add recurrencyKind: Daily or recurrencyKind: Weekly",
        )
    if profile.recurrency is not None and profile.kind is not Kind.RECURRING:
        add(
            ("recurrencyKind",),
            ERROR,
            f"recurrencyKind only applies to Recurring profiles, this one is {profile.kind}",
            "remove recurrencyKind, or set chargingProfileKind: Recurring",
        )
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.kind is Kind.RELATIVE:
        add(
            ("chargingProfileKind",),
            WARNING,
            "some chargers (EVBox, EVerest) reject a Relative ChargePointMaxProfile",
            "prefer Absolute or Recurring for a station-wide limit",
        )
    if schedule.duration_s is not None and schedule.duration_s <= 0:
        add(
            ("chargingSchedule", "duration"),
            ERROR,
            f"duration must be a positive number of seconds, got {schedule.duration_s}",
            "give the schedule's length in seconds, or leave duration out",
        )
    if (
        profile.valid_from is not None
        and profile.valid_to is not None
        and parse_timestamp(profile.valid_from) >= parse_timestamp(profile.valid_to)
    ):
        add(
            ("validTo",),
            ERROR,
            f"validTo {profile.valid_to} is not after validFrom {profile.valid_from}",
            "swap them, or correct the later one",
        )

    out.extend(_check_periods(placed, station, site))
    expiry = placed.expires_at
    if expiry is not None and expiry <= now:
        add(
            (),
            WARNING,
            f"expired at {clock.mention(expiry)}: it will not be sent",
            "remove it, or move its validTo or startSchedule forward",
        )
    return out


def _check_periods(placed: PlacedProfile, station: Station, site: Site) -> list[Finding]:
    out: list[Finding] = []

    def add(field: YamlPath, severity: Severity, message: str, fix: str) -> None:
        out.append(Finding(placed.origins, field, severity, message, fix))

    schedule = placed.profile.schedule
    periods = schedule.periods
    out.extend(check_unit(placed, station))
    if not periods:
        add(
            _PERIODS,
            ERROR,
            "a schedule needs at least one period",
            "add - {startPeriod: 0, limit: ...}, or write the schedule in wall-clock time under 'local'",
        )
        return out
    if len(periods) > station.ocpp.max_periods:
        add(
            _PERIODS,
            ERROR,
            f"{len(periods)} periods, but the charger allows {station.ocpp.max_periods} "
            "(ChargingScheduleMaxPeriods)",
            "merge periods, or declare the charger's real "
            "ChargingScheduleMaxPeriods under the station's 'ocpp'",
        )
    if periods[0].start_period_s != 0:
        add(
            (*_PERIODS, 0, "startPeriod"),
            ERROR,
            f"the first period must start at 0, not {periods[0].start_period_s}",
            "set the first startPeriod to 0",
        )
    duration_s = schedule.duration_s
    for index, period in enumerate(periods):
        here = (*_PERIODS, index)
        if index and period.start_period_s <= periods[index - 1].start_period_s:
            add(
                (*here, "startPeriod"),
                ERROR,
                f"startPeriod {period.start_period_s} is not after the previous "
                f"period's {periods[index - 1].start_period_s}",
                "order periods by strictly increasing startPeriod",
            )
        out.extend(check_limit(placed, here, period.limit, period.number_phases, site))
        if duration_s is not None and duration_s > 0 and period.start_period_s >= duration_s:
            add(
                (*here, "startPeriod"),
                WARNING,
                f"this period starts at {period.start_period_s} s, at or after "
                f"the schedule's duration of {duration_s} s, so it never runs",
                "remove it or lengthen duration",
            )
    if schedule.min_charging_rate is not None:
        out.extend(
            check_rate(
                placed, ("chargingSchedule", "minChargingRate"), schedule.min_charging_rate, "minChargingRate"
            )
        )
    return out


def check_station(
    station_id: str, station: Station, placed: tuple[PlacedProfile, ...], now: datetime
) -> list[Finding]:
    """Rules across the profiles of one station: slots, ids, capacity, fall-back."""
    out: list[Finding] = []
    live = [p for p in placed if _alive(p, now)]
    slots: dict[tuple[int, Purpose, int], PlacedProfile] = {}
    ids: dict[int, PlacedProfile] = {}
    for item in live:
        profile = item.profile
        # A local-time profile keeps both of its levels, even while the zone has no change to prepare.
        levels = item.local.levels if item.local is not None else (profile.stack_level,)
        for level in levels:
            slot = (profile.connector_id, profile.purpose, level)
            other = slots.setdefault(slot, item)
            if other is item or _same_source(other, item):
                continue
            out.append(
                Finding(
                    item.origins,
                    ("stackLevel",),
                    ERROR,
                    f"profiles {_shown(other)} and {_shown(item)} both "
                    f"take connector {slot[0]}, {slot[1]}, stack level {slot[2]}: the charger would "
                    "silently replace one with the other",
                    "give one of them another stackLevel",
                )
            )
    for item in placed:
        pinned = item.profile.charging_profile_id
        if pinned is None:
            continue
        other = ids.setdefault(pinned, item)
        if other is not item:
            out.append(
                Finding(
                    item.origins,
                    ("chargingProfileId",),
                    ERROR,
                    f"chargingProfileId {pinned} is used by "
                    f"both {other.name!r} and {item.name!r}; OCPP ids are unique per station",
                    "give one of them another id, or leave it out to have one allocated",
                )
            )
    most = station.ocpp.max_profiles_installed
    if len(live) > most:
        message = f"{len(live)} profiles, but the charger holds at most {most} (MaxChargingProfilesInstalled)"
        fix = "remove profiles, or declare the charger's real MaxChargingProfilesInstalled under 'ocpp'"
        compiled: dict[str, list[PlacedProfile]] = defaultdict(list)
        for item in live:
            if item.local is not None:
                compiled[item.local.source].append(item)
        # A local-time profile, which takes more than one, is the one to point at.
        for source, items in compiled.items():
            out.append(
                Finding(
                    items[0].origins,
                    (),
                    ERROR,
                    f"{message}: local-time profile {source!r} is {len(items)} of them, one per UTC offset",
                    fix,
                )
            )
        if not compiled:
            out.append(Finding((("stations", station_id),), (), ERROR, message, fix))
    periods = sum(len(item.profile.schedule.periods) for item in live)
    if periods > MOST_STATION_PERIODS:
        out.append(
            Finding(
                (("stations", station_id),),
                (),
                ERROR,
                f"the station's profiles hold {periods:,} schedule periods in all, more than the "
                f"{MOST_STATION_PERIODS:,} a station may (a plan works out its power from every one)",
                "merge periods, or move profiles to other stations",
            )
        )
    groups: dict[tuple[int, Purpose], list[PlacedProfile]] = defaultdict(list)
    for item in live:
        groups[(item.profile.connector_id, item.profile.purpose)].append(item)
    for group in groups.values():
        if len(group) < 2:
            continue
        top = max(group, key=lambda p: p.profile.stack_level)
        if top.profile.schedule.duration_s is None and top.profile.valid_to is None:
            below = ", ".join(sorted(p.name for p in group if p is not top))
            out.append(
                Finding(
                    top.origins,
                    ("stackLevel",),
                    WARNING,
                    f"the highest stack level of its connector and "
                    f"purpose has neither duration nor validTo, so the profiles below it never take effect "
                    f"({below})",
                    "give it a duration or validTo, or remove the profiles below it",
                )
            )
    return out


def _shown(placed: PlacedProfile) -> str:
    """A profile's name in a message; a compiled one by the local-time profile it comes from."""
    if placed.local is None:
        return repr(placed.name)
    levels = " and ".join(map(str, placed.local.levels))
    return f"{placed.local.source!r} (local time, on stack levels {levels})"


def _same_source(one: PlacedProfile, other: PlacedProfile) -> bool:
    return one.local is not None and other.local is not None and one.local.source == other.local.source


def _alive(placed: PlacedProfile, now: datetime) -> bool:
    expiry = placed.expires_at
    return expiry is None or expiry > now
