"""When one charging profile applies: its OCPP payload read into typed form, and placed in time.

`read_profile` turns a `csChargingProfiles` payload (as sent, as planned, as recorded) into a
`TimedProfile`; `limit_pieces` lays its periods on the time line of a window: which occurrence of a
Recurring schedule covers which stretch, where `duration`, `validFrom` and `validTo` cut it off. Stacking
and purposes are not this module's business: `schedule` ranks the pieces and combines them. Pure.

All arithmetic is in UTC on exact datetimes: a Daily schedule repeats every 86,400 s and a Weekly one
every 604,800 s after its `startSchedule`, whatever the local clocks do across daylight-saving changes.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from reconciler.ocpp.limitsteps import Exact, exact

_Named = TypeVar("_Named", bound=tuple[Any, ...])

RECURRENCE_PERIOD = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}


class TimedPeriod(NamedTuple):
    """One schedule period: from `start_s` seconds after the schedule's anchor, at most `limit`.

    A named tuple, as `LimitPiece`: a schedule of 1,000 periods makes 1,000 of them."""

    start_s: int
    limit: Exact
    number_phases: int | None


@dataclass(frozen=True, slots=True)
class TimedProfile:
    """The parts of a ChargingProfile that decide when it applies and what it allows."""

    connector_id: int
    profile_id: int
    stack_level: int
    purpose: str
    kind: str
    recurrency: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    start_schedule: datetime | None
    duration_s: int | None
    unit: str
    periods: tuple[TimedPeriod, ...]
    min_rate: Exact | None = None  # minChargingRate, in `unit`
    # The pieces of each window this profile was laid out in (`limit_pieces`), kept: a plan stacks a
    # station's profiles in one window once per change it rates.
    laid_out: dict[tuple[Any, ...], tuple[LimitPiece, ...]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    # Each period's start after the anchor, its limit and its phases, as `_place_periods` lays them out
    # in every occurrence.
    offsets: tuple[timedelta, ...] = field(init=False, compare=False, hash=False, repr=False)
    limits: tuple[Exact, ...] = field(init=False, compare=False, hash=False, repr=False)
    phases: tuple[int | None, ...] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        periods = self.periods  # by C calls (`map`): a site of 30 schedules of 1,000 periods reads 30,000
        object.__setattr__(self, "offsets", tuple(map(timedelta, repeat(0), map(_START_S, periods))))
        object.__setattr__(self, "limits", tuple(map(_LIMIT, periods)))
        object.__setattr__(self, "phases", tuple(map(_PHASES, periods)))

    @property
    def tie_key(self) -> tuple[Exact, ...]:
        """The limits negated, in period order: how a full tie of rank is broken (lower limits first)."""
        return tuple(-period.limit for period in self.periods)

    @property
    def needs_anchor(self) -> bool:
        """True when the schedule starts at a session start rather than at a time of its own.

        An Absolute profile without `startSchedule` counts too: it is how a session cap is written
        before the session fills the start in.
        """
        return self.kind == "Relative" or (self.kind == "Absolute" and self.start_schedule is None)

    def run_start(self, anchor: datetime | None) -> datetime | None:
        """Where the one run of a schedule that does not recur starts: `anchor` for one that needs it,
        else its `startSchedule`; None when it never starts."""
        return anchor if self.needs_anchor else self.start_schedule


_START_S, _LIMIT, _PHASES = itemgetter(0), itemgetter(1), itemgetter(2)  # a TimedPeriod's fields


class LimitPiece(NamedTuple):
    """A stretch [start, end) during which one profile allows at most `limit` in `unit`.

    A named tuple rather than a frozen dataclass: a day of a schedule of minute periods lays out
    thousands, and a tuple is built in one step where a frozen dataclass sets each field in turn."""

    start: datetime
    end: datetime
    limit: Exact
    unit: str
    number_phases: int | None


def read_time(text: str) -> datetime:
    """An OCPP date-time as an aware UTC datetime; one without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@functools.lru_cache(maxsize=4096, typed=True)
