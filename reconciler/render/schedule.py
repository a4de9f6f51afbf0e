"""A site's composite schedules for people (a table of periods and a one-line chart) and as JSON.

Renders what `plan.siteschedule.site_schedules` computes: text in the site's wall-clock time, JSON in
UTC with the site's timezone. The chart helpers also draw the plan's power view (`render.power`). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.ocpp.profile import RateUnit, format_timestamp, json_number
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.siteschedule import StationSchedule
from reconciler.render.jsontext import indented
from reconciler.render.names import listed, named
from reconciler.render.timeaxis import ticks

JSON_FORMAT_VERSION = 1
CHART_COLUMNS = 48
_BARS = "▁▂▃▄▅▆▇█"
_NO_LIMIT = "░"


def render_json(schedules: Sequence[StationSchedule]) -> str:
    """Versioned JSON: per station its periods with RFC 3339 UTC bounds and limits (null: no limit), and
    the site's timezone."""
    document = {
        "format_version": JSON_FORMAT_VERSION,
        "stations": [
            {
                "site": s.site_id,
                "station": s.station_id,
                "timezone": s.clock.name,
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
    return indented(document) + "\n"


def render_text(schedules: Sequence[StationSchedule]) -> str:
    """For people: per station a heading, one line per period in the site's wall-clock time, a chart;
    stations with the same schedule (a depot's bays placed from the same templates) share one, listed."""
    alike: dict[tuple[str, int, RateUnit, tuple[CompositePeriod, ...]], list[StationSchedule]] = {}
    for s in schedules:
        alike.setdefault((s.site_id, s.connector_id, s.unit, s.periods), []).append(s)
    blocks = []
    for group in alike.values():
        s = group[0]
        scope = "station total" if s.connector_id == 0 else f"connector {s.connector_id}"
        names = [named(g.station_id, g.description) for g in group]
        heading = f"{s.site_id}/{names[0]}" if len(group) == 1 else f"{s.site_id}: {len(group)} stations"
        listing = [] if len(group) == 1 else listed(names, "  on ", "     ")
        if not s.periods:
            blocks.append("\n".join([f"{heading}, {scope}: no periods", *listing]))
            continue
        start, end = s.periods[0].start, s.periods[-1].end
        lines = [f"{heading}, {scope}, times {s.clock.zone_over(start, end)}", *listing]
        # Around a change of offset a wall-clock time may be missing or come twice: name the zone then.
        lines += _listing(s, zoned=bool(s.clock.changes(start, end)))
        lines.extend("  " + line for line in chart(s.periods, s.unit, clock=s.clock))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _listing(schedule: StationSchedule, *, zoned: bool) -> list[str]:
    """A line per period, `Mon 2026-11-23 13:00 → 17:00  8 kW`: the end without its date when it falls on
    the start's date. Each bound is read on the clock once (a period ends where the next starts) and each
    limit written once, for a day of minute tariffs on 30 connectors is 30,000 periods of a few dozen
    limits."""
    periods, clock, unit = schedule.periods, schedule.clock, schedule.unit.value
    walls = clock.walls([*(p.start for p in periods), periods[-1].end], zone=zoned)
    limits: dict[Decimal, str] = {}
    lines = []
    for index, period in enumerate(periods):
        day, date, time = walls[index]
        end_day, end_date, end_time = walls[index + 1]
        last = end_time if end_date == date else f"{end_day} {end_date} {end_time}"
        value = period.limit
        if value is None:
            limit = "no limit"
        else:
            limit = limits.get(value) or limits.setdefault(value, f"{format_number(value)} {unit}")
        lines.append(f"  {day} {date} {time} → {last}  {limit}")
    return lines


def chart(
    periods: Sequence[CompositePeriod],
    unit: RateUnit,
    columns: int = CHART_COLUMNS,
    top: Decimal | None = None,
    clock: SiteClock = UTC_CLOCK,
) -> list[str]:
    """A bar per column (the lowest limit within it, scaled to the highest), a time axis in the site's
    wall-clock time, a legend.

    `top` fixes the full bar instead, so that charts drawn one above the other share a scale.
    """
    if not periods:
        return []
    start, end = periods[0].start, periods[-1].end
    step = (end - start) / columns
    values = _column_lows(periods, start, step, columns)
    if top is None:
        top = max((v for v in values if v is not None), default=None)
    bars = "".join(_bar(value, top) for value in values)
    axis = _axis(start, step, columns, clock)
    legend = f"{_BARS[-1]} {format_number(top)} {unit.value}, " if top is not None else ""
    return [bars, axis, f"{legend}{_NO_LIMIT} no limit; one column is {_duration(step)}"]


def _column_lows(
    periods: Sequence[CompositePeriod], start: datetime, step: timedelta, columns: int
) -> list[Decimal | None]:
    """The lowest limit of the periods overlapping each column, None where none limits.

    The lowest limit is what a column guarantees; "no limit" only when nothing in it limits. Periods are
    in time order (a composite schedule's are), so one pass walks both: a plan draws two charts for each
    station it changes, and looking at every period for every column cost a tenth of a large plan.
    """
    lows: list[Decimal | None] = []
    first = 0
    for column in range(columns):
        column_start, column_end = start + step * column, start + step * (column + 1)
        while first < len(periods) and periods[first].end <= column_start:
            first += 1
        low: Decimal | None = None
        at = first
        while at < len(periods) and periods[at].start < column_end:
            limit = periods[at].limit
            if limit is not None and (low is None or limit < low):
                low = limit
            at += 1
        lows.append(low)
    return lows


def _bar(value: Decimal | None, top: Decimal | None) -> str:
    if value is None or top is None:
        return _NO_LIMIT
    if top <= 0:
        return _BARS[0]
    index = int(value / top * (len(_BARS) - 1))
    return _BARS[max(0, min(index, len(_BARS) - 1))]


def _axis(start: datetime, step: timedelta, columns: int, clock: SiteClock) -> str:
    """Labels in the site's wall-clock time under the columns they fall in, as many as fit a space apart:
    round hours, and the day's name (`Tue 24`) at each local midnight, so a week reads as days."""
    axis = ""
    for tick in ticks(start, start + step * columns, clock, columns // 8):
        column = int((tick.moment - start) / step)
        if column < len(axis) + (1 if axis else 0) or column + len(tick.label) > columns:
            continue
        axis = axis.ljust(column) + tick.label
    return axis


def _duration(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def format_number(value: Decimal) -> str:
    """A limit as written by hand: `8000`, `11.5`, never `8.0E+3`."""
    return f"{value.normalize():f}"
