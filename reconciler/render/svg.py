"""A plan's power view as SVG images a reviewer opens in a browser, written here without a plotting library.

`plan_charts` gives one image per site whose plan changes something (the site's combined limit) and one
per station it sends to (the station's total), each mapped to its file name. Each draws the limit before
the plan and after it as step lines, told apart by colour and by stroke (before wide and dashed, after
narrow and solid, drawn on top, so where they agree the dashes show on both sides of the line), the
site's grid limit when it declares one, a time axis in the site's wall-clock time with a few labels per
day (`timeaxis`), and a legend. A stretch without a limit is drawn at the station's rated power (the
most it can draw then), as the legend says. Text from desired state is escaped; the image names its zone.
Called by `reconciler plan --chart DIR`. Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from xml.sax.saxutils import escape

from reconciler.desired.clock import SiteClock
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.power import PowerView
from reconciler.plan.site import SitePlan
from reconciler.render.schedule import format_number
from reconciler.render.timeaxis import ticks

WIDTH, HEIGHT = 960, 460
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 28, 116, 96
_PLOT_W, _PLOT_H = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
_LABEL_PX = 58  # room one time label needs
# Okabe-Ito colours, told apart with colour blindness; each series also has its own stroke.
BEFORE = {"stroke": "#56B4E9", "stroke-width": "5", "stroke-dasharray": "10 6"}
AFTER = {"stroke": "#D55E00", "stroke-width": "2.5"}
GRID = {"stroke": "#000000", "stroke-width": "1.5", "stroke-dasharray": "2 4"}
_FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
Steps = Sequence[tuple[datetime, Decimal | None]]  # each value holds from its moment to the next
_Line = tuple[int, datetime, datetime, Decimal, Decimal]  # a line's steps (by id), window and scale


@dataclass(frozen=True, slots=True)
class Chart:
    """What one image shows: a title, lines under it, and the two series over [start, end)."""

    title: str
    subtitle: tuple[str, ...]
    start: datetime
    end: datetime
    before: Steps
    after: Steps
    clock: SiteClock
    grid_limit_w: Decimal | None = None
    no_limit_w: Decimal | None = None  # where a stretch without a limit is drawn (the rated power)


def plan_charts(plan: SitePlan) -> dict[str, str]:
    """The SVG images of one site's plan by file name (`<site>.svg`, `<site>/<station>.svg`); none when
    the plan changes nothing."""
    if plan.power is None:
        return {}
    view, clock = plan.power.view, plan.clock
    window = _window(view, clock)
    files = {}
    # Stations of one kind share their totals (`plan.power`), and so their steps and their lines: a depot
    # of 1,000 bays placed from the same templates draws its two lines once, not 1,000 times.
    steps_of: dict[int, tuple[Sequence[CompositePeriod], Steps]] = {}
    drawn: dict[_Line, str] = {}

    def steps(periods: Sequence[CompositePeriod]) -> Steps:
        if id(periods) not in steps_of:  # the periods kept beside them, so that their id stays theirs
            steps_of[id(periods)] = (periods, _steps(periods))
        return steps_of[id(periods)][1]

    if view.combined_before:
        files[f"{plan.site_id}.svg"] = render(
            Chart(
                f"{plan.site_id}: combined limit of the site",
                (
                    "The sum of its station totals, a station without a limit counted at its rated power",
                    *window,
                ),
                view.start,
                view.end,
                view.combined_before,
                view.combined_after,
                clock,
                plan.power.grid_limit_w,
            ),
            drawn,
        )
    for station in view.stations:
        facts = [plan.descriptions[station.station_id]] if station.station_id in plan.descriptions else []
        facts.append(f"connector 0 at {format_number(view.voltage_v)} V")
        if station.rated_w is not None:
            facts.append(f"rated {_kw(station.rated_w)} kW")
        files[f"{plan.site_id}/{file_stem(station.station_id)}.svg"] = render(
            Chart(
                f"{plan.site_id} / {station.station_id}: station total",
                (", ".join(facts), *window),
                view.start,
                view.end,
                steps(station.before),
                steps(station.after),
                clock,
                no_limit_w=station.rated_w,
            ),
            drawn,
        )
    return files


def file_stem(station_id: str) -> str:
    """A station id as a file name: itself when it is plain, else its plain characters and a hash, so
    two ids never share a file."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", station_id).lstrip(".")[:80]
    if plain == station_id:
        return plain
    return f"{plain}-{hashlib.sha256(station_id.encode()).hexdigest()[:8]}"


