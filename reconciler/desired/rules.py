"""The semantic rules of desired profiles: what OCPP 1.6, eDRV and the charger would refuse or misread.

Types are checked by the models; these rules relate fields to each other, to the station they are on,
and to `now`. Each returns findings placed by YAML path. Pure; called by `validate.check_site`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from reconciler.desired.model import EDRV_RESERVED_MAX_STACK_LEVEL, Site, Station
from reconciler.desired.template import PlacedProfile
from reconciler.errors import Finding, Severity, YamlPath
from reconciler.ocpp.profile import Kind, Purpose, RateUnit, format_timestamp, parse_timestamp

# IEC 61851 PWM signalling starts at 6 A: many chargers and cars cannot follow a lower non-zero limit.
MIN_FOLLOWABLE_CURRENT_A = Decimal(6)
DEFAULT_PHASES = 3  # OCPP 1.6: numberPhases absent means 3

ERROR, WARNING = Severity.ERROR, Severity.WARNING
_PERIODS: YamlPath = ("chargingSchedule", "chargingSchedulePeriod")


def check_profile(placed: PlacedProfile, station: Station, site: Site, now: datetime) -> list[Finding]:
    """Every rule about one profile on its station."""
    out: list[Finding] = []

    def add(field: YamlPath, severity: Severity, message: str, fix: str) -> None:
        out.append(Finding(placed.origins, field, severity, message, fix))

    profile, schedule = placed.profile, placed.profile.schedule
    connector = profile.connector_id
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
    if not lowest <= profile.stack_level <= highest:
        why = (
            "eDRV reserves 0-10 for its own power management"
            if profile.stack_level < lowest
            else "the charger's ChargeProfileMaxStackLevel is " + str(highest)
        )
        add(
            ("stackLevel",),
            ERROR,
            f"stackLevel {profile.stack_level} is outside {lowest}-{highest}: {why}",
            f"pick a stack level from {lowest} to {highest}",
        )

    if profile.kind is not Kind.RELATIVE:
        if profile.is_session_cap and profile.kind is Kind.ABSOLUTE:
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
    if profile.transaction_id is not None:
        add(
            ("transactionId",),
            ERROR,
            "transactionId is inserted by eDRV from the active session",
            "remove transactionId",
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
            f"expired at {format_timestamp(expiry)}: it will not be sent",
            "remove it, or move its validTo or startSchedule forward",
        )
    return out


def _check_periods(placed: PlacedProfile, station: Station, site: Site) -> list[Finding]:
    out: list[Finding] = []

    def add(field: YamlPath, severity: Severity, message: str, fix: str) -> None:
        out.append(Finding(placed.origins, field, severity, message, fix))

    schedule = placed.profile.schedule
    periods = schedule.periods
    unit = schedule.rate_unit
    if not station.ocpp.allows(unit):
        allowed = ",".join(station.ocpp.allowed_rate_units)
        add(
            ("chargingSchedule", "chargingRateUnit"),
            ERROR,
            f"the charger does not accept unit {unit}: its "
            f"ChargingScheduleAllowedChargingRateUnit is {allowed}",
            "use a unit the charger accepts, or declare "
            "its real ChargingScheduleAllowedChargingRateUnit under the station's 'ocpp'",
        )
    if not periods:
        add(_PERIODS, ERROR, "a schedule needs at least one period", "add - {startPeriod: 0, limit: ...}")
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
        out.extend(_check_rate(placed, (*here, "limit"), period.limit, "limit"))
        phases = period.number_phases
        if phases is not None and not 1 <= phases <= 3:
            add(
                (*here, "numberPhases"),
                ERROR,
                f"numberPhases must be 1, 2 or 3, got {phases}",
                "set numberPhases to the phases the car may use, or leave it out (3)",
            )
            phases = None
        amps = _as_amps(period.limit, unit, phases or DEFAULT_PHASES, site.nominal_voltage_v)
        if 0 < amps < MIN_FOLLOWABLE_CURRENT_A:
            floor = (
                f"{MIN_FOLLOWABLE_CURRENT_A} A"
                if unit is RateUnit.AMPERE
                else (
                    f"{MIN_FOLLOWABLE_CURRENT_A * site.nominal_voltage_v * (phases or DEFAULT_PHASES)} W "
                    f"at {phases or DEFAULT_PHASES} phase(s) and {site.nominal_voltage_v} V"
                )
            )
            add(
                (*here, "limit"),
                WARNING,
                f"limit {period.limit} {unit} is below {floor}: most chargers and cars "
                "cannot follow a non-zero limit under 6 A",
                "use 0 to pause charging, or at least 6 A",
            )
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
            _check_rate(
                placed, ("chargingSchedule", "minChargingRate"), schedule.min_charging_rate, "minChargingRate"
            )
        )
    return out


def _check_rate(placed: PlacedProfile, field: YamlPath, value: Decimal, name: str) -> list[Finding]:
    if value < 0:
        return [Finding(placed.origins, field, ERROR, f"{name} {value} is negative", "use 0 or more")]
    if value.as_tuple().exponent < -1:  # type: ignore[operator]
        rounded = value.quantize(Decimal("0.1"), rounding="ROUND_DOWN")
        return [
            Finding(
                placed.origins,
                field,
                ERROR,
                f"{name} {value} has more than one decimal; OCPP accepts at most one",
                f"write {rounded} (rounded down, so the limit is not raised)",
            )
        ]
    return []


def _as_amps(limit: Decimal, unit: RateUnit, phases: int, voltage_v: Decimal) -> Decimal:
    # OCPP 1.6: current per phase = power / (nominal voltage x phases).
    return limit if unit is RateUnit.AMPERE else limit / (voltage_v * phases)


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
        slot = (profile.connector_id, profile.purpose, profile.stack_level)
        other = slots.setdefault(slot, item)
        if other is not item:
            out.append(
                Finding(
                    item.origins,
                    ("stackLevel",),
                    ERROR,
                    f"profiles {other.name!r} and {item.name!r} both "
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
    if len(live) > station.ocpp.max_profiles_installed:
        out.append(
            Finding(
                (("stations", station_id),),
                (),
                ERROR,
                f"{len(live)} profiles, but the charger holds at "
                f"most {station.ocpp.max_profiles_installed} (MaxChargingProfilesInstalled)",
                "remove profiles, or declare the charger's real MaxChargingProfilesInstalled under 'ocpp'",
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


def _alive(placed: PlacedProfile, now: datetime) -> bool:
    expiry = placed.expires_at
    return expiry is None or expiry > now
