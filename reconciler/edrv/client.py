"""The eDRV HTTP client: sends the requests `reconciler.edrv.wire` builds, and copes with a busy eDRV.

The apply step of the shell (`reconciler.shell.reconcile`) calls it. Tests run the real client against an
in-memory eDRV through the `transport` seam (`httpx.MockTransport`). It knows HTTP; what the paths,
bodies and answers mean is `reconciler.edrv.wire`'s business.

Failures are the `EdrvError` tree drawn in `reconciler.errors`. Retried: 429, 5xx, timeouts and
refused connections. Not retried: 400/409/422 and `ok: false` (rejected), 401/403 (auth), 404, a 2xx
without the envelope or any other status (response), a reset or TLS failure (transport).

Why it behaves as it does:
- Retries use capped exponential backoff with equal jitter (half the delay fixed, half random), so
  many clients do not retry in step. Resending is safe: set and clear act by chargingProfileId, so a
  duplicate replaces or clears the same profile again.
- Retry-After (seconds or an HTTP date) is a floor on the wait. One longer than `max_wait_s` ends the
  retries at once: a CI job should fail and say so rather than sit idle for an hour.
- The request rate is capped by a token bucket, `rate_per_s` (default 10/s) with bursts of `burst`.
  eDRV publishes no limit; each command becomes an OCPP message to a charger, and eDRV asks integrators
  not to fire change requests in bulk. At 10/s a 1,000-change plan still goes out in under two minutes.
- Up to `max_concurrent` calls (default 16) are in flight, each on a kept-alive connection of its
  own, but one at a time per station and in the order issued: a charger handles one command at a
  time, and the plan's power-safe order (lowering before raising) must hold on each station. A
  station waits through its own retries; others go on.
- After a 401/403 every later call fails at once with the same kind of error, rather than sending a
  refused key a thousand times.

The API key travels only in the Authorization header. No repr shows it, and every error message is
scrubbed of it, because eDRV or a proxy may echo a request's headers back in an error body.
"""

from __future__ import annotations

import asyncio
import email.utils
import random as random_module
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import httpx

from reconciler.edrv import wire as edrv
from reconciler.edrv.settings import EdrvSettings, scrub
from reconciler.edrv.wire import EdrvRequest, EdrvResponse, Session
from reconciler.errors import (
    EdrvAuthError,
    EdrvError,
    EdrvNotFoundError,
    EdrvNotSentError,
    EdrvRateLimitedError,
    EdrvRejectedError,
    EdrvResponseError,
    EdrvServerError,
    EdrvTimeoutError,
    EdrvTransportError,
)
from reconciler.ocpp.profile import Json

# The settings live in `settings`; callers of the client may import them from here.
__all__ = ["EdrvClient", "EdrvSettings", "TokenBucket", "parse_retry_after", "scrub"]

_MESSAGE_CHARS = 200  # enough for eDRV's one-line messages; an HTML error page is cut short
_FINAL_STATUS: Mapping[int, type[EdrvError]] = {
    400: EdrvRejectedError,
    401: EdrvAuthError,
    403: EdrvAuthError,
    404: EdrvNotFoundError,
    409: EdrvRejectedError,
    422: EdrvRejectedError,
}

Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay seconds or an HTTP date); None if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT by definition
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class TokenBucket:
    """Allows `burst` requests at once, refilled at `rate_per_s`; callers wait their turn when it is empty."""

    def __init__(
        self, rate_per_s: float, burst: int, *, monotonic: Callable[[], float], sleep: Sleep
    ) -> None:
        self._rate_per_s = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._updated_s = monotonic()
        self._turn = asyncio.Lock()  # first come, first served

    async def take(self) -> None:
        async with self._turn:
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self._rate_per_s)
                self._refill()
                # Float rounding (or a timer firing a hair early) can leave just under one token after
                # the full wait; the wait was served, so the token is owed rather than waited for again.
                self._tokens = max(self._tokens, 1.0)
            self._tokens -= 1

    def _refill(self) -> None:
        now_s = self._monotonic()
        self._tokens = min(self._burst, self._tokens + (now_s - self._updated_s) * self._rate_per_s)
        self._updated_s = now_s


