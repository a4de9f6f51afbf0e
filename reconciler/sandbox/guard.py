"""What happens to an eDRV API request before it is served: it is counted, the faults in play are
played on it, and its bearer key is checked; router errors get eDRV's envelope too.

`Guard.middleware` wraps the eDRV routes (`api`); the control endpoints (`/_sandbox/...`) pass through
untouched. Counts are by route name (`requests`), faults come from `faults.FaultPlay`: latency (the
answer leaves no sooner than that after the request arrived), a scripted error, a held request
(`timeout`: served only after `hold_s`, unless the sandbox stops first) or a dropped connection
(`drop`). Used by `server.Sandbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from reconciler.sandbox.faults import DROPPED, HELD, FaultPlay, HttpFault
from reconciler.sandbox.objects import envelope

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answer(
    status: int, ok: bool, message: str, result: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    """An HTTP answer in eDRV's `{ok, message, result}` envelope."""
    return web.json_response(envelope(ok, message, result), status=status, headers=headers)


class Guard:
    """Counts, faults and the key check in front of the eDRV API; see the module docstring."""

    def __init__(
        self,
        api_key: str,
        play: FaultPlay,
        stopping: asyncio.Event,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.play = play
        self.requests: Counter[str] = Counter()
        self._authorization = f"Bearer {api_key}"
        self._stopping = stopping
        self._log = log or (lambda _line: None)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count, play faults, check the key, and give router errors eDRV's envelope."""
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        name = request.match_info.route.name or "other"
        self.requests[name.removesuffix("_post")] += 1
        loop = asyncio.get_running_loop()
        arrived_s = loop.time()
        served = await self._serve(request, handler)
        # Latency is when the answer leaves, counted from the request's arrival: the work of serving it
        # (the OCPP round trip to the charge point) happens within it, as at a server that answers
        # after that long. Slower work is not delayed further.
        left_s = self.play.faults.latency_ms / 1000 - (loop.time() - arrived_s)
        if left_s > 0 and await self._pause(left_s):
            return answer(503, False, "Sandbox is stopping")
        return served

    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Play faults, check the key, serve, and give router errors eDRV's envelope."""
        station = request.match_info.get("station") or request.query.get("chargestation")
        fault = self.play.next_error(station)
        if fault is not None:
            played = await self._fault(request, fault)
            if played is not None:
                return played
        if request.headers.get("Authorization") != self._authorization:
            return answer(401, False, "Unauthorized: invalid API key")
        try:
            return await handler(request)
        except web.HTTPException as exc:  # no route, or a method the route lacks
            return answer(exc.status, False, exc.reason)

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the sandbox stops meanwhile; True if it is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _fault(self, request: web.Request, fault: HttpFault) -> web.StreamResponse | None:
        """Play one scripted fault: an answer, or None when the request is then served after all."""
        self._log(f"fault    {request.method} {request.path}: {fault.kind}")
        if fault.kind == DROPPED:
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable  # never reaches the client: the connection is gone
        if fault.kind == HELD:
            if await self._pause(self.play.faults.hold_s):
                return answer(503, False, "Sandbox is stopping")
            return None
        headers = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else None
        message = "Too many requests" if fault.kind == 429 else "Sandbox fault"
        return answer(int(fault.kind), False, message, headers=headers)
