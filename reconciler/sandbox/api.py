"""The sandbox's eDRV HTTP API: the routes `reconciler.edrv.wire` builds, served over the central system.

Routes (all under the bearer key the sandbox was started with; answers in eDRV's envelope):

    POST /v1.1/chargestations/{id}/set_charging_profile     {"connectorId", "csChargingProfiles"}
    POST /v1.1/chargestations/{id}/clear_charging_profile   {"id", "connectorId"} (or other Clear fields)
    GET  /v1.1/chargestations/{id}/get_composite_schedule   ?connectorId=N&duration=S[&chargingRateUnit=A|W]
    GET  /v1.1/sessions                                     ?chargestation=ID&status=Started
    POST /v1.1/sessions                                     {"chargestation", "connectorId"[, "idTag"]}
    GET  /v1.1/sessions/{id}
    GET|POST /v1.1/sessions/{id}/stop

A command becomes the OCPP call to the station's charge point. As eDRV does, it is answered at once,
201 (200 for the composite schedule) and `ok: true`, with the Action in status `requested`; the call
waits in the station's lane (`lanes`: one command at a time per charge point, in the order received),
and the charger's answer goes out only as webhooks, `.accepted` or `.rejected` with the settled Action
(see `objects`). With `synchronous`, a test's choice, the answer waits for the charge point instead
and carries the settled Action. A TxProfile without a `transactionId` gets the one of the session
running on its connector, as eDRV does. eDRV-like errors (guessed, like eDRV's status table): 401 for
a wrong key, 404 for an unknown station or session, 400 for a malformed body, an offline station, or
a session that could not be started or stopped.

Before a request gets here, `guard` has counted it, played the faults in play and checked the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError
from ocpp.v16 import call

from reconciler.ocpp.profile import Json
from reconciler.sandbox.central import Central, NoAnswerError, RefusedError, StationOfflineError
from reconciler.sandbox.guard import answer
from reconciler.sandbox.lanes import Lanes
from reconciler.sandbox.link import to_wire
from reconciler.sandbox.objects import ObjectIds, action, settle
from reconciler.sandbox.webhooks import Webhooks

V = "/v1.1"
_CLEAR_FIELDS = {"id", "connectorId", "chargingProfilePurpose", "stackLevel"}

Log = Callable[[str], None]


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class EdrvApi:
    """The routes above, over one central system; see the module docstring."""

    def __init__(
        self,
        *,
        central: Central,
        clock: Callable[[], datetime],
        ids: ObjectIds,
        webhooks: Webhooks | None = None,
        log: Log | None = None,
        synchronous: bool = False,
    ) -> None:
        self.central = central
        self._clock = clock
        self._ids = ids
        self._webhooks = webhooks
        self._log = log or (lambda _line: None)
        self._synchronous = synchronous
        self.lanes = Lanes()

    def routes(self) -> list[web.RouteDef]:
        station = V + "/chargestations/{station}"
        return [
            web.post(f"{station}/set_charging_profile", self._set, name="set_charging_profile"),
            web.post(f"{station}/clear_charging_profile", self._clear, name="clear_charging_profile"),
            web.get(f"{station}/get_composite_schedule", self._composite, name="get_composite_schedule"),
            web.get(f"{V}/sessions", self._sessions, name="sessions"),
            web.post(f"{V}/sessions", self._start_session, name="session_start"),
            web.get(V + "/sessions/{session}", self._session, name="session"),
            web.get(V + "/sessions/{session}/stop", self._stop_session, name="session_stop"),
            web.post(V + "/sessions/{session}/stop", self._stop_session, name="session_stop_post"),
        ]

    async def _body(self, request: web.Request) -> Json | web.Response:
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            return answer(400, False, "Request body is not JSON")
        return body if isinstance(body, dict) else answer(400, False, "Request body is not a JSON object")

    def _unknown(self, station_id: str) -> web.Response | None:
        if self.central.knows(station_id):
            return None
        return answer(404, False, f"Chargestation {station_id} not found")

    async def _station_body(self, request: web.Request) -> tuple[str, Json] | web.Response:
        """The station a command is for and its JSON body, or the error answer when either is wrong."""
        station_id = request.match_info["station"]
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        return self._unknown(station_id) or (station_id, body)

    async def _set(self, request: web.Request) -> web.StreamResponse:
        asked = await self._station_body(request)
        if isinstance(asked, web.Response):
            return asked
        station_id, body = asked
        connector_id = _integer(body.get("connectorId"))
        profile = body.get("csChargingProfiles")
        if connector_id is None or not isinstance(profile, dict):
            return answer(
                400, False, "connectorId (an integer) and csChargingProfiles (an object) are required"
            )
        if profile.get("chargingProfilePurpose") == "TxProfile" and "transactionId" not in profile:
            session = self.central.sessions.active(station_id, connector_id)
            if session is not None:
                profile = {**profile, "transactionId": session.transaction_id}
        sent = {**body, "csChargingProfiles": profile}
        request_payload = call.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=profile)
        return await self._command(
            station_id, "set_charging_profile", sent, connector_id=connector_id, payload=request_payload
        )

    async def _clear(self, request: web.Request) -> web.StreamResponse:
        asked = await self._station_body(request)
        if isinstance(asked, web.Response):
            return asked
        station_id, body = asked
        if not set(body) <= _CLEAR_FIELDS:
            return answer(
                400,
                False,
                f"unknown fields {sorted(set(body) - _CLEAR_FIELDS)}; a clear takes {sorted(_CLEAR_FIELDS)}",
            )
        request_payload = call.ClearChargingProfile(
            id=body.get("id"),
            connector_id=body.get("connectorId"),
            charging_profile_purpose=body.get("chargingProfilePurpose"),
            stack_level=body.get("stackLevel"),
        )
        connector_id = _integer(body.get("connectorId"))
        return await self._command(
            station_id, "clear_charging_profile", body, connector_id=connector_id, payload=request_payload
        )

    async def _composite(self, request: web.Request) -> web.StreamResponse:
        station_id = request.match_info["station"]
        if (refused := self._unknown(station_id)) is not None:
            return refused
        query = dict(request.query)
        connector_id, duration_s = _integer(query.get("connectorId")), _integer(query.get("duration"))
        unit = query.get("chargingRateUnit")
        if connector_id is None or duration_s is None or unit not in (None, "A", "W"):
            return answer(
                400, False, "connectorId and duration (integers) are required; chargingRateUnit is A or W"
            )
        request_payload = call.GetCompositeSchedule(
            connector_id=connector_id, duration=duration_s, charging_rate_unit=unit
        )
        return await self._command(
            station_id,
            "get_composite_schedule",
            query,
            connector_id=connector_id,
            payload=request_payload,
            status=200,
        )

    async def _command(
        self,
        station_id: str,
        kind: str,
        data: Any,
        *,
        connector_id: int | None,
        payload: Any,
        status: int = 201,
    ) -> web.Response:
        """Answer with the Action at once and send the OCPP call in the station's lane (see above)."""
        if not self.central.online(station_id):
            return answer(400, False, f"Chargestation {station_id} is offline")
        created = action(
            self._ids.next(), kind, station_id, data, connector_id=connector_id, now=self._clock()
        )
        self._emit(f"chargestation.{kind}.requested", created)
        message = f"Chargestation {kind.replace('_', ' ').title()} Requested"
        if self._synchronous:
            settled = await self._call(station_id, kind, created, connector_id, payload)
            if settled is None:
                return answer(400, False, f"Chargestation {station_id} is offline")
            return answer(status, True, message, settled)

        async def call() -> None:
            await self._call(station_id, kind, created, connector_id, payload)

        self.lanes.submit(station_id, call)
        return answer(status, True, message, created)

    async def _call(
        self, station_id: str, kind: str, created: Json, connector_id: int | None, payload: Any
    ) -> Json | None:
        """Send one OCPP call, settle its Action, and report the answer by webhook.

        None when the station is offline and the call is answered with an error instead, which only a
        synchronous answer can do; in a lane, an offline station is a failed Action like any other.
        """
        try:
            reply = await self.central.command(station_id, payload)
        except StationOfflineError:
            if self._synchronous:
                return None
            accepted = False
            response_data: Json = {"error": "the charge point is offline"}
        except NoAnswerError as exc:
            accepted = False
            response_data = {"error": str(exc)}
        except (OCPPError, UnknownCallErrorCodeError) as exc:
            # A CALLERROR: the charge point refused the message itself (malformed, or a bad value).
            accepted = False
            response_data = {
                "errorCode": getattr(exc, "code", "GenericError"),
                "errorDescription": getattr(exc, "description", str(exc)),
                "errorDetails": getattr(exc, "details", {}),
            }
        else:
            response_data = to_wire(_fields(reply))
            accepted = response_data.get("status") == "Accepted"
        settled = settle(created, accepted, response_data, self._clock())
        self._emit(f"chargestation.{kind}.{'accepted' if accepted else 'rejected'}", settled)
        outcome = response_data.get("status") or response_data.get("errorCode") or response_data.get("error")
        self._log(f"{kind:<23}{station_id} connector {connector_id}: {outcome}")
        return settled

    def _emit(self, event: str, data: Json) -> None:
        if self._webhooks is not None:
            self._webhooks.emit(event, "action", data)

    async def _sessions(self, request: web.Request) -> web.StreamResponse:
        station = request.query.get("chargestation")
        status = request.query.get("status", "").casefold()
        found = [
            s.as_json()
            for s in self.central.sessions.records.values()
            if station in (None, s.station_id) and (not status or s.status.casefold() == status)
        ]
        return answer(200, True, "Sessions", found)

    async def _session(self, request: web.Request) -> web.StreamResponse:
        record = self.central.sessions.records.get(request.match_info["session"])
        if record is None:
            return answer(404, False, "Session not found")
        return answer(200, True, "Session", record.as_json())

    async def _start_session(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        station_id = body.get("chargestation", body.get("station"))
        connector_id = _integer(body.get("connectorId"))
        id_tag = body.get("idTag", "SANDBOX")
        if not isinstance(station_id, str) or connector_id is None or not isinstance(id_tag, str):
            return answer(
                400, False, "chargestation (a station id) and connectorId (an integer) are required"
            )
        if (refused := self._unknown(station_id)) is not None:
            return refused
        if not self.central.online(station_id):
            return answer(400, False, f"Chargestation {station_id} is offline")
        if self.central.sessions.active(station_id, connector_id) is not None:
            return answer(
                400, False, f"Connector {connector_id} of {station_id} already has an active session"
            )
        try:
            record = await self.central.start_session(station_id, connector_id, id_tag)
        except (StationOfflineError, NoAnswerError, RefusedError) as exc:
            return answer(400, False, f"Session could not be started: {exc or 'the station went offline'}")
        self._log(f"session started        {station_id} connector {connector_id}: {record.session_id}")
        return answer(201, True, "Session Started", record.as_json())

    async def _stop_session(self, request: web.Request) -> web.StreamResponse:
        record = self.central.sessions.records.get(request.match_info["session"])
        if record is None:
            return answer(404, False, "Session not found")
        if not record.is_active:
            return answer(400, False, f"Session {record.session_id} has already ended")
        if not self.central.online(record.station_id):
            return answer(400, False, f"Chargestation {record.station_id} is offline")
        try:
            ended = await self.central.stop_session(record)
        except (StationOfflineError, NoAnswerError, RefusedError) as exc:
            return answer(400, False, f"Session could not be stopped: {exc or 'the station went offline'}")
        self._log(
            f"session ended          {ended.station_id} connector {ended.connector_id}: {ended.session_id}"
        )
        return answer(200, True, "Session Stopped", ended.as_json())


def _fields(reply: Any) -> Json:
    # The `ocpp` package answers with a dataclass of snake_case fields; unset optional fields are None.
    return {key: value for key, value in vars(reply).items() if value is not None}
