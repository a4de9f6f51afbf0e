"""The rules of a local-time profile (`chargingSchedule.local`): what it must say so that it compiles.

`check_local` is called by `validate.check_site` beside `rules.check_profile`, which checks the
connector, both stack levels and transactionId of every profile. Each finding is placed at the YAML
it is about (an entry of `local` by its index). Pure.
"""

from __future__ import annotations

from reconciler.desired.limitrules import check_limit, check_unit
from reconciler.desired.localtime import cycle_periods, cycle_s, entries
from reconciler.desired.model import Site, Station
from reconciler.desired.template import PlacedProfile
from reconciler.errors import Finding, Severity, YamlPath
from reconciler.ocpp.profile import Kind, Purpose, Recurrency

ERROR = Severity.ERROR
_LOCAL: YamlPath = ("chargingSchedule", "local")


def check_local(placed: PlacedProfile, station: Station, site: Site) -> list[Finding]:
    """Every rule of one local-time profile on its station."""
    out: list[Finding] = []

    def add(field: YamlPath, message: str, fix: str, severity: Severity = ERROR) -> None:
        out.append(Finding(placed.origins, field, severity, message, fix))

    profile = placed.profile
    schedule = profile.schedule
    if profile.purpose is Purpose.TX:
        add(
            ("chargingProfilePurpose",),
            "a session cap runs from its session's start, not by the clock: local-time schedules are for "
            "ChargePointMaxProfile and TxDefaultProfile",
            "write the cap with chargingSchedulePeriod, or make it a TxDefaultProfile",
        )
    if profile.kind is not Kind.RECURRING or profile.recurrency is None:
        add(
            ("chargingProfileKind",),
            "a local-time schedule repeats every day or every week",
            "set chargingProfileKind: Recurring and recurrencyKind: Daily or Weekly",
        )
    computed: list[tuple[YamlPath, object]] = [
        (("chargingSchedule", "startSchedule"), schedule.start_schedule),
        (("chargingSchedule", "duration"), schedule.duration_s),
        (("chargingSchedule", "chargingSchedulePeriod"), schedule.periods or None),
        (("validFrom",), profile.valid_from),
        (("validTo",), profile.valid_to),
    ]
    for field, value in computed:
        if value is not None:
            add(
                field,
                f"{field[-1]} is set by the reconciler, for each of the site's UTC offsets, when the "
                "schedule is written in local time under 'local'",
                f"remove {field[-1]}",
            )
    if profile.charging_profile_id is not None:
        add(
            ("chargingProfileId",),
            "a local-time profile becomes one OCPP profile per UTC offset, whose ids are allocated "
            "and recorded",
            "remove chargingProfileId",
        )
    out.extend(check_unit(placed, station))
    local = schedule.local or ()
    if not local:
        add(_LOCAL, "a local-time schedule needs at least one period", 'add - {at: "07:00", limit: ...}')
        return out
    weekly = profile.recurrency is Recurrency.WEEKLY
    for index, period in enumerate(local):
        here = (*_LOCAL, index)
        has_day = not period.at[0].isdigit()
        if profile.recurrency is Recurrency.DAILY and has_day:
            add(
                (*here, "at"),
                f"{period.at!r} names a weekday, but a Daily schedule repeats every day",
                "write the time alone, or make the profile recurrencyKind: Weekly",
            )
        elif weekly and not has_day:
            add(
                (*here, "at"),
                f"{period.at!r} names no weekday, which a Weekly schedule needs",
                'write it like "Mon 07:00" or "Mon-Fri 07:00"',
            )
        if period.limit is not None:
            out.extend(check_limit(placed, here, period.limit, period.number_phases, site))
    if any(f.is_error for f in out) or profile.recurrency is None:
        return out
    out.extend(_check_cycle(placed, station))
    return out


def _check_cycle(placed: PlacedProfile, station: Station) -> list[Finding]:
    """Rules of the periods in cycle order: no time twice, one stretch without a limit, the charger's
    ChargingScheduleMaxPeriods."""
    out: list[Finding] = []
    local = placed.profile.schedule.local or ()
    items = entries(placed.profile)
    seen: dict[int, int] = {}
    repeated: dict[int, int] = {}  # a later entry -> the first one at the same time
    for item in items:
        first = seen.setdefault(item.position_s, item.index)
        if first != item.index:
            repeated.setdefault(max(first, item.index), min(first, item.index))
    for later, first in sorted(repeated.items()):
        out.append(
            Finding(
                placed.origins,
                (*_LOCAL, later, "at"),
                ERROR,
                f"{local[later].at!r} starts a period at a time {local[first].at!r} already does",
                "give each wall-clock time one limit",
            )
        )
    # A range such as `Sat-Sun 00:00` with `limit: null` is a stretch on each of its days.
    gaps = [item for item in items if item.limit is None]
    if len(gaps) > 1:
        out.append(
            Finding(
                placed.origins,
                (*_LOCAL, max(gaps[0].index, gaps[1].index), "limit"),
                ERROR,
                f"{len(gaps)} stretches without a limit: an OCPP schedule can leave lower stack levels "
                "only one stretch of each day or week (after its duration)",
                "write the limit of the stack level below instead, or split the schedule into profiles "
                "on other stack levels",
            )
        )
    elif gaps and len(items) == 1:
        out.append(Finding(placed.origins, _LOCAL, ERROR, "no period sets a limit", "give a period a limit"))
    if out:
        return out
    compiled = len(cycle_periods(items, cycle_s(placed.profile))[2])
    most = station.ocpp.max_periods
    if compiled > most:
        out.append(
            Finding(
                placed.origins,
                _LOCAL,
                ERROR,
                f"{compiled} periods once weekday ranges are written out, but the charger allows {most} "
                "(ChargingScheduleMaxPeriods)",
                "merge periods, or declare the charger's real ChargingScheduleMaxPeriods under the "
                "station's 'ocpp'",
            )
        )
    return out
