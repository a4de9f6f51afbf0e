"""The OCPP 1.6 composite schedule: the limit a charger applies over time, from its installed profiles.

`composite_schedule` is a pure function of the profiles (OCPP `csChargingProfiles` payloads, each with
the connector it was installed on), the connector asked about, a window [start, start + duration_s),
the running sessions, the nominal voltage and the unit. It serves `reconciler schedule`, the plan's
ratings and power view, the grid guard, simulated chargers and drift checks.

How it works. `recurrence` lays every profile's periods on the window's time line. Per purpose, the
valid profile with the highest stackLevel wins at each instant (`stacking`) and lower levels show through
where it sets nothing (outside validFrom/validTo, before its start, after its duration). A connector's
transaction limit is its TxProfile where one applies, else its TxDefaultProfile. The composite of a
connector is the minimum of that and the ChargePointMaxProfile, compared in the requested unit. Over a
window of days, a stack of profiles that each repeat daily throughout it is laid out for its first day
and repeated (`recurrence.repeats_daily`): the same steps, a seventh of the work for a week.

Choices where OCPP 1.6 is silent and chargers differ; the ones marked *setting* are `CompositeOptions`
(`firmware`), which a station declares so that its own rules are the ones applied:

- *setting* `precedence`: a connector's own TxDefaultProfile and one installed on connector 0 compete
  by stackLevel, the connector's own winning a tie (`STACK_LEVEL`, as libocpp); or the connector's own
  profiles come first at every level and connector 0 only fills where none of them is active
  (`CONNECTOR_FIRST`, as MicroOcpp).
- *setting* `tx_default_without_session`: with no session on a connector its TxDefaultProfile still
  shows, as the limit a session starting now would get (True, libocpp's GetCompositeSchedule); False
  shows no limit, as MicroOcpp and open-ocpp do. A TxProfile applies only during a session.
- *setting* `relative_without_session`: with no session, a Relative schedule starts at the window
  start (`WINDOW_START`, libocpp) or is inactive (`INACTIVE`, MicroOcpp). With a session it starts at
  the session start. An Absolute schedule without `startSchedule` is treated as Relative: that is how
  a session cap is written before the session fills the start in. A Relative ChargePointMaxProfile
  starts at the earliest session of the station, whatever connector is asked about.
- *setting* `recur_before_start`: a Recurring schedule is inactive before its `startSchedule` (False,
  MicroOcpp) or repeats backwards in time too (True, libocpp).
- *setting* `default_phases`: the phases assumed for a period without `numberPhases` (OCPP says 3).
- *setting* `station_total`: the station total (connector 0) is the sum over connectors 1..N of each
  connector's transaction limit (what the station may draw from the grid, as OCPP defines connector 0's
  composite), capped by the ChargePointMaxProfile (`SUM`); a connector without a limit makes the sum
  unlimited, so the cap alone holds. Or it is the ChargePointMaxProfile alone (`CHARGE_POINT_MAX`, as
  MicroOcpp).
- "No limit" is None, never a rated maximum filled in; a caller may cap it with what it knows.
- validFrom/validTo are half-open: a profile applies from validFrom up to, not at, validTo.
- Daily and Weekly schedules repeat every 86,400 / 604,800 s after `startSchedule`, counted in UTC
  seconds, so local daylight-saving changes do not move them (a charger reading local time would).
- A Recurring schedule longer than its recurrence is cut at the next occurrence; a shorter one leaves
  a gap in which lower stack levels show (OCPP's fall-back).
- A Recurring profile without `startSchedule` or `recurrencyKind` has nothing to repeat from and is
  inactive.
- Periods whose startPeriod does not increase are dropped; before a first startPeriod above 0 the
  profile is inactive.
- Profiles placed where OCPP forbids them (ChargePointMaxProfile off connector 0, TxProfile on
  connector 0) are ignored, as a charger would reject them. A TxProfile's transactionId is not
  matched: any TxProfile on a connector with a session applies.
- Two profiles of one purpose, stackLevel and connector cannot both be installed; if given anyway,
  the higher chargingProfileId wins, so the result never depends on the order of the input.
- *setting* `min_rate_raises`: `minChargingRate` does not raise a limit (False: it is informative), or
  lifts each of its profile's lower limits up to it (True, as MicroOcpp).
- Values validation would refuse are taken as given rather than rejected: a negative limit stays
  negative, and a `numberPhases` of 0 counts as absent.
- A and W convert with each period's own phases: W = A * voltage * phases. Limits are exact until the
  end (ints where whole, else fractions: `limitsteps.Exact`); a value the conversion makes inexact is
  rounded down to 0.1 (OCPP's granularity), so a limit is never raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from reconciler.ocpp.firmware import (
    DEFAULT_OPTIONS,
    CompositeOptions,
    Precedence,
    RelativeStart,
    StationTotal,
)
from reconciler.ocpp.limitsteps import DAY, Exact, Steps, combine, every_day, exact, lowest, summed
from reconciler.ocpp.profile import RateUnit
from reconciler.ocpp.recurrence import (
    LimitPiece,
    TimedProfile,
    as_named,
    piece_count,
    read_profile,
    repeats_daily,
)
from reconciler.ocpp.stacking import stack

CHARGE_POINT_MAX, TX_DEFAULT, TX = "ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"


@dataclass(frozen=True, slots=True)
class Installed:
    """A ChargingProfile payload (`csChargingProfiles`, OCPP field names) and the connector it is on.

    The payload is read on first use and kept (a plan stacks a station's profiles once per change it
    rates), so it must not change once installed here: give a copy when it might.
    """

    connector_id: int
    payload: Mapping[str, Any]
    # The payload's `payload_hash` when its holder knows it (a record, a desired body): a plan tells
    # stations holding the same apart from others by it, without writing payloads out (`plan.power`).
    digest: str | None = field(default=None, compare=False, repr=False)
    _timed: TimedProfile | None = field(default=None, init=False, compare=False, repr=False)

    def timed(self) -> TimedProfile:
        """The payload read into the engine's terms (`recurrence.read_profile`), once."""
        if self._timed is None:
            object.__setattr__(self, "_timed", read_profile(self.connector_id, self.payload))
        assert self._timed is not None
        return self._timed


