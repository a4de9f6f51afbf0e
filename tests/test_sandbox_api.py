"""The sandbox's eDRV API speaks what `reconciler.edrv.wire` builds and parses: key, envelope, Actions,
sessions, composite schedules, errors, and the counts and ground truth beside it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.errors import EdrvAuthError, EdrvNotFoundError
from reconciler.sandbox.config import DEFAULT_API_KEY, SandboxError, stations_from_file

from .sandbox_harness import START, STATION, Clock, action, config, profile, running

OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def test_wrong_key_is_refused_before_any_charge_point_is_called() -> None:
    """A request without the sandbox's bearer key gets 401 in eDRV's envelope and changes nothing."""

    async def scenario() -> None:
        async with running() as (sandbox, api):
            settings = EdrvSettings(api_key="not-the-key", api_url=sandbox.api_url)
            async with EdrvClient(settings) as client:
                with pytest.raises(EdrvAuthError):
                    await client.set_charging_profile(STATION, 1, profile())
            assert (await api.installed())["1"] == []
            bare = await api.http.get("/v1.1/sessions", headers={"Authorization": ""})
            assert (bare.status_code, bare.json()["ok"]) == (401, False)

    asyncio.run(scenario())


def test_command_is_answered_with_the_settled_action() -> None:
    """A set is answered 201 with an Action: an ObjectId, its type, what was sent and what the CP said."""

    async def scenario() -> None:
        async with running(config(clock=Clock())) as (_sandbox, api):
            answer = await api.set(1, profile())
            assert answer.status_code == 201
            assert answer.json()["message"] == "Chargestation Set Charging Profile Requested"
            created = action(answer)
            assert OBJECT_ID.fullmatch(created["_id"])
            assert created["type"] == "chargestation.set_charging_profile"
            assert created["chargestation"] == STATION
            assert created["data"] == {"connectorId": 1, "csChargingProfiles": profile()}
            assert (created["status"], created["response_data"]) == ("completed", {"status": "Accepted"})
            assert created["createdAt"] == "2026-11-23T12:00:00Z"

    asyncio.run(scenario())


def test_composite_schedule_comes_from_the_charge_point_in_the_unit_asked() -> None:
    """GetCompositeSchedule is answered by the charge point from its profiles, converted to W if asked."""

    async def scenario() -> None:
        async with running(config(clock=Clock())) as (sandbox, api):
            action(await api.set(1, profile()))
            settings = EdrvSettings(api_key=DEFAULT_API_KEY, api_url=sandbox.api_url)
            async with EdrvClient(settings) as client:
                assert await client.request_composite_schedule(STATION, 1, 3600, "W") is not None
            answered = action(await api.composite(1, 3600, chargingRateUnit="W"))["response_data"]
            assert answered == {
                "status": "Accepted",
                "connectorId": 1,
                "scheduleStart": "2026-11-23T12:00:00Z",
                "chargingSchedule": {
                    "duration": 3600,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11040}],  # 16 A x 230 V x 3
                },
            }

    asyncio.run(scenario())


def test_sessions_are_listed_as_the_client_reads_them() -> None:
    """A started session is listed in the shape `edrv.active_sessions` parses, and not once it ended."""

    async def scenario() -> None:
        async with running(config(clock=Clock())) as (sandbox, api):
            started = await api.start_session(2)
            settings = EdrvSettings(api_key=DEFAULT_API_KEY, api_url=sandbox.api_url)
            async with EdrvClient(settings) as client:
                (session,) = await client.active_sessions(STATION)
                assert (session.session_id, session.connector_id, session.started_at) == (
                    started["_id"],
                    2,
                    START,
                )
                await api.stop_session(started["_id"])
                assert await client.active_sessions(STATION) == ()
            again = await api.stop_session(started["_id"])
            assert (again.status_code, again.json()["ok"]) == (400, False)

    asyncio.run(scenario())


def test_errors_come_in_edrvs_envelope() -> None:
    """Unknown stations and paths are 404s, malformed bodies and busy connectors 400s, all enveloped."""

    async def scenario() -> None:
        async with running() as (sandbox, api):
            settings = EdrvSettings(api_key=DEFAULT_API_KEY, api_url=sandbox.api_url)
            async with EdrvClient(settings) as client:
                with pytest.raises(EdrvNotFoundError):
                    await client.set_charging_profile("CP-404", 1, profile())
            await api.start_session(1)
            for answer, status in [
                (await api.http.get("/v1.1/nowhere"), 404),
                (
                    await api.http.post(f"/v1.1/chargestations/{STATION}/set_charging_profile", content=b"{"),
                    400,
                ),
                (
                    await api.http.post(
                        f"/v1.1/chargestations/{STATION}/set_charging_profile", json={"connectorId": 1}
                    ),
                    400,
                ),
                (await api.clear({"id": 1, "colour": "blue"}), 400),
                (await api.composite(0, 60, chargingRateUnit="kW"), 400),
                (
                    await api.http.post("/v1.1/sessions", json={"chargestation": STATION, "connectorId": 1}),
                    400,
                ),
            ]:
                assert answer.status_code == status, answer.text
                assert answer.json()["ok"] is False
                assert answer.json()["message"]

    asyncio.run(scenario())


def test_stats_count_requests_by_route() -> None:
    """`/_sandbox/stats` counts every eDRV API request received, by the kind of call."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            await api.set(1, profile())
            await api.set(2, profile(2))
            await api.clear({"id": 2})
            await api.http.get("/v1.1/sessions")
            await api.http.get("/v1.1/nowhere")
            assert await api.stats() == {
                "set_charging_profile": 2,
                "clear_charging_profile": 1,
                "sessions": 1,
                "other": 1,
            }

    asyncio.run(scenario())


def test_stations_file_describes_the_simulated_stations(tmp_path: Path) -> None:
    """A stations file gives each station its connectors and OCPP keys; a bad one says where it is wrong."""
    good = tmp_path / "stations.yaml"
    good.write_text("stations:\n  CP-9: {connectors: 3, ocpp: {MaxChargingProfilesInstalled: 4}}\n")
    (spec,) = stations_from_file(good).values()
    assert (spec.connectors, spec.ocpp.max_profiles_installed) == (3, 4)
    bad = tmp_path / "bad.yaml"
    bad.write_text("stations:\n  CP-9: {connectors: 0}\n")
    with pytest.raises(SandboxError, match=r"stations\.CP-9\.connectors"):
        stations_from_file(bad)
