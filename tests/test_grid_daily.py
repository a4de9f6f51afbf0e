"""The grid guard's first-day shortcut: where every profile repeats daily all week, the first day's
total answers for the week, and the finding is the one the whole week gives."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from reconciler.desired import gridguard
from reconciler.desired.gridguard import check_grid
from reconciler.desired.validate import DesiredSite, check_site
from reconciler.desired.yamlread import parse
from reconciler.ocpp.profile import DAY_S, WEEK_S

from .conftest import NOW

_DAILY = """\
      p{number}:
        connectorId: {connector}
        stackLevel: {number}
        chargingProfilePurpose: {purpose}
        chargingProfileKind: Recurring
        recurrencyKind: Daily
{valid_to}        chargingSchedule:
          startSchedule: {start}
{duration}          chargingRateUnit: W
          chargingSchedulePeriod:
{periods}"""


def _profile(number: int, connector: int, purpose: str, draw: dict[str, Any]) -> str:
    starts = sorted({0, *draw["later_starts"]})
    periods = "".join(
        f"            - {{startPeriod: {start}, limit: {limit}}}\n"
        for start, limit in zip(starts, draw["limits"], strict=False)
    )
    valid_to = f"        validTo: {draw['valid_to']}\n" if draw["valid_to"] else ""
    duration = f"          duration: {draw['duration_s']}\n" if draw["duration_s"] else ""
    return _DAILY.format(
        number=number,
        connector=connector,
        purpose=purpose,
        valid_to=valid_to,
        start=draw["start"],
        duration=duration,
        periods=periods,
    )


_draws = st.fixed_dictionaries(
    {
        "later_starts": st.lists(st.integers(1, DAY_S - 1), max_size=3),
        "limits": st.lists(st.integers(0, 30).map(lambda kw: kw * 1000), min_size=4, max_size=4),
        # Mostly begun by now and valid all week (the shortcut's case); sometimes not (the week's).
        "start": st.sampled_from(["2026-01-01T00:00:00Z", "2026-11-20T07:30:00Z", "2026-11-25T06:00:00Z"]),
        "valid_to": st.sampled_from([None, None, "2026-11-26T03:00:00Z"]),
        "duration_s": st.sampled_from([None, 3600, 50_000, DAY_S]),
    }
)
# Each station: its rating in kW, a low cap held all week (so that totals start below the grid and
# rise only where a drawn profile raises them), and the drawn profiles above it.
_stations = st.lists(
    st.tuples(
        st.integers(11, 30), st.integers(0, 30), st.lists(st.tuples(st.booleans(), _draws), max_size=3)
    ),
    min_size=1,
    max_size=3,
)
_Stations = list[tuple[int, int | None, list[tuple[bool, dict[str, Any]]]]]


def _site(stations: _Stations) -> DesiredSite:
    text = "site:\n  name: Depot\nstations:\n"
    for index, (rated_kw, base_kw, profiles) in enumerate(stations, 1):
        text += f"  CS-{index}:\n    connectors: 2\n    rated_power_kw: {rated_kw}\n"
        text += "    profiles:\n" if base_kw is not None or profiles else ""
        if base_kw is not None:
            text += _profile(0, 0, "ChargePointMaxProfile", _draw(limits=[base_kw * 1000] * 4))
        for number, (is_cap, draw) in enumerate(profiles, 1):
            purpose = "ChargePointMaxProfile" if is_cap else "TxDefaultProfile"
            text += _profile(number, 0 if is_cap else number % 3, purpose, draw)
    site, findings = check_site("depot", "depot.yaml", parse(text), NOW)
    assert site is not None, findings
    return site


def _with_grid(site: DesiredSite, grid_kw: int) -> Any:
    """The site's document with `grid_limit_kw` set (a copy is not validated: the Decimal is given)."""
    limit = {"grid_limit_kw": Decimal(grid_kw)}
    return site.doc.model_copy(update={"site": site.doc.site.model_copy(update=limit)})


@settings(max_examples=300, deadline=None)
@given(_stations, st.integers(5, 80))
def test_the_first_day_finds_what_the_week_finds(stations: _Stations, grid_kw: int) -> None:
    """Over generated sites of Daily profiles, the guard's finding (moment, total and each station's
    draw) is the one summing the whole week gives."""
    site = _site(stations)
    doc = _with_grid(site, grid_kw)
    week = check_grid(doc, site.profiles, NOW, horizon_s=WEEK_S)
    assert check_grid(doc, site.profiles, NOW) == week


_SHAPES = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["Recurring Daily"] * 6 + ["Recurring Weekly", "Absolute"]),
        # Hours from now, mostly outside the week (where a Daily profile repeats all week), else within
        # it: the schedule's start, and the validity bounds (None: unbounded).
        "start_h": st.one_of(
            st.integers(-240, 0), st.integers(-240, 0), st.integers(-240, 0), st.integers(1, 170)
        ),
        "valid_from_h": st.one_of(st.none(), st.none(), st.integers(-240, 0), st.integers(1, 170)),
        "valid_to_h": st.one_of(st.none(), st.none(), st.integers(169, 400), st.integers(1, 168)),
        "duration_s": st.sampled_from([None, 7_200, DAY_S]),
        "limits_kw": st.lists(st.integers(1, 30), min_size=1, max_size=3),
    }
)