def render(chart: Chart, drawn: dict[_Line, str] | None = None) -> str:
    """The chart as a standalone SVG document; `drawn` keeps each line drawn, by its steps (which the
    caller keeps alive), window and scale, so that charts sharing a line draw it once."""
    values = [v for steps in (chart.before, chart.after) for _, v in steps if v is not None]
    no_limit = any(v is None for steps in (chart.before, chart.after) for _, v in steps)
    highest = max([*values, chart.grid_limit_w or Decimal(0), chart.no_limit_w or Decimal(0), Decimal(1000)])
    top, step = _scale(highest)
    # With no rated power known, no limit is drawn at the top of the scale.
    level = chart.no_limit_w if chart.no_limit_w is not None else top
    span_s = (chart.end - chart.start).total_seconds()

    def x(moment: datetime) -> float:
        return _LEFT + _PLOT_W * max(0.0, min(1.0, (moment - chart.start).total_seconds() / span_s))

    def y(watts: Decimal) -> float:
        return _TOP + _PLOT_H * (1 - float(watts / top))

    parts = [
        f'<text x="{_LEFT}" y="30" font-size="18" font-weight="600" class="title">'
        f"{escape(_fit(chart.title, 18))}</text>",
        *(
            f'<text x="{_LEFT}" y="{54 + 20 * i}" font-size="13" fill="#444" class="subtitle">'
            f"{escape(_fit(line, 13))}</text>"
            for i, line in enumerate(chart.subtitle)
        ),
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_PLOT_W}" height="{_PLOT_H}" fill="#ffffff" stroke="#999"/>',
    ]
    kw = Decimal(0)
    while kw <= top:
        parts.append(_hline(y(kw), "#e4e4e4", "y-grid"))
        parts.append(
            f'<text x="{_LEFT - 8}" y="{y(kw) + 4:.1f}" font-size="12" text-anchor="end" '
            f'class="y-label">{_kw(kw)}</text>'
        )
        kw += step
    parts.append(
        f'<text x="18" y="{_TOP + _PLOT_H / 2:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 18 {_TOP + _PLOT_H / 2:.1f})">kW</text>'
    )
    for tick in ticks(chart.start, chart.end, chart.clock, _PLOT_W // _LABEL_PX):
        at = x(tick.moment)
        colour = "#bbbbbb" if tick.day else "#eeeeee"
        parts.append(
            f'<line x1="{at:.1f}" y1="{_TOP}" x2="{at:.1f}" y2="{_TOP + _PLOT_H}" stroke="{colour}"/>'
        )
        parts.append(
            f'<text x="{at:.1f}" y="{_TOP + _PLOT_H + 18}" font-size="12" text-anchor="middle" '
            f'font-weight="{600 if tick.day else 400}" class="x-label">{escape(tick.label)}</text>'
        )
    if chart.grid_limit_w is not None:
        parts.append(_hline(y(chart.grid_limit_w), GRID, "grid-limit"))
    lines = drawn if drawn is not None else {}
    for name, steps, style in (("before", chart.before, BEFORE), ("after", chart.after, AFTER)):
        key = (id(steps), chart.start, chart.end, top, level)
        if key not in lines:
            lines[key] = _path(steps, chart.end, x, lambda v: y(level if v is None else v))
        path = lines[key]
        parts.append(f'<path d="{path}" fill="none" {_attrs(style)} stroke-linejoin="round" class="{name}"/>')
    parts.append(_legend(chart, level if no_limit else None))
    body = "\n  ".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{_FONT}">\n'
        f"  <title>{escape(chart.title)}</title>\n  <desc>{escape(_describe(chart))}</desc>\n"
        f'  <rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa"/>\n  {body}\n</svg>\n'
    )


