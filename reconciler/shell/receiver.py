"""The webhook receiver: `reconciler receive`, a small aiohttp server in front of the inbox.

    POST <path> (default /webhooks/edrv)  eDRV's deliveries: verified, stored, answered 200 empty
    GET  /events                          the stored events, for readers with a bearer token
    GET  /healthz                         200 while the inbox takes writes, else 503

A delivery is checked in this order, and a refused one is never stored: a body over the size cap is
413; a missing, forged, wrongly keyed or stale signature is 401 (`edrv.webhook.verify`); a signed body
that is not an eDRV event is 400. A verified event is stored (`edrv.inbox`) and committed to disk
before the 200 goes out, so an acknowledged event survives kill -9; a repeated `_id` is answered 200
and stored once. Events of every type are kept, known or not. The receiver never acts on an event:
ingest folds them into recorded state when a person or a scheduled run asks.

Writes and reads go to the inbox on threads of their own (`inbox_workers`): one writer committing
everything waiting in one transaction, readers beside it. `GET /events` takes the parameters
`remote_inbox` sends, and with `wait=S` holds the request up to S seconds (at most 60) until an event
matches.

Logs are JSON lines (`log`): what was stored or refused and why, never a secret, a token, a signature
or a body. `Receiver` is an async context manager; `reconciler.cli.inbox` runs one until interrupted.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from reconciler.edrv import webhook
from reconciler.edrv.inbox import PAGE_LIMIT, Page, Query
from reconciler.errors import InboxError, ReconcilerError, WebhookError
from reconciler.ocpp.profile import format_timestamp
from reconciler.shell.inbox_workers import InboxReaders, InboxWriter

DEFAULT_PORT = 8280
DEFAULT_PATH = "/webhooks/edrv"
MAX_WAIT_S = 60.0

Log = Callable[[str, Mapping[str, Any]], None]


def _no_log(_message: str, _fields: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class ReceiverConfig:
    """What a receiver serves and how it checks deliveries; port 0 picks a free port."""

    db_path: Path
    verification: webhook.Verification = field(repr=False)
    reader_tokens: tuple[str, ...] = field(default=(), repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    path: str = DEFAULT_PATH
    max_body_bytes: int = 1 << 20
    retention: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or self.path in ("/events", "/healthz"):
            raise ReconcilerError(f"webhook path {self.path!r} must start with / and not be a reader's")
        if self.max_body_bytes <= 0:
            raise ReconcilerError("the body size cap must be positive")


class Receiver:
    """A running receiver; see the module docstring."""

    def __init__(self, config: ReceiverConfig, log: Log | None = None) -> None:
        self.config = config
        self._log = log or _no_log
        self._news = asyncio.Event()
        self._writer = InboxWriter(config.db_path, config.retention, self._stored)
        self._readers = InboxReaders(config.db_path)
        self._runner: web.AppRunner | None = None
        self._tokens = tuple(t.encode() for t in config.reader_tokens)
        self.url = ""

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        await asyncio.to_thread(self._writer.start)
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post(self.config.path, self._deliver)
        app.router.add_get("/events", self._events)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            raise ReconcilerError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror}"
            ) from None
        host, port = self._runner.addresses[-1][:2]
        self.url = f"http://{host}:{port}"
        self._log("receiving", {"url": self.url + self.config.path, "inbox": str(self.config.db_path)})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._writer.alive:
            await asyncio.to_thread(self._writer.stop)
        await asyncio.to_thread(self._readers.close)

    def _stored(self) -> None:
        # Wake the readers waiting for an event; later waiters wait on a fresh event.
        news, self._news = self._news, asyncio.Event()
        news.set()

    async def _deliver(self, request: web.Request) -> web.StreamResponse:
        started_s = time.perf_counter()
        cap = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > cap:
            return self._refuse(413, f"body of {request.content_length} bytes is over the {cap}-byte cap")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, f"body is over the {cap}-byte cap")
        verdict = webhook.verify(
            request.headers.get(webhook.SIGNATURE_HEADER), body, self.config.verification, time.time()
        )
        if not verdict.ok:
            fields = {"scheme": verdict.scheme} if verdict.scheme else {}
            if verdict.hint:
                fields["matches"] = (
                    f"v1 over {verdict.hint}: start the receiver with --v1-signs {verdict.hint}"
                )
            return self._refuse(401, verdict.reason, fields)
        try:
            event = webhook.parse_event(body)
        except WebhookError as exc:
            return self._refuse(400, str(exc))
        try:
            seq = await self._writer.submit(event, body)
        except Exception as exc:  # noqa: BLE001 - the sender retries a 503; the log says why
            self._log("not stored", {"status": 503, "id": event.event_id, "error": str(exc)})
            return web.Response(status=503)
        self._log(
            "stored" if seq is not None else "duplicate",
            {
                "status": 200,
                "id": event.event_id,
                "type": event.type,
                "station": event.station_id,
                "action": event.action_id,
                "seq": seq,
                "ms": round((time.perf_counter() - started_s) * 1000, 2),
            },
        )
        return web.Response(status=200)

    def _refuse(self, status: int, reason: str, fields: Mapping[str, Any] | None = None) -> web.Response:
        self._log("refused", {"status": status, "reason": reason, **(fields or {})})
        return web.Response(status=status, text=reason + "\n")

    def _authorised(self, request: web.Request) -> bool:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
        found = False
        for token in self._tokens:
            found |= hmac.compare_digest(presented, token)
        return found

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not self._tokens:
            return web.Response(status=403, text="reading is off: start the receiver with a reader token\n")
        if not self._authorised(request):
            self._log("refused", {"status": 401, "reason": "reader without a valid token"})
            return web.Response(status=401, text="a valid reader token is required\n")
        try:
            query, wait_s = _query(request)
        except ValueError as exc:
            return web.Response(status=400, text=f"{exc}\n")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            news = self._news
            try:
                page = await self._readers.page(query)
            except InboxError as exc:
                self._log("read failed", {"status": 503, "error": str(exc)})
                return web.Response(status=503)
            left_s = deadline - loop.time()
            if page.events or left_s <= 0:
                break
            try:
                await asyncio.wait_for(news.wait(), left_s)
            except TimeoutError:
                continue  # one more read, then answer
        self._log("read", {"status": 200, "events": len(page.events), "after": query.after})
        return web.Response(body=_page_json(page), content_type="application/json")

    async def _health(self, _request: web.Request) -> web.StreamResponse:
        if not self._writer.alive:
            return web.json_response({"ok": False, "reason": "the inbox writer stopped"}, status=503)
        return web.json_response({"ok": True})


def _query(request: web.Request) -> tuple[Query, float]:
    """The reader's query and how long it may wait; ValueError on a malformed parameter."""
    params = request.query
    try:
        after = int(params.get("after", "0"))
        limit = int(params.get("limit", str(PAGE_LIMIT)))
        wait_s = float(params.get("wait", "0"))
        since = datetime.fromisoformat(params["since"]) if "since" in params else None
    except ValueError:
        raise ValueError("after, limit and wait are numbers; since is an RFC 3339 time") from None
    if since is not None and since.tzinfo is None:
        raise ValueError("since needs an offset, such as Z")
    if after < 0 or not 1 <= limit <= PAGE_LIMIT or not 0 <= wait_s <= MAX_WAIT_S:
        raise ValueError(f"after >= 0, 1 <= limit <= {PAGE_LIMIT}, 0 <= wait <= {MAX_WAIT_S:g}")
    query = Query(
        after,
        limit,
        tuple(params.getall("station", [])),
        tuple(params.getall("type", [])),
        params.get("action"),
        since,
        with_body=True,
    )
    return query, wait_s


def _page_json(page: Page) -> bytes:
    # Each event goes out as the exact JSON it came in as, spliced in rather than parsed and encoded.
    items = [
        b'{"seq":%d,"received_at":%s,"event":%s}'
        % (item.seq, json.dumps(format_timestamp(item.received_at)).encode(), item.body or b"null")
        for item in page.events
    ]
    last = format_timestamp(page.last_received_at) if page.last_received_at else None
    tail = json.dumps({"next": page.next, "more": page.more, "last_received_at": last}).encode()
    return b'{"events":[' + b",".join(items) + b"]," + tail[1:]
