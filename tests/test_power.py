"""Rating a change by composite schedules, and the before/after power view, worked out by hand.

Times are on Monday 2 March 2026 (UTC) as in the composite-schedule tests; the station has two
connectors at 230 V, so 10 A on three phases is 6,900 W and 16 A is 11,040 W.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from reconciler.ocpp.profile import DAY_S, WEEK_S
from reconciler.ocpp.schedule import CompositePeriod, Installed, composite_schedules
from reconciler.ocpp.steps import add_steps, capped
from reconciler.plan import power
from reconciler.plan.power import (
    PowerBasis,
    Shift,
    Station,
    StationBasis,
    StationRater,
    after_clear,
    after_set,
    shift,
    window_s,
)

from .schedule_builders import at, profile

STATION = Station(connectors=2, voltage_v=Decimal(230))
NOW = at("12:00")


def _periods(*written: tuple[str, str, int | None]) -> list[CompositePeriod]:
    return [CompositePeriod(at(s), at(e), None if v is None else Decimal(v)) for s, e, v in written]


def _daily(amps: int, *, level: int = 20, profile_id: int) -> dict[str, Any]:
    return profile(
        level=level,
        periods=((0, amps),),
        unit="A",
        kind="Recurring",
        recurrency="Daily",
        duration=86400,
        start="00:00",
        profile_id=profile_id,
    )


def _rater(*installed: Installed) -> StationRater:
    store = {int(item.payload["chargingProfileId"]): item for item in installed}
    return StationRater(STATION, store, NOW)


def test_shift_finds_a_lower_limit_only() -> None:
    """A limit cut in the morning and unchanged (no limit) after is a lower shift and no higher one."""
    before = _periods(("00:00", "08:00", 10), ("08:00", "3T00:00", None))
    after = _periods(("00:00", "08:00", 8), ("08:00", "3T00:00", None))
    assert shift(before, after) == Shift(lower=True, higher=False)


def test_shift_counts_no_limit_above_any_number() -> None:
    """A limit that goes away is higher after, however large the number it replaced."""
    before = _periods(("00:00", "3T00:00", 10**9))
    after = _periods(("00:00", "3T00:00", None))
    assert shift(before, after) == Shift(lower=False, higher=True)


def test_shift_compares_periods_whose_bounds_differ() -> None:
    """With bounds at different moments each overlap is compared: 15 above 10 early, below 20 late."""
    before = _periods(("00:00", "12:00", 10), ("12:00", "3T00:00", 20))
    after = _periods(("00:00", "06:00", 10), ("06:00", "18:00", 15), ("18:00", "3T00:00", 20))
    assert shift(before, after) == Shift(lower=True, higher=True)


def test_after_set_replaces_by_id_and_by_slot() -> None:
    """A set drops the profile with its id (on any connector) and the one in its slot; others stay."""
    same_id = Installed(2, _daily(16, profile_id=1))
    same_slot = Installed(1, _daily(16, profile_id=2))
    other_level = Installed(1, _daily(16, level=21, profile_id=3))
    store = {1: same_id, 2: same_slot, 3: other_level}
    new = _daily(10, profile_id=1)
    assert after_set(store, 1, new) == {3: other_level, 1: Installed(1, new)}


def test_after_clear_removes_only_its_id() -> None:
    """A clear by id leaves every other profile, including one in the same slot on another connector."""
    store = {1: Installed(1, _daily(16, profile_id=1)), 2: Installed(2, _daily(16, profile_id=2))}
    assert after_clear(store, 1) == {2: store[2]}


def test_window_is_a_week_when_a_weekly_profile_is_on_either_side() -> None:
    """A day ahead for Daily profiles; a week as soon as one side holds a Weekly one."""
    daily = [Installed(1, _daily(16, profile_id=1))]
    weekly = [Installed(1, profile(kind="Recurring", recurrency="Weekly", duration=WEEK_S))]
    assert (window_s(daily, daily), window_s(daily, weekly), window_s(weekly, [])) == (DAY_S, WEEK_S, WEEK_S)


def test_rating_a_lowered_connector_limit() -> None:
    """16 A to 10 A on connector 1 lowers it and the station total (no limit stays no limit there)."""
    rater = _rater(Installed(1, _daily(16, profile_id=1)))
    assert rater.rate_set(1, _daily(10, profile_id=1)) == Shift(lower=True, higher=False)


def test_a_raise_hidden_below_a_higher_stack_level_moves_nothing() -> None:
    """Raising a profile that a higher stack level covers at every moment leaves every limit as it was."""
    rater = _rater(Installed(1, _daily(16, profile_id=1)), Installed(1, _daily(10, level=30, profile_id=2)))
    assert rater.rate_set(1, _daily(32, profile_id=1)) == Shift()


def test_clearing_a_higher_profile_that_allowed_more_lowers() -> None:
    """Clearing 32 A at stack 30 uncovers 10 A at stack 20: the limit goes down."""
    rater = _rater(Installed(1, _daily(10, profile_id=1)), Installed(1, _daily(32, level=30, profile_id=2)))
    assert rater.rate_clear(2) == Shift(lower=True, higher=False)


def test_moving_a_profile_to_another_connector_lowers_one_and_raises_the_other() -> None:
    """The same id set on connector 2 takes connector 1's limit away and gives connector 2 one."""
    rater = _rater(Installed(1, _daily(16, profile_id=1)))
    assert rater.rate_set(2, _daily(16, profile_id=1)) == Shift(lower=True, higher=True)


def test_a_station_cap_above_what_the_connectors_draw_moves_nothing() -> None:
    """2 x 10 A (13,800 W) under a 15 kW cap: raising the cap to 20 kW changes no composite."""
    per_connector = Installed(0, _daily(10, profile_id=1))
    cap = profile("ChargePointMaxProfile", level=20, periods=((0, 15000),), profile_id=2)
    raised = profile("ChargePointMaxProfile", level=20, periods=((0, 20000),), profile_id=2)
    assert _rater(per_connector, Installed(0, cap)).rate_set(0, raised) == Shift()


