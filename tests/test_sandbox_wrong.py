"""The sandbox wronged on purpose: charge points that lose profiles in a reboot, a profile installed
behind the reconciler's back, and composite schedules reported by each station's declared firmware rules."""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler.ocpp.configuration import ChargerLimits
from reconciler.sandbox.config import StationSpec
from reconciler.sandbox.simulator import SimulatedStation

from .sandbox_harness import START, STATION, Api, Clock, config, profile, running


async def _install(api: Api, connector_id: int, body: dict[str, Any]) -> str:
    answer = await api.http.post(
        f"/_sandbox/stations/{STATION}/profiles",
        json={"connectorId": connector_id, "csChargingProfiles": body},
    )
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


async def _reboot(api: Api, lose: str) -> Any:
    return await api.http.post(f"/_sandbox/stations/{STATION}/reboot", json={"lose": lose})


def test_a_profile_installed_behind_the_back_is_held_and_sent_through_no_api() -> None:
    """The control endpoint installs on the charge point directly: it holds it, and no API call counts."""

    async def scenario() -> None:
        async with running(config(clock=Clock())) as (_sandbox, api):
            assert await _install(api, 0, profile(7, stackLevel=5)) == "Accepted"
            assert (await api.installed())["0"] == [profile(7, stackLevel=5)]
            assert "set_charging_profile" not in await api.stats()
            # The charge point's own rules still hold: a TxProfile without a transaction is refused.
            assert await _install(api, 1, profile(8, chargingProfilePurpose="TxProfile")) == "Rejected"

    asyncio.run(scenario())


def test_a_reboot_loses_every_profile_or_only_the_top_stack_level() -> None:
    """`top_stack_level` drops only the profiles at the highest level held; `all` drops the rest too."""

    async def scenario() -> None:
        async with running(config(clock=Clock())) as (_sandbox, api):
            await _install(api, 0, profile(1, stackLevel=12))
            await _install(api, 1, profile(2, stackLevel=30))
            await _install(api, 2, profile(3, stackLevel=30))
            answer = await _reboot(api, "top_stack_level")
            assert answer.json() == {"lost": [2, 3]}
            assert await api.installed() == {"0": [profile(1, stackLevel=12)], "1": [], "2": []}
            assert (await _reboot(api, "all")).json() == {"lost": [1]}
            assert await api.installed() == {"0": [], "1": [], "2": []}

    asyncio.run(scenario())


def test_wronging_an_unknown_station_or_with_a_bad_body_is_a_400() -> None:
    """A station the sandbox does not simulate, or a body that is not the documented one, is refused."""

    async def scenario() -> None:
        async with running(config(clock=Clock())) as (_sandbox, api):
            assert (
                await api.http.post("/_sandbox/stations/CP-9/reboot", json={"lose": "all"})
            ).status_code == 400
            assert (await _reboot(api, "some")).status_code == 400
            bad = await api.http.post(f"/_sandbox/stations/{STATION}/profiles", json={"connectorId": 1})
            assert bad.status_code == 400

    asyncio.run(scenario())


def _station(**composite: Any) -> SimulatedStation:
    limits = ChargerLimits.model_validate({"composite": composite})
    spec = StationSpec(connectors=2, rated_power_kw=22, ocpp=limits)
    return SimulatedStation(STATION, spec, lambda: START)


def _periods(station: SimulatedStation, connector_id: int = 0) -> list[dict[str, Any]]:
    answer = station.composite(connector_id, 3600, "W")
    periods: list[dict[str, Any]] = answer.charging_schedule["charging_schedule_period"]
    return periods


def test_the_composite_is_reported_by_the_stations_declared_rules() -> None:
    """No limit is reported as rated power by default, as -1 or left out when declared so; a station
    whose total is its ChargePointMaxProfile alone reports that cap, not the connectors' sum."""
    assert _periods(_station()) == [{"start_period": 0, "limit": 22000}]
    assert _periods(_station(no_limit="minus_one")) == [{"start_period": 0, "limit": -1}]
    assert _periods(_station(no_limit="omitted")) == []

    summed, capped = _station(), _station(station_total="charge_point_max")
    for station in (summed, capped):
        station.charger.set_profile(1, profile(1, chargingSchedule=_watts(4000)))
        station.charger.set_profile(2, profile(2, chargingSchedule=_watts(4000)))
        station.charger.set_profile(
            0, profile(3, chargingProfilePurpose="ChargePointMaxProfile", chargingSchedule=_watts(20000))
        )
    assert _periods(summed) == [{"start_period": 0, "limit": 8000}]
    assert _periods(capped) == [{"start_period": 0, "limit": 20000}]


def _watts(limit: int) -> dict[str, Any]:
    return {
        "startSchedule": "2026-01-01T00:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
    }