class CompositePeriod(NamedTuple):
    """From `start` up to `end` (UTC), at most `limit` in the requested unit; None means no limit.

    A named tuple (as the engine's pieces): a day of second-long periods is 86,400 of them."""

    start: datetime
    end: datetime
    limit: Decimal | None


def composite_schedule(
    profiles: Iterable[Installed],
    connector_id: int,
    start: datetime,
    duration_s: int,
    *,
    unit: RateUnit | str = RateUnit.WATT,
    sessions: Mapping[int, datetime] | None = None,
    connectors: int | None = None,
    voltage_v: Decimal | int = 230,
    options: CompositeOptions = DEFAULT_OPTIONS,
) -> list[CompositePeriod]:
    """The composite schedule of `connector_id` (0: the whole station) over [start, start + duration_s).

    `sessions` maps a connector to the start of the session running on it. `connectors` is the number
    of connectors a station total adds up (default: the highest connector any profile names, at least
    1). Limits are in `unit` ("W" or "A", per phase), converted at `voltage_v`. The periods cover the
    window without gaps, in order, adjacent ones with equal limits merged. Raises ValueError for a
    naive `start`, a negative connector, a non-positive duration, or a payload without the fields a
    schedule needs.
    """
    return composite_schedules(
        profiles,
        (connector_id,),
        start,
        duration_s,
        unit=unit,
        sessions=sessions,
        connectors=connectors,
        voltage_v=voltage_v,
        options=options,
    )[connector_id]


