"""The sandbox's control endpoints, beside the eDRV API on the same port, for tests and for people.

    GET    /_sandbox/stations   per station: online, simulated, connectors, running transactions and
                                the profiles installed on each connector (the ground truth)
    GET    /_sandbox/stats      eDRV API requests received, by route; commands queued; webhooks
                                delivered, failed and queued
    GET    /_sandbox/settled    answered once every queued command is answered and every webhook
                                delivered (`?timeout=S`, default 30; 504 if not by then)
    GET    /_sandbox/faults     the faults in play (errors with a count show what is left of it)
    POST   /_sandbox/faults     replace them (JSON as in `faults`); answered once offline stations are
                                disconnected and the others connected again
    DELETE /_sandbox/faults     lift every fault
    POST   /_sandbox/stations/{id}/reboot
                                the charge point restarts losing profiles: {"lose": "all"} or
                                {"lose": "top_stack_level"}; answers {"lost": [chargingProfileId...]}
    POST   /_sandbox/stations/{id}/profiles
                                install {"connectorId": N, "csChargingProfiles": {...}} on the charge
                                point behind the reconciler's back (as eDRV's power management would);
                                answers {"status": "Accepted" | "Rejected"}

The last two wrong a charger on purpose, so that drift can be seen.

They need no API key: the sandbox listens on loopback only, and these are its instruments.
"""

from __future__ import annotations

import json
from typing import Protocol

from aiohttp import web
from pydantic import ValidationError

from reconciler.ocpp.profile import Json
from reconciler.sandbox.config import SandboxError
from reconciler.sandbox.faults import Faults

PREFIX = "/_sandbox"


class Controlled(Protocol):
    """What the control endpoints read and change (implemented by `server.Sandbox`)."""

    def ground_truth(self) -> Json: ...

    def stats(self) -> Json: ...

    def faults(self) -> Faults: ...

    async def set_faults(self, faults: Faults) -> None: ...

    async def settled(self, timeout_s: float) -> bool: ...
    def reboot(self, station_id: str, lose: str) -> list[int]: ...

    def install(self, station_id: str, connector_id: int, profile: Json) -> str: ...


def routes(sandbox: Controlled) -> list[web.RouteDef]:
    async def stations(_request: web.Request) -> web.Response:
        return web.json_response(sandbox.ground_truth())

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(sandbox.stats())

    async def faults(_request: web.Request) -> web.Response:
        return web.json_response(sandbox.faults().model_dump(mode="json"))

    async def set_faults(request: web.Request) -> web.Response:
        try:
            wanted = Faults.model_validate(json.loads(await request.read() or b"{}"))
            await sandbox.set_faults(wanted)
        except ValueError as exc:  # bad JSON, a ValidationError, or a SandboxError's reason
            return web.json_response({"error": _reason(exc)}, status=400)
        except SandboxError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(sandbox.faults().model_dump(mode="json"))

    async def lift_faults(_request: web.Request) -> web.Response:
        await sandbox.set_faults(Faults())
        return web.json_response(sandbox.faults().model_dump(mode="json"))

    async def settled(request: web.Request) -> web.Response:
        try:
            timeout_s = float(request.query.get("timeout", "30"))
        except ValueError:
            return web.json_response({"error": "timeout is a number of seconds"}, status=400)
        done = await sandbox.settled(timeout_s)
        return web.json_response({"settled": done}, status=200 if done else 504)

    async def reboot(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
            lost = sandbox.reboot(request.match_info["station"], str(body.get("lose", "all")))
        except (ValueError, AttributeError, SandboxError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"lost": lost})

    async def install(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
            connector_id, profile = int(body["connectorId"]), body["csChargingProfiles"]
            status = sandbox.install(request.match_info["station"], connector_id, profile)
        except (ValueError, KeyError, TypeError, SandboxError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"status": status})

    return [
        web.get(f"{PREFIX}/settled", settled),
        web.get(f"{PREFIX}/stations", stations),
        web.post(f"{PREFIX}/stations/{{station}}/reboot", reboot),
        web.post(f"{PREFIX}/stations/{{station}}/profiles", install),
        web.get(f"{PREFIX}/stats", stats),
        web.get(f"{PREFIX}/faults", faults),
        web.post(f"{PREFIX}/faults", set_faults),
        web.delete(f"{PREFIX}/faults", lift_faults),
    ]


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
    return str(exc)