def _legend(chart: Chart, no_limit_level: Decimal | None) -> str:
    y = HEIGHT - 26
    entries = [("before the plan", BEFORE, "legend-before"), ("after the plan", AFTER, "legend-after")]
    if chart.grid_limit_w is not None:
        entries.append((f"grid limit {_kw(chart.grid_limit_w)} kW", GRID, "legend-grid"))
    out, x = [], _LEFT
    for text, style, name in entries:
        out.append(
            f'<g class="{name}"><line x1="{x}" y1="{y - 4}" x2="{x + 36}" y2="{y - 4}" {_attrs(style)}/>'
            f'<text x="{x + 44}" y="{y}" font-size="13">{escape(text)}</text></g>'
        )
        x += 44 + 8 * len(text) + 28
    if no_limit_level is not None:
        rated = " (the rated power)" if no_limit_level == chart.no_limit_w else ""
        out.append(
            f'<text x="{x}" y="{y}" font-size="13" fill="#444" class="legend-note">no limit: drawn at '
            f"{_kw(no_limit_level)} kW{rated}</text>"
        )
    return "".join(out)


def _describe(chart: Chart) -> str:
    def span(steps: Steps) -> str:
        values = [v for _, v in steps if v is not None]
        text = f"{_kw(min(values))} to {_kw(max(values))} kW" if values else "no limit"
        return text + (", no limit at times" if values and len(values) < len(steps) else "")

    grid = f"; grid limit {_kw(chart.grid_limit_w)} kW" if chart.grid_limit_w is not None else ""
    sides = f"Before the plan {span(chart.before)}; after it {span(chart.after)}"
    return f"{'; '.join(chart.subtitle)}. {sides}{grid}."


def _path(
    steps: Steps, end: datetime, x: Callable[[datetime], float], y: Callable[[Decimal | None], float]
) -> str:
    """A step line: level from each moment to the next, then straight up or down."""
    first_moment, first_value = steps[0]
    d = [f"M{x(first_moment):.1f},{y(first_value):.1f}"]
    for moment, value in steps[1:]:
        d.append(f"H{x(moment):.1f}V{y(value):.1f}")
    d.append(f"H{x(end):.1f}")
    return "".join(d)


def _hline(at: float, style: str | dict[str, str], name: str) -> str:
    attrs = _attrs(style) if isinstance(style, dict) else f'stroke="{style}"'
    return f'<line x1="{_LEFT}" y1="{at:.1f}" x2="{_LEFT + _PLOT_W}" y2="{at:.1f}" {attrs} class="{name}"/>'


def _attrs(style: dict[str, str]) -> str:
    return " ".join(f'{key}="{value}"' for key, value in style.items())


def _scale(highest: Decimal) -> tuple[Decimal, Decimal]:
    """The top of the axis (a tenth above the highest value, on a round step) and the step, in W."""
    raw = highest * Decimal("1.1") / 5
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1)
    step = next(m * magnitude for m in (1, 2, Decimal("2.5"), 5, 10) if m * magnitude >= raw)
    top = step * (highest * Decimal("1.1") / step).to_integral_value(rounding=ROUND_CEILING)
    return top, step


def _steps(periods: Sequence[CompositePeriod]) -> Steps:
    return [(p.start, p.limit) for p in periods]


def _window(view: PowerView, clock: SiteClock) -> tuple[str, str]:
    """The window, and the zone with every change of offset within it."""
    days = view.duration_s // 86_400
    length = "24 h" if days == 1 else f"{days} days"
    return (
        f"{length} from {clock.stamp(view.start, weekday=True)}",
        f"Times {clock.zone_over(view.start, view.end)}",
    )


def _fit(text: str, font_px: int) -> str:
    """`text` cut to what fits the image's width at `font_px` (the whole of it is in the title element)."""
    room = int((WIDTH - _LEFT - _RIGHT) / (font_px * 0.58))
    return text if len(text) <= room else text[: room - 1] + "…"


def _kw(watts: Decimal) -> str:
    return format_number(watts / 1000)
