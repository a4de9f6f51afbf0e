"""Recorded state for people: `reconciler state show`. Pure.

One line per recorded profile: name, connector, id, purpose and stack level, status, whether the
charger's answer is recorded and since when, what is on its way (`render.confirm`), and the profile's
own validity. Times are the site's wall-clock time and stations are named with their descriptions,
both from the site's desired file when the shell could read it (else UTC and ids alone, as it says).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.ocpp.profile import parse_timestamp
from reconciler.render.confirm import record_cells
from reconciler.state.recorded import ProfileRecord, RecordedState


def render_text(
    state: RecordedState,
    clock: SiteClock = UTC_CLOCK,
    descriptions: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> str:
    """A summary for people: the site, its timezone (its offset at `now`, when given), serial and
    lineage, then one line per recorded profile."""
    described = descriptions or {}
    lines = [f"site {state.site}"]
    if now is not None:
        lines.append(f"timezone {clock.zone(now)}")
    lines += [f"serial {state.serial}", f"lineage {state.lineage}"]
    if not state.stations:
        lines.append("no profiles recorded")
    for station_id in sorted(state.stations):
        station = state.stations[station_id]
        name = f"{station_id} ({described[station_id]})" if station_id in described else station_id
        lines.append(f"station {name} (highest id {station.high_water_id})")
        if not station.profiles:
            lines.append("  no profiles recorded")
        records = sorted(station.profiles.items())
        rows = [
            (
                name,
                f"connector {r.connector_id}",
                f"id {r.charging_profile_id}",
                f"{r.purpose.value}/{r.stack_level}",
                r.status.value,
                *record_cells(r, clock),
                _validity(r, clock),
            )
            for name, r in records
        ]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(8)]
        for row, (_, record) in zip(rows, records, strict=True):
            lines.append(
                "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if record.last_error:
                lines.append(f"    last error: {record.last_error}")
    return "\n".join(lines) + "\n"


def _validity(record: ProfileRecord, clock: SiteClock) -> str:
    """`valid from …`, `valid until …` or `valid … → …` from the payload's validFrom and validTo."""
    start, end = record.payload.get("validFrom"), record.payload.get("validTo")
    if start is None and end is None:
        return ""
    if end is None:
        return f"valid from {clock.short(parse_timestamp(str(start)))}"
    if start is None:
        return f"valid until {clock.short(parse_timestamp(str(end)))}"
    return f"valid {clock.short(parse_timestamp(str(start)))} → {clock.short(parse_timestamp(str(end)))}"
