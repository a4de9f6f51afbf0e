"""What the sandbox tests share: a small station set, profiles to send, a clock to move, and an eDRV
API client that sends exactly what the test says (bypassing the reconciler's validation).

Each test starts its own sandbox on free loopback ports (`running`), so tests share no state.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from reconciler.edrv.webhook import Verification
from reconciler.ocpp.configuration import ChargerLimits
from reconciler.ocpp.profile import Json
from reconciler.sandbox.config import DEFAULT_API_KEY, SandboxConfig, StationSpec
from reconciler.sandbox.server import Sandbox
from reconciler.shell.receiver import ReceiverConfig

STATION = "CP-1"
WEBHOOK_SECRET = "whsec-test"
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The sandbox's clock, moved by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def station(connectors: int = 2, **limits: Any) -> StationSpec:
    """A station; `limits` are OCPP configuration keys by their OCPP names."""
    return StationSpec(connectors=connectors, ocpp=ChargerLimits.model_validate(limits))


def config(stations: dict[str, StationSpec] | None = None, **options: Any) -> SandboxConfig:
    """A sandbox on free ports; synchronous unless `synchronous=False` is passed, because the tests of
    charge point rules read the charger's answer in the API's (eDRV's way defers it to webhooks)."""
    options.setdefault("synchronous", True)
    return SandboxConfig(stations or {STATION: station()}, port=0, ocpp_port=0, **options)


def receiver_config(directory: Path, *tokens: str) -> ReceiverConfig:
    """A webhook receiver on a free port, its inbox in `directory`, checking the sandbox's secret and
    serving readers with `tokens`."""
    return ReceiverConfig(directory / "inbox.sqlite3", Verification((WEBHOOK_SECRET,)), tokens, port=0)


def profile(profile_id: int = 1, **fields: Any) -> Json:
    """A valid TxDefaultProfile (16 A, Absolute, from 2026-01-01) with `fields` replaced."""
    body: Json = {
        "chargingProfileId": profile_id,
        "stackLevel": 12,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": "2026-01-01T00:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        },
    }
    body.update(copy.deepcopy(fields))
    return body


@dataclass
class Api:
    """The sandbox's eDRV API and control endpoints, spoken to directly."""

    http: httpx.AsyncClient

    async def set(self, connector_id: int, body: Json, station_id: str = STATION) -> httpx.Response:
        path = f"/v1.1/chargestations/{station_id}/set_charging_profile"
        return await self.http.post(path, json={"connectorId": connector_id, "csChargingProfiles": body})

    async def clear(self, body: Json, station_id: str = STATION) -> httpx.Response:
        return await self.http.post(f"/v1.1/chargestations/{station_id}/clear_charging_profile", json=body)

    async def composite(self, connector_id: int, duration_s: int, **query: str) -> httpx.Response:
        params = {"connectorId": str(connector_id), "duration": str(duration_s), **query}
        return await self.http.get(f"/v1.1/chargestations/{STATION}/get_composite_schedule", params=params)

    async def start_session(self, connector_id: int, station_id: str = STATION) -> Json:
        answer = await self.http.post(
            "/v1.1/sessions", json={"chargestation": station_id, "connectorId": connector_id}
        )
        assert answer.status_code == 201, answer.text
        result: Json = answer.json()["result"]
        return result

    async def stop_session(self, session_id: str) -> httpx.Response:
        return await self.http.get(f"/v1.1/sessions/{session_id}/stop")

    async def installed(self, station_id: str = STATION) -> dict[str, list[Json]]:
        """The profiles the station's charge point holds, per connector."""
        truth = (await self.http.get("/_sandbox/stations")).json()
        found: dict[str, list[Json]] = truth["stations"][station_id]["profiles"]
        return found

    async def stats(self) -> dict[str, int]:
        counts: dict[str, int] = (await self.http.get("/_sandbox/stats")).json()["requests"]
        return counts

    async def faults(self, **faults: Any) -> httpx.Response:
        return await self.http.post("/_sandbox/faults", json=faults)


@asynccontextmanager
async def running(sandbox_config: SandboxConfig | None = None) -> AsyncIterator[tuple[Sandbox, Api]]:
    """A started sandbox and a client for it, both closed on exit."""
    async with Sandbox(sandbox_config or config()) as sandbox:
        headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        async with httpx.AsyncClient(base_url=sandbox.api_url, headers=headers, timeout=30) as http:
            yield sandbox, Api(http)


def action(response: httpx.Response) -> Json:
    """The Action of a command's answer, checking the envelope eDRV wraps it in."""
    assert response.status_code in (200, 201), response.text
    body = response.json()
    assert body["ok"] is True
    result: Json = body["result"]
    return result
