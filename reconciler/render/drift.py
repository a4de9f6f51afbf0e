"""A drift check for people (text, Markdown for a job summary) and for programs (JSON). Pure.

Text and Markdown name each station that is not in sync, with its description, what it reports against
what was expected from the first moment they differ, and what healing did; stations in sync are counted.
Moments are in the site's time (`desired.clock`). JSON (format_version 1) has every station and
connector, periods in UTC with `limit` null for no limit, and each site's timezone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from reconciler.desired.clock import SiteClock
from reconciler.ocpp.drift import Difference, Verdict
from reconciler.ocpp.profile import Json, format_timestamp, json_number
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.drift import ConnectorResult, Heal, SiteDrift, StationResult, station_verdicts
from reconciler.render.names import named, visible

JSON_FORMAT_VERSION = 1
_SAYS = {
    Verdict.IN_SYNC: "in sync",
    Verdict.ALLOWS_MORE: "allows MORE than recorded",
    Verdict.ALLOWS_LESS: "allows less than recorded",
    Verdict.UNREACHABLE: "unreachable",
}
_SHOWN_DIFFERENCES = 3


def _watts(value: Decimal | None) -> str:
    if value is None:
        return "no limit"
    kilowatts = value / 1000
    return f"{kilowatts.normalize():f} kW" if value >= 1000 else f"{value.normalize():f} W"


def _station(result: StationResult) -> str:
    return named(result.target.station_id, result.target.description)


def _heal(result: StationResult) -> str | None:
    if result.heal is Heal.REQUESTED:
        return (
            f"heal: the next apply sends {len(result.healed)} profile(s) again ({', '.join(result.healed)})"
        )
    if result.heal is Heal.FLAPPING:
        return f"flapping: healed {result.heals_today} time(s) in a day; left alone"
    if result.verdict is Verdict.ALLOWS_MORE:
        return "not healed (run with --heal to send its profiles again)"
    return None


def _difference(clock: SiteClock, connector: ConnectorResult, difference: Difference) -> str:
    return (
        f"connector {connector.connector_id}: from {clock.stamp(difference.start, weekday=True)} to "
        f"{clock.stamp(difference.end, weekday=True)} reports {_watts(difference.reported_w)}, "
        f"expected {_watts(difference.expected_w)}"
    )


def _station_lines(result: StationResult) -> list[str]:
    first = result.first_difference
    clock = result.target.clock
    head = f"{_station(result)}: {_SAYS[result.verdict]}"
    if first is not None:
        head += f" from {clock.mention(first)}"
    lines = [head]
    if result.verdict is Verdict.UNREACHABLE:
        lines.append(f"  {visible(str(result.reason))}")
    for connector in result.connectors:
        differences = connector.comparison.differences if connector.comparison is not None else ()
        lines += [f"  {_difference(clock, connector, d)}" for d in differences[:_SHOWN_DIFFERENCES]]
        if len(differences) > _SHOWN_DIFFERENCES:
            lines.append(
                f"  connector {connector.connector_id}: and {len(differences) - _SHOWN_DIFFERENCES} more"
            )
    if result.target.unconfirmed:
        lines.append(
            f"  {result.target.unconfirmed} profile(s) counted as installed await the charger's answer"
        )
    heal = _heal(result)
    if heal is not None:
        lines.append(f"  {heal}")
    return lines


def summary(sites: Sequence[SiteDrift]) -> str:
    """One line: how many stations stand in each verdict."""
    counts = station_verdicts([s for site in sites for s in site.stations])
    checked = sum(counts.values())
    parts = [f"{counts.get(v, 0)} {_SAYS[v].lower()}" for v in Verdict]
    return f"{checked} station(s) checked: " + ", ".join(parts) + "."


def render_text(sites: Sequence[SiteDrift]) -> str:
    """Each site: its stations not in sync (in sync ones counted), then the summary."""
    lines: list[str] = []
    for site in sites:
        drifted = [s for s in site.stations if s.verdict is not Verdict.IN_SYNC]
        in_sync = len(site.stations) - len(drifted)
        zone = f" (times {site.clock.zone(site.stations[0].checked_at)})" if drifted else ""
        lines.append(f"{site.site_id}: {in_sync} of {len(site.stations)} station(s) in sync{zone}")
        lines += [f"  {note}" for note in site.notes]
        for result in drifted:
            lines += [f"  {line}" for line in _station_lines(result)]
    lines.append(summary(sites))
    return "\n".join(lines) + "\n"


def render_markdown(sites: Sequence[SiteDrift]) -> str:
    """A job summary: the totals, then one table row per station not in sync."""
    lines = ["### Drift", "", summary(sites), ""]
    rows = [(site, s) for site in sites for s in site.stations if s.verdict is not Verdict.IN_SYNC]
    if rows:
        lines += ["| site | station | verdict | from | detail |", "|---|---|---|---|---|"]
        for site, result in rows:
            first = result.first_difference
            detail = "; ".join(_station_lines(result)[1:]).replace("|", "\\|").strip()
            lines.append(
                f"| {site.site_id} | {_station(result)} | {_SAYS[result.verdict]} | "
                f"{site.clock.short(first) if first else ''} | {detail} |"
            )
        lines.append("")
    return "\n".join(lines)


def _periods(periods: Sequence[CompositePeriod]) -> list[Json]:
    return [
        {
            "start": format_timestamp(p.start),
            "end": format_timestamp(p.end),
            "limit": None if p.limit is None else json_number(p.limit),
        }
        for p in periods
    ]


def _connector_json(connector: ConnectorResult) -> Json:
    differences = connector.comparison.differences if connector.comparison is not None else ()
    return {
        "connector": connector.connector_id,
        "verdict": connector.verdict.value,
        "reason": connector.reason,
        "expected": _periods(connector.expected),
        "reported": _periods(connector.reported),
        "differences": [
            {
                "start": format_timestamp(d.start),
                "end": format_timestamp(d.end),
                "expected_w": None if d.expected_w is None else json_number(d.expected_w),
                "reported_w": None if d.reported_w is None else json_number(d.reported_w),
            }
            for d in differences
        ],
    }


def render_json(sites: Sequence[SiteDrift]) -> str:
    """Every site, station and connector checked, with expected and reported periods (unit W)."""
    document = {
        "format_version": JSON_FORMAT_VERSION,
        "unit": "W",
        "sites": [
            {
                "site": site.site_id,
                "timezone": site.clock.name,
                "verdict": site.verdict.value,
                "notes": list(site.notes),
                "stations": [
                    {
                        "station": s.target.station_id,
                        "description": s.target.description,
                        "verdict": s.verdict.value,
                        "checked_at": format_timestamp(s.checked_at),
                        "first_difference": format_timestamp(s.first_difference)
                        if s.first_difference
                        else None,
                        "unconfirmed_records": s.target.unconfirmed,
                        "heal": s.heal.value,
                        "healed": list(s.healed),
                        "connectors": [_connector_json(c) for c in s.connectors],
                    }
                    for s in site.stations
                ],
            }
            for site in sites
        ],
    }
    return json.dumps(document, indent=2) + "\n"
