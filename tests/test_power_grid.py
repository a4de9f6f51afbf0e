"""The site grid guard, with totals worked out by hand at 230 V from Monday 2026-11-23 12:00 UTC.

Stations carry a daily ChargePointMaxProfile with three bands (00:00, 08:00 and 20:00 UTC), written
in W so that each band is what the station may draw.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired import gridguard
from reconciler.desired.gridguard import check_grid
from reconciler.desired.loader import load_site
from reconciler.desired.validate import DesiredSite, check_site
from reconciler.desired.yamlread import parse
from reconciler.errors import DesiredStateError, Severity
from reconciler.shell.reconcile import plan_sites

from .conftest import NOW


def _cap(night_w: int, day_w: int) -> str:
    return f"""    profiles:
      station-cap:
        connectorId: 0
        stackLevel: 20
        chargingProfilePurpose: ChargePointMaxProfile
        chargingProfileKind: Recurring
        recurrencyKind: Daily
        chargingSchedule:
          startSchedule: 2026-01-01T00:00:00Z
          duration: 86400
          chargingRateUnit: W
          chargingSchedulePeriod:
            - {{startPeriod: 0, limit: {night_w}}}
            - {{startPeriod: 28800, limit: {day_w}}}
            - {{startPeriod: 72000, limit: {night_w}}}
"""


def _site_text(grid_kw: int | None, *stations: tuple[str, int, str]) -> str:
    grid = f"  grid_limit_kw: {grid_kw}\n" if grid_kw is not None else ""
    text = f"site:\n  name: Depot\n{grid}stations:\n"
    for station_id, rated_kw, profiles in stations:
        text += f"  {station_id}:\n    connectors: 2\n    rated_power_kw: {rated_kw}\n{profiles}"
    return text


def _checked(text: str, now: datetime = NOW) -> DesiredSite:
    site, findings = check_site("depot", "depot.yaml", parse(text), now)
    assert site is not None
    assert not findings, findings
    return site


def _grid(text: str, now: datetime = NOW) -> list[str]:
    """The grid guard's messages when the site is checked as `validate` checks it (nothing else found)."""
    _, findings = check_site("depot", "depot.yaml", parse(text), now)
    assert all(f.field == ("grid_limit_kw",) for f in findings), findings
    return [f.message for f in findings]


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every station whose week is computed exactly, by its profiles' key (cache bypassed)."""
    keys: list[Any] = []
    exact = gridguard._station_total_w.__wrapped__

    def recording(key: Any, *args: Any) -> Any:
        keys.append(key)
        return exact(key, *args)

    monkeypatch.setattr(gridguard, "_station_total_w", recording)
    return keys


def test_stations_that_take_turns_stay_within_the_grid(computed: list[Any]) -> None:
    """22 kW by night + 7 kW by day and the reverse make 29 kW at every moment: within 30 kW,
    although each station alone may reach 22 kW (so only the exact sum can tell)."""
    text = _site_text(30, ("CS-1", 22, _cap(22000, 7000)), ("CS-2", 22, _cap(7000, 22000)))
    assert _grid(text) == []
    assert len(computed) == 2


def test_the_first_moment_above_the_grid_is_named_with_total_and_stations() -> None:
    """Day 7 + 22 = 29 kW fits 30 kW; from 20:00 it is 22 + 10 = 32 kW, the first moment above."""
    text = _site_text(30, ("CS-1", 22, _cap(22000, 7000)), ("CS-2", 22, _cap(10000, 22000)))
    assert _grid(text) == [
        "the stations may draw 32 kW together at 2026-11-23T20:00:00Z, above the grid limit of 30 kW: "
        "CS-1 22 kW, CS-2 10 kW"
    ]


def test_a_station_without_a_limit_counts_at_its_rated_power() -> None:
    """CS-1 has no profile: it counts at its 22 kW rating, and 22 + 11 = 33 kW is above 30 kW at once."""
    text = _site_text(30, ("CS-1", 22, ""), ("CS-2", 22, _cap(11000, 11000)))
    assert _grid(text) == [
        "the stations may draw 33 kW together at 2026-11-23T12:00:00Z, above the grid limit of 30 kW: "
        "CS-1 22 kW (no limit: its rated power), CS-2 11 kW"
    ]


def test_a_station_never_counts_above_its_rated_power() -> None:
    """A 30 kW cap on an 11 kW station counts as 11 kW: 11 + 18 = 29 kW fits 30 kW."""
    text = _site_text(30, ("CS-1", 11, _cap(30000, 30000)), ("CS-2", 22, _cap(18000, 18000)))
    assert _grid(text) == []


