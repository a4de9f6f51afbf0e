"""eDRV's wire format: the requests the reconciler sends and the answers it reads, as plain values. Pure.

This is the one place that knows eDRV's paths, bodies and response shapes. The plan builds requests
here; `reconciler.edrv.client` sends them and hands the raw answers back here to be read.

Documented by eDRV: `POST /v1.1/chargestations/{id}/set_charging_profile` with body
`{"connectorId": N, "csChargingProfiles": <OCPP ChargingProfile>}`; every answer wrapped as
`{"ok": bool, "message": str, "result": ...}`; a command answered at once with an Action whose `_id`
identifies it in the webhooks that later report the charger's answer; session objects with `_id`,
`chargestation`, `status` (spelt `Started` or `started`), `metrics.chargingStart` and `createdAt`.

Guessed where eDRV's public documentation is silent (each listed in the README):
- clear: `POST /v1.1/chargestations/{id}/clear_charging_profile` with the OCPP ClearChargingProfile.req
  fields `{"id": <chargingProfileId>, "connectorId": N}`, by analogy with set, whose body is the
  OCPP request verbatim. OCPP says a clear by id ignores the other fields.
- active sessions: `GET /v1.1/sessions?chargestation={id}&status=Started`, the v1.1 listing with the
  filters v1's transaction listing had. Because the filters are a guess, the answer is filtered again
  here by station and status, so a server that ignores them still yields the right sessions.
- a session's connector: the OCPP connector number in an integer `connectorId` field, as in the
  composite-schedule Action's `response_data`; eDRV's own `connector` id is kept as `connector_ref`.
- composite schedule: `GET /v1.1/chargestations/{id}/get_composite_schedule?connectorId=N&duration=S`
  (optionally `&chargingRateUnit=A|W`), the station-level sibling of the documented connector path,
  taking OCPP's GetCompositeSchedule.req fields as query parameters, since the plan knows connectors
  by OCPP number, not by eDRV connector id. Like set, it is answered with an Action; the schedule
  itself arrives by webhook.
- the Action id of set, clear and composite requests: `result._id`, as the documented power-limit
  commands answer. A result without one is read as "no id" rather than as an error.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, unquote, urlencode

from reconciler.errors import EdrvResponseError
from reconciler.ocpp.profile import Json

API_VERSION_PREFIX = "/v1.1"
_STATION_PREFIX = f"{API_VERSION_PREFIX}/chargestations/"
# eDRV's examples spell session statuses both `Started` and `started`; compare casefolded.
ACTIVE_SESSION_STATUS = "started"


@dataclass(frozen=True, slots=True)
class EdrvRequest:
    """One eDRV API call, exactly as it will be sent.

    A GET carries its parameters in the query of `path`; its body is empty and is not sent.
    """

    method: str
    path: str
    body: Json

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body}


def _station_path(station_id: str, action: str) -> str:
    return f"{_STATION_PREFIX}{_quoted(station_id)}/{action}"


# A plan that clears a site calls the same few stations' paths thousands of times, and quoting is most of a
# request's making; bounded, as every memo of input is.
@functools.lru_cache(maxsize=10_000)
def _quoted(station_id: str) -> str:
    return quote(station_id, safe="")


def set_charging_profile(station_id: str, connector_id: int, charging_profile: Json) -> EdrvRequest:
    body = {"connectorId": connector_id, "csChargingProfiles": charging_profile}
    return EdrvRequest("POST", _station_path(station_id, "set_charging_profile"), body)


def clear_charging_profile(station_id: str, connector_id: int, profile_id: int) -> EdrvRequest:
    body = {"id": profile_id, "connectorId": connector_id}
    return EdrvRequest("POST", _station_path(station_id, "clear_charging_profile"), body)


def list_active_sessions(station_id: str) -> EdrvRequest:
    """The sessions running on a station (a guess: see the module docstring)."""
    query = urlencode({"chargestation": station_id, "status": "Started"})
    return EdrvRequest("GET", f"{API_VERSION_PREFIX}/sessions?{query}", {})


def get_composite_schedule(
    station_id: str, connector_id: int, duration_s: int, charging_rate_unit: Literal["A", "W"] | None = None
) -> EdrvRequest:
    """Ask a station for its composite schedule over the next `duration_s` seconds (a guess).

    `connector_id` 0 asks for the station as a whole, as in OCPP. The answer arrives by webhook.
    """
    query: dict[str, str | int] = {"connectorId": connector_id, "duration": duration_s}
    if charging_rate_unit is not None:
        query["chargingRateUnit"] = charging_rate_unit
    return EdrvRequest("GET", f"{_station_path(station_id, 'get_composite_schedule')}?{urlencode(query)}", {})


def station_of(request: EdrvRequest) -> str | None:
    """The station a request makes eDRV talk to, or None for a listing that reaches no charger."""
    path = request.path.partition("?")[0]
    if not path.startswith(_STATION_PREFIX):
        return None
    station, _, action = path.removeprefix(_STATION_PREFIX).partition("/")
    return unquote(station) if station and action else None


@dataclass(frozen=True, slots=True)
class EdrvResponse:
    """An answer from eDRV, unwrapped from its `{ok, message, result}` envelope.

    `result` is the JSON value as eDRV sent it: an Action object for commands, a list for listings,
    null when the call failed. `message` is eDRV's text, "" when it gave none.
    """

    status_code: int
    ok: bool
    message: str
    result: Any = None


def parse_envelope(status_code: int, content: bytes) -> EdrvResponse:
    """Read an HTTP answer's body as eDRV's envelope.

    A success status without the envelope raises `EdrvResponseError`: a proxy or a changed API would
    otherwise pass for success. An error status may come from a gateway in front of eDRV, in HTML or
    plain text; it is read as not ok with no message, and the status says the rest.
    """
    try:
        data = json.loads(content) if content else None
    except (ValueError, RecursionError):  # invalid JSON, undecodable bytes, nesting past the stack
        data = None
    envelope: dict[str, Any] = data if isinstance(data, dict) else {}
    ok = envelope.get("ok")
    if not isinstance(ok, bool):
        if 200 <= status_code < 300:
            raise EdrvResponseError(f"HTTP {status_code} without eDRV's {{ok, message, result}} envelope")
        ok = False
    message = envelope.get("message")
    return EdrvResponse(status_code, ok, message if isinstance(message, str) else "", envelope.get("result"))


def action_id(response: EdrvResponse) -> str | None:
    """The id of the Action a command created, which the webhooks reporting its outcome carry."""
    result = response.result
    identifier = result.get("_id") if isinstance(result, dict) else None
    return identifier if isinstance(identifier, str) and identifier else None


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an Action says of the charger's answer: `requested` (not known yet), `completed` or `failed`.

    eDRV documents `completed` as the charger accepting and `failed` as it rejecting; `charger_status`
    is the OCPP status it answered (`Accepted`, `Rejected`, `Unknown` for a clear of nothing), if given.
    """

    status: str
    charger_status: str | None = None
    detail: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def action_outcome(response: EdrvResponse) -> ActionOutcome:
    """The outcome an answer's Action reports; `requested` when it reports none (eDRV's usual answer)."""
    result = response.result
    if not isinstance(result, dict) or not isinstance(result.get("status"), str):
        return ActionOutcome("requested")
    data = result.get("response_data")
    data = data if isinstance(data, dict) else {}
    charger = data.get("status")
    detail = data.get("errorDescription") or data.get("error") or data.get("errorCode")
    return ActionOutcome(
        str(result["status"]).casefold(),
        charger if isinstance(charger, str) else None,
        str(detail) if detail else None,
    )