def read_number(value: Any) -> Exact:
    """A JSON limit (int, float, Decimal or numeric text) as an exact number of what was written: an int
    when whole, else a Fraction (see `limitsteps.Exact`).

    A float goes through its shortest repr, so 8.1 read from JSON is 81/10, not the binary double.
    Remembered by value and type (True is not 1 here): a network's schedules use a few limits many
    times, and one object per limit lets the composite convert each once (`schedule._Window`).
    """
    if isinstance(value, bool):
        raise TypeError(f"a limit must be a number, not {value!r}")
    if isinstance(value, float):
        return exact(Fraction(Decimal(repr(value))))
    if isinstance(value, int):
        return int(value)  # an int subclass would otherwise be kept as it is
    if isinstance(value, Decimal):
        return exact(Fraction(value))
    return exact(Fraction(Decimal(str(value))))


def read_profile(connector_id: int, payload: Mapping[str, Any]) -> TimedProfile:
    """A `csChargingProfiles` payload installed on `connector_id`, typed.

    Periods whose `startPeriod` does not increase on the one before are dropped, as OCPP demands
    strictly increasing starts and a charger cannot follow them. Raises ValueError when a field
    the calculation needs is missing.
    """
    try:
        schedule = payload["chargingSchedule"]
        raw_periods = schedule["chargingSchedulePeriod"]
        rows: list[tuple[int, Exact, int | None]] = []  # each period's fields, made TimedPeriods below
        last_s = -1  # the start of the last period kept (none yet: a start must be 0 or more)
        for raw in raw_periods:
            start_s = int(raw["startPeriod"])
            if start_s <= last_s:
                continue
            last_s = start_s
            phases = raw.get("numberPhases")
            rows.append((start_s, read_number(raw["limit"]), None if phases is None else int(phases)))
        start_schedule = schedule.get("startSchedule")
        duration = schedule.get("duration")
        min_rate = schedule.get("minChargingRate")
        return TimedProfile(
            connector_id=connector_id,
            profile_id=int(payload["chargingProfileId"]),
            stack_level=int(payload["stackLevel"]),
            purpose=str(payload["chargingProfilePurpose"]),
            kind=str(payload["chargingProfileKind"]),
            recurrency=payload.get("recurrencyKind"),
            valid_from=_optional_time(payload.get("validFrom")),
            valid_to=_optional_time(payload.get("validTo")),
            start_schedule=_optional_time(start_schedule),
            duration_s=None if duration is None else int(duration),
            unit=str(schedule["chargingRateUnit"]),
            periods=tuple(as_named(TimedPeriod, rows)),
            min_rate=None if min_rate is None else read_number(min_rate),
        )
    except KeyError as err:
        raise ValueError(f"charging profile lacks {err.args[0]!r}") from None


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else read_time(text)


def limit_pieces(
    profile: TimedProfile,
    window_start: datetime,
    window_end: datetime,
    anchor: datetime | None,
    *,
    recur_before_start: bool,
) -> list[LimitPiece]:
    """The stretches of [window_start, window_end) where `profile` sets a limit, in time order.

    `anchor` is where a Relative schedule (or an Absolute one without `startSchedule`) starts; None
    makes such a profile inactive. A Recurring profile without `startSchedule` or with an unknown
    `recurrencyKind` has no anchor and is inactive. Pieces never overlap each other.
    """
    key = (window_start, window_end, anchor, recur_before_start)
    kept = profile.laid_out.get(key)
    if kept is None:
        kept = profile.laid_out[key] = tuple(_laid_out(profile, key))
    return list(kept)


def reach(
    profile: TimedProfile, window_start: datetime, window_end: datetime, anchor: datetime | None
) -> tuple[datetime, datetime] | None:
    """The stretch of [window_start, window_end) outside which `profile` sets no limit (it may set none
    inside either), read from its fields alone; None when it sets none anywhere in it. `anchor` is as
    for `limit_pieces`."""
    lower = window_start if profile.valid_from is None else max(window_start, profile.valid_from)
    upper = window_end if profile.valid_to is None else min(window_end, profile.valid_to)
    if profile.kind != "Recurring":  # a Recurring schedule may have begun any time before
        start = profile.run_start(anchor)
        if start is None:
            return None
        lower = max(lower, start)
        if profile.duration_s is not None:
            upper = min(upper, start + timedelta(seconds=profile.duration_s))
    return (lower, upper) if lower < upper else None


def repeats_daily(
    profile: TimedProfile, window_start: datetime, window_end: datetime, *, recur_before_start: bool
) -> bool:
    """Whether the pieces of `profile` in [window_start, window_end) are those of its first day there,
    shifted by whole days: a Daily recurrence begun by `window_start` (or recurring before its start),
    valid all of the window."""
    if profile.kind != "Recurring" or profile.recurrency != "Daily" or profile.start_schedule is None:
        return False
    return (
        (recur_before_start or profile.start_schedule <= window_start)
        and (profile.valid_from is None or profile.valid_from <= window_start)
        and (profile.valid_to is None or profile.valid_to >= window_end)
    )


