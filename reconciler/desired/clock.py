"""A site's clock: its time zone, how every output writes a moment in it, and where its UTC offset changes.

`SiteClock` is the one place moments become text for people: plans, Markdown comments, `schedule`,
`state show` and the demo all write times through it (`stamp`, `time_of_day`, `zone`), so a moment
reads the same everywhere, in the site's wall-clock time with its offset. JSON stays UTC.

It also finds the site's UTC-offset periods (`offset_period`), which local-time schedules compile
against (see `localtime`). The zone is a `tzinfo` resolved by the loader (the edge that may read the
system's time-zone database); everything here only asks it for offsets. Pure.

How offset changes are found. A `tzinfo` lists no transitions, so each UTC calendar year is scanned
once per zone on a fixed grid of UTC midnights, and each change found between two midnights is narrowed
to the second by bisection. Periods are numbered by counting the changes from 2000 on (`turn`: even
or odd), so consecutive periods always take turns, whatever offsets a zone moves between.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from reconciler.ocpp.profile import format_timestamp

# Changes are counted from here, so a period's turn is the same whenever it is computed.
_COUNT_FROM_YEAR = 2000
# How far ahead the next change is looked for: beyond the longest stretch between two changes of any
# zone that has them (Morocco keeps UTC+01:00 about eleven months a year).
NEXT_CHANGE_HORIZON = timedelta(days=400)
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)
_LAST_SCANNED_YEAR = 9998  # a year's scan looks into the next one, and datetime ends with 9999
# The moments offset periods are given for: counting changes from 2000 costs a scan of every year up to
# the moment, which stays well under a second this side of 2200.
PERIODS_FROM, PERIODS_UNTIL = datetime(1971, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OffsetPeriod:
    """A stretch of constant UTC offset: [start, end), either end None when no change is known there.

    `start` is None when the zone has not changed its offset since 2000; `end` is None when it does not
    change within `NEXT_CHANGE_HORIZON` of the moment asked about. `turn` is 0 or 1 and alternates from
    one period to the next.
    """

    start: datetime | None
    end: datetime | None
    offset: timedelta
    turn: int


@dataclass(frozen=True, slots=True)
class SiteClock:
    """A site's time zone by its IANA name, and the `tzinfo` that answers for it."""

    name: str
    tz: tzinfo

    def local(self, moment: datetime) -> datetime:
        """`moment` (aware) as the site's wall-clock time."""
        return moment.astimezone(self.tz)

    def offset_text(self, moment: datetime) -> str:
        """The UTC offset in force at `moment`: `UTC+01:00`, `UTC-03:30`, `UTC+00:00`."""
        return _offset_text(_offset(self.tz, moment))

    def abbreviation(self, moment: datetime) -> str:
        """The zone's own short name at `moment` (`CET`), or the offset where it has none (`+1030`)."""
        name = self.local(moment).tzname() or ""
        return name if name.isalpha() else self.offset_text(moment)

    def zone(self, moment: datetime) -> str:
        """The zone as a heading says it: `Europe/Berlin, CET (UTC+01:00)`; `UTC` for UTC."""
        offset = self.offset_text(moment)
        if self.name == "UTC":
            return "UTC"
        abbreviation = self.abbreviation(moment)
        named = f"{abbreviation} ({offset})" if abbreviation != offset else offset
        return f"{self.name}, {named}"

    def zone_over(self, start: datetime, end: datetime) -> str:
        """`zone(start)`, followed by every change of offset in [start, end) and when it happens."""
        text = self.zone(start)
        for change in self.changes(start, end):
            text += f"; {self.abbreviation(change)} ({self.offset_text(change)}) from {self.stamp(change)}"
        return text

    def stamp(self, moment: datetime, *, weekday: bool = False, zone: bool = True) -> str:
        """A moment for people: `2026-11-23 13:00 CET`; `Mon 2026-11-23 13:00 CET` with `weekday`;
        without the zone's name where a heading gives it (`zone=False`).

        Seconds show only when there are some; fractions never do.
        """
        local = self.local(moment)
        day = f"{local:%a} " if weekday else ""
        name = f" {self.abbreviation(moment)}" if zone else ""
        return f"{day}{local:%Y-%m-%d} {self.time_of_day(moment)}{name}"

    def walls(self, moments: Iterable[datetime], *, zone: bool = False) -> list[tuple[str, str, str]]:
        """The parts of `stamp(moment, weekday=True, zone=zone)` of each moment, from one reading of the
        clock: the weekday, the date and the time of day (with the zone's name after it with `zone`).

        Each day's weekday and date are written once, for a schedule of minute periods lists 1,440 a day."""
        days: dict[int, tuple[str, str]] = {}
        out = []
        for moment in moments:
            local = moment.astimezone(self.tz)
            ordinal = local.toordinal()
            day = days.get(ordinal) or days.setdefault(ordinal, (f"{local:%a}", f"{local:%Y-%m-%d}"))
            time = _time_text(local)
            if zone:
                time += f" {self.abbreviation(moment)}"
            out.append((*day, time))
        return out

    def mention(self, moment: datetime) -> str:
        """A moment in a message read by people and tools alike: the local `stamp` with its weekday and
        the moment as JSON writes it, `Sat 2026-11-28 01:00 CET (2026-11-28T00:00:00Z)`; for a site in
        UTC, which needs no translation, only the latter."""
        utc = format_timestamp(moment)
        return utc if self.name == "UTC" else f"{self.stamp(moment, weekday=True)} ({utc})"

    def short(self, moment: datetime) -> str:
        """A moment in a table cell: `2026-11-23 13:00 CET`; for a site in UTC, the moment as JSON writes
        it (`2026-11-23T12:00:00Z`), which is its wall-clock time already."""
        return format_timestamp(moment) if self.name == "UTC" else self.stamp(moment)

    def time_of_day(self, moment: datetime, *, weekday: bool = False) -> str:
        """The wall-clock time of a moment: `13:00` (`13:00:07` with seconds), `Mon 13:00` with `weekday`."""
        local = self.local(moment)
        text = _time_text(local)
        return f"{local:%a} {text}" if weekday else text

    def date(self, moment: datetime) -> str:
        """The site's calendar date of a moment: `2027-03-28`."""
        return f"{self.local(moment):%Y-%m-%d}"

    def season(self, moment: datetime) -> str:
        """What the offset in force at `moment` is called: `summer-time (CEST, UTC+02:00)`.

        Summer time where the zone says its clocks are put forward then, standard time where it says
        they are not; a zone that calls neither (a negative saving, as Morocco's) gets its name alone.
        """
        saving = self.local(moment).dst()
        abbreviation, offset = self.abbreviation(moment), self.offset_text(moment)
        named = f"{abbreviation}, {offset}" if abbreviation != offset else offset
        if saving is None or saving < timedelta(0):
            return f"{named}"
        return f"{'summer' if saving > timedelta(0) else 'standard'}-time ({named})"

    def changes(self, start: datetime, end: datetime) -> list[datetime]:
        """Every moment in [start, end) at which the UTC offset changes, in order."""
        return [moment for moment, _ in _changes_between(self.tz, start, end)]

    def offset_period(self, moment: datetime) -> OffsetPeriod:
        """The period of constant UTC offset that holds `moment`, which must lie within [`PERIODS_FROM`,
        `PERIODS_UNTIL`) (ValueError otherwise)."""
        if not PERIODS_FROM <= moment < PERIODS_UNTIL:
            raise ValueError(f"offset periods are known from {PERIODS_FROM.year} to {PERIODS_UNTIL.year - 1}")
        return _offset_period(self.tz, moment)


