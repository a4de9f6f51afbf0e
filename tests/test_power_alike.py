"""A plan's power view works a kind of station out once: stations holding the same get the same totals
(the very same periods), each equal to that station's composite worked out alone, and the site's
combined limit equals every station's capped total added up one by one."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from reconciler.ocpp.profile import format_timestamp, json_number
from reconciler.ocpp.schedule import Installed
from reconciler.ocpp.steps import add_steps, capped
from reconciler.plan.power import PowerBasis, Station, StationBasis
from reconciler.render.power import as_json
from reconciler.shell.reconcile import plan_sites
from reconciler.state.recorded import payload_hash

from .conftest import NOW
from .schedule_builders import profile

SITE = """\
site: {name: Depot}
templates:
  tariff:
    profile:
      connectorId: 1
      stackLevel: 20
      chargingProfilePurpose: TxDefaultProfile
      chargingProfileKind: Recurring
      recurrencyKind: Daily
      chargingSchedule:
        startSchedule: 2026-01-01T00:00:00Z
        duration: 86400
        chargingRateUnit: A
        chargingSchedulePeriod:
          - {startPeriod: 0, limit: 16}
          - {startPeriod: 25200, limit: 10}
          - {startPeriod: 64800, limit: 13}
stations:
  CS-1: {connectors: 1, rated_power_kw: 22}
  CS-2: {connectors: 1, rated_power_kw: 22}
  CS-3: {connectors: 2, rated_power_kw: 11}
  CS-4:
    connectors: 1
    rated_power_kw: 22
    overrides:
      tariff: {chargingSchedule: {chargingSchedulePeriod: [{startPeriod: 0, limit: 8}]}}
  CS-5: {connectors: 1, rated_power_kw: 22}
  CS-6:  # the same body as CS-3's, on connector 0: a default for both connectors, not for one
    connectors: 2
    rated_power_kw: 22
    overrides: {tariff: {connectorId: 0}}
"""


def test_alike_stations_share_totals_each_equal_to_its_own_composite(tmp_path: Path) -> None:
    """CS-1, CS-2 and CS-5 hold the same and share one total; CS-3 (two connectors), CS-4 (an override)
    and CS-6 (CS-3's body on another connector) have their own; every total is the station's composite
    worked out alone, and the combined limit is each station's capped total, added one by one."""
    (tmp_path / "depot.yaml").write_text(SITE, encoding="utf-8")
    (plan,) = plan_sites(tmp_path, ["depot"], NOW)
    assert plan.power is not None
    view = plan.power.view
    by_id = {s.station_id: s for s in view.stations}
    assert by_id["CS-1"].after is by_id["CS-2"].after is by_id["CS-5"].after
    assert by_id["CS-3"].after is not by_id["CS-1"].after
    assert by_id["CS-4"].after != by_id["CS-1"].after
    assert by_id["CS-6"].after != by_id["CS-3"].after
    connectors = {"CS-1": 1, "CS-2": 1, "CS-3": 2, "CS-4": 1, "CS-5": 1, "CS-6": 2}
    for station_id, count in connectors.items():
        sent = [
            Installed(c.connector_id, c.after)
            for c in plan.changes
            if c.station_id == station_id and c.after is not None
        ]
        station = Station(count, view.voltage_v)
        assert by_id[station_id].after == tuple(station.total_w(sent, view.start, view.duration_s))
        assert by_id[station_id].before == tuple(station.total_w([], view.start, view.duration_s))
    rated = {"CS-1": 22_000, "CS-2": 22_000, "CS-3": 11_000, "CS-4": 22_000, "CS-5": 22_000, "CS-6": 22_000}
    one_by_one = add_steps([capped(by_id[s].after, Decimal(rated[s])) for s in rated])
    assert view.combined_after == tuple(one_by_one)
    assert len(set(view.combined_after)) > 1, "the combined limit changes over the day"


def _held(profile_id: int, level: int, limit: int) -> Installed:
    """A daily TxDefaultProfile on connector 1 at `limit` A all day, with its payload hash."""
    payload = profile(
        level=level,
        periods=((0, limit),),
        unit="A",
        kind="Recurring",
        recurrency="Daily",
        profile_id=profile_id,
    )
    return Installed(1, payload, payload_hash(payload))


def test_stations_holding_one_sequence_of_payloads_split_otherwise_keep_their_own_totals() -> None:
    """P holds a and b and will hold c, Q holds a and will hold b and c: one sequence of payloads, split
    otherwise between before and after, so each station gets its own totals, its own composites."""
    a, b, c = _held(1, 20, 16), _held(2, 21, 10), _held(3, 22, 8)
    station = Station(1, Decimal(230))
    p = StationBasis("P", station, Decimal(22_000), (a, b), (c,), touched=True)
    q = StationBasis("Q", station, Decimal(22_000), (a,), (b, c), touched=True)
    assert [i.digest for i in (*p.before, *p.after)] == [i.digest for i in (*q.before, *q.after)]
    view = PowerBasis(NOW, (p, q)).view
    for basis, power in zip((p, q), view.stations, strict=True):
        for side in ("before", "after"):
            held = [Installed(i.connector_id, i.payload) for i in getattr(basis, side)]
            alone = tuple(station.total_w(held, view.start, view.duration_s))
            assert getattr(power, side) == alone, (basis.station_id, side)
    assert view.stations[0].before != view.stations[1].before


def test_the_json_view_gives_each_station_the_periods_of_its_own_total(tmp_path: Path) -> None:
    """In the JSON plan each station's periods, before and after, are those of its own total, written
    once for the stations sharing it: CS-4's (an override) and CS-3's (two connectors) are their own."""
    (tmp_path / "depot.yaml").write_text(SITE, encoding="utf-8")
    (plan,) = plan_sites(tmp_path, ["depot"], NOW)
    document = as_json(plan.power)
    assert plan.power is not None
    assert document is not None
    written = {station["station"]: station for station in document["stations"]}
    for station in plan.power.view.stations:
        for side in ("before", "after"):
            expected = [
                {
                    "start": format_timestamp(p.start),
                    "end": format_timestamp(p.end),
                    "limit": None if p.limit is None else json_number(p.limit),
                }
                for p in getattr(station, side)
            ]
            assert written[station.station_id][side] == expected, (station.station_id, side)
