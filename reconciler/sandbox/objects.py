"""The eDRV objects the sandbox answers with: envelopes, Actions, and the ids of objects and connectors.

Used by the HTTP API (`api`), the sessions (`sessions`) and the webhooks (`webhooks`). The shapes are the
ones `reconciler.edrv.wire` reads and eDRV documents:

- every answer is `{"ok", "message", "result"}`;
- a command (set, clear, composite schedule) creates an Action: `_id`, `type`
  (`chargestation.set_charging_profile`, ...), `status`, `chargestation`, `data` (what was asked),
  `response_data` (the charge point's OCPP answer), `createdAt`, `updatedAt`. eDRV, and the sandbox
  by default, answer at once with status `requested` and report the outcome by webhook, the Action
  then `completed` (the charge point accepted) or `failed` (it rejected, answered with a CALLERROR,
  or did not answer); a synchronous sandbox answers with that settled Action itself;
- ids are 24 hex digits, as eDRV's MongoDB ObjectIds; a connector has one too (`connector_ref`).

Sessions, the third kind of object, live in `sessions`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from reconciler.ocpp.profile import Json, format_timestamp

COMPLETED, FAILED = "completed", "failed"


class ObjectIds:
    """24-hex ids shaped like eDRV's MongoDB ObjectIds: the sandbox's start second, then a counter."""

    def __init__(self, start_s: int) -> None:
        self._prefix = f"{start_s & 0xFFFFFFFF:08x}"
        self._count = 0

    def next(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:016x}"


def connector_ref(station_id: str, connector_id: int) -> str:
    """The eDRV id of a station's connector: stable, so a session names the same connector every run."""
    return hashlib.sha256(f"{station_id}/{connector_id}".encode()).hexdigest()[:24]


def envelope(ok: bool, message: str, result: Any = None) -> Json:
    return {"ok": ok, "message": message, "result": result}


def action(
    action_id: str, kind: str, station_id: str, data: Any, *, connector_id: int | None, now: datetime
) -> Json:
    """A new Action of `kind` (`set_charging_profile`, ...), status `requested`."""
    moment = format_timestamp(now)
    created: Json = {
        "_id": action_id,
        "type": f"chargestation.{kind}",
        "status": "requested",
        "chargestation": station_id,
        "data": data,
        "createdAt": moment,
        "updatedAt": moment,
    }
    if connector_id is not None and connector_id > 0:
        created["connector"] = connector_ref(station_id, connector_id)
    return created


def settle(created: Json, accepted: bool, response_data: Any, now: datetime) -> Json:
    """The Action once the charge point has answered (or failed to)."""
    return {
        **created,
        "status": COMPLETED if accepted else FAILED,
        "response_data": response_data,
        "updatedAt": format_timestamp(now),
    }