def _time_text(local: datetime) -> str:
    """A wall-clock time of day as people read it: `13:00`, seconds only when there are some (`13:00:07`)."""
    text = f"{local.hour:02d}:{local.minute:02d}"
    return text if local.second == 0 else f"{text}:{local.second:02d}"


UTC_CLOCK = SiteClock("UTC", UTC)


def _offset(tz: tzinfo, moment: datetime) -> timedelta:
    return moment.astimezone(tz).utcoffset() or timedelta(0)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


@functools.lru_cache(maxsize=4096)
def _changes_in_year(tz: tzinfo, year: int) -> tuple[tuple[datetime, timedelta], ...]:
    """(moment, new offset) of each change seen on the grid of UTC midnights of `year`.

    A change between the last midnight of one year and the first of the next belongs to the later
    year's scan, so no change is counted twice. Two changes within one day that cancel out are not seen;
    no zone does that.
    """
    found: list[tuple[datetime, timedelta]] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    before = _offset(tz, day - _DAY)
    while day < end:
        here = _offset(tz, day)
        if here != before:
            found.append((_first_with_new_offset(tz, day - _DAY, day, before), here))
            before = here
        day += _DAY
    return tuple(found)


def _first_with_new_offset(tz: tzinfo, low: datetime, high: datetime, old: timedelta) -> datetime:
    """The first second in (low, high] whose offset is no longer `old`; `high`'s is not."""
    while high - low > _SECOND:
        middle = low + ((high - low) // 2 // _SECOND) * _SECOND
        if _offset(tz, middle) == old:
            low = middle
        else:
            high = middle
    return high


def _changes_between(tz: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    if end <= start:
        return []
    # A change late on 31 December is seen by the next year's scan; the last year has no next one.
    first, last = start.astimezone(UTC).year, min(end.astimezone(UTC).year + 1, _LAST_SCANNED_YEAR)
    return [
        (moment, offset)
        for year in range(first, last + 1)
        for moment, offset in _changes_in_year(tz, year)
        if start <= moment < end
    ]


@functools.lru_cache(maxsize=1024)
def _offset_period(tz: tzinfo, moment: datetime) -> OffsetPeriod:
    counted_from = datetime(min(_COUNT_FROM_YEAR, moment.astimezone(UTC).year - 1), 1, 1, tzinfo=UTC)
    # Changes at or before `moment`, and those after it; `_changes_between` takes half-open ranges.
    past = _changes_between(tz, counted_from, moment + _TICK)
    ahead = _changes_between(tz, moment + _TICK, moment + NEXT_CHANGE_HORIZON)
    return OffsetPeriod(
        start=past[-1][0] if past else None,
        end=ahead[0][0] if ahead else None,
        offset=_offset(tz, moment),
        turn=len(past) % 2,
    )
