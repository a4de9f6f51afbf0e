"""A drift check for people (text, Markdown for a job summary) and for programs (JSON). Pure.

Text and Markdown name each station that is not in sync, with its description, what it reports against
what was expected from the first moment they differ, and what healing did; stations in sync are counted.
Moments are in the site's time (`desired.clock`). JSON (format_version 1) has every station and
connector, periods in UTC with `limit` null for no limit, and each site's timezone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from reconciler.desired.clock import SiteClock
from reconciler.ocpp.drift import Difference, Verdict
from reconciler.ocpp.profile import Json, format_timestamp, json_number
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.drift import ConnectorResult, Heal, SiteDrift, StationResult, station_verdicts
from reconciler.render.jsontext import indented
from reconciler.render.names import LISTED_STATIONS, listed, literal, named, shown, visible

JSON_FORMAT_VERSION = 1
_SAYS = {
    Verdict.IN_SYNC: "in sync",
    Verdict.ALLOWS_MORE: "allows MORE than recorded",
    Verdict.ALLOWS_LESS: "allows less than recorded",
    Verdict.UNREACHABLE: "unreachable",
}
_SHOWN_DIFFERENCES = 3
# A job summary holds at most 1 MiB a step, shared with apply's log: the table stops well short of it.
DEFAULT_MAX_CHARS = 250_000


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


def _details(result: StationResult) -> list[str]:
    """What a station's verdict rests on and what healing did, a line each, without the station's name."""
    clock = result.target.clock
    lines = []
    if result.verdict is Verdict.UNREACHABLE:
        lines.append(visible(str(result.reason)))
    for connector in result.connectors:
        differences = connector.comparison.differences if connector.comparison is not None else ()
        lines += [_difference(clock, connector, d) for d in differences[:_SHOWN_DIFFERENCES]]
        if len(differences) > _SHOWN_DIFFERENCES:
            lines.append(
                f"connector {connector.connector_id}: and {len(differences) - _SHOWN_DIFFERENCES} more"
            )
    if result.target.unconfirmed:
        lines.append(
            f"{result.target.unconfirmed} profile(s) counted as installed await the charger's answer"
        )
    heal = _heal(result)
    if heal is not None:
        lines.append(heal)
    return lines


@dataclass(frozen=True)
class _Alike:
    """Stations of a site not in sync that say the same (verdict, moments, details) but for their name,
    as a depot's bays placed from the same templates do after a power cut: one entry for a reader."""

    verdict: Verdict
    first: datetime | None  # the first moment reported and expected differ
    details: tuple[str, ...]
    stations: tuple[str, ...]  # each named with its description

    def says(self, clock: SiteClock) -> str:
        """`allows MORE than recorded from Sat 08:00`."""
        said = _SAYS[self.verdict]
        return said if self.first is None else f"{said} from {clock.mention(self.first)}"


def _alike(site: SiteDrift) -> list[_Alike]:
    """The site's stations not in sync, those that say the same together, in the order first met."""
    found: dict[tuple[Verdict, datetime | None, tuple[str, ...]], list[str]] = {}
    for result in site.stations:
        if result.verdict is not Verdict.IN_SYNC:
            key = (result.verdict, result.first_difference, tuple(_details(result)))
            found.setdefault(key, []).append(_station(result))
    return [_Alike(*key, tuple(names)) for key, names in found.items()]


def summary(sites: Sequence[SiteDrift]) -> str:
    """One line: how many stations stand in each verdict."""
    counts = station_verdicts([s for site in sites for s in site.stations])
    checked = sum(counts.values())
    parts = [f"{counts.get(v, 0)} {_SAYS[v].lower()}" for v in Verdict]
    return f"{checked} station(s) checked: " + ", ".join(parts) + "."


def render_text(sites: Sequence[SiteDrift]) -> str:
    """Each site: its stations not in sync (in sync ones counted; alike ones together), then the summary."""
    lines: list[str] = []
    for site in sites:
        drifted = [s for s in site.stations if s.verdict is not Verdict.IN_SYNC]
        in_sync = len(site.stations) - len(drifted)
        zone = f" (times {site.clock.zone(site.stations[0].checked_at)})" if drifted else ""
        lines.append(f"{site.site_id}: {in_sync} of {len(site.stations)} station(s) in sync{zone}")
        lines += [f"  {note}" for note in site.notes]
        for alike in _alike(site):
            says = alike.says(site.clock)
            if len(alike.stations) == 1:
                lines.append(f"  {alike.stations[0]}: {says}")
            else:
                lines.append(f"  {len(alike.stations)} stations: {says}")
                lines += listed(alike.stations, "    on ", "       ")
            lines += [f"    {line}" for line in alike.details]
    lines.append(summary(sites))
    return "\n".join(lines) + "\n"


def render_markdown(sites: Sequence[SiteDrift], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """A job summary: the totals, then a table row for each station not in sync (alike ones share a row,
    naming at most LISTED_STATIONS), within about `max_chars`: rows past it are counted, not shown."""
    lines = ["### Drift", "", summary(sites), ""]
    rows = [(site, alike) for site in sites for alike in _alike(site)]
    if rows:
        lines += ["| site | station | verdict | from | detail |", "|---|---|---|---|---|"]
        size = sum(len(line) + 1 for line in lines)
        for at, (site, alike) in enumerate(rows):
            names = ", ".join(shown(alike.stations, LISTED_STATIONS))
            if len(alike.stations) > 1:
                names = f"{len(alike.stations)} stations: {names}"
            first = site.clock.short(alike.first) if alike.first else ""
            cells = (site.site_id, names, _SAYS[alike.verdict], first, "; ".join(alike.details))
            row = "| " + " | ".join(map(literal, cells)) + " |"
            if size + len(row) + 1 > max_chars:
                left = sum(len(a.stations) for _, a in rows[at:])
                lines += [
                    "",
                    f"{left} more station(s) not in sync are left out to fit; `reconciler drift` "
                    "or `reconciler drift --format json` lists every one.",
                ]
                break
            lines.append(row)
            size += len(row) + 1
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
    return indented(document) + "\n"
