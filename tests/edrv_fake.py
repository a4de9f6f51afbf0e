"""An in-memory eDRV: an `httpx.MockTransport` handler speaking the API that `reconciler.edrv.wire` builds.

Tests of the client (and of anything that sends to eDRV) run the real `EdrvClient` against it. It
routes set, clear, the session listing and composite-schedule requests; checks the bearer key; keeps
each station's profiles by chargingProfileId; answers with eDRV's `{ok, message, result}` envelope
and an Action id; plays scripted faults (any status with an optional Retry-After, timeouts, HTML
gateway pages, a server careless enough to echo the Authorization header); and records every request
with the moment it arrived and how many calls were in flight, so tests can check rate and concurrency.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from reconciler.ocpp.profile import Json
from reconciler.sandbox.objects import envelope

_STATION_CALL = re.compile(r"/v1\.1/chargestations/([^/]+)/([a-z_]+)")


@dataclass
class Fault:
    """A scripted failure, answered instead of the real thing for the next `times` matching calls.

    `times=None` repeats it forever. `timeout` raises `httpx.ReadTimeout` instead of answering;
    `html` answers with a gateway's HTML page rather than eDRV's envelope; `echo_authorization` puts
    the request's Authorization header in the message, as a careless server might.
    """

    status: int = 500
    station_id: str | None = None
    retry_after: str | None = None
    timeout: bool = False
    html: bool = False
    echo_authorization: bool = False
    message: str = "scripted fault"
    times: int | None = 1


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    station_id: str | None
    body: Any
    authorization: str | None
    at_s: float


@dataclass
class FakeEdrv:
    """eDRV in memory. `stations=None` knows every station; `latency_ticks` event-loop turns per call."""

    api_key: str
    stations: Iterable[str] | None = None
    clock: Callable[[], float] = lambda: 0.0
    latency_ticks: int = 0
    profiles: dict[str, dict[int, Json]] = field(default_factory=dict)
    sessions: list[Json] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    in_flight_by_station: Counter[str] = field(default_factory=Counter)
    max_in_flight_by_station: Counter[str] = field(default_factory=Counter)
    _actions: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def start_session(
        self, station_id: str, connector_id: int, started_at: str, *, status: str = "Started"
    ) -> str:
        session_id = f"{len(self.sessions) + 1:024x}"
        self.sessions.append(
            {
                "_id": session_id,
                "chargestation": station_id,
                "connector": f"c{connector_id:023x}",
                "connectorId": connector_id,
                "status": status,
                "metrics": {"chargingStart": started_at},
                "createdAt": started_at,
            }
        )
        return session_id

    def received_for(self, station_id: str) -> list[Received]:
        return [r for r in self.received if r.station_id == station_id]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode().partition("?")[0]
        match = _STATION_CALL.fullmatch(raw_path)
        station_id = unquote(match.group(1)) if match else None
        body = json.loads(request.content) if request.content else None
        self.received.append(
            Received(
                request.method,
                raw_path,
                dict(request.url.params),
                station_id,
                body,
                request.headers.get("Authorization"),
                self.clock(),
            )
        )
        key = station_id or ""
        self.in_flight += 1
        self.in_flight_by_station[key] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_in_flight_by_station[key] = max(
            self.max_in_flight_by_station[key], self.in_flight_by_station[key]
        )
        try:
            for _ in range(self.latency_ticks):
                await asyncio.sleep(0)
            return self._answer(request, raw_path, station_id, match.group(2) if match else None, body)
        finally:
            self.in_flight -= 1
            self.in_flight_by_station[key] -= 1

    def _answer(
        self, request: httpx.Request, path: str, station_id: str | None, action: str | None, body: Any
    ) -> httpx.Response:
        fault = self._next_fault(station_id)
        if fault is not None:
            return self._fault(request, fault)
        authorization = request.headers.get("Authorization", "")
        if authorization != f"Bearer {self.api_key}":
            # Echoes the presented token, as some servers do: the client must never repeat it.
            return _envelope(401, False, f"invalid token {authorization.removeprefix('Bearer ')}")
        if path == "/v1.1/sessions" and request.method == "GET":
            return self._sessions(dict(request.url.params))
        if station_id is None or action is None:
            return _envelope(404, False, "Not found")
        if self.stations is not None and station_id not in set(self.stations):
            return _envelope(404, False, "Chargestation not found")
        if request.method == "POST" and action == "set_charging_profile":
            return self._set(station_id, body)
        if request.method == "POST" and action == "clear_charging_profile":
            return self._clear(station_id, body)
        if request.method == "GET" and action == "get_composite_schedule":
            return self._composite(station_id, dict(request.url.params))
        return _envelope(404, False, "Not found")

    def _next_fault(self, station_id: str | None) -> Fault | None:
        for fault in self.faults:
            if fault.station_id in (None, station_id):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _fault(self, request: httpx.Request, fault: Fault) -> httpx.Response:
        if fault.timeout:
            raise httpx.ReadTimeout("scripted read timeout", request=request)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.html:
            page = f"<html><body><h1>{fault.status} Bad Gateway</h1></body></html>"
            return httpx.Response(fault.status, headers=headers, text=page)
        message = fault.message
        if fault.echo_authorization:
            message += f" (request had Authorization: {request.headers.get('Authorization')})"
        return _envelope(fault.status, False, message, headers=headers)

    def _action(self, station_id: str, kind: str, data: Any) -> httpx.Response:
        self._actions += 1
        result = {
            "_id": f"a{self._actions:023x}",
            "type": f"chargestation.{kind}",
            "status": "requested",
            "chargestation": station_id,
            "data": data,
        }
        return _envelope(201, True, f"Chargestation {kind} requested", result)

    def _set(self, station_id: str, body: Any) -> httpx.Response:
        profile = body.get("csChargingProfiles") if isinstance(body, dict) else None
        profile_id = profile.get("chargingProfileId") if isinstance(profile, dict) else None
        connector_id = body.get("connectorId") if isinstance(body, dict) else None
        if not isinstance(connector_id, int) or not isinstance(profile_id, int):
            return _envelope(422, False, "connectorId and csChargingProfiles.chargingProfileId are required")
        self.profiles.setdefault(station_id, {})[profile_id] = body
        return self._action(station_id, "set_charging_profile", body)

    def _clear(self, station_id: str, body: Any) -> httpx.Response:
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            return _envelope(422, False, "id is required")
        self.profiles.get(station_id, {}).pop(body["id"], None)
        return self._action(station_id, "clear_charging_profile", body)

    def _composite(self, station_id: str, query: dict[str, str]) -> httpx.Response:
        if not query.get("connectorId", "").isdigit() or not query.get("duration", "").isdigit():
            return _envelope(422, False, "connectorId and duration are required")
        return self._action(station_id, "get_composite_schedule", query)

    def _sessions(self, query: dict[str, str]) -> httpx.Response:
        station, status = query.get("chargestation"), query.get("status", "")
        found = [
            s
            for s in self.sessions
            if station in (None, s["chargestation"])
            and (not status or s["status"].casefold() == status.casefold())
        ]
        return _envelope(200, True, "Sessions", found)


def _envelope(
    status: int, ok: bool, message: str, result: Any = None, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=envelope(ok, message, result))
