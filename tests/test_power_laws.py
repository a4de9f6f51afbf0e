"""Laws of the change rating and the grid bound, checked by hypothesis over random two-connector stations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reconciler.desired import gridguard
from reconciler.desired.model import Profile, Station
from reconciler.desired.template import PlacedProfile
from reconciler.ocpp.profile import WEEK_S
from reconciler.ocpp.schedule import Installed
from reconciler.plan.power import Shift, StationRater, after_set, shift

from .schedule_builders import profile
from .test_power import NOW, STATION
from .test_schedule_properties import installed_sets, payloads

_LIMITS_A = (6, 10, 16, 32)


@st.composite
def _daily(draw: st.DrawFn, purpose: str, profile_id: int) -> dict[str, Any]:
    """A Daily profile with one or two bands (the second from 08:00), in A or W."""
    unit = draw(st.sampled_from(("A", "W")))
    limits = draw(st.lists(st.sampled_from(_LIMITS_A), min_size=1, max_size=2))
    scale = 690 if unit == "W" else 1  # W values equal to whole amperes on three phases at 230 V
    periods = tuple((start, limit * scale) for start, limit in zip((0, 28800), limits, strict=False))
    level = draw(st.integers(20, 23))
    return profile(
        purpose,
        level=level,
        periods=periods,
        unit=unit,
        kind="Recurring",
        recurrency="Daily",
        duration=86400,
        start="00:00",
        profile_id=profile_id,
    )


@st.composite
def _station(draw: st.DrawFn) -> dict[int, Installed]:
    store: dict[int, Installed] = {}
    for profile_id in range(1, draw(st.integers(0, 4)) + 1):
        if draw(st.booleans()):
            store[profile_id] = Installed(0, draw(_daily("ChargePointMaxProfile", profile_id)))
        else:
            store[profile_id] = Installed(
                draw(st.integers(0, 2)), draw(_daily("TxDefaultProfile", profile_id))
            )
    return store


@settings(max_examples=150, deadline=None)
@given(store=_station(), connector_id=st.integers(1, 2), data=st.data())
def test_a_change_off_connector_0_is_rated_as_if_the_total_were_compared(
    store: dict[int, Installed], connector_id: int, data: st.DataObject
) -> None:
    """For a set on connector 1 or 2, comparing its connectors alone gives what comparing the station
    total as well gives: the total never moves in a direction no touched connector moves in."""
    profile_id = data.draw(st.integers(1, len(store) + 1))
    payload = data.draw(_daily("TxDefaultProfile", profile_id))
    after = after_set(store, connector_id, payload)
    touched = {connector_id} | {item.connector_id for key, item in store.items() if after.get(key) != item}
    assume(0 not in touched)  # replacing a profile on connector 0 is compared on the total anyway
    full = Shift()
    for connector in (0, *touched):
        (before_limits,) = STATION.limits_w(store.values(), (connector,), NOW, 86400).values()
        (after_limits,) = STATION.limits_w(after.values(), (connector,), NOW, 86400).values()
        full |= shift(before_limits, after_limits)
    assert StationRater(STATION, store, NOW).rate_set(connector_id, payload) == full


@settings(max_examples=150, deadline=None)
@given(store=_station(), data=st.data())
def test_a_set_that_only_lowers_limits_is_never_rated_higher(
    store: dict[int, Installed], data: st.DataObject
) -> None:
    """A set of a recorded profile with some limits lowered and nothing else changed, which the plan
    rates as lowering without a composite, never raises any connector or the total when computed."""
    assume(store)
    profile_id = data.draw(st.sampled_from(sorted(store)))
    held = store[profile_id]
    payload = {**held.payload, "chargingSchedule": dict(held.payload["chargingSchedule"])}
    payload["chargingSchedule"]["chargingSchedulePeriod"] = [
        {**period, "limit": period["limit"] - data.draw(st.sampled_from((0, 1, 4)))}
        for period in held.payload["chargingSchedule"]["chargingSchedulePeriod"]
    ]
    rater = StationRater(STATION, store, NOW)
    assume(rater.never_raises(held.connector_id, payload))
    assert not rater.rate_set(held.connector_id, payload).higher


@settings(max_examples=100, deadline=None)
@given(
    connector_id=st.integers(0, 2),
    purpose=st.sampled_from(("ChargePointMaxProfile", "TxDefaultProfile")),
    data=st.data(),
)
def test_a_set_on_a_station_that_holds_nothing_is_never_rated_higher(
    connector_id: int, purpose: str, data: st.DataObject
) -> None:
    """A station holding nothing has no limit anywhere; the plan rates any set on it as lowering without a
    composite, and computed, no connector nor the total rises."""
    assume(purpose == "TxDefaultProfile" or connector_id == 0)
    payload = data.draw(_daily(purpose, 1))
    rater = StationRater(STATION, {}, NOW)
    assert rater.never_raises(connector_id, payload)
    assert not rater.rate_set(connector_id, payload).higher


@settings(max_examples=100, deadline=None)
@given(store=_station(), valid_from_day=st.sampled_from((None, 1, 3)))
def test_the_grid_bound_of_a_station_never_undercuts_its_week(
    store: dict[int, Installed], valid_from_day: int | None
) -> None:
    """Whatever its profiles, a station's bound read off them is at least its total at every moment of
    the week (else the grid guard could wave through a site above its grid)."""
    placed = []
    for key, item in store.items():
        written = {**item.payload, "connectorId": item.connector_id}
        if valid_from_day is not None and key == 1:  # one profile starting later in the week
            written["validFrom"] = (NOW + timedelta(days=valid_from_day)).isoformat()
        placed.append(PlacedProfile("CS-1", f"p{key}", Profile.model_validate(written), (("stations",),)))
    station = Station.model_validate({"connectors": 2, "rated_power_kw": 1000})
    end = NOW + timedelta(seconds=WEEK_S)
    bound = gridguard._bound_w(station, placed, STATION.voltage_v, NOW, end)
    week = gridguard._station_total_w(gridguard._key(placed), 2, STATION.voltage_v, NOW, WEEK_S)
    assert all(period.limit is not None and period.limit <= bound for period in week) or bound.is_infinite()


@settings(max_examples=200, deadline=None)
@given(store=installed_sets(), data=st.data())
def test_a_change_is_rated_as_comparing_the_whole_window_would_rate_it(
    store: list[Installed], data: st.DataObject
) -> None:
    """Rating over the stretch where the changed profiles apply (a short one is all the rater works out)
    finds what comparing every connector and the total over the whole window finds, Relative profiles
    (which start where the window does) among them."""
    held = {
        int(item.payload["chargingProfileId"]): (
            Installed(item.connector_id, _relative(item.payload)) if data.draw(st.booleans()) else item
        )
        for item in store
    }
    clearing: bool = data.draw(st.booleans())
    after: dict[int, Installed]
    if held and clearing:
        profile_id = data.draw(st.sampled_from(sorted(held)))
        after = {k: v for k, v in held.items() if k != profile_id}
        rated = StationRater(STATION, held, NOW).rate_clear(profile_id)
    else:
        purpose = data.draw(st.sampled_from(("ChargePointMaxProfile", "TxDefaultProfile")))
        connector_id = 0 if purpose == "ChargePointMaxProfile" else data.draw(st.integers(0, 2))
        payload = {**data.draw(payloads(purpose)), "chargingProfileId": data.draw(st.integers(1, 8))}
        after = after_set(held, connector_id, payload)
        rated = StationRater(STATION, held, NOW).rate_set(connector_id, payload)
    whole = Shift()
    for connector in (0, 1, 2):
        (before_limits,) = STATION.limits_w(held.values(), (connector,), NOW, 86400).values()
        (after_limits,) = STATION.limits_w(after.values(), (connector,), NOW, 86400).values()
        whole |= shift(before_limits, after_limits)
    assert rated == whole


def _relative(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The profile made Relative: its schedule starts where the window does, as no session runs."""
    schedule = {key: value for key, value in payload["chargingSchedule"].items() if key != "startSchedule"}
    relative = {key: value for key, value in payload.items() if key != "recurrencyKind"}
    return relative | {"chargingProfileKind": "Relative", "chargingSchedule": schedule}