def composite_schedules(
    profiles: Iterable[Installed],
    connector_ids: Iterable[int],
    start: datetime,
    duration_s: int,
    *,
    unit: RateUnit | str = RateUnit.WATT,
    sessions: Mapping[int, datetime] | None = None,
    connectors: int | None = None,
    voltage_v: Decimal | int = 230,
    options: CompositeOptions = DEFAULT_OPTIONS,
    within: tuple[datetime, datetime] | None = None,
) -> dict[int, list[CompositePeriod]]:
    """`composite_schedule` of several connectors of one station (0: the total), by connector.

    The payloads are read, and the cap and each connector's transaction limit laid out, once for all
    the connectors asked about: a station total needs every connector's limit anyway. `within` works out
    only that stretch of the window (what a change touches, see `plan.power`), every schedule laid out
    as in the whole window: a Relative one without a session still starts at `start`.
    """
    asked = sorted(set(connector_ids))
    if start.tzinfo is None:
        raise ValueError("the window start must be an aware datetime")
    if asked and asked[0] < 0:
        raise ValueError(f"connector ids start at 0, not {asked[0]}")
    if duration_s <= 0:
        raise ValueError(f"the window must last at least one second, not {duration_s}")
    start = start.astimezone(UTC)
    end = start + timedelta(seconds=duration_s)
    first, last = (start, end) if within is None else (max(start, within[0]), min(end, within[1]))
    if first >= last:
        raise ValueError(f"the stretch asked for, {within}, is not inside the window")
    window = _Window(first, last, RateUnit(unit), Fraction(voltage_v), options.default_phases, start)
    timed = [item.timed() for item in profiles]
    sessions = sessions or {}
    station_session = min(sessions.values(), default=None)
    caps = [p for p in timed if p.purpose == CHARGE_POINT_MAX and p.connector_id == 0]
    cap = window.stacked(caps, _cap_rank, _anchor(station_session, window, options), options)
    lines: dict[int, Steps] = {}

    def line(connector: int) -> Steps:
        if connector not in lines:
            lines[connector] = _transaction_line(timed, connector, sessions.get(connector), window, options)
        return lines[connector]

    # Most stations hold no ChargePointMaxProfile: a cap without a limit anywhere leaves every line as it is.
    uncapped = len(cap) == 1 and cap[0][1] is None

    def capped(steps: Steps) -> Steps:
        return steps if uncapped else combine(steps, cap, lowest)

    out: dict[int, list[CompositePeriod]] = {}
    for connector_id in asked:
        if connector_id > 0:
            out[connector_id] = window.periods(capped(line(connector_id)))
            continue
        if options.station_total is StationTotal.CHARGE_POINT_MAX:
            out[0] = window.periods(cap)
            continue
        count = connectors if connectors is not None else max((p.connector_id for p in timed), default=1)
        total = summed([line(connector) for connector in range(1, max(count, 1) + 1)], window.start)
        out[0] = window.periods(capped(total))
    return out


def pieces_within(
    profiles: Iterable[Installed],
    start: datetime,
    duration_s: int,
    options: CompositeOptions = DEFAULT_OPTIONS,
) -> int:
    """How many pieces a composite of `profiles` over [start, start + duration_s) lays out at most (every
    profile's periods in every run of it there: `recurrence.piece_count`), counted from their fields
    without laying any out. What the work of the composite and the number of its periods grow with."""
    end = start + timedelta(seconds=duration_s)
    before = options.recur_before_start
    return sum(piece_count(item.timed(), start, end, start, recur_before_start=before) for item in profiles)


