"""Drift: what a charger reports it enforces (its composite schedule) against what is expected of it. Pure.

OCPP 1.6 cannot list a charger's profiles; GetCompositeSchedule is the only view of what it enforces.
`read_reported` turns a GetCompositeSchedule.conf into periods in W; `compare` lays it beside the composite
the recorded profiles should give (computed by `schedule.composite_schedule` with the charger's own
`firmware` rules) and says how they differ:

- both sides are capped at the station's rated power, and "no limit" counts as the rated power, so the
  three ways chargers write "no limit" (a gap, -1, the rated power) and a limit above what the station can
  draw all read the same;
- a difference within `Tolerance.fraction` of the larger limit is rounding (A to W, a charger's own voltage),
  and one lasting at most `Tolerance.align_s` is clocks a few seconds apart, not drift;
- reported above expected somewhere is `ALLOWS_MORE`: a profile is missing, which can overload a grid
  connection; reported only below is `ALLOWS_LESS`: a limit nobody here sent (eDRV's own power management
  uses stack levels 0-10), reported but never healed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from reconciler.ocpp.profile import RateUnit
from reconciler.ocpp.recurrence import read_number, read_time
from reconciler.ocpp.schedule import CompositePeriod


class Verdict(StrEnum):
    """How a charger's report compares with what is expected of it; worst last."""

    IN_SYNC = "in_sync"
    ALLOWS_LESS = "allows_less"
    ALLOWS_MORE = "allows_more"
    UNREACHABLE = "unreachable"


SEVERITY = {verdict: rank for rank, verdict in enumerate(Verdict)}


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far apart expected and reported may be and still agree."""

    fraction: Decimal = Decimal("0.02")
    align_s: int = 10


@dataclass(frozen=True, slots=True)
class Difference:
    """A stretch [start, end) in which the charger reports `reported_w` where `expected_w` was expected
    (both capped at the rated power; None is no limit)."""

    start: datetime
    end: datetime
    expected_w: Decimal | None
    reported_w: Decimal | None

    @property
    def allows_more(self) -> bool:
        return _or_rated(self.reported_w) > _or_rated(self.expected_w)


@dataclass(frozen=True, slots=True)
class Comparison:
    verdict: Verdict
    differences: tuple[Difference, ...]

    @property
    def first_difference(self) -> datetime | None:
        return self.differences[0].start if self.differences else None


class ReportError(ValueError):
    """A GetCompositeSchedule answer that cannot be read as a schedule."""


def read_reported(
    conf: Mapping[str, Any], asked_at: datetime, duration_s: int, voltage_v: Decimal, default_phases: int = 3
) -> list[CompositePeriod]:
    """The periods of a GetCompositeSchedule.conf in W, from its start for `duration_s` seconds.

    The start is the answer's `scheduleStart` (or the schedule's own `startSchedule`), else `asked_at`.
    Before the first period, in a period with a negative limit, and throughout when an Accepted answer
    holds no schedule, there is no limit (None). Limits in A are converted per period with its
    `numberPhases` (else `default_phases`) at `voltage_v`. Raises ReportError when the answer is not
    Accepted or its schedule is malformed.
    """
    if conf.get("status") != "Accepted":
        raise ReportError(f"the charger answered {conf.get('status')!r}")
    schedule = conf.get("chargingSchedule")
    if schedule is None:
        text = conf.get("scheduleStart")
        start = read_time(text) if isinstance(text, str) else asked_at
        return [CompositePeriod(start, start + timedelta(seconds=duration_s), None)]
    if not isinstance(schedule, Mapping):
        raise ReportError("the answer's chargingSchedule is not an object")
    try:
        text = conf.get("scheduleStart") or schedule.get("startSchedule")
        start = read_time(text) if text else asked_at
        unit = RateUnit(schedule["chargingRateUnit"])
        steps: list[tuple[datetime, Decimal | None]] = [(start, None)]
        for raw in schedule["chargingSchedulePeriod"]:
            written = read_number(raw["limit"])
            limit = Decimal(written.numerator) / Decimal(written.denominator)
            if unit is RateUnit.AMPERE:
                limit *= voltage_v * int(raw.get("numberPhases") or default_phases)
            moment = start + timedelta(seconds=int(raw["startPeriod"]))
            value = None if limit < 0 else limit
            # A period replaces those starting at or after it (starts should increase): kept in order,
            # those are the last ones, so a long answer is read in one pass.
            while steps and steps[-1][0] >= moment:
                steps.pop()
            steps.append((moment, value))
    except (KeyError, TypeError, ValueError) as err:
        raise ReportError(f"the composite schedule cannot be read: {err}") from None
    end = start + timedelta(seconds=duration_s)
    steps = [s for s in steps if s[0] < end]
    ends = [moment for moment, _ in steps[1:]] + [end]
    return [CompositePeriod(s, e, limit) for (s, limit), e in zip(steps, ends, strict=True) if s < e]


def compare(
    expected: Sequence[CompositePeriod],
    reported: Sequence[CompositePeriod],
    rated_w: Decimal,
    tolerance: Tolerance = Tolerance(),
) -> Comparison:
    """Where `reported` differs from `expected` over the stretch both cover, and the verdict."""
    if not expected or not reported:
        return Comparison(Verdict.IN_SYNC, ())
    start = max(expected[0].start, reported[0].start)
    end = min(expected[-1].end, reported[-1].end)
    moments = sorted({p.start for p in (*expected, *reported) if start < p.start < end} | {start})
    differences: list[Difference] = []
    wanted, had = _values_at(expected, moments), _values_at(reported, moments)
    for index, moment in enumerate(moments):
        until = moments[index + 1] if index + 1 < len(moments) else end
        want, have = _capped(wanted[index], rated_w), _capped(had[index], rated_w)
        if _agree(want, have, rated_w, tolerance.fraction):
            continue
        last = differences[-1] if differences else None
        if last and last.end == moment and (last.expected_w, last.reported_w) == (want, have):
            differences[-1] = Difference(last.start, until, want, have)
        else:
            differences.append(Difference(moment, until, want, have))
    lasting = tuple(d for d in differences if (d.end - d.start).total_seconds() > tolerance.align_s)
    if not lasting:
        return Comparison(Verdict.IN_SYNC, ())
    verdict = Verdict.ALLOWS_MORE if any(d.allows_more for d in lasting) else Verdict.ALLOWS_LESS
    return Comparison(verdict, lasting)


def _values_at(periods: Sequence[CompositePeriod], moments: Sequence[datetime]) -> list[Decimal | None]:
    """The limit of `periods` (in time order, none overlapping) at each of `moments` (in time order): one
    walk over both, as a charger's answer may hold tens of thousands of periods; None outside them."""
    values: list[Decimal | None] = []
    index = 0
    for moment in moments:
        while index < len(periods) and periods[index].end <= moment:
            index += 1
        inside = index < len(periods) and periods[index].start <= moment
        values.append(periods[index].limit if inside else None)
    return values


def _capped(value: Decimal | None, rated_w: Decimal) -> Decimal | None:
    # At or above the rated power a limit holds nothing back: it reads as no limit.
    return None if value is None or value >= rated_w else value


def _or_rated(value: Decimal | None) -> Decimal:
    return Decimal("Infinity") if value is None else value


def _agree(want: Decimal | None, have: Decimal | None, rated_w: Decimal, fraction: Decimal) -> bool:
    first, second = (rated_w if want is None else want), (rated_w if have is None else have)
    return abs(first - second) <= fraction * max(first, second)
