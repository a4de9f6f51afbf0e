"""A plan's power view for its readers: text lines, a Markdown block with a Mermaid chart, JSON. Pure.

`render.text.render_text` adds `text_lines` under each site (every station the plan sends to: its total
before and after, as one-line charts on the station's own scale with the moments the limit changes);
`render.markdown` adds `markdown` (the site's combined limit before and after as a Mermaid
`xychart-beta` chart, which GitHub draws: before as bars, after as a line, the grid limit as another,
and a table of the stations); `render.text.render_json`
adds `as_json`. The numbers come from `power.PowerBasis.view`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.ocpp.profile import DAY_S, RateUnit, format_timestamp, json_number
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.power import PowerBasis, PowerView, StationPower
from reconciler.render.names import LISTED_STATIONS, listed, named, shown, visible
from reconciler.render.schedule import chart, format_number
from reconciler.render.timeaxis import ticks

# Moments listed after a chart before the rest is summed up as "+N".
_LISTED_CHANGES = 6
Steps = Sequence[tuple[datetime, Decimal]]


def text_lines(
    basis: PowerBasis | None, clock: SiteClock = UTC_CLOCK, descriptions: Mapping[str, str] | None = None
) -> list[str]:
    """The touched stations' totals before and after, indented to sit under a site in the text plan."""
    if basis is None or not basis.view.stations:
        return []
    view = basis.view
    described = descriptions or {}
    lines = [
        f"   Power: station totals in kW at {format_number(view.voltage_v)} V, {_window(view, clock)} "
        f"({clock.zone_over(view.start, view.end)}; ░ no limit, █ the station's highest limit shown):"
    ]
    # Stations whose lines are alike (a template changed on a depot) share one block that lists them,
    # where the first of them stands: the lines are a summary per station, in no order that matters.
    blocks: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    # Stations of one kind share their totals' very tuples (`PowerBasis.view`): drawn once for all.
    drawn: dict[tuple[Decimal | None, int, int], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for station in view.stations:
        key = (station.rated_w, id(station.before), id(station.after))
        if key not in drawn:
            drawn[key] = _station_block(station, view, clock)
        blocks.setdefault(drawn[key], []).append(station.station_id)
    for (facts, charts), ids in blocks.items():
        if len(ids) == 1:
            about = [visible(described[ids[0]]), *facts] if ids[0] in described else list(facts)
            lines.append(f"     {visible(ids[0])}" + (f" ({', '.join(about)})" if about else ""))
        else:
            first = f"     {len(ids)} stations" + (f" ({', '.join(facts)})" if facts else "") + ": "
            lines += listed([named(i, described.get(i)) for i in ids], first, "       ")
        lines += charts
    axis = chart(view.stations[0].before, RateUnit.WATT, clock=clock)[1]
    lines.append(f"       {'':<6} {axis}")
    return lines


def _station_block(
    station: StationPower, view: PowerView, clock: SiteClock
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A station's facts (rating, scale) and its two chart lines, without its name."""
    # Each station on its own scale (before and after alike): a 22 kW wallbox beside a 150 kW
    # charger would otherwise show as a sliver.
    limits = [p.limit for p in (*station.before, *station.after) if p.limit is not None]
    top = max(limits, default=None)
    facts = [] if station.rated_w is None else [f"rated {_kw(station.rated_w)} kW"]
    facts += [] if top is None else [f"█ {_kw(top)} kW"]
    charts = []
    for side, periods in (("before", station.before), ("after", station.after)):
        bars = chart(periods, RateUnit.WATT, top=top, clock=clock)[0]
        charts.append(f"       {side:<6} {bars}  {_changes(periods, view, clock)}")
    return tuple(facts), tuple(charts)


def _changes(periods: Sequence[CompositePeriod], view: PowerView, clock: SiteClock) -> str:
    """Where the limit changes and to what: `12:00 11 kW, 20:00 22 kW`, the tail summed up."""
    items = [f"{_clock(p.start, view, clock)} {_limit(p.limit)}" for p in periods[:_LISTED_CHANGES]]
    if len(periods) > _LISTED_CHANGES:
        items.append(f"+{len(periods) - _LISTED_CHANGES} more")
    return ", ".join(items)


def markdown(
    basis: PowerBasis | None,
    site_id: str,
    escape: Callable[[str], str],
    clock: SiteClock = UTC_CLOCK,
    descriptions: Mapping[str, str] | None = None,
    *,
    charts: Sequence[str] = (),
) -> str:
    """The site's combined limit as a Mermaid chart (before as bars, after as a line, the grid limit as
    another line) with its time axis in the site's wall-clock time, the SVG `charts` written of it (file
    names), and a table of the touched stations' lowest and highest totals, stations alike sharing a row
    that names at most LISTED_STATIONS of them; empty when the plan changes nothing."""
    if basis is None:
        return ""
    view = basis.view
    described = descriptions or {}
    out = ""
    if view.combined_before:
        out += _combined_chart(view, site_id, clock, basis.grid_limit_w)
    if charts:
        site, stations = [c for c in charts if "/" not in c], [c for c in charts if "/" in c]
        named = [f"<code>{escape(c)}</code> (the site)" for c in site]
        if stations:
            folder = stations[0].rsplit("/", 1)[0]
            named.append(f"{len(stations)} station total(s) in <code>{escape(folder)}/</code>")
        out += f"SVG charts: {', '.join(named)}.\n\n"
    if view.left_out:
        out += (
            "Left out of the combined limit (no rated power in desired state): "
            + ", ".join(f"<code>{escape(s)}</code>" for s in view.left_out)
            + ".\n\n"
        )
    if view.stations:
        out += "| station | total before | total after |\n|---|---|---|\n"
        # Stations with the same totals (a template changed on a depot) share a row that lists them.
        rows: dict[tuple[str, str], list[str]] = {}
        spans: dict[int, str] = {}  # by totals: stations of one kind share their very tuples
        for station in view.stations:
            name = f"<code>{escape(station.station_id)}</code>"
            if station.station_id in described:
                name += f" {escape(described[station.station_id])}"
            for periods in (station.before, station.after):
                if id(periods) not in spans:
                    spans[id(periods)] = _span(periods)
            rows.setdefault((spans[id(station.before)], spans[id(station.after)]), []).append(name)
        for (before, after), names in rows.items():
            out += f"| {', '.join(shown(names, LISTED_STATIONS))} | {before} | {after} |\n"
        out += "\n"
    return out


def _combined_chart(view: PowerView, site_id: str, clock: SiteClock, grid_limit_w: Decimal | None) -> str:
    weekly = view.duration_s > DAY_S
    buckets = 168 if weekly else 96  # an hour, or a quarter of an hour: steps show as steps
    step = timedelta(seconds=view.duration_s / buckets)
    starts = [view.start + step * i for i in range(buckets)]
    before = _highest(view.combined_before, starts, step)
    after = _highest(view.combined_after, starts, step)
    top = max((*before, *after, grid_limit_w or Decimal(0)))
    marks: dict[int, str] = {}
    for tick in ticks(view.start, view.end - step, clock, 14 if weekly else 12):
        marks.setdefault(int((tick.moment - view.start) / step), tick.label)
    # Mermaid merges categories of equal names, so each carries an invisible suffix of its own; only a
    # few carry a time, so the axis reads a few labels a day.
    labels = ", ".join(f'"{marks.get(i, "")}{_unseen(i)}"' for i in range(buckets))
    palette = ", ".join(_PALETTE[: 3 if grid_limit_w is not None else 2])
    grid = f"{_kw(grid_limit_w)} kW" if grid_limit_w is not None else None
    lines = f"  line [{', '.join(_kw(v) for v in after)}]\n"
    if grid_limit_w is not None:
        lines += f"  line [{', '.join([_kw(grid_limit_w)] * buckets)}]\n"
    return (
        f"**Combined limit of the site**, kW: the sum of its station totals, a station without a limit "
        f"counted at its rated power; the highest in each {_duration(step)}, {_window(view, clock)}, "
        f"times {clock.zone_over(view.start, view.end)}. Blue bars: before the plan ({_range(before)} kW); "
        f"orange line: after it ({_range(after)} kW)"
        + (f"; black line: the grid limit, {grid}." if grid else ".")
        + "\n\n```mermaid\n"
        f'%%{{init: {{"xyChart": {{"width": 900, "height": 420}}, '
        f'"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%\n'
        "xychart-beta\n"
        f'  title "{_mermaid_text(site_id)}: combined limit, kW"\n'
        f"  x-axis [{labels}]\n"
        f'  y-axis "kW" 0 --> {_kw(_headroom(top))}\n'
        f"  bar [{', '.join(_kw(v) for v in before)}]\n"
        f"{lines}"
        "```\n\n"
    )


# Before (bars), after (a line) and the grid limit (a line), in Okabe-Ito colours.
_PALETTE = ("#56B4E9", "#D55E00", "#000000")


def _unseen(index: int) -> str:
    """A different invisible text for every index: its binary digits as zero-width characters."""
    return "".join("\u200b" if bit == "0" else "\u200c" for bit in format(index, "b"))


def _mermaid_text(text: str) -> str:
    # A Mermaid string ends at the next double quote and knows no escape for one.
    return "".join(c if c.isprintable() and c != '"' else "'" for c in text)


def as_json(basis: PowerBasis | None) -> dict[str, Any] | None:
    """The view as JSON: W throughout, periods with RFC 3339 bounds, null limits for no limit."""
    if basis is None:
        return None
    view = basis.view
    written = _Written()
    return {
        "start": format_timestamp(view.start),
        "end": format_timestamp(view.end),
        "unit": "W",
        "voltage_v": json_number(view.voltage_v),
        "stations": [_station_json(s, written) for s in view.stations],
        "site": {
            "before": _steps_json(view.combined_before, view.end, written),
            "after": _steps_json(view.combined_after, view.end, written),
            "left_out": list(view.left_out),
        },
    }


class _Written:
    """Each moment as RFC 3339 text and each limit as a JSON number, each worked out once: every period
    ends where the next starts, the stations' periods and the site's share their bounds (a day of minute
    tariffs: 1,440 of them), and a line repeats a few limits, each one object (`schedule.periods`)."""

    __slots__ = ("_lines", "_moments", "_numbers")

    def __init__(self) -> None:
        # By the line, kept beside its periods: stations of one kind share their totals (`plan.power`).
        self._lines: dict[int, tuple[Sequence[CompositePeriod], list[dict[str, Any]]]] = {}
        self._moments: dict[datetime, str] = {}
        # By the limit object, which the entry keeps, so that its id is not reused while the entry lives:
        # keyed by value, 16 and 16.0 would share one number, but json writes 16 and 16.0.
        self._numbers: dict[int, tuple[Decimal, int | float]] = {}

    def line(self, periods: Sequence[CompositePeriod]) -> list[dict[str, Any]]:
        """A station's total as JSON periods, written once for all the stations sharing it (a depot of
        1,000 bays from the same templates: one list, not 1,000 of 97 periods each)."""
        known = self._lines.get(id(periods))
        if known is None or known[0] is not periods:
            known = self._lines[id(periods)] = (periods, [self.period(*period) for period in periods])
        return known[1]

    def period(self, start: datetime, end: datetime, limit: Decimal | None) -> dict[str, Any]:
        """A period as JSON: its bounds as RFC 3339 text, its limit as a JSON number (null: no limit)."""
        moments = self._moments
        # Inline rather than a method per moment: a view can hold 100,000 periods.
        if (start_text := moments.get(start)) is None:
            start_text = moments[start] = format_timestamp(start)
        if (end_text := moments.get(end)) is None:
            end_text = moments[end] = format_timestamp(end)
        number = None
        if limit is not None:
            known = self._numbers.get(id(limit))
            if known is None or known[0] is not limit:
                known = self._numbers[id(limit)] = (limit, json_number(limit))
            number = known[1]
        return {"start": start_text, "end": end_text, "limit": number}


def _station_json(station: StationPower, written: _Written) -> dict[str, Any]:
    return {
        "station": station.station_id,
        "rated_w": None if station.rated_w is None else json_number(station.rated_w),
        "before": written.line(station.before),
        "after": written.line(station.after),
    }


def _steps_json(steps: Steps, end: datetime, written: _Written) -> list[dict[str, Any]]:
    if not steps:  # no station of the site has a rated power in desired state
        return []
    ends = [moment for moment, _ in steps[1:]] + [end]
    return [written.period(start, stop, value) for (start, value), stop in zip(steps, ends, strict=True)]


def _highest(steps: Steps, starts: Sequence[datetime], length: timedelta) -> list[Decimal]:
    """The highest value in each bucket [start, start + length): the most the site may draw then, what a
    grid connection has to carry. One pass over the steps, however many buckets."""
    out: list[Decimal] = []
    i = 0
    for start in starts:
        while i + 1 < len(steps) and steps[i + 1][0] <= start:
            i += 1
        value, j = steps[i][1], i + 1
        while j < len(steps) and steps[j][0] < start + length:
            value = max(value, steps[j][1])
            j += 1
        out.append(value)
    return out


def _span(periods: Sequence[CompositePeriod]) -> str:
    limits = [p.limit for p in periods]
    values = [v for v in limits if v is not None]
    text = _range(values) + " kW" if values else ""
    if None in limits:
        text = f"{text}, no limit at times" if text else "no limit"
    return text


def _range(values: Sequence[Decimal]) -> str:
    low, high = min(values), max(values)
    return _kw(low) if low == high else f"{_kw(low)}–{_kw(high)}"


def _headroom(top: Decimal) -> Decimal:
    # A tenth above the highest value, rounded up to a whole kW, so the top line is not on the frame.
    return Decimal(int(top * Decimal("1.1") / 1000) + 1) * 1000


def _window(view: PowerView, clock: SiteClock) -> str:
    length = "24 h" if view.duration_s == DAY_S else f"{view.duration_s // DAY_S} days"
    return f"{length} from {clock.stamp(view.start, weekday=True, zone=False)}"


def _clock(moment: datetime, view: PowerView, clock: SiteClock) -> str:
    # Over a week the same weekday comes round again at the end, so the day of the month goes with it.
    local = clock.local(moment)
    return f"{local:%H:%M}" if view.duration_s <= DAY_S else f"{local:%a} {local.day} {local:%H:%M}"


def _duration(step: timedelta) -> str:
    minutes = int(step.total_seconds()) // 60
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _limit(limit: Decimal | None) -> str:
    return "no limit" if limit is None else f"{_kw(limit)} kW"


def _kw(watts: Decimal) -> str:
    return format_number(watts / 1000)