@dataclass(frozen=True, slots=True)
class Session:
    """A charging session on one connector of a station: what a session cap (TxProfile) is sent for.

    `connector_id` is the OCPP connector number; `started_at` is aware; `status` is as eDRV spelt it.
    """

    session_id: str
    station_id: str
    connector_id: int
    started_at: datetime
    status: str
    connector_ref: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status.casefold() == ACTIVE_SESSION_STATUS


def active_sessions(response: EdrvResponse, station_id: str) -> tuple[Session, ...]:
    """The active sessions of `station_id` in an answer to `list_active_sessions`.

    Sessions of other stations, and ended ones, are dropped before they are read, so a listing that
    ignored the guessed filters cannot fail on sessions the reconciler never asked about. A session
    of this station that lacks its id, connector number or start time raises `EdrvResponseError`.
    """
    if not isinstance(response.result, list):
        raise EdrvResponseError("the session listing's result is not a list")
    sessions = []
    for item in response.result:
        if not isinstance(item, dict):
            raise EdrvResponseError("the session listing holds an entry that is not an object")
        # A listing filtered as asked omits nothing; a missing station is taken to be the one asked for.
        station = _reference(item.get("chargestation"))
        status = item.get("status")
        if station not in (None, station_id) or not isinstance(status, str):
            continue
        if status.casefold() == ACTIVE_SESSION_STATUS:
            sessions.append(_session(item, station_id, status))
    return tuple(sessions)


def _session(item: Json, station_id: str, status: str) -> Session:
    session_id = item.get("_id")
    if not isinstance(session_id, str) or not session_id:
        raise EdrvResponseError(f"a session of station {station_id} has no `_id`")
    connector_id = item.get("connectorId")
    if isinstance(connector_id, bool) or not isinstance(connector_id, int) or connector_id < 1:
        raise EdrvResponseError(f"session {session_id} has no OCPP connector number in `connectorId`")
    metrics = item.get("metrics")
    # chargingStart is when the charger began the transaction, the moment a TxProfile counts from;
    # createdAt (when eDRV opened the session) stands in until the charger has reported it.
    started = metrics.get("chargingStart") if isinstance(metrics, dict) else None
    started_at = _timestamp(started or item.get("createdAt"), session_id)
    return Session(
        session_id, station_id, connector_id, started_at, status, _reference(item.get("connector"))
    )


def _reference(value: Any) -> str | None:
    # eDRV gives a related object as its id, or as the object itself when asked to include it.
    if isinstance(value, dict):
        value = value.get("_id")
    return value if isinstance(value, str) else None


def _timestamp(value: Any, session_id: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise EdrvResponseError(f"session {session_id} has no start time with an offset")
    return moment
