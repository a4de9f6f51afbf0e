"""Webhooks as eDRV sends them: every Action outcome and session event, POSTed as signed JSON.

Each event is `{"_id", "object", "type", "data", "createdAt"}` (eDRV's webhook envelope): `object`
`action` with `type` `chargestation.set_charging_profile.requested|accepted|rejected` (likewise
`clear_charging_profile` and `get_composite_schedule`) and the Action as `data`, or `object` `session`
with `session.started` / `session.ended`. Each station's events go out one at a time in the order
they happened (eDRV promises first in, first out per charge station), stations side by side (`lanes`),
and a delivery that fails is tried twice more before the next event of that station goes.

The signature header, `edrv-signature: t=<unix seconds>,v1=<hex>`, follows eDRV's current scheme as far
as it is public (a timestamp after `t=`, a scheme `v1`); what exactly is signed is not. The sandbox's
guess, after the common practice of such schemes: HMAC-SHA256 with the endpoint's secret over
`"<t>.<body>"`, the body being the exact bytes sent (JSON with non-ASCII characters escaped as `\\uXXXX`,
as eDRV's older scheme describes). `reconciler.edrv.webhook.sign_v1` is the one place that decides it.

Used by `server.Sandbox`; the HTTP API (`api`) and central system (`central`) emit the events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from reconciler.edrv.webhook import SIGNATURE_HEADER, sign_v1
from reconciler.ocpp.profile import Json, format_timestamp
from reconciler.sandbox.lanes import Lanes
from reconciler.sandbox.objects import ObjectIds

_ATTEMPTS = 3
# Stations whose events are on their way at once; more wait for a slot, each keeping its order.
_CONCURRENT_STATIONS = 16
_LOG = logging.getLogger("reconciler.sandbox.webhooks")


class Webhooks:
    """Delivers events to one URL, in order per station; `close` delivers what is queued first."""

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
        limits = httpx.Limits(max_connections=_CONCURRENT_STATIONS)
        self._http = httpx.AsyncClient(timeout=5.0, limits=limits)
        self.lanes = Lanes(_CONCURRENT_STATIONS)
        self.delivered = 0
        self.failed = 0

    def emit(self, event_type: str, obj: str, data: Json) -> None:
        event = {
            "_id": self._ids.next(),
            "object": obj,
            "type": event_type,
            "data": data,
            "createdAt": format_timestamp(self._clock()),
        }
        station = data.get("chargestation")

        async def deliver() -> None:
            await self._deliver(event)

        self.lanes.submit(station if isinstance(station, str) else "", deliver)

    async def close(self, drain_s: float = 5.0) -> None:
        """Deliver what is queued (for up to `drain_s`), then stop."""
        await self.lanes.settled(drain_s)
        await self.lanes.close()
        await self._http.aclose()

    async def _deliver(self, event: Json) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        for attempt in range(1, _ATTEMPTS + 1):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_v1(self._secret, int(self._wall_clock_s()), body),
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
