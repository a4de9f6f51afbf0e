"""Laws of the composite schedule, checked on generated profiles against a point-by-point evaluator.

Every generated time is on a 15-minute grid, so comparing the composite with the evaluator at each
grid instant of the window compares the whole step functions.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.ocpp.profile import format_timestamp
from reconciler.ocpp.recurrence import limit_pieces, piece_count, read_profile
from reconciler.ocpp.schedule import CompositePeriod, Installed, composite_schedule, composite_schedules
from reconciler.render import schedule as schedule_render

from .schedule_builders import at

GRID_S = 900
ORIGIN = at("00:00")
VOLTAGE_V = 230


def _moment(steps: int) -> datetime:
    return ORIGIN + timedelta(seconds=steps * GRID_S)


@st.composite
def payloads(draw: st.DrawFn, purpose: str, daily: bool = False) -> dict[str, Any]:
    """An Absolute or Daily profile of `purpose` with grid-aligned times and one-decimal limits; with
    `daily`, a Daily one begun by the origin, of 16 to 24 periods, at times with one field (its start,
    validFrom or validTo) moved into the week after it, where it then repeats daily no longer."""
    unit = draw(st.sampled_from(["W", "A"]))
    top = 50000 if unit == "W" else 63
    # A Daily one has 16 to 24 periods: enough for the composite to repeat the days of a stack of it.
    counts = {"min_size": 15, "max_size": 23} if daily else {"max_size": 3}
    offsets = sorted(draw(st.sets(st.integers(1, 95), **counts)))
    periods = []
    for offset in [0, *offsets]:
        period: dict[str, Any] = {"startPeriod": offset * GRID_S}
        period["limit"] = draw(st.integers(0, top * 10)) / 10
        phases = draw(st.sampled_from([None, 1, 3]))
        if phases is not None:
            period["numberPhases"] = phases
        periods.append(period)
    begun = draw(st.integers(-96, 0) if daily else st.integers(-96, 192))
    schedule: dict[str, Any] = {"startSchedule": format_timestamp(_moment(begun))}
    duration = draw(st.one_of(st.none(), st.integers(1, 200)))
    if duration is not None:
        schedule["duration"] = duration * GRID_S
    schedule |= {"chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    body: dict[str, Any] = {
        "chargingProfileId": 0,
        "stackLevel": draw(st.integers(0, 5)),
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Recurring" if daily else draw(st.sampled_from(["Absolute", "Recurring"])),
        "chargingSchedule": schedule,
    }
    if body["chargingProfileKind"] == "Recurring":
        body["recurrencyKind"] = "Daily"
    if daily:
        moved = draw(st.sampled_from([None, None, "validFrom", "validTo", "startSchedule"]))
        if moved is not None:
            (body if moved != "startSchedule" else schedule)[moved] = format_timestamp(
                _moment(draw(st.integers(1, 7 * 96)))
            )
        return body
    for key in ("validFrom", "validTo"):
        if draw(st.booleans()):
            body[key] = format_timestamp(_moment(draw(st.integers(-96, 288))))
    return body


_NEVER = st.just(False)


@st.composite
def installed_sets(draw: st.DrawFn, daily: st.SearchStrategy[bool] = _NEVER) -> list[Installed]:
    """Up to three ChargePointMaxProfiles and four TxDefaultProfiles on a two-connector station, each
    one Daily (`payloads`) as `daily` draws."""
    caps = [(0, p) for p in draw(st.lists(daily.flatmap(_caps), max_size=3))]
    defaults = draw(st.lists(st.tuples(st.integers(0, 2), daily.flatmap(_defaults)), max_size=4))
    # One charger: every profile has an id of its own.
    return [
        Installed(connector, {**payload, "chargingProfileId": number})
        for number, (connector, payload) in enumerate(caps + defaults, start=1)
    ]


def _caps(daily: bool) -> st.SearchStrategy[dict[str, Any]]:
    return payloads("ChargePointMaxProfile", daily)


def _defaults(daily: bool) -> st.SearchStrategy[dict[str, Any]]:
    return payloads("TxDefaultProfile", daily)


windows = st.tuples(st.integers(0, 96), st.integers(1, 192))


def limit_at(payload: dict[str, Any], moment: datetime) -> Fraction | None:
    """What one profile allows at `moment`, in W, read straight from its fields; None when inactive."""
    schedule = payload["chargingSchedule"]
    if "validFrom" in payload and moment < datetime.fromisoformat(payload["validFrom"]):
        return None
    if "validTo" in payload and moment >= datetime.fromisoformat(payload["validTo"]):
        return None
    elapsed_s = (moment - datetime.fromisoformat(schedule["startSchedule"])).total_seconds()
    if elapsed_s < 0:
        return None
    run_s = schedule.get("duration", float("inf"))
    if payload["chargingProfileKind"] == "Recurring":
        elapsed_s %= 86400
        run_s = min(run_s, 86400)
    if elapsed_s >= run_s:
        return None
    period = [p for p in schedule["chargingSchedulePeriod"] if p["startPeriod"] <= elapsed_s][-1]
    limit = Fraction(str(period["limit"]))
    if schedule["chargingRateUnit"] == "A":
        limit *= VOLTAGE_V * period.get("numberPhases", 3)
    return limit


def prevailing_cap(profiles: list[Installed], moment: datetime) -> Fraction | None:
    """The limit of the highest-level ChargePointMaxProfile active at `moment`."""
    active = [
        (p.payload["stackLevel"], p.payload["chargingProfileId"], limit)
        for p in profiles
        if p.payload["chargingProfilePurpose"] == "ChargePointMaxProfile"
        and (limit := limit_at(dict(p.payload), moment)) is not None
    ]
    return max(active)[2] if active else None


def prevailing_default(profiles: list[Installed], connector_id: int, moment: datetime) -> Fraction | None:
    """The limit of the TxDefaultProfile that wins at `moment`: highest level, then the connector's own."""
    active = [
        (p.payload["stackLevel"], p.connector_id > 0, p.payload["chargingProfileId"], limit)
        for p in profiles
        if p.payload["chargingProfilePurpose"] == "TxDefaultProfile"
        and p.connector_id in (0, connector_id)
        and (limit := limit_at(dict(p.payload), moment)) is not None
    ]
    return max(active)[3] if active else None


