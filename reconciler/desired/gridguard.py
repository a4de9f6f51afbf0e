"""The site grid guard: desired stations together must stay within the site's `grid_limit_kw`. Pure.

`check_grid` is called by `validate.check_site` once a site's profiles are free of errors, so both
`reconciler validate` and `reconciler plan` refuse a site that breaks it. What is summed, at every
moment of the next 7 days from `now`: each station's total (its connector-0 composite schedule of
the desired profiles, in W at the site's nominal voltage), counted at its rated power where it has no
limit and never above it. Session caps do not count: no session is assumed, as in
`reconciler schedule`.

Three steps, the costly one last; the first two let a site pass only where the third would too. A
site whose rated powers fit its grid needs nothing computed. Otherwise each station gets an upper
bound read off its profiles: the highest ChargePointMaxProfile limit when one of them covers the
whole week, and the sum over connectors of the highest TxDefaultProfile limit that may apply to
each, when each is covered; if these bounds fit, nothing more is computed. Only then are the
composites summed moment by moment, each station's computed once per identical set of profiles
(templates make many stations alike). Where every profile of the site repeats daily all week (a
Daily recurrence begun by now, valid all week), the total does too, so its first day answers for the
week: any moment above the grid has its like a whole number of days earlier, in that first day.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.model import Profile, SiteFile, Station
from reconciler.desired.payload import installed
from reconciler.desired.template import PlacedProfile
from reconciler.errors import Finding, Severity
from reconciler.ocpp.firmware import DEFAULT_OPTIONS
from reconciler.ocpp.profile import DAY_S, WEEK_S, Kind, Purpose, RateUnit, Recurrency, parse_timestamp
from reconciler.ocpp.recurrence import RECURRENCE_PERIOD
from reconciler.ocpp.schedule import CompositePeriod, composite_schedule
from reconciler.ocpp.steps import site_total_w

# How many stations the message names before it says "and N more".
_NAMED_STATIONS = 8
# Profiles identified without their description, which cannot change a limit.
_Key = tuple[Profile, ...]


def check_grid(
    doc: SiteFile,
    placed: Mapping[str, Sequence[PlacedProfile]],
    now: datetime,
    clock: SiteClock = UTC_CLOCK,
    *,
    horizon_s: int | None = None,
) -> list[Finding]:
    """An error at `site.grid_limit_kw` when the stations may draw more than it in the next 7 days.

    The stations' totals are summed over `horizon_s` from `now`: by default the first day when it
    answers for the week (see the module's docstring), else the week.
    """
    site = doc.site
    if site.grid_limit_kw is None:
        return []
    grid_w, voltage_v = site.grid_limit_kw * 1000, site.nominal_voltage_v
    rated_w = {station_id: station.rated_power_kw * 1000 for station_id, station in doc.stations.items()}
    if sum(rated_w.values()) <= grid_w:
        return []
    end = now + timedelta(seconds=WEEK_S)
    bounds_w = (
        min(rated_w[station_id], _bound_w(station, placed.get(station_id, ()), voltage_v, now, end))
        for station_id, station in doc.stations.items()
    )
    if sum(bounds_w) <= grid_w:
        return []
    keys = {station_id: _key(placed.get(station_id, ())) for station_id in doc.stations}
    if horizon_s is None:
        daily = all(_repeats_daily(p, now, end) for key in keys.values() for p in key)
        horizon_s = DAY_S if daily else WEEK_S
    totals = {
        station_id: _station_total_w(keys[station_id], station.connectors, voltage_v, now, horizon_s)
        for station_id, station in doc.stations.items()
    }
    capped_w = site_total_w((periods, rated_w[station_id]) for station_id, periods in totals.items())
    over = next(((moment, w) for moment, w in capped_w if w > grid_w), None)
    if over is None:
        return []
    moment, total_w = over
    # What each station may draw then, None where it has no limit and counts at its rated power.
    draws_w = {station_id: _limit_at(periods, moment) for station_id, periods in totals.items()}
    return [_finding(site.grid_limit_kw, clock.mention(moment), total_w, draws_w, rated_w)]


def _finding(
    grid_limit_kw: Decimal,
    moment: str,
    total_w: Decimal,
    draws_w: Mapping[str, Decimal | None],
    rated_w: Mapping[str, Decimal],
) -> Finding:
    counted = {s: rated_w[s] if w is None else min(w, rated_w[s]) for s, w in draws_w.items()}
    drawing = sorted(((w, s) for s, w in counted.items() if w > 0), key=lambda item: (-item[0], item[1]))
    named = [
        f"{station_id} {_kw(w)} kW" + (" (no limit: its rated power)" if draws_w[station_id] is None else "")
        for w, station_id in drawing[:_NAMED_STATIONS]
    ]
    if len(drawing) > _NAMED_STATIONS:
        named.append(f"and {len(drawing) - _NAMED_STATIONS} more")
    return Finding(
        (("site",),),
        ("grid_limit_kw",),
        Severity.ERROR,
        f"the stations may draw {_kw(total_w)} kW together at {moment}, above the grid "
        f"limit of {_kw(grid_limit_kw * 1000)} kW: {', '.join(named)}",
        f"lower the stations' limits at that time (a ChargePointMaxProfile on connector 0 caps a "
        f"station) by {_kw(total_w - grid_limit_kw * 1000)} kW in all, or raise grid_limit_kw if the "
        f"grid connection allows it",
    )


def _kw(watts: Decimal) -> str:
    return f"{(watts / 1000).normalize():f}"


def _limit_at(periods: Sequence[CompositePeriod], moment: datetime) -> Decimal | None:
    return next(p.limit for p in periods if p.start <= moment < p.end)


def _key(placed: Iterable[PlacedProfile]) -> _Key:
    # Session caps apply only during a session; leaving them out lets more stations share a result.
    return tuple(
        item.profile.model_copy(update={"description": None})
        for item in placed
        if item.profile.purpose is not Purpose.TX
    )


@functools.lru_cache(maxsize=4096)
def _station_total_w(
    key: _Key, connectors: int, voltage_v: Decimal, now: datetime, horizon_s: int
) -> tuple[CompositePeriod, ...]:
    """A station's total over `horizon_s` from `now` in W, for a set of profiles (computed once per
    identical set)."""
    # Ids only break ties between profiles a valid station cannot hold; pinned ones are kept.
    profiles = [
        installed(profile, profile.charging_profile_id if profile.charging_profile_id is not None else -index)
        for index, profile in enumerate(key, 1)
    ]
    return tuple(
        composite_schedule(
            profiles, 0, now, horizon_s, unit=RateUnit.WATT, connectors=connectors, voltage_v=voltage_v
        )
    )


def _bound_w(
    station: Station, placed: Sequence[PlacedProfile], voltage_v: Decimal, start: datetime, end: datetime
) -> Decimal:
    """At least the station total at every moment of [start, end); infinite when the profiles cannot tell."""
    caps = [
        p.profile
        for p in placed
        if p.profile.purpose is Purpose.CHARGE_POINT_MAX and p.profile.connector_id == 0
    ]
    defaults = [p.profile for p in placed if p.profile.purpose is Purpose.TX_DEFAULT]
    bound = Decimal("Infinity")
    if any(_covers(p, start, end) for p in caps):
        # Whichever cap holds at a moment, its limit is one of these.
        bound = max(_peak_w(p, voltage_v) for p in caps)
    connectors_w = Decimal(0)
    for connector_id in range(1, station.connectors + 1):
        applying = [p for p in defaults if p.connector_id in (0, connector_id)]
        if not any(_covers(p, start, end) for p in applying):
            return bound
        connectors_w += max(_peak_w(p, voltage_v) for p in applying)
    return min(bound, connectors_w)


def _covers(profile: Profile, start: datetime, end: datetime) -> bool:
    """Whether the profile sets a limit at every moment of [start, end) without any session.

    Conservative: a Relative schedule, or any shape not plainly covering, answers False.
    """
    schedule = profile.schedule
    if not schedule.periods or schedule.periods[0].start_period_s != 0:
        return False
    first = _begun_and_valid(profile, start, end)
    if first is None:
        return False
    if profile.kind is Kind.ABSOLUTE:
        return schedule.duration_s is None or first + timedelta(seconds=schedule.duration_s) >= end
    if profile.kind is Kind.RECURRING and profile.recurrency is not None:
        period = RECURRENCE_PERIOD[profile.recurrency.value]
        return schedule.duration_s is None or timedelta(seconds=schedule.duration_s) >= period
    return False


def _repeats_daily(profile: Profile, start: datetime, end: datetime) -> bool:
    """Whether the profile's limits at any moment of [start, end) are those of a day earlier (where that
    is in the stretch too): a Daily recurrence that began by `start` and is valid throughout. The rule of
    `recurrence.repeats_daily` (by which the composite lays out a day and repeats it), read from a
    desired profile's fields before any payload is built, with the guard's composite options."""
    if profile.kind is not Kind.RECURRING or profile.recurrency is not Recurrency.DAILY:
        return False
    return _begun_and_valid(profile, start, end) is not None


def _begun_and_valid(profile: Profile, start: datetime, end: datetime) -> datetime | None:
    """The schedule's `startSchedule` when it is by `start` and the profile is valid all of [start, end);
    else None."""
    schedule = profile.schedule
    if schedule.start_schedule is None or parse_timestamp(schedule.start_schedule) > start:
        return None
    if profile.valid_from is not None and parse_timestamp(profile.valid_from) > start:
        return None
    if profile.valid_to is not None and parse_timestamp(profile.valid_to) < end:
        return None
    return parse_timestamp(schedule.start_schedule)


def _peak_w(profile: Profile, voltage_v: Decimal) -> Decimal:
    """The highest limit of the profile's periods in W (amperes at each period's phases, as composites do)."""
    schedule = profile.schedule
    if schedule.rate_unit is RateUnit.WATT:
        return max(p.limit for p in schedule.periods)
    default_phases = DEFAULT_OPTIONS.default_phases
    return max(p.limit * voltage_v * (p.number_phases or default_phases) for p in schedule.periods)
