"""Webhooks as eDRV sends them: every Action outcome and session event, POSTed as signed JSON.

Each event is `{"_id", "object", "type", "data", "createdAt"}` (eDRV's webhook envelope): `object`
`action` with `type` `chargestation.set_charging_profile.requested|accepted|rejected` (likewise
`clear_charging_profile` and `get_composite_schedule`) and the Action as `data`, or `object` `session`
with `session.started` / `session.ended`. They go out one at a time in the order they happened, as eDRV
promises FIFO delivery for profile and session events, and a delivery that fails is tried twice more.

The signature header, `edrv-signature: t=<unix seconds>,v1=<hex>`, follows eDRV's current scheme as far
as it is public (a timestamp after `t=`, a scheme `v1`); what exactly is signed is not. The sandbox's
guess, after the common practice of such schemes: HMAC-SHA256 with the endpoint's secret over
`"<t>.<body>"`, the body being the exact bytes sent (JSON with non-ASCII characters escaped as `\\uXXXX`,
as eDRV's older scheme describes). `sign` is the one place that decides it.

Used by `server.Sandbox`; the HTTP API (`api`) and central system (`central`) emit the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from reconciler.ocpp.profile import Json, format_timestamp
from reconciler.sandbox.objects import ObjectIds

SIGNATURE_HEADER = "edrv-signature"
_ATTEMPTS = 3
_LOG = logging.getLogger("reconciler.sandbox.webhooks")


def sign(secret: str, timestamp_s: int, body: bytes) -> str:
    """The `edrv-signature` value for `body` sent at `timestamp_s` (see the module docstring)."""
    signed = str(timestamp_s).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp_s},v1={digest}"


class Webhooks:
    """Queues events and delivers them in order to one URL; `close` delivers what is queued first."""

    def __init__(
        self,
        url: str,
        secret: str,
        ids: ObjectIds,
        clock: Callable[[], datetime],
        wall_clock_s: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        self._ids = ids
        self._clock = clock
        self._wall_clock_s = wall_clock_s
        self._queue: asyncio.Queue[Json] = asyncio.Queue()
        self._http = httpx.AsyncClient(timeout=5.0)
        self._worker: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        self._worker = asyncio.create_task(self._deliver_all())

    def emit(self, event_type: str, obj: str, data: Json) -> None:
        self._queue.put_nowait(
            {
                "_id": self._ids.next(),
                "object": obj,
                "type": event_type,
                "data": data,
                "createdAt": format_timestamp(self._clock()),
            }
        )

    async def close(self, drain_s: float = 5.0) -> None:
        """Deliver what is queued (for up to `drain_s`), then stop."""
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_s)
            self._worker.cancel()
            await asyncio.wait({self._worker})
        await self._http.aclose()

    async def _deliver_all(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._deliver(event)
            finally:
                self._queue.task_done()

    async def _deliver(self, event: Json) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        for attempt in range(1, _ATTEMPTS + 1):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self._secret, int(self._wall_clock_s()), body),
            }
            try:
                response = await self._http.post(self._url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
            _LOG.warning("webhook %s to %s, attempt %d: %s", event["type"], self._url, attempt, problem)
            if attempt < _ATTEMPTS:
                await asyncio.sleep(0.2 * 2**attempt)
        self.failed += 1