def value_at(periods: list[CompositePeriod], moment: datetime) -> Fraction | None:
    (period,) = [p for p in periods if p.start <= moment < p.end]
    return None if period.limit is None else Fraction(period.limit)


def _grid(start_steps: int, length_steps: int) -> list[datetime]:
    return [_moment(start_steps + i) for i in range(length_steps)]


@settings(max_examples=150, deadline=None)
@given(installed_sets(), windows, st.sampled_from([0, 1, 2]))
def test_composite_never_exceeds_the_prevailing_charge_point_max(
    profiles: list[Installed], window: tuple[int, int], connector_id: int
) -> None:
    """At every instant the composite of a connector or the station is at most the ChargePointMax then."""
    start_steps, length_steps = window
    result = composite_schedule(
        profiles, connector_id, _moment(start_steps), length_steps * GRID_S, connectors=2
    )
    for moment in _grid(start_steps, length_steps):
        cap = prevailing_cap(profiles, moment)
        value = value_at(result, moment)
        if cap is not None:
            assert value is not None
            assert value <= cap


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([(0, "ChargePointMaxProfile"), (0, "TxDefaultProfile"), (1, "TxDefaultProfile")]).flatmap(
        lambda where: payloads(where[1]).map(lambda p: Installed(where[0], p))
    ),
    windows,
)
def test_a_single_profile_composite_is_its_own_schedule(item: Installed, window: tuple[int, int]) -> None:
    """With one profile installed, the composite at each instant is that profile's own limit."""
    start_steps, length_steps = window
    result = composite_schedule([item], 1, _moment(start_steps), length_steps * GRID_S)
    assert result[0].start == _moment(start_steps)
    assert all(a.end == b.start and a.limit != b.limit for a, b in itertools.pairwise(result))
    for moment in _grid(start_steps, length_steps):
        own = limit_at(dict(item.payload), moment)
        # W output of an A limit is exact at 230 V, so no rounding enters here.
        assert value_at(result, moment) == own


@settings(max_examples=100, deadline=None)
@given(installed_sets(), windows, st.randoms(use_true_random=False), st.sampled_from([0, 1]))
def test_the_order_of_the_profiles_does_not_matter(
    profiles: list[Installed], window: tuple[int, int], shuffler: random.Random, connector_id: int
) -> None:
    """Shuffling the installed profiles leaves the composite unchanged."""
    start, duration_s = _moment(window[0]), window[1] * GRID_S
    shuffled = list(profiles)
    shuffler.shuffle(shuffled)
    for unit in ("W", "A"):
        expected = composite_schedule(profiles, connector_id, start, duration_s, unit=unit, connectors=2)
        assert (
            composite_schedule(shuffled, connector_id, start, duration_s, unit=unit, connectors=2) == expected
        )