def piece_count(
    profile: TimedProfile,
    window_start: datetime,
    window_end: datetime,
    anchor: datetime | None,
    *,
    recur_before_start: bool,
) -> int:
    """How many pieces `limit_pieces` lays out, counted from the profile's fields without laying any out:
    a run's periods are found by bisection, so a year of a Daily schedule is 366 runs to count, however
    many periods each has."""
    key = (window_start, window_end, anchor, recur_before_start)
    return sum(run.beyond - run.first for run in _runs(profile, key))


class _Run(NamedTuple):
    """One run of a schedule inside a window: its periods `first` up to `beyond` set a limit there,
    from `occurrence` (where the run starts) on, cut to [lower, end)."""

    first: int
    beyond: int
    occurrence: datetime
    end: datetime
    lower: datetime


def _laid_out(profile: TimedProfile, key: tuple[Any, ...]) -> list[LimitPiece]:
    pieces: list[LimitPiece] = []
    for run in _runs(profile, key):
        _place_periods(profile, run, pieces)
    return pieces


def _runs(profile: TimedProfile, key: tuple[Any, ...]) -> Iterator[_Run]:
    """Each run of the schedule that sets a limit in the window of `key` (see `limit_pieces`)."""
    window_start, window_end, anchor, recur_before_start = key
    bounds = reach(profile, window_start, window_end, anchor)
    if bounds is None or not profile.periods:
        return
    lower, upper = bounds
    offsets = profile.offsets
    for occurrence, span_end in _occurrences(profile, lower, upper, anchor, recur_before_start):
        end = min(span_end, upper)
        if end <= lower:
            continue  # a run over before the stretch begins (a `duration` shorter than the recurrence)
        # Periods ending by `lower` add nothing: start at the last one starting by then; and stop before
        # the first one starting at the run's end or after.
        first = max(bisect_right(offsets, lower - occurrence) - 1, 0)
        beyond = bisect_left(offsets, end - occurrence, lo=first)
        if first < beyond:
            yield _Run(first, beyond, occurrence, end, lower)


def _occurrences(
    profile: TimedProfile,
    lower: datetime,
    upper: datetime,
    anchor: datetime | None,
    recur_before_start: bool,
) -> list[tuple[datetime, datetime]]:
    """Each start of the schedule that may touch [lower, upper), with where that run of it ends."""
    duration = None if profile.duration_s is None else timedelta(seconds=profile.duration_s)
    if profile.kind == "Recurring":
        period = RECURRENCE_PERIOD.get(profile.recurrency or "")
        if period is None or profile.start_schedule is None:
            return []
        # A run stops at the next occurrence: the rest of a too-long schedule is not executed.
        span = period if duration is None else min(duration, period)
        first = (lower - profile.start_schedule) // period
        if not recur_before_start:
            first = max(first, 0)
        runs = []
        occurrence = profile.start_schedule + first * period
        while occurrence < upper:
            runs.append((occurrence, occurrence + span))
            occurrence += period
        return runs
    # [lower, upper) is already its reach (`reach`): the run starts at or before `lower`, cut at `upper`.
    start = profile.run_start(anchor)
    return [] if start is None else [(start, upper)]


def _place_periods(profile: TimedProfile, run: _Run, out: list[LimitPiece]) -> None:
    """Append the periods of one run, clipped to [run.lower, run.end): only its first may start before
    `run.lower`."""
    first, beyond, occurrence, end, lower = run
    starts = [occurrence + offset for offset in profile.offsets[first:beyond]]
    starts[0] = max(starts[0], lower)
    ends = [*starts[1:], end]
    # A week of minute tariffs on 30 connectors lays out 200,000 pieces.
    out += as_named(
        LimitPiece,
        zip(starts, ends, profile.limits[first:beyond], repeat(profile.unit), profile.phases[first:beyond]),
    )


def as_named(kind: type[_Named], rows: Iterable[tuple[Any, ...]]) -> Iterator[_Named]:
    """Each row (its fields in order) as the named tuple `kind`, made by C calls (`tuple.__new__`): a
    named tuple's own constructor is a Python call, most of the cost of making one."""
    return map(tuple.__new__, repeat(kind), rows)