def test_rated_powers_within_the_grid_need_no_composite(computed: list[Any]) -> None:
    """Two stations rated 22 kW behind 44 kW cannot exceed it, whatever their profiles: none is computed."""
    text = _site_text(44, ("CS-1", 22, ""), ("CS-2", 22, ""))
    assert _grid(text) == []
    assert computed == []


def test_station_caps_that_fit_the_grid_need_no_composite(computed: list[Any]) -> None:
    """Caps covering the whole week with peaks of 22 and 8 kW fit 30 kW by their peaks alone."""
    text = _site_text(30, ("CS-1", 22, _cap(22000, 7000)), ("CS-2", 22, _cap(8000, 8000)))
    assert _grid(text) == []
    assert computed == []


def test_a_cap_that_starts_later_does_not_bound_the_week(computed: list[Any]) -> None:
    """A 7 kW cap valid only from Wednesday leaves CS-1 unlimited until then, so its peak bounds
    nothing: 22 (rated) + 8 = 30 kW from now is above 29 kW, found by the exact sum."""
    valid_from = "        recurrencyKind: Daily\n        validFrom: 2026-11-25T00:00:00Z\n"
    late = _cap(7000, 7000).replace("        recurrencyKind: Daily\n", valid_from)
    text = _site_text(29, ("CS-1", 22, late), ("CS-2", 22, _cap(8000, 8000)))
    assert _grid(text) == [
        "the stations may draw 30 kW together at 2026-11-23T12:00:00Z, above the grid limit of 29 kW: "
        "CS-1 22 kW (no limit: its rated power), CS-2 8 kW"
    ]
    assert len(computed) == 2


def test_per_connector_defaults_bound_a_station_without_a_cap(computed: list[Any]) -> None:
    """Two connectors at 16 A (11,040 W each, 22,080 W together) on a 44 kW station: 22.08 + 7 kW fit
    30 kW by the bound read off the TxDefaultProfile, without computing the week."""
    defaults = (
        _cap(7000, 7000)
        .replace("ChargePointMaxProfile", "TxDefaultProfile")
        .replace("chargingRateUnit: W", "chargingRateUnit: A")
    )
    defaults = defaults.replace("limit: 7000", "limit: 16")
    text = _site_text(30, ("CS-1", 44, defaults), ("CS-2", 22, _cap(7000, 7000)))
    assert _grid(text) == []
    assert computed == []


def test_the_message_names_at_most_eight_stations() -> None:
    """Ten unlimited 10 kW stations behind 50 kW: the eight first by draw, then how many more."""
    text = _site_text(50, *((f"CS-{n:02d}", 10, "") for n in range(10)))
    (message,) = _grid(text)
    assert message.endswith("CS-07 10 kW (no limit: its rated power), and 2 more")
    assert "CS-08" not in message


def test_identical_stations_are_computed_once() -> None:
    """Three stations with the same profiles (descriptions aside) share one computed week."""
    gridguard._station_total_w.cache_clear()
    described = _cap(22000, 7000).replace(
        "      station-cap:\n", "      station-cap:\n        description: B\n"
    )
    text = _site_text(
        40, ("CS-1", 22, _cap(22000, 7000)), ("CS-2", 22, described), ("CS-3", 22, _cap(7000, 22000))
    )
    (message,) = _grid(text)
    assert "may draw 51 kW together" in message  # 22 + 22 + 7 kW by night: the shared total counted twice
    info = gridguard._station_total_w.cache_info()
    assert (info.misses, info.hits) == (2, 1)


def test_the_error_is_placed_at_grid_limit_kw_with_a_fix(tmp_path: Path) -> None:
    """validate reports the error at the grid_limit_kw line, with the kW to shed in the fix."""
    path = tmp_path / "depot.yaml"
    path.write_text(_site_text(30, ("CS-1", 22, ""), ("CS-2", 22, _cap(11000, 11000))))
    site, problems = load_site(path, NOW)
    assert site is None
    (problem,) = problems
    assert (problem.line, problem.column, problem.severity) == (3, 3, Severity.ERROR)
    assert "by 3 kW in all, or raise grid_limit_kw" in problem.fix


def test_plan_refuses_a_site_above_its_grid(tmp_path: Path) -> None:
    """plan loads desired state through validation, so a site above its grid is not planned."""
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "depot.yaml").write_text(_site_text(30, ("CS-1", 22, ""), ("CS-2", 22, "")))
    with pytest.raises(DesiredStateError) as refused:
        plan_sites(desired, [], NOW)
    assert any("above the grid limit of 30 kW" in p.message for p in refused.value.problems)


def test_a_site_without_a_grid_limit_is_not_checked() -> None:
    """Without grid_limit_kw nothing is summed, however much the stations may draw."""
    site = _checked(_site_text(None, ("CS-1", 150, ""), ("CS-2", 150, "")))
    assert check_grid(site.doc, site.profiles, NOW) == []
