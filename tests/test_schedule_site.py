"""Composite schedules of desired state: the site glue and `reconciler schedule`, on the example depot.

The harbour depot on Monday 2026-11-23 (UTC): AC bays have a weekly ChargePointMaxProfile of 22 kW
with 8 kW from 16:00 to 19:00, and a daily TxDefaultProfile on connector 0 of 32 A with 10 A from
06:00 to 17:00 (three phases, 230 V).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.cli.main import EXIT_USAGE, main
from reconciler.desired.loader import load
from reconciler.ocpp.profile import RateUnit
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.siteschedule import site_schedules
from reconciler.render.schedule import chart

from .conftest import DESIRED

AC_BAY_01 = "65a1269ef2a74de452e6b438"
DC_1 = "65a1658c95e60af593bd04cf"
MONDAY_NOON = "2026-11-23T12:00:00Z"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["schedule", "harbour-depot", "--desired", str(DESIRED), "--from", MONDAY_NOON, *argv])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def _periods(document: dict[str, object], index: int = 0) -> list[tuple[str, str, object]]:
    station = document["stations"][index]  # type: ignore[index]
    return [(p["start"][11:16], p["end"][11:16], p["limit"]) for p in station["periods"]]


def test_station_total_of_an_ac_bay_over_a_day(capsys: pytest.CaptureFixture[str]) -> None:
    """Two connectors at 10 A are 2 * 6,900 W; the 8 kW peak cap wins 16-19; 22 kW caps 44 kW at night."""
    code, out, _ = _run(capsys, AC_BAY_01, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["format_version"] == 1
    assert document["stations"][0]["connector"] == 0
    assert document["stations"][0]["unit"] == "W"
    assert _periods(document) == [
        ("12:00", "16:00", 13800),
        ("16:00", "19:00", 8000),
        ("19:00", "06:00", 22000),
        ("06:00", "12:00", 13800),
    ]


def test_one_connector_in_amps(capsys: pytest.CaptureFixture[str]) -> None:
    """Connector 1 in A: 10 A by day, the 8 kW cap is 8000 / 690 = 11.5 A, the 22 kW one 31.8 A."""
    code, out, _ = _run(
        capsys, AC_BAY_01, "--connector", "1", "--unit", "A", "--hours", "12", "--format", "json"
    )
    assert code == 0
    assert _periods(json.loads(out)) == [
        ("12:00", "17:00", 10),
        ("17:00", "19:00", 11.5),
        ("19:00", "00:00", 31.8),
    ]


def test_text_shows_periods_and_a_chart(capsys: pytest.CaptureFixture[str]) -> None:
    """Text output has a heading, one line per period and a chart whose top bar is the highest limit."""
    code, out, _ = _run(capsys, AC_BAY_01)
    assert code == 0
    lines = out.splitlines()
    assert (
        lines[0]
        == f"harbour-depot/{AC_BAY_01} (AC bay 01), station total, times Europe/Berlin, CET (UTC+01:00)"
    )
    # The depot's peak runs 16:00-19:00 UTC, which its operators read as 17:00-20:00 in Berlin.
    assert "  Mon 2026-11-23 17:00 → 20:00  8000 W" in lines
    assert "  █ 22000 W, ░ no limit; one column is 30 min" in lines


def test_without_a_station_every_station_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    """Leaving STATION out lists each of the depot's 14 stations once."""
    code, out, _ = _run(capsys, "--format", "json", "--hours", "1")
    assert code == 0
    stations = [s["station"] for s in json.loads(out)["stations"]]
    assert len(stations) == len(set(stations)) == 14


