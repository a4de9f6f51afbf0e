"""An external OCPP 1.6J charge point connects under a station's identity instead of a simulated one,
and the eDRV API reaches it like any other; identities are guarded."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from ocpp.v16 import call, call_result

from reconciler.sandbox.link import SUBPROTOCOL, Peer, WebSocketLink, on, serve

from .sandbox_harness import STATION, action, config, profile, running, station

LAB = "LAB-1"


class LabChargePoint(Peer):
    """A charge point outside the sandbox: it accepts every profile and remembers it."""

    def __init__(self, link: WebSocketLink) -> None:
        super().__init__(LAB, link)
        self.received: list[tuple[int, dict[str, Any]]] = []

    @on("SetChargingProfile")
    def _set(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        self.received.append((connector_id, cs_charging_profiles))
        return call_result.SetChargingProfile(status="Accepted")


def test_external_charge_point_takes_the_stations_calls() -> None:
    """With `external`, no simulator holds the identity; a connecting charge point gets the API's calls."""

    async def scenario() -> None:
        sandbox_config = config({STATION: station(), LAB: station(1)}, external=frozenset({LAB}))
        async with running(sandbox_config) as (sandbox, api), aiohttp.ClientSession() as http:
            offline = await api.set(1, profile(), station_id=LAB)
            assert (offline.status_code, offline.json()["ok"]) == (400, False)
            async with http.ws_connect(f"{sandbox.ocpp_url}/{LAB}", protocols=(SUBPROTOCOL,)) as ws:
                lab = LabChargePoint(WebSocketLink(ws))
                receiving = asyncio.create_task(serve(lab))
                boot = await lab.call(
                    call.BootNotification(charge_point_model="lab", charge_point_vendor="test")
                )
                assert boot.status == "Accepted"
                answered = action(await api.set(1, profile(), station_id=LAB))
                assert answered["response_data"] == {"status": "Accepted"}
                assert [connector for connector, _ in lab.received] == [1]
                truth = (await api.http.get("/_sandbox/stations")).json()["stations"][LAB]
                assert (truth["online"], truth["simulated"], truth["profiles"]) == (True, False, None)
                await ws.close()
                await receiving

    asyncio.run(scenario())


@pytest.mark.parametrize(("identity", "status"), [(STATION, 409), ("CP-404", 404)])
def test_identity_taken_or_unknown_is_refused(identity: str, status: int) -> None:
    """A second connection for a connected station is refused (409), one for no station too (404)."""

    async def scenario() -> None:
        async with running() as (sandbox, _api), aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"{sandbox.ocpp_url}/{identity}", protocols=(SUBPROTOCOL,))
            assert refused.value.status == status

    asyncio.run(scenario())
