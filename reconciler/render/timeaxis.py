"""Time axes in a site's wall-clock time: where a chart's labels go and what they say. Pure.

A chart gets a few labels per day at round local hours (every 1, 2, 3, 6 or 12 hours, or once every
few days), the finest step that gives no more labels than it has room for. At a local midnight the
label is the day itself (`Tue 24`), so a week reads as days and a day's chart shows where the date
changes. Labels are placed on the wall clock and converted to UTC, so they stay at 00:00, 06:00, ...
across a change of offset, and a wall-clock time that does not exist that day (clocks put forward) gets
none. Used by `render.svg`, the Mermaid chart of `render.power` and the text charts of `render.schedule`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.desired.clock import SiteClock

# Label steps in hours, finest first; past a day, whole days.
_STEPS_H = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 672)
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)
_HALF_YEAR_H = 182 * 24


@dataclass(frozen=True, slots=True)
class Tick:
    """A label on a time axis: its moment (UTC) and its text; `day` when it names a day (local midnight)."""

    moment: datetime
    label: str
    day: bool


def ticks(start: datetime, end: datetime, clock: SiteClock, most: int) -> list[Tick]:
    """Labels for [start, end] in the site's time, at the finest step giving at most `most` of them
    (at least one step's worth, however long the window)."""
    # A plan draws every station it touches over the same window: their axes are worked out once.
    return list(_ticks(start, end, clock, most))


@functools.lru_cache(maxsize=64)
def _ticks(start: datetime, end: datetime, clock: SiteClock, most: int) -> tuple[Tick, ...]:
    most = max(1, most)
    span_h = (end - start) / _HOUR
    # A step gives at least span / step labels less a few: the window's ends, a wall-clock span shorter
    # than the UTC one by an offset change (at most 2 h), and a label lost where the clocks go forward
    # (at most twice a year). Steps surely giving too many are skipped unlisted: a week's text chart
    # would otherwise list 168 hourly labels to use 4.
    slack = 4 + span_h / _HALF_YEAR_H
    found: list[Tick] = []
    for step_h in _STEPS_H:
        if span_h / step_h - slack > most and step_h != _STEPS_H[-1]:
            continue
        found = _at_step(start, end, clock, step_h)
        if len(found) <= most:
            break
    return tuple(found)


def _at_step(start: datetime, end: datetime, clock: SiteClock, step_h: int) -> list[Tick]:
    """Every local time in [start, end] whose hour is a multiple of `step_h` (past a day: every
    `step_h / 24`-th local midnight, counted from the first)."""
    first_day = clock.local(start).date()
    days = (clock.local(end).date() - first_day).days
    hours = range(0, 24, step_h) if step_h < 24 else range(1)
    every = max(1, step_h // 24)
    out = []
    for index in range(days + 1):
        if index % every:
            continue
        date = first_day + index * _DAY
        for hour in hours:
            wall = datetime(date.year, date.month, date.day, hour, tzinfo=clock.tz)
            moment = wall.astimezone(UTC)
            if clock.local(moment).replace(tzinfo=None) != wall.replace(tzinfo=None):
                continue  # skipped by the clocks going forward
            if start <= moment <= end:
                day = hour == 0
                out.append(Tick(moment, f"{wall:%a} {wall.day}" if day else f"{hour:02d}:00", day))
    return out
