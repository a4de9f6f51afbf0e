"""OCPP payloads in the site's wall-clock time: each period's local start beside its seconds.

A Recurring payload counts its periods in UTC seconds from `startSchedule`; a person reads them as
`Mon 17:00 8 kW`. Each period shows the wall-clock time of its next start from the moment of reading
(the plan's `now`, or the payload's `validFrom` when that is later), so a UTC-anchored schedule shows
the wall-clock times it has in that season. Moments are written by `desired.clock.SiteClock`. Used by
`render.text` and `render.markdown`. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from reconciler.desired.clock import SiteClock
from reconciler.ocpp.profile import Json
from reconciler.ocpp.recurrence import RECURRENCE_PERIOD, read_time
from reconciler.render.schedule import format_number

# Payload fields that hold a moment, shown in local time beside their RFC 3339 text.
_MOMENTS = frozenset({"validFrom", "validTo", "startSchedule"})
_PERIOD_PATH = re.compile(r"chargingSchedule\.chargingSchedulePeriod\[(\d+)\]")


class PeriodStarts:
    """The wall-clock start of each period of one payload (`17:00` Daily, `Mon 17:00` Weekly, date and
    time Absolute; empty for a schedule that starts with a session: Relative, or no `startSchedule`),
    worked out for the periods asked about: a changed tariff's lines name 24 of its 1,000.

    Without `now` a Recurring schedule is read at its `validFrom`, else its first run.
    """

    def __init__(self, payload: Mapping[str, Any], clock: SiteClock, now: datetime | None) -> None:
        schedule = payload.get("chargingSchedule", {})
        self._periods: Sequence[Mapping[str, Any]] = schedule.get("chargingSchedulePeriod", [])
        self._clock = clock
        anchor = schedule.get("startSchedule")
        relative = anchor is None or payload.get("chargingProfileKind") == "Relative"
        self._first = None if relative else read_time(anchor)
        cycle = RECURRENCE_PERIOD.get(payload.get("recurrencyKind") or "")
        self._cycle = cycle if payload.get("chargingProfileKind") == "Recurring" else None
        valid_from = payload.get("validFrom")
        moments = [read_time(valid_from)] if valid_from and self._cycle is not None else []
        self._reading = max([*moments, *([now] if now else [])], default=self._first)

    def __len__(self) -> int:
        return len(self._periods)

    def __getitem__(self, index: int) -> str:
        if self._first is None:
            return ""
        start = _start(self._first, self._periods[index])
        if self._cycle is not None and self._reading is not None:
            weekly = self._cycle > timedelta(days=1)
            return self._clock.time_of_day(_next(start, self._reading, self._cycle), weekday=weekly)
        return f"{self._clock.date(start)} {self._clock.time_of_day(start)}"


def _start(first: datetime, period: Mapping[str, Any]) -> datetime:
    return first + timedelta(seconds=int(period["startPeriod"]))


def _next(moment: datetime, reading: datetime, cycle: timedelta) -> datetime:
    """The first time `moment` comes round again at or after `reading`, every `cycle`."""
    return moment if moment >= reading else moment - (moment - reading) // cycle * cycle


def rate(limit: Any, unit: str) -> str:
    """A payload's limit with its unit as people say it: `8 kW` for 8000 W, `10.5 A`."""
    value = Decimal(str(limit))
    return f"{format_number(value / 1000)} kW" if unit == "W" else f"{format_number(value)} {unit}"


# Periods a payload's line names before counting the rest: ChargingScheduleMaxPeriods' usual default,
# so a schedule most chargers take is shown whole (the JSON plan and `payloads` hold every period).
SUMMARY_PERIODS = 24


def summary(payload: Json, clock: SiteClock, now: datetime | None) -> str:
    """One line for a payload: purpose, level, kind, and each period as `Mon 17:00 8 kW (57600s)`; past
    SUMMARY_PERIODS of them, how many more."""
    schedule = payload["chargingSchedule"]
    unit = schedule["chargingRateUnit"]
    every = schedule["chargingSchedulePeriod"]
    starts = PeriodStarts(payload, clock, now)
    shown = []
    for index, period in enumerate(every[:SUMMARY_PERIODS]):
        start = starts[index]
        shown.append(
            f"{start + ' ' if start else ''}{rate(period['limit'], unit)} ({period['startPeriod']}s)"
        )
    periods = ", ".join(shown)
    if len(every) > SUMMARY_PERIODS:
        periods += f", +{len(every) - SUMMARY_PERIODS} more periods"
    kind = payload["chargingProfileKind"] + (
        f" {payload['recurrencyKind']}" if "recurrencyKind" in payload else ""
    )
    return f"{payload['chargingProfilePurpose']} stack {payload['stackLevel']}, {kind}: {periods}"


def moment_note(line_path: str, value: Any, clock: SiteClock) -> str:
    """` (2027-03-28 03:00 CEST)` after a moment field's value (validFrom, validTo, startSchedule)."""
    if line_path.rsplit(".", 1)[-1] not in _MOMENTS or not isinstance(value, str):
        return ""
    try:
        return f" ({clock.stamp(read_time(value))})"
    except ValueError:
        return ""


def period_note(line_path: str, starts: PeriodStarts) -> str:
    """` (Mon 17:00)` after the path of a period's field: the wall-clock time that period starts at, from
    the payload's `PeriodStarts`."""
    match = _PERIOD_PATH.match(line_path)
    if match is None:
        return ""
    index = int(match.group(1))
    return f" ({starts[index]})" if index < len(starts) and starts[index] else ""