def _shaped(number: int, shape: dict[str, Any]) -> str:
    """A ChargePointMaxProfile of the drawn shape, its periods 6 hours apart."""
    kind, _, recurrency = shape["kind"].partition(" ")

    def at(hours: int) -> str:
        return (NOW + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = [f"      p{number}:", "        connectorId: 0", f"        stackLevel: {number}"]
    lines += ["        chargingProfilePurpose: ChargePointMaxProfile", f"        chargingProfileKind: {kind}"]
    lines += [f"        recurrencyKind: {recurrency}"] if recurrency else []
    lines += [f"        validFrom: {at(shape['valid_from_h'])}"] if shape["valid_from_h"] is not None else []
    lines += [f"        validTo: {at(shape['valid_to_h'])}"] if shape["valid_to_h"] is not None else []
    lines += ["        chargingSchedule:", f"          startSchedule: {at(shape['start_h'])}"]
    lines += [f"          duration: {shape['duration_s']}"] if shape["duration_s"] else []
    lines += ["          chargingRateUnit: W", "          chargingSchedulePeriod:"]
    lines += [
        f"            - {{startPeriod: {index * 21_600}, limit: {kw * 1000}}}"
        for index, kw in enumerate(shape["limits_kw"])
    ]
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(_SHAPES, min_size=1, max_size=2))
def test_a_station_whose_profiles_repeat_daily_draws_alike_every_day(shapes: list[dict[str, Any]]) -> None:
    """Where the guard takes every profile of a station to repeat daily all week, the station's total
    at each moment of the week is its total at that time of the first day (generated profiles of every
    kind, starting and valid from before to within the week)."""
    text = (
        "site:\n  name: Depot\nstations:\n  CS-1:\n    connectors: 2\n    rated_power_kw: 40\n    profiles:\n"
    )
    text += "".join(_shaped(number, shape) for number, shape in enumerate(shapes))
    site, _ = check_site("depot", "depot.yaml", parse(text), NOW)
    assume(site is not None)
    assert site is not None
    profiles = [item.profile for item in site.profiles["CS-1"]]
    end = NOW + timedelta(seconds=WEEK_S)
    repeats = all(gridguard._repeats_daily(profile, NOW, end) for profile in profiles)
    event("repeats daily" if repeats else "does not")
    if not repeats:
        return
    total = gridguard._station_total_w.__wrapped__(tuple(profiles), 2, Decimal(230), NOW, WEEK_S)
    starts = [period.start for period in total]

    def draw(moment: datetime) -> Decimal | None:
        return total[bisect_right(starts, moment) - 1].limit

    day = timedelta(seconds=DAY_S)
    moments = {*starts, *(start + k * day for start in starts if start < NOW + day for k in range(7))}
    for moment in sorted(m for m in moments if m < end):
        assert draw(moment) == draw(NOW + (moment - NOW) % day), moment


def _computed_horizons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    horizons: list[int] = []
    exact = gridguard._station_total_w.__wrapped__

    def recording(*args: Any) -> Any:
        horizons.append(args[-1])
        return exact(*args)

    monkeypatch.setattr(gridguard, "_station_total_w", recording)
    return horizons


def _draw(**changes: Any) -> dict[str, Any]:
    base = {
        "later_starts": [28_800, 72_000],
        "limits": [22_000, 7_000, 22_000, 0],
        "start": "2026-01-01T00:00:00Z",
        "valid_to": None,
        "duration_s": DAY_S,
    }
    return base | changes


def test_daily_profiles_valid_all_week_are_summed_over_one_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two stations of Daily caps begun long ago are summed over their first day, and the first moment
    above the grid found there."""
    horizons = _computed_horizons(monkeypatch)
    site = _site(
        [(22, None, [(True, _draw())]), (22, None, [(True, _draw(limits=[10_000, 22_000, 10_000, 0]))])]
    )
    (finding,) = check_grid(_with_grid(site, 30), site.profiles, NOW)
    assert "32 kW together at 2026-11-23T20:00:00Z" in finding.message
    assert horizons == [DAY_S, DAY_S]


def test_a_profile_that_ends_within_the_week_is_summed_over_the_week(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 7 kW cap valid until Thursday leaves its station at its 22 kW rating from then: the moment
    above the grid lies past the first day, so the whole week is summed and it is found."""
    horizons = _computed_horizons(monkeypatch)
    ending = _draw(limits=[7_000, 7_000, 7_000, 0], valid_to="2026-11-26T03:00:00Z")
    site = _site([(22, None, [(True, ending)]), (22, None, [(True, _draw(limits=[10_000] * 4))])])
    (finding,) = check_grid(_with_grid(site, 30), site.profiles, NOW)
    assert "32 kW together at 2026-11-26T03:00:00Z" in finding.message
    assert horizons == [WEEK_S, WEEK_S]


def test_a_recurrence_that_begins_later_is_summed_over_the_week(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Daily cap whose first run is on Wednesday does not repeat from now on: the week is summed."""
    horizons = _computed_horizons(monkeypatch)
    site = _site([(22, None, [(True, _draw(start="2026-11-25T06:00:00Z"))]), (22, None, [])])
    assert len(check_grid(_with_grid(site, 30), site.profiles, NOW)) == 1
    assert horizons == [WEEK_S, WEEK_S]