@dataclass(slots=True)
class _Window:
    start: datetime
    end: datetime
    unit: RateUnit
    voltage_v: Fraction
    default_phases: int
    anchor_at: datetime  # where a Relative schedule without a session starts: the whole window's start
    # Recurring schedules repeat the same few limits many times; each is converted once. Keyed by the
    # limit object, which the entry keeps (so its id is not reused while the entry lives): hashing a
    # Fraction costs more than converting it.
    _converted: dict[tuple[int, str, int | None], tuple[Exact, Exact]] = field(default_factory=dict)

    def stacked(
        self,
        profiles: Sequence[TimedProfile],
        rank: Callable[[TimedProfile], tuple[int, ...]],
        anchor: datetime | None,
        options: CompositeOptions,
    ) -> Steps:
        """The profiles stacked by `rank` over the window (`stacking.stack`), as steps.

        Where each of them repeats daily over the window, so does the stack: its first day is laid out
        and repeated (a week of minute tariffs is 10,080 pieces a connector, its first day 1,440). Not
        a stack of fewer than `_REPEATED_FROM` periods in all, whose days cost less to lay out."""
        day_end = self.start + DAY
        dense = day_end < self.end and sum(len(p.periods) for p in profiles) >= _REPEATED_FROM
        if dense and all(
            repeats_daily(p, self.start, self.end, recur_before_start=options.recur_before_start)
            for p in profiles
        ):
            pieces = stack(profiles, rank, self.start, day_end, anchor=anchor, options=options)
            return every_day(self.steps(pieces, day_end), self.end)
        return self.steps(stack(profiles, rank, self.start, self.end, anchor=anchor, options=options))

    def steps(self, pieces: Sequence[LimitPiece], until: datetime | None = None) -> Steps:
        """Pieces as a step function in the window's unit from its start to `until` (default: its end),
        gaps as no limit, repeats folded."""
        until = self.end if until is None else until
        out: Steps = []
        last: Exact | None = None  # the value of out[-1], when out has one
        cursor = self.start
        window_unit = self.unit.value
        # Unpacked, not read by field name: a named tuple's field is a descriptor call, per piece.
        for start, end, limit, unit, number_phases in pieces:
            if start > cursor and (not out or last is not None):
                out.append((cursor, None))
                last = None
            value = limit if unit == window_unit else self._convert(limit, unit, number_phases)
            if not out or (value is not last and (last is None or value != last)):
                out.append((start, value))
                last = value
            cursor = end
        if cursor < until and (not out or last is not None):
            out.append((cursor, None))
        return out

    def _convert(self, limit: Exact, unit: str, number_phases: int | None) -> Exact:
        key = (id(limit), unit, number_phases)
        entry = self._converted.get(key)
        if entry is not None and entry[0] is limit:
            return entry[1]
        phases = number_phases or self.default_phases
        if unit == RateUnit.AMPERE.value:
            value = exact(limit * self.voltage_v * phases)
        else:
            value = exact(limit / (self.voltage_v * phases))
        self._converted[key] = (limit, value)
        return value

    def periods(self, steps: Steps) -> list[CompositePeriod]:
        """Steps rounded down to 0.1 as periods, adjacent equal limits merged."""
        rows: list[tuple[datetime, datetime, Decimal | None]] = []
        rounded: dict[Exact, Decimal] = {}  # a line repeats a few limits many times
        start: datetime | None = None  # where the period being merged starts, and its limit
        held: Decimal | None = None
        for moment, value in steps:
            limit = None
            if value is not None:
                limit = rounded.get(value)
                if limit is None:
                    limit = rounded[value] = _tenths_down(value)
            if start is None:
                start, held = moment, limit
            elif limit != held:
                rows.append((start, moment, held))
                start, held = moment, limit
        if start is not None:
            rows.append((start, self.end, held))
        return list(as_named(CompositePeriod, rows))


# Periods a stack has at least, in all, for its first day to be repeated rather than every day laid out:
# repeating costs a few list operations a day, more than laying out a handful of pieces does (a week of a
# station cap of three periods a day took 3.5% longer repeated), and far less than 1,440.
_REPEATED_FROM = 16


def _tenths_down(value: Exact) -> Decimal:
    if value.denominator == 1:
        return Decimal(value.numerator)
    return Decimal(math.floor(value * 10)) / 10


def _anchor(session_start: datetime | None, window: _Window, options: CompositeOptions) -> datetime | None:
    if session_start is not None:
        return session_start
    return window.anchor_at if options.relative_without_session is RelativeStart.WINDOW_START else None


def _transaction_line(
    timed: Sequence[TimedProfile],
    connector_id: int,
    session_start: datetime | None,
    window: _Window,
    options: CompositeOptions,
) -> Steps:
    """A connector's transaction limit: TxProfile where one applies, else TxDefaultProfile."""
    candidates = [
        p
        for p in timed
        if (p.purpose == TX and p.connector_id == connector_id and session_start is not None)
        or (
            p.purpose == TX_DEFAULT
            and p.connector_id in (0, connector_id)
            and (session_start is not None or options.tx_default_without_session)
        )
    ]
    rank = _tx_rank_connector_first if options.precedence is Precedence.CONNECTOR_FIRST else _tx_rank
    return window.stacked(candidates, rank, _anchor(session_start, window, options), options)


def _cap_rank(profile: TimedProfile) -> tuple[int, ...]:
    return (profile.stack_level, profile.profile_id)


def _tx_rank(profile: TimedProfile) -> tuple[int, ...]:
    # Any TxProfile outranks every TxDefaultProfile; then stack level; a connector's own wins a tie.
    return (profile.purpose == TX, profile.stack_level, profile.connector_id > 0, profile.profile_id)


def _tx_rank_connector_first(profile: TimedProfile) -> tuple[int, ...]:
    return (profile.purpose == TX, profile.connector_id > 0, profile.stack_level, profile.profile_id)