@dataclass(frozen=True, slots=True)
class _Failure:
    kind: type[EdrvError]
    detail: str
    status_code: int | None = None
    retry_after_s: float | None = None
    retryable: bool = False


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EdrvClient:
    """Sends eDRV requests with retries, a rate limit and per-station ordering; use as `async with`.

    `transport` replaces the network (tests pass `httpx.MockTransport`); `sleep`, `random`, `monotonic`
    and `wall_clock` replace time and chance so tests run instantly and the same way every time.
    """

    def __init__(
        self,
        settings: EdrvSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._random = random
        self._wall_clock = wall_clock
        # One lane per call in flight: an httpx client of one kept-alive connection, taken by a call
        # for its whole exchange. One client with a pool of `max_concurrent` connections would do the
        # same, but httpx's pool checks every connection (a system call each) and compares the idle
        # ones pairwise on every request and every answer: a fifth of this client's CPU at 16.
        verify: ssl.SSLContext | bool = True if transport is not None else httpx.create_ssl_context()
        self._lanes = [
            httpx.AsyncClient(
                base_url=settings.api_url,
                headers={"Authorization": f"Bearer {settings.api_key}", "Accept": "application/json"},
                timeout=httpx.Timeout(settings.timeout_s),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                verify=verify,  # the certificates are loaded once, not once per lane
                transport=transport,
            )
            for _ in range(settings.max_concurrent)
        ]
        self._idle_lanes = list(self._lanes)
        self._bucket = TokenBucket(settings.rate_per_s, settings.burst, monotonic=monotonic, sleep=sleep)
        self._slots = asyncio.Semaphore(settings.max_concurrent)  # a slot is a lane's turn
        self._station_locks: dict[str, asyncio.Lock] = {}
        self._refused: _Failure | None = None

    @classmethod
    def from_environment(
        cls, key_file: Path | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> EdrvClient:
        """A client configured by `EdrvSettings.from_environment`."""
        return cls(EdrvSettings.from_environment(key_file), transport=transport)

    def __repr__(self) -> str:
        return f"EdrvClient(api_url={scrub(self._settings.api_url, self._settings.api_key)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()

    async def send(self, request: EdrvRequest, *, proceed: Callable[[], bool] | None = None) -> EdrvResponse:
        """Send one request, retrying as the module docstring says; its answer or an `EdrvError`.

        `proceed`, when given, is asked just before each attempt goes out (after the wait for the rate
        limit and a free connection); when it answers False nothing is sent, and EdrvNotSentError is
        raised. Apply uses it to send nothing once its state file can no longer be written.
        """
        station_id = edrv.station_of(request)
        turn: AbstractAsyncContextManager[None] = nullcontext()
        if station_id is not None:
            turn = self._station_locks.setdefault(station_id, asyncio.Lock())
        async with turn:
            attempts = 0
            while True:
                if self._refused is not None:
                    detail = f"not sent: an earlier call was refused ({self._refused.detail})"
                    raise self._error(request, station_id, attempts, _Failure(EdrvAuthError, detail))
                attempts += 1
                outcome = await self._attempt(request, proceed)
                if isinstance(outcome, EdrvResponse):
                    return outcome
                if outcome.kind is EdrvAuthError:
                    self._refused = outcome
                if not outcome.retryable:
                    raise self._error(request, station_id, attempts, outcome)
                wait_s = outcome.retry_after_s
                if wait_s is not None and wait_s > self._settings.max_wait_s:
                    detail = f"{outcome.detail}; eDRV asks to wait {wait_s:.0f} s, over max_wait_s"
                    raise self._error(request, station_id, attempts, replace(outcome, detail=detail))
                if attempts >= self._settings.max_attempts:
                    detail = f"{outcome.detail}; gave up after {attempts} attempts"
                    raise self._error(request, station_id, attempts, replace(outcome, detail=detail))
                await self._sleep(max(self._backoff_s(attempts), wait_s or 0.0))

    async def send_all(self, requests: Iterable[EdrvRequest]) -> list[EdrvResponse | EdrvError]:
        """Send every request concurrently within the limits; each gets its answer or its error, in order.

        One failure does not stop other calls, not even later ones to the same station; a caller that
        must stop a station's sequence at its first failure sends that station's calls one by one.
        """

        async def one(request: EdrvRequest) -> EdrvResponse | EdrvError:
            try:
                return await self.send(request)
            except EdrvError as exc:
                return exc

        return list(await asyncio.gather(*(one(request) for request in requests)))

    async def set_charging_profile(self, station_id: str, connector_id: int, profile: Json) -> str | None:
        """Send one charging profile; the id of the Action eDRV created for it, if it gave one."""
        return edrv.action_id(await self.send(edrv.set_charging_profile(station_id, connector_id, profile)))

    async def clear_charging_profile(self, station_id: str, connector_id: int, profile_id: int) -> str | None:
        """Clear one charging profile by id; the Action id, if eDRV gave one."""
        request = edrv.clear_charging_profile(station_id, connector_id, profile_id)
        return edrv.action_id(await self.send(request))

    async def request_composite_schedule(
        self,
        station_id: str,
        connector_id: int,
        duration_s: int,
        charging_rate_unit: Literal["A", "W"] | None = None,
    ) -> str | None:
        """Ask a charger for its composite schedule; the Action id its webhook will carry, if given."""
        request = edrv.get_composite_schedule(station_id, connector_id, duration_s, charging_rate_unit)
        return edrv.action_id(await self.send(request))

    async def active_sessions(self, station_id: str) -> tuple[Session, ...]:
        """The sessions running on a station now."""
        request = edrv.list_active_sessions(station_id)
        response = await self.send(request)
        try:
            return edrv.active_sessions(response, station_id)
        except EdrvResponseError as exc:
            raise self._error(request, station_id, 1, _Failure(EdrvResponseError, str(exc))) from None

    async def _attempt(
        self, request: EdrvRequest, proceed: Callable[[], bool] | None = None
    ) -> EdrvResponse | _Failure:
        """One try: the answer if eDRV took the call, else what went wrong and whether to retry."""
        try:
            async with self._slots:
                await self._bucket.take()
                if proceed is not None and not proceed():
                    return _Failure(EdrvNotSentError, "not sent: withdrawn by the caller")
                lane = self._idle_lanes.pop()  # never empty: there are as many lanes as slots
                try:
                    answer = await lane.request(
                        request.method, request.path, json=None if request.method == "GET" else request.body
                    )
                finally:
                    # `request` has read the whole answer, so the lane's connection is free again.
                    self._idle_lanes.append(lane)
        except httpx.TimeoutException as exc:
            detail = f"no answer within {self._settings.timeout_s:g} s ({type(exc).__name__})"
            return _Failure(EdrvTimeoutError, detail, retryable=True)
        except httpx.ConnectError as exc:  # never reached eDRV, so resending cannot duplicate anything
            return _Failure(EdrvTransportError, f"cannot connect: {exc}", retryable=True)
        except httpx.TransportError as exc:
            return _Failure(EdrvTransportError, f"{type(exc).__name__}: {exc}")
        status = answer.status_code
        try:
            response = edrv.parse_envelope(status, answer.content)
        except EdrvResponseError as exc:
            return _Failure(EdrvResponseError, str(exc), status)
        said = " ".join(response.message.split())[:_MESSAGE_CHARS]
        detail = f"HTTP {status} {answer.reason_phrase}" + (f": {said}" if said else "")
        if 200 <= status < 300:
            return response if response.ok else _Failure(EdrvRejectedError, detail, status)
        if status == 429 or status >= 500:
            kind = EdrvRateLimitedError if status == 429 else EdrvServerError
            retry_after_s = parse_retry_after(answer.headers.get("Retry-After"), self._wall_clock())
            return _Failure(kind, detail, status, retry_after_s, retryable=True)
        return _Failure(_FINAL_STATUS.get(status, EdrvResponseError), detail, status)

    def _backoff_s(self, attempt: int) -> float:
        delay_s = min(self._settings.backoff_cap_s, self._settings.backoff_base_s * 2.0 ** (attempt - 1))
        return delay_s / 2 + self._random() * delay_s / 2

    def _error(
        self, request: EdrvRequest, station_id: str | None, attempts: int, failure: _Failure
    ) -> EdrvError:
        message = scrub(f"eDRV {request.method} {request.path}: {failure.detail}", self._settings.api_key)
        if failure.kind is EdrvRateLimitedError:
            return EdrvRateLimitedError(
                message,
                retry_after_s=failure.retry_after_s,
                station_id=station_id,
                status_code=failure.status_code,
                attempts=attempts,
            )
        return failure.kind(
            message, station_id=station_id, status_code=failure.status_code, attempts=attempts
        )