@settings(max_examples=150, deadline=None)
@given(installed_sets(), windows, st.sampled_from([1, 2]))
def test_a_connector_composite_agrees_with_the_rules_read_instant_by_instant(
    profiles: list[Installed], window: tuple[int, int], connector_id: int
) -> None:
    """At every instant a connector's composite is the lower of its winning default and the winning cap."""
    start_steps, length_steps = window
    result = composite_schedule(profiles, connector_id, _moment(start_steps), length_steps * GRID_S)
    for moment in _grid(start_steps, length_steps):
        limits = [
            limit
            for limit in (
                prevailing_default(profiles, connector_id, moment),
                prevailing_cap(profiles, moment),
            )
            if limit is not None
        ]
        assert value_at(result, moment) == (min(limits) if limits else None)


@settings(max_examples=100, deadline=None)
@given(installed_sets(), windows, st.sets(st.integers(0, 2), min_size=1))
def test_several_connectors_at_once_match_each_asked_alone(
    profiles: list[Installed], window: tuple[int, int], connector_ids: set[int]
) -> None:
    """Asking for several connectors in one computation gives each the composite it gets alone."""
    start, duration_s = _moment(window[0]), window[1] * GRID_S
    together = composite_schedules(profiles, connector_ids, start, duration_s, connectors=2)
    assert together == {
        c: composite_schedule(profiles, c, start, duration_s, connectors=2) for c in connector_ids
    }


@given(
    pieces=st.lists(
        st.tuples(st.integers(1, 20_000), st.none() | st.integers(0, 50).map(Decimal)),
        min_size=1,
        max_size=30,
    ),
    columns=st.integers(1, 60),
)
def test_a_chart_column_shows_the_lowest_limit_of_every_period_it_overlaps(
    pieces: list[tuple[int, Decimal | None]], columns: int
) -> None:
    """Walking the periods once per chart gives, for every column, the lowest limit among all periods that
    overlap it (None where none limits), as looking at every period for every column does."""
    periods, start = [], at("00:00")
    for seconds, limit in pieces:
        periods.append(CompositePeriod(start, start + timedelta(seconds=seconds), limit))
        start = periods[-1].end
    first, step = periods[0].start, (periods[-1].end - periods[0].start) / columns
    expected = []
    for column in range(columns):
        low, high = first + step * column, first + step * (column + 1)
        limits = [p.limit for p in periods if p.start < high and p.end > low and p.limit is not None]
        expected.append(min(limits, default=None))
    assert schedule_render._column_lows(periods, first, step, columns) == expected


@settings(max_examples=150, deadline=None)
@given(
    installed_sets(daily=st.booleans() | st.just(True)),
    st.tuples(st.integers(0, 95), st.integers(97, 7 * 96)),
    st.sampled_from([0, 1, 2]),
)
def test_a_window_of_days_is_what_its_days_give_one_by_one(
    profiles: list[Installed], window: tuple[int, int], connector_id: int
) -> None:
    """Over more than a day, a composite (profiles repeating daily or not) is each day's own composite,
    the days joined and equal limits where they meet merged."""
    start_steps, length_steps = window
    start, end = _moment(start_steps), _moment(start_steps + length_steps)
    whole = composite_schedule(profiles, connector_id, start, length_steps * GRID_S, connectors=2)
    joined: list[CompositePeriod] = []
    day_start = start
    while day_start < end:
        day_s = int((min(day_start + timedelta(days=1), end) - day_start).total_seconds())
        for period in composite_schedule(profiles, connector_id, day_start, day_s, connectors=2):
            if joined and joined[-1].limit == period.limit:
                joined[-1] = joined[-1]._replace(end=period.end)
            else:
                joined.append(period)
        day_start += timedelta(days=1)
    assert whole == joined


@settings(max_examples=200, deadline=None)
@given(
    payloads("TxDefaultProfile"),
    st.tuples(st.integers(-96, 96), st.integers(1, 30 * 96)),
    st.booleans(),
    st.sampled_from([None, 0, 40]),
)
def test_the_pieces_counted_are_the_pieces_laid_out(
    payload: dict[str, Any], window: tuple[int, int], recur_before_start: bool, anchor_steps: int | None
) -> None:
    """Counting a profile's pieces in a window of up to a month, from its fields alone, gives as many as
    laying them out does, whether it recurs before its start or not and with or without an anchor."""
    profile = read_profile(1, payload)
    start, end = _moment(window[0]), _moment(window[0] + window[1])
    anchor = None if anchor_steps is None else _moment(anchor_steps)
    laid_out = limit_pieces(profile, start, end, anchor, recur_before_start=recur_before_start)
    assert piece_count(profile, start, end, anchor, recur_before_start=recur_before_start) == len(laid_out)
