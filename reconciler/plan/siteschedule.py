"""Composite schedules of a site's desired state, station by station, and their text and JSON forms.

`site_schedules` turns each station's desired profiles into the payloads the plan would send and runs
`schedule.composite_schedule` over them with the site's nominal voltage and the station's connector
count; `render_text` shows the periods as a table with a one-line chart, `render_json` as versioned
JSON. Called by `reconciler schedule`. Pure.

Session caps (TxProfile) apply only during a session; no session is assumed here, so they do not show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from reconciler.desired import ids
from reconciler.desired.model import RateUnit, format_timestamp
from reconciler.desired.payload import json_number
from reconciler.desired.validate import DesiredSite
from reconciler.ocpp.schedule import (
    DEFAULT_OPTIONS,
    CompositeOptions,
    CompositePeriod,
    Installed,
    composite_schedule,
    installed,
)

JSON_FORMAT_VERSION = 1
CHART_COLUMNS = 48
_BARS = "▁▂▃▄▅▆▇█"
_NO_LIMIT = "░"


@dataclass(frozen=True, slots=True)
class StationSchedule:
    """The composite of one station's connector (0: the station total) over a window."""

    site_id: str
    station_id: str
    description: str | None
    connector_id: int
    unit: RateUnit
    periods: tuple[CompositePeriod, ...]


def station_profiles(site: DesiredSite, station_id: str) -> list[Installed]:
    """A station's desired profiles as installed: payloads under their pinned or provisional ids."""
    placed = site.profiles.get(station_id, ())
    pinned = [p.profile.charging_profile_id for p in placed if p.profile.charging_profile_id is not None]
    fresh = ids.allocate((p.name for p in placed if p.profile.charging_profile_id is None), pinned)
    out = []
    for item in placed:
        pinned_id = item.profile.charging_profile_id
        profile_id = pinned_id if pinned_id is not None else fresh[item.name]
        out.append(installed(item.profile, profile_id))
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

    Raises LookupError naming the station when one is not in the site or lacks the connector.
    """
    chosen = sorted(station_ids) if station_ids else sorted(site.stations)
    unit = RateUnit(unit)
    out = []
    for station_id in chosen:
        station = site.stations.get(station_id)
        if station is None:
            raise LookupError(f"site {site.site_id} has no station {station_id}")
        if connector_id > station.connectors:
            raise LookupError(
                f"station {station_id} has {station.connectors} connector(s), not {connector_id}"
            )
        periods = composite_schedule(
            station_profiles(site, station_id),
            connector_id,
            start,
            duration_s,
            unit=unit,
            connectors=station.connectors,
            voltage_v=site.doc.site.nominal_voltage_v,
            options=options,
        )
        schedule = StationSchedule(
            site.site_id, station_id, station.description, connector_id, unit, tuple(periods)
        )
        out.append(schedule)
    return out


def render_json(schedules: Sequence[StationSchedule]) -> str:
    """Versioned JSON: per station its periods with RFC 3339 UTC bounds and limits (null: no limit)."""
    document = {
        "format_version": JSON_FORMAT_VERSION,
        "stations": [
            {
                "site": s.site_id,
                "station": s.station_id,
                "connector": s.connector_id,
                "unit": s.unit.value,
                "periods": [
                    {
                        "start": format_timestamp(p.start),
                        "end": format_timestamp(p.end),
                        "limit": None if p.limit is None else json_number(p.limit),
                    }
                    for p in s.periods
                ],
            }
            for s in schedules
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render_text(schedules: Sequence[StationSchedule]) -> str:
    """For people: per station a heading, one line per period, and a chart of the window."""
    blocks = []
    for s in schedules:
        scope = "station total" if s.connector_id == 0 else f"connector {s.connector_id}"
        name = f" ({s.description})" if s.description else ""
        lines = [f"{s.site_id}/{s.station_id}{name}, {scope}, times UTC"]
        for period in s.periods:
            limit = "no limit" if period.limit is None else f"{format_number(period.limit)} {s.unit.value}"
            lines.append(f"  {format_timestamp(period.start)} → {format_timestamp(period.end)}  {limit}")
        lines.extend("  " + line for line in chart(s.periods, s.unit))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def chart(
    periods: Sequence[CompositePeriod],
    unit: RateUnit,
    columns: int = CHART_COLUMNS,
    top: Decimal | None = None,
) -> list[str]:
    """A bar per column (the lowest limit within it, scaled to the highest), a time axis, a legend.

    `top` fixes the full bar instead, so that charts drawn one above the other share a scale.
    """
    if not periods:
        return []
    start, end = periods[0].start, periods[-1].end
    step = (end - start) / columns
    values = [_lowest(periods, start + step * i, start + step * (i + 1)) for i in range(columns)]
    if top is None:
        top = max((v for v in values if v is not None), default=None)
    bars = "".join(_bar(value, top) for value in values)
    axis = _axis(start, step, columns)
    legend = f"{_BARS[-1]} {format_number(top)} {unit.value}, " if top is not None else ""
    return [bars, axis, f"{legend}{_NO_LIMIT} no limit; one column is {_duration(step)}"]


def _lowest(periods: Sequence[CompositePeriod], start: datetime, end: datetime) -> Decimal | None:
    # The lowest limit is what a column guarantees; "no limit" only when nothing in it limits.
    limits = [p.limit for p in periods if p.start < end and p.end > start and p.limit is not None]
    return min(limits, default=None)


def _bar(value: Decimal | None, top: Decimal | None) -> str:
    if value is None or top is None:
        return _NO_LIMIT
    if top <= 0:
        return _BARS[0]
    index = int(value / top * (len(_BARS) - 1))
    return _BARS[max(0, min(index, len(_BARS) - 1))]


def _axis(start: datetime, step: timedelta, columns: int) -> str:
    """The clock time under every 12th column, where the label fits in the chart's width."""
    axis = ""
    for column in range(0, columns - 4, 12):
        axis = axis.ljust(column) + (start + step * column).strftime("%H:%M")
    return axis


def _duration(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def format_number(value: Decimal) -> str:
    """A limit as written by hand: `8000`, `11.5`, never `8.0E+3`."""
    return f"{value.normalize():f}"
