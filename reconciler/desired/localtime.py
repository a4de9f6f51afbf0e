"""Local-time schedules: wall-clock periods in the site's timezone, compiled into plain OCPP 1.6 profiles.

An operator writes `chargingSchedule.local: [{at: "07:00", limit: 10}, ...]` (weekdays before the time
for Weekly: `Sat 00:00`, `Mon-Fri 07:00`) instead of `startSchedule` and periods in seconds. Chargers
know no time zones: a Daily profile repeats every 86,400 UTC seconds, so one compiled for winter runs
an hour late all summer. So `expand` compiles a local-time profile into one OCPP profile per UTC-offset
period, exact within it, and bounds each by `validFrom`/`validTo` at the offset changes:

- the profile of the period in force now runs until the next change (`validTo`), and the one of the
  period after it from that change on (`validFrom`), with no end: the charger switches by itself, and
  if no apply comes before the change after that, it keeps the last offset rather than lapse;
- they sit on the profile's stack level and the one above, and take turns: each period takes the
  level of its `turn` (see `clock.OffsetPeriod`), so the period in force keeps its level while the
  one after the next takes the level the expired one left (a replacement in the same slot with a
  future `validFrom` would leave the period in force with no profile, OCPP 1.6 section 3.13.2);
- the first apply after a change rolls the window forward with two calls: the period now in force
  gets its `validTo`, and the level the expired period held gets the next period.

Each compiled profile is named `<name>@<stack level>`: the name stays with the level, so recorded
state keeps one record per level and a roll-forward is a set by id. Recurrences are anchored at the
schedule's first wall-clock time, on or before the period's start. A zone without offset changes
(`Asia/Kolkata`, `UTC`) gets one profile with neither bound. Pure; `validate.check_site` calls
`expand` with the site's clock and `now`, after `localrules` found the profile sound.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from reconciler.desired.clock import OffsetPeriod, SiteClock
from reconciler.desired.model import LOCAL_AT, Period, Profile, Schedule
from reconciler.desired.template import LocalTurn, PlacedProfile
from reconciler.ocpp.profile import DAY_S, WEEK_S, Json, Recurrency, format_timestamp, parse_timestamp

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A local-time profile takes its stack level and this many above it.
EXTRA_LEVELS = 1
# Monday 2000-01-03, midnight: the wall-clock week every recurrence is counted from.
_WEEK_ZERO = datetime(2000, 1, 3, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LocalEntry:
    """One wall-clock period, a weekday range expanded: from `position_s` into the day or week on."""

    position_s: int  # seconds after midnight (Daily) or after Monday midnight (Weekly)
    limit: Decimal | None  # None: no limit from this profile, lower stack levels apply
    number_phases: int | None
    index: int  # where it is written in the `local` list


def parse_at(text: str) -> tuple[tuple[int, ...] | None, int]:
    """`Mon-Fri 07:00` as (weekdays 0-4, 25,200 s); no weekday gives None. ValueError if malformed.

    A range runs forward through the week and may wrap: `Sat-Mon` is Saturday, Sunday and Monday.
    """
    match = LOCAL_AT.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a wall-clock time")
    first, last, hours, minutes = match.groups()
    seconds = int(hours) * 3600 + int(minutes) * 60
    if first is None:
        return None, seconds
    start = WEEKDAYS.index(first)
    count = (WEEKDAYS.index(last) - start) % 7 + 1 if last else 1
    return tuple((start + step) % 7 for step in range(count)), seconds


def cycle_s(profile: Profile) -> int:
    """The length of the profile's wall-clock cycle: a day, or a week for Weekly."""
    return WEEK_S if profile.recurrency is Recurrency.WEEKLY else DAY_S


def entries(profile: Profile) -> list[LocalEntry]:
    """The profile's wall-clock periods in cycle order, weekday ranges expanded (Daily ignores weekdays)."""
    weekly = profile.recurrency is Recurrency.WEEKLY
    out = []
    for index, period in enumerate(profile.schedule.local or ()):
        days, seconds = parse_at(period.at)
        for day in (days or (0,)) if weekly else (0,):
            out.append(LocalEntry(day * DAY_S + seconds, period.limit, period.number_phases, index))
    return sorted(out, key=lambda e: (e.position_s, e.index))


