"""Composite schedules of a site's desired state, station by station.

`site_schedules` turns each station's desired profiles into the payloads the plan would send and runs
`ocpp.schedule.composite_schedule` over them with the site's nominal voltage and the station's connector
count. Called by `reconciler schedule` (rendered by `render.schedule`). Pure.

Session caps (TxProfile) apply only during a session; no session is assumed here, so they do not show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.desired import ids
from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.template import PlacedProfile
from reconciler.desired.validate import DesiredSite
from reconciler.ocpp.firmware import DEFAULT_OPTIONS, CompositeOptions
from reconciler.ocpp.profile import RateUnit
from reconciler.ocpp.schedule import CompositePeriod, Installed, composite_schedule, pieces_within
from reconciler.plan import window


@dataclass(frozen=True, slots=True)
class StationSchedule:
    """The composite of one station's connector (0: the station total) over a window."""

    site_id: str
    station_id: str
    description: str | None
    connector_id: int
    unit: RateUnit
    periods: tuple[CompositePeriod, ...]
    clock: SiteClock = UTC_CLOCK  # the site's time zone, for people reading it


def _with_ids(site: DesiredSite, station_id: str) -> list[tuple[PlacedProfile, int]]:
    """A station's desired profiles, each with its pinned or provisional id."""
    placed = site.profiles.get(station_id, ())
    pinned = [p.profile.charging_profile_id for p in placed if p.profile.charging_profile_id is not None]
    fresh = ids.allocate((p.name for p in placed if p.profile.charging_profile_id is None), pinned)
    out = []
    for item in placed:
        pinned_id = item.profile.charging_profile_id
        out.append((item, pinned_id if pinned_id is not None else fresh[item.name]))
    return out


def site_schedules(
    site: DesiredSite,
    station_ids: Sequence[str],
    connector_id: int,
    start: datetime,
    *,
    duration_s: int,
    unit: RateUnit | str,
    options: CompositeOptions = DEFAULT_OPTIONS,
) -> list[StationSchedule]:
    """The composite of `connector_id` on each named station (all when none are named), by station id.

    Raises LookupError naming the station when one is not in the site or lacks the connector, and
    `window.WindowTooLongError`, before any is worked out, when they would lay out more pieces of their
    profiles than `window.MAX_COMPOSITE_PIECES`.
    """
    chosen = sorted(station_ids) if station_ids else sorted(site.stations)
    unit = RateUnit(unit)
    # Stations of one kind (the same bodies under the same ids on the same connectors, as a template's
    # placements are, and as many connectors) have one composite, worked out once and shared.
    kinds: dict[tuple[object, ...], tuple[int, list[Installed]]] = {}  # the station's connectors, profiles
    kind_of: dict[str, tuple[object, ...]] = {}
    for station_id in chosen:
        station = site.stations.get(station_id)
        if station is None:
            raise LookupError(f"site {site.site_id} has no station {station_id}")
        if connector_id > station.connectors:
            raise LookupError(
                f"station {station_id} has {station.connectors} connector(s), not {connector_id}"
            )
        profiles = _with_ids(site, station_id)
        held = tuple(
            (item.profile.connector_id, item.body.digest, profile_id) for item, profile_id in profiles
        )
        kind = kind_of[station_id] = (held, station.connectors)
        if kind not in kinds:
            installed = [Installed(item.profile.connector_id, item.body.under(id_)) for item, id_ in profiles]
            kinds[kind] = (station.connectors, installed)
    pieces = sum(pieces_within(installed, start, duration_s, options) for _, installed in kinds.values())
    window.check(pieces, duration_s, stations=len(chosen))
    composites = {
        kind: tuple(
            composite_schedule(
                installed,
                connector_id,
                start,
                duration_s,
                unit=unit,
                connectors=connectors,
                voltage_v=site.doc.site.nominal_voltage_v,
                options=options,
            )
        )
        for kind, (connectors, installed) in kinds.items()
    }
    return [
        StationSchedule(
            site.site_id,
            station_id,
            site.stations[station_id].description,
            connector_id,
            unit,
            composites[kind_of[station_id]],
            site.clock,
        )
        for station_id in chosen
    ]
