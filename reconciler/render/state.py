"""Recorded state for people and tools: `reconciler state show` and `reconciler state list`. Pure.

`state show`: one line per recorded profile: name, connector, id, purpose and stack level, status, whether the
charger's answer is recorded and since when, what is on its way (`render.confirm`), and the profile's
own validity. Times are the site's wall-clock time and stations are named with their descriptions,
both from the site's desired file when the shell could read it (else UTC and ids alone, as it says).
Its JSON is the state file's records with the site's timezone and the stations' descriptions. `state
list`: one row per site, its live profiles counted by status.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.ocpp.profile import format_timestamp, parse_timestamp
from reconciler.render.confirm import record_cells
from reconciler.render.jsontext import Members, indented, indented_pieces
from reconciler.render.names import named, visible
from reconciler.state.recorded import ProfileRecord, RecordedState, Status

JSON_FORMAT_VERSION = 1


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
        lines.append(
            f"station {named(station_id, described.get(station_id))} (highest id {station.high_water_id})"
        )
        if not station.profiles:
            lines.append("  no profiles recorded")
        records = sorted(station.profiles.items())
        rows = [
            (
                visible(name),
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
                lines.append(f"    last error: {visible(record.last_error)}")
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


def json_pieces(
    site: str,
    state: RecordedState | None,
    clock: SiteClock = UTC_CLOCK,
    descriptions: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """Versioned JSON for tools, in pieces of ASCII bytes: the records as the state file holds them
    (times UTC), with the site's `timezone` and each station's `description` (null without one);
    `serial` and `lineage` are null and `stations` empty when nothing is recorded yet. A station at a
    time: a state at its bound is 71 MB of JSON, which is never held whole, nor the whole state dumped
    into Python objects first."""
    described = descriptions or {}
    head: dict[str, Any] = {"format_version": JSON_FORMAT_VERSION, "timezone": clock.name}
    if state is None:
        head |= {"site": site, "serial": None, "lineage": None}
        stations: Iterable[tuple[str, Any]] = ()
    else:
        head |= state.model_dump(mode="json", exclude={"stations"})
        stations = (
            (station_id, {**station.model_dump(mode="json"), "description": described.get(station_id)})
            for station_id, station in state.stations.items()
        )
    # A model's JSON dump and text beside it: JSON's own types alone.
    yield from indented_pieces({**head, "stations": Members(stations)}, depth=2, json_types=True)
    yield b"\n"


@dataclass(frozen=True, slots=True)
class Listed:
    """One site of `state list`: its recorded state (None: nothing recorded yet) and its clock."""

    site: str
    state: RecordedState | None
    clock: SiteClock = UTC_CLOCK


# The columns of `state list` that count records by what became of them; retired records are history.
_COUNTED = (Status.ACCEPTED, Status.REQUESTED, Status.PENDING, Status.REJECTED, Status.FAILED)


def _counts(state: RecordedState) -> dict[str, int]:
    live = [record for _, _, record in state.records() if not record.is_retired]
    counts = {"stations": len(state.stations), "profiles": len(live)}
    counts |= {status.value: sum(r.status is status for r in live) for status in _COUNTED}
    counts["clearing"] = sum(r.clearing is not None for r in live)
    return counts


def _written(state: RecordedState) -> datetime | None:
    """The last time a record changed, as far as the records tell."""
    stamps = [parse_timestamp(record.updated_at) for _, _, record in state.records()]
    return max(stamps, default=None)


def list_text(listed: Sequence[Listed]) -> str:
    """`state list` for people: one row per site, live profiles by status, the last change in site time."""
    header = (
        "site",
        "serial",
        "stations",
        "profiles",
        *(s.value for s in _COUNTED),
        "clearing",
        "last change",
    )
    rows = [header]
    for item in listed:
        if item.state is None:
            rows.append((item.site, "none", *([""] * (len(header) - 3)), "nothing recorded"))
            continue
        counts = _counts(item.state)
        written = _written(item.state)
        rows.append(
            (
                item.site,
                str(item.state.serial),
                *(str(counts[key]) for key in header[2:-1]),
                item.clock.short(written) if written else "never",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def list_json(listed: Sequence[Listed]) -> str:
    """`state list --format json`: per site its serial, lineage and counts (null state: nothing recorded),
    the last change in UTC and the site's timezone."""
    sites = []
    for item in listed:
        entry: dict[str, object] = {"site": item.site, "timezone": item.clock.name, "recorded": None}
        if item.state is not None:
            written = _written(item.state)
            entry["recorded"] = {
                "serial": item.state.serial,
                "lineage": item.state.lineage,
                **_counts(item.state),
                "last_change": format_timestamp(written) if written else None,
            }
        sites.append(entry)
    return indented({"format_version": JSON_FORMAT_VERSION, "sites": sites}) + "\n"