def cycle_periods(items: list[LocalEntry], cycle: int) -> tuple[int, int, list[LocalEntry]]:
    """Where the compiled schedule starts in the cycle, how long it runs (s), and its periods in order.

    Without a `limit: null` the schedule starts at the first wall-clock period and runs the whole cycle,
    the last period carrying over midnight (or the week's end) into the first. With one, it starts at
    the period after it and ends there, leaving lower stack levels to apply until the cycle comes round.
    """
    gap = next((i for i, item in enumerate(items) if item.limit is None), None)
    if gap is None:
        return items[0].position_s, cycle, list(items)
    first = (gap + 1) % len(items)
    order = items[first:] + items[:first]
    start = order[0].position_s
    return start, (items[gap].position_s - start) % cycle, order[:-1]


def compiled_name(name: str, stack_level: int) -> str:
    """The name a compiled profile is recorded under: `<name>@<stack level>`."""
    return f"{name}@{stack_level}"


@functools.lru_cache(maxsize=4096)  # a template compiles into the same profiles on every station
def compile_period(profile: Profile, period: OffsetPeriod, valid_to: datetime | None) -> Profile:
    """The OCPP profile that meets `profile`'s wall-clock schedule throughout `period`, ending at `valid_to`.

    At the period's fixed offset the wall clock is UTC shifted, so a Recurring schedule anchored at the
    first wall-clock period, in UTC, repeats exactly; `validFrom` is the period's start when known.
    """
    cycle = cycle_s(profile)
    start_s, duration_s, order = cycle_periods(entries(profile), cycle)
    first = _WEEK_ZERO + timedelta(seconds=start_s) - period.offset
    if period.start is not None:
        # The latest run that starts by the period's start, so the schedule runs from its first second.
        first += (period.start - first) // timedelta(seconds=cycle) * timedelta(seconds=cycle)
    periods = tuple(
        Period.model_validate(
            {
                "startPeriod": (item.position_s - start_s) % cycle,
                "limit": item.limit,
                "numberPhases": item.number_phases,
            }
        )
        for item in order
    )
    schedule = profile.schedule
    compiled = Schedule.model_validate(
        {
            "startSchedule": format_timestamp(first),
            "duration": duration_s,
            "chargingRateUnit": schedule.rate_unit,
            "chargingSchedulePeriod": periods,
            "minChargingRate": schedule.min_charging_rate,
        }
    )
    return profile.model_copy(
        update={
            "stack_level": profile.stack_level + period.turn,
            "valid_from": None if period.start is None else format_timestamp(period.start),
            "valid_to": None if valid_to is None else format_timestamp(valid_to),
            "schedule": compiled,
        }
    )


def expand(item: PlacedProfile, clock: SiteClock, now: datetime) -> tuple[PlacedProfile, ...]:
    """A placed local-time profile as the OCPP profiles to hold at `now`: the period in force, and the
    next one when the zone changes its offset within `clock.NEXT_CHANGE_HORIZON`."""
    current = clock.offset_period(now)
    periods = [current] if current.end is None else [current, clock.offset_period(current.end)]
    out = []
    for period in periods:
        valid_to = current.end if period is current else None
        profile = compile_period(item.profile, period, valid_to)
        levels = tuple(range(item.profile.stack_level, item.profile.stack_level + EXTRA_LEVELS + 1))
        turn = LocalTurn(item.name, levels, period.start, valid_to)
        name = compiled_name(item.name, profile.stack_level)
        out.append(PlacedProfile(item.station_id, name, profile, item.origins, turn))
    return tuple(out)


def same_wall_schedule(one: Json, other: Json, clock: SiteClock) -> bool:
    """Whether two compiled payloads hold one wall-clock schedule, each for its own UTC-offset period:
    equal but for `validFrom`, `validTo` and `startSchedule`, whose wall-clock time (read at the
    offset in force at the payload's `validFrom`, or at its start) is the same in the day or week."""

    def rest(payload: Json) -> Json:
        schedule = {k: v for k, v in payload["chargingSchedule"].items() if k != "startSchedule"}
        return {
            **{k: v for k, v in payload.items() if k not in ("validFrom", "validTo")},
            "chargingSchedule": schedule,
        }

    def wall_start_s(payload: Json) -> int | None:
        start = payload["chargingSchedule"].get("startSchedule")
        if start is None:
            return None
        first = parse_timestamp(start)
        valid_from = payload.get("validFrom")
        offset = clock.offset_period(parse_timestamp(valid_from) if valid_from else first).offset
        cycle = WEEK_S if payload.get("recurrencyKind") == Recurrency.WEEKLY else DAY_S
        return int((first + offset - _WEEK_ZERO).total_seconds()) % cycle

    return rest(one) == rest(other) and wall_start_s(one) == wall_start_s(other)