def test_a_weekly_change_five_days_ahead_is_seen() -> None:
    """Raising only Saturday's limit of a Weekly profile raises: the comparison looks a week ahead."""

    def weekly(weekend_amps: int) -> dict[str, Any]:
        periods = ((0, 16), (5 * DAY_S, weekend_amps))
        return profile(
            periods=periods, unit="A", kind="Recurring", recurrency="Weekly", duration=WEEK_S, profile_id=1
        )

    rater = _rater(Installed(1, weekly(10)))
    assert rater.rate_set(1, weekly(12)) == Shift(lower=False, higher=True)


def test_a_resend_of_what_is_recorded_computes_no_composite(monkeypatch: pytest.MonkeyPatch) -> None:
    """A set of the payload already held moves nothing and is rated without any composite schedule."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a composite was computed")

    monkeypatch.setattr(power, "composite_schedules", refuse)
    held = _daily(16, profile_id=1)
    assert _rater(Installed(1, held)).rate_set(1, dict(held)) == Shift()


def test_capped_counts_no_limit_and_anything_above_at_the_rated_power() -> None:
    """No limit and 30 kW both count as the 22 kW rating; 7 kW stays 7 kW."""
    periods = _periods(("00:00", "08:00", None), ("08:00", "20:00", 30000), ("20:00", "3T00:00", 7000))
    assert capped(periods, Decimal(22000)) == [(at("00:00"), Decimal(22000)), (at("20:00"), Decimal(7000))]


def test_add_steps_sums_at_every_change_of_either_line() -> None:
    """10 then 20 (from 08:00) plus 5 then 0 (from 12:00) is 15, 25, 20."""
    first = [(at("00:00"), Decimal(10)), (at("08:00"), Decimal(20))]
    second = [(at("00:00"), Decimal(5)), (at("12:00"), Decimal(0))]
    expected = [(at("00:00"), Decimal(15)), (at("08:00"), Decimal(25)), (at("12:00"), Decimal(20))]
    assert add_steps([first, second]) == expected


def _basis(
    station_id: str, rated_w: int | None, before: list[Installed], after: list[Installed]
) -> StationBasis:
    rated = None if rated_w is None else Decimal(rated_w)
    return StationBasis(station_id, STATION, rated, tuple(before), tuple(after), touched=before != after)


def test_the_view_shows_touched_stations_and_sums_every_station() -> None:
    """CS-1 cut from 16 A per connector to a 7 kW cap; CS-2 untouched without limits: 22,080 + 22,000 W
    before, 7,000 + 22,000 W after; CS-3 without a rated power is left out of the sum."""
    per_connector = Installed(0, _daily(16, profile_id=1))
    cap = Installed(0, profile("ChargePointMaxProfile", level=20, periods=((0, 7000),), profile_id=2))
    basis = PowerBasis(
        NOW,
        (
            _basis("CS-1", 30000, [per_connector], [per_connector, cap]),
            _basis("CS-2", 22000, [], []),
            _basis("CS-3", None, [], []),
        ),
    )
    view = basis.view
    assert (view.start, view.duration_s) == (NOW, DAY_S)
    assert [
        (s.station_id, [p.limit for p in s.before], [p.limit for p in s.after]) for s in view.stations
    ] == [("CS-1", [Decimal(22080)], [Decimal(7000)])]
    assert view.combined_before == ((NOW, Decimal(44080)),)
    assert view.combined_after == ((NOW, Decimal(29000)),)
    assert view.left_out == ("CS-3",)


def test_the_view_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the view twice computes its composites once: the station total before and after."""
    asked = _counting(monkeypatch)
    basis = PowerBasis(NOW, (_basis("CS-1", 22000, [], [Installed(1, _daily(16, profile_id=1))]),))
    assert basis.view is basis.view
    assert asked == [(0,), (0,)]


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The connectors asked for by every composite computation from now on, one entry per computation."""
    asked: list[tuple[int, ...]] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        asked.append(tuple(sorted(args[1])))
        return composite_schedules(*args, **kwargs)

    monkeypatch.setattr(power, "composite_schedules", counting)
    return asked


def test_a_change_off_connector_0_is_compared_on_its_connector_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lowering connector 1 computes connector 1 before and after, never the station total."""
    asked = _counting(monkeypatch)
    rater = _rater(Installed(1, _daily(16, profile_id=1)), Installed(2, _daily(16, profile_id=2)))
    assert rater.rate_set(1, _daily(10, profile_id=1)) == Shift(lower=True, higher=False)
    assert asked == [(1,), (1,)]


def test_a_change_on_connector_0_is_compared_on_the_total_and_every_connector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A station cap lowered from 15 to 10 kW over 2 x 16 A (22,080 W) lowers the total and each
    connector (11,040 W above the new cap); all three come from one computation before and one after,
    and a second change reuses the "before" one."""
    asked = _counting(monkeypatch)
    cap = profile("ChargePointMaxProfile", level=20, periods=((0, 15000),), profile_id=3)
    lowered = profile("ChargePointMaxProfile", level=20, periods=((0, 10000),), profile_id=3)
    rater = _rater(Installed(0, _daily(16, profile_id=1)), Installed(0, cap))
    assert rater.rate_set(0, lowered) == Shift(lower=True, higher=False)
    assert asked == [(0, 1, 2), (0, 1, 2)]
    assert rater.rate_clear(3) == Shift(lower=False, higher=True)
    assert asked == [(0, 1, 2), (0, 1, 2), (0, 1, 2)]
