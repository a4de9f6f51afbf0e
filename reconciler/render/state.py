"""Recorded state for people: `reconciler state show`. Pure.

One line per recorded profile: name, connector, id, purpose and stack level, status, whether the
charger's answer is recorded and since when, and what is on its way (`render.confirm`).
"""

from __future__ import annotations

from reconciler.render.confirm import record_cells
from reconciler.state.recorded import RecordedState


def render_text(state: RecordedState) -> str:
    """A summary for people: the site's serial and lineage, then one line per recorded profile."""
    lines = [f"site {state.site}", f"serial {state.serial}", f"lineage {state.lineage}"]
    if not state.stations:
        lines.append("no profiles recorded")
    for station_id in sorted(state.stations):
        station = state.stations[station_id]
        lines.append(f"station {station_id} (highest id {station.high_water_id})")
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
                *record_cells(r),
            )
            for name, r in records
        ]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(7)]
        for row, (_, record) in zip(rows, records, strict=True):
            lines.append(
                "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if record.last_error:
                lines.append(f"    last error: {record.last_error}")
    return "\n".join(lines) + "\n"
