"""Builders for the composite-schedule tests: short payloads, clock times on one day, and a runner.

Times are on Monday 2026-03-02 (UTC) unless a day is given: `at("08:00")`, `at("3T06:00")` for March 3.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from reconciler.ocpp.profile import format_timestamp
from reconciler.ocpp.schedule import Installed, composite_schedule

_IDS = itertools.count(1000)
Row = tuple[datetime, datetime, Decimal | None]


def at(clock: str) -> datetime:
    """`"08:00"` on 2 March 2026 UTC, or `"3T08:00"` on 3 March."""
    day, _, time = clock.rpartition("T")
    return datetime.fromisoformat(f"2026-03-{int(day or 2):02d}T{time}:00+00:00")


def iso(clock: str) -> str:
    """`at(clock)` as an OCPP date-time text."""
    return format_timestamp(at(clock))


def profile(
    purpose: str = "TxDefaultProfile",
    *,
    level: int = 0,
    periods: Sequence[tuple[Any, ...]] = ((0, 11000),),
    unit: str = "W",
    kind: str = "Absolute",
    start: str | None = "00:00",
    duration: int | None = None,
    recurrency: str | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    profile_id: int | None = None,
) -> dict[str, Any]:
    """A `csChargingProfiles` payload; `start`, `valid_from` and `valid_to` are `at()` clock times.

    Each period is (startPeriod, limit) or (startPeriod, limit, numberPhases).
    """
    schedule: dict[str, Any] = {"chargingRateUnit": unit}
    if start is not None:
        schedule["startSchedule"] = iso(start)
    if duration is not None:
        schedule["duration"] = duration
    schedule["chargingSchedulePeriod"] = [
        {"startPeriod": p[0], "limit": p[1], **({"numberPhases": p[2]} if len(p) > 2 else {})}
        for p in periods
    ]
    body: dict[str, Any] = {
        "chargingProfileId": next(_IDS) if profile_id is None else profile_id,
        "stackLevel": level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
    }
    if recurrency is not None:
        body["recurrencyKind"] = recurrency
    if valid_from is not None:
        body["validFrom"] = iso(valid_from)
    if valid_to is not None:
        body["validTo"] = iso(valid_to)
    return body


def on(connector_id: int, *payloads: dict[str, Any]) -> list[Installed]:
    """The payloads as installed on one connector."""
    return [Installed(connector_id, p) for p in payloads]


def run(
    installed: Sequence[Installed],
    connector_id: int = 1,
    start: str = "08:00",
    hours: float = 6,
    **kwargs: Any,
) -> list[Row]:
    """The composite as (start, end, limit) rows."""
    result = composite_schedule(installed, connector_id, at(start), int(hours * 3600), **kwargs)
    return [(p.start, p.end, p.limit) for p in result]


def rows(*written: tuple[str, str, int | str | None]) -> list[Row]:
    """Expected rows from clock times and limits (ints, or strings for exact decimals)."""
    return [(at(s), at(e), None if limit is None else Decimal(limit)) for s, e, limit in written]