def test_text_shows_stations_with_the_same_schedule_once_naming_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every station of the depot is named exactly once in the text; stations sharing a schedule share a
    block (its periods written once), and there are as many blocks as distinct schedules in the JSON."""
    code, out, _ = _run(capsys, "--hours", "24")
    assert code == 0
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    (site,) = load([DESIRED / "harbour-depot.yaml"], start).sites
    assert all(out.count(station_id) == 1 for station_id in site.stations)
    code, document, _ = _run(capsys, "--hours", "24", "--format", "json")
    distinct = {json.dumps(s["periods"]) for s in json.loads(document)["stations"]}
    assert out.count("harbour-depot") == len(distinct) < len(site.stations)
    assert "harbour-depot: 10 stations, station total" in out


_ONE_TEMPLATE = """\
site: {name: Bays}
templates:
  cap:
    profile:
      connectorId: 1
      stackLevel: 20
      chargingProfilePurpose: TxDefaultProfile
      chargingProfileKind: Recurring
      recurrencyKind: Daily
      chargingSchedule:
        startSchedule: 2026-01-01T00:00:00Z
        chargingRateUnit: A
        chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]
stations:
  A: {connectors: 1, rated_power_kw: 22}
  B: {connectors: 2, rated_power_kw: 22}
  C: {connectors: 2, rated_power_kw: 22, overrides: {cap: {connectorId: 2}}}
  D: {connectors: 1, rated_power_kw: 22}
"""


@pytest.mark.parametrize("site_file", ["harbour-depot", "one template"])
@pytest.mark.parametrize("connector", [0, 1])
def test_stations_of_one_kind_get_the_composite_each_would_alone(
    tmp_path: Path, site_file: str, connector: int
) -> None:
    """Asked together, every station's schedule equals the one it gets asked alone, so sharing the
    composite of stations placed from the same templates changes no station's answer: not where one
    template's body sits on another connector (C) or on a station of more connectors (B)."""
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    path = DESIRED / "harbour-depot.yaml"
    if site_file == "one template":
        path = tmp_path / "bays.yaml"
        path.write_text(_ONE_TEMPLATE, encoding="utf-8")
    (site,) = load([path], start).sites
    together = site_schedules(site, [], connector, start, duration_s=86400, unit="W")
    assert len({s.periods for s in together}) > 1, "the stations do not all share one schedule"
    for schedule in together:
        (alone,) = site_schedules(site, [schedule.station_id], connector, start, duration_s=86400, unit="W")
        assert alone.periods == schedule.periods, schedule.station_id


@pytest.mark.parametrize(
    ("argv", "named"),
    [(["no-such-station"], "no-such-station"), ([AC_BAY_01, "--connector", "3"], "connector")],
)
def test_unknown_station_or_connector_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    """A station the site lacks, or a connector its station lacks, exits 64 and says which."""
    code, _, err = _run(capsys, *argv)
    assert code == EXIT_USAGE
    assert named in err


def test_site_glue_uses_each_stations_own_profiles() -> None:
    """DC charger 1 (one connector, W override): 50 kW by day, its 40 kW peak cap 16-19, 150 kW at night."""
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    loaded = load([DESIRED / "harbour-depot.yaml"], start)
    (found,) = site_schedules(loaded.sites[0], [DC_1], 0, start, duration_s=86400, unit="W")
    hours = [(p.start.hour, p.end.hour, p.limit) for p in found.periods]
    assert hours == [
        (12, 16, Decimal(50000)),
        (16, 19, Decimal(40000)),
        (19, 6, Decimal(150000)),
        (6, 12, Decimal(50000)),
    ]


def test_chart_scales_to_the_highest_limit_and_marks_no_limit() -> None:
    """An hour at 4 W, an hour at 10 W, an hour without a limit, in 24 columns of 7.5 minutes; the axis
    names midnight by its day."""
    start, first, second, end = (datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in (0, 1, 2, 3))
    periods = [
        CompositePeriod(start, first, Decimal(4)),
        CompositePeriod(first, second, Decimal(10)),
        CompositePeriod(second, end, None),
    ]
    bars, axis, legend = chart(periods, RateUnit.WATT, columns=24)
    # 4 / 10 of the top is bar index int(0.4 * 7) = 2 of the eight heights.
    assert bars == "▃" * 8 + "█" * 8 + "░" * 8
    assert axis == "Thu 1           02:00"
    assert legend == "█ 10 W, ░ no limit; one column is 450 s"
