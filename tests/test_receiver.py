"""`reconciler receive` over real loopback sockets: what it refuses is never stored, what it answers 200
for is on disk first, once per `_id`, and readers with the token get it back from a cursor."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.edrv.inbox import Inbox, Query, outcomes
from reconciler.edrv.remote_inbox import RemoteInbox
from reconciler.edrv.webhook import Verification, parse_event, sign_v1
from reconciler.errors import InboxError
from reconciler.shell.receiver import Receiver, ReceiverConfig

from .conftest import ROOT

SECRET, TOKEN = "whsec-0123456789abcdef", "reader-token-fedcba9876543210"
HOOK = "/webhooks/edrv"


def _event(event_id: str, kind: str = "chargestation.set_charging_profile.accepted", **data: Any) -> bytes:
    action = {"_id": f"act-{event_id}", "chargestation": "CP-1", "status": "completed", **data}
    return json.dumps({"_id": event_id, "object": "action", "type": kind, "data": action}).encode()


def _signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    return {"edrv-signature": sign_v1(secret, int(time.time() if at is None else at), body)}


class Box:
    """A running receiver, a client for it, and the log lines it wrote."""

    def __init__(self, receiver: Receiver, http: httpx.AsyncClient, logged: list[str]) -> None:
        self.receiver, self.http, self.logged = receiver, http, logged

    async def post(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        return await self.http.post(HOOK, content=body, headers=dict(headers))

    async def read(self, token: str | None = TOKEN, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.get("/events", params=params, headers=headers)

    def stored(self) -> list[str]:
        with Inbox(self.receiver.config.db_path) as inbox:
            return [r.event.event_id for r in inbox.page(Query()).events]


@asynccontextmanager
async def receiving(tmp_path: Path, **options: Any) -> AsyncIterator[Box]:
    logged: list[str] = []

    def log(message: str, fields: Mapping[str, Any]) -> None:
        logged.append(json.dumps({"msg": message, **fields}))

    config = ReceiverConfig(
        tmp_path / "inbox.sqlite3", Verification((SECRET, "previous-secret")), (TOKEN,), port=0, **options
    )
    async with Receiver(config, log) as receiver, httpx.AsyncClient(base_url=receiver.url) as http:
        yield Box(receiver, http, logged)


def _run(tmp_path: Path, scenario: Callable[[Box], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        async with receiving(tmp_path, **options) as box:
            await scenario(box)

    asyncio.run(main())


def test_bad_input_at_the_door_is_refused_and_never_stored(tmp_path: Path) -> None:
    """Forged, wrongly keyed, stale, future, malformed and oversized deliveries: 401/400/413, none kept."""

    async def scenario(box: Box) -> None:
        body = _event("e1")
        forged = _signed(body)["edrv-signature"][:-4] + "0000"
        refusals = [
            (body, {"edrv-signature": forged}, 401),
            (body, {}, 401),
            (body, _signed(body, "not-the-secret"), 401),
            (body, _signed(body, at=time.time() - 301), 401),
            (body, _signed(body, at=time.time() + 301), 401),
            (b'{"_id": "e2", "type": ', _signed(b'{"_id": "e2", "type": '), 400),
            (b'{"type": "no id"}', _signed(b'{"type": "no id"}'), 400),
            (b"x" * 5000, _signed(b"x" * 5000), 413),
        ]
        for sent, headers, status in refusals:
            answer = await box.post(sent, headers)
            assert answer.status_code == status, (status, answer.text)
        assert box.stored() == []
        assert [json.loads(line)["status"] for line in box.logged if '"refused"' in line] == [
            s for _, _, s in refusals
        ]

    _run(tmp_path, scenario, max_body_bytes=4096)


def test_a_verified_event_is_answered_200_empty_and_stored_once_per_id(tmp_path: Path) -> None:
    """Either secret of a rotation is taken; a replayed `_id` gets 200 again and is not stored twice."""

    async def scenario(box: Box) -> None:
        body = _event("e1")
        first = await box.post(body, _signed(body))
        assert (first.status_code, first.content) == (200, b"")
        again = await box.post(body, _signed(body, "previous-secret"))
        assert (again.status_code, again.content) == (200, b"")
        assert box.stored() == ["e1"]
        assert ['"stored"' in line or '"duplicate"' in line for line in box.logged[1:]] == [True, True]

    _run(tmp_path, scenario)


def test_unknown_types_are_kept_and_readers_get_events_from_a_cursor(tmp_path: Path) -> None:
    """An unknown type is stored like the rest; readers need the token and page on from `next`."""

    async def scenario(box: Box) -> None:
        bodies = [
            _event("e1"),
            b'{"_id": "e2", "type": "organization.renamed", "object": "organization", "data": {}}',
            _event("e3", "chargestation.set_charging_profile.rejected"),
        ]
        for body in bodies:
            assert (await box.post(body, _signed(body))).status_code == 200
        assert (await box.read(None)).status_code == 401
        assert (await box.read("wrong")).status_code == 401
        page = (await box.read(limit=2)).json()
        assert [e["event"]["_id"] for e in page["events"]] == ["e1", "e2"]
        assert (page["more"], page["events"][1]["event"]) == (True, json.loads(bodies[1]))
        rest = (await box.read(after=page["next"])).json()
        assert ([e["event"]["_id"] for e in rest["events"]], rest["more"]) == (["e3"], False)
        only = (await box.read(type="chargestation.set_charging_profile.rejected", station="CP-1")).json()
        assert [e["event"]["_id"] for e in only["events"]] == ["e3"]
        assert (await box.read(limit=0)).status_code == 400
        health = await box.http.get("/healthz")
        assert (health.status_code, health.json()) == (200, {"ok": True})

    _run(tmp_path, scenario)


def test_a_reader_can_wait_for_the_event_of_one_action(tmp_path: Path) -> None:
    """`wait` holds the read until the event of that action arrives, then answers with it."""

    async def scenario(box: Box) -> None:
        waiting = asyncio.create_task(box.read(action="act-e7", wait=5))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        body = _event("e7")
        await box.post(body, _signed(body))
        answer = await asyncio.wait_for(waiting, 5)
        assert [e["event"]["_id"] for e in answer.json()["events"]] == ["e7"]
        started = time.monotonic()
        empty = await box.read(action="act-nothing", wait=0.3)
        assert empty.json()["events"] == []
        assert time.monotonic() - started >= 0.3

    _run(tmp_path, scenario)


def test_logs_never_hold_a_secret_a_token_or_a_signature(tmp_path: Path) -> None:
    """Every log line of stores, refusals and reads is free of the secrets, the token and signatures."""

    async def scenario(box: Box) -> None:
        body = _event("e1")
        headers = _signed(body)
        await box.post(body, headers)
        await box.post(body, _signed(body, "not-the-secret"))
        await box.read()
        await box.read("a-guess")
        text = "\n".join(box.logged)
        digest = headers["edrv-signature"].rsplit("=", 1)[1]
        for secret in (SECRET, "previous-secret", TOKEN, "a-guess", "not-the-secret", digest):
            assert secret not in text

    _run(tmp_path, scenario)


def test_the_remote_inbox_reads_pages_and_says_what_is_wrong(tmp_path: Path) -> None:
    """Through its URL the inbox pages like the database; a wrong token or no receiver is an InboxError."""

    async def scenario(box: Box) -> None:
        for index in range(3):
            body = _event(f"e{index}")
            await box.post(body, _signed(body))
        url = box.receiver.url

        def read() -> None:
            with RemoteInbox(url, TOKEN) as remote:
                page = remote.page(Query(limit=2))
                assert [r.event.event_id for r in page.events] == ["e0", "e1"]
                assert page.events[0].event.action_id == "act-e0"
                assert (
                    remote.wait_for("act-e2", ["chargestation.set_charging_profile.accepted"], 1) is not None
                )
            with (
                RemoteInbox(url, "wrong") as remote,
                pytest.raises(InboxError, match="refused the reader token"),
            ):
                remote.page(Query())

        await asyncio.to_thread(read)

    _run(tmp_path, scenario)
    with pytest.raises(InboxError, match="no reader token"):
        RemoteInbox("https://hooks.example", None)
    unretried = httpx.HTTPTransport(retries=0)
    with (
        RemoteInbox("http://127.0.0.1:9", TOKEN, unretried) as nowhere,
        pytest.raises(InboxError, match="reach"),
    ):
        nowhere.page(Query())


def test_an_acknowledged_event_survives_kill_9(tmp_path: Path) -> None:
    """`reconciler receive` killed with SIGKILL right after a 200 still has the event when restarted."""
    db = tmp_path / "inbox.sqlite3"
    env = {**os.environ, "EDRV_WEBHOOK_SECRET": SECRET, "RECONCILER_INBOX_TOKEN": TOKEN}

    def start(run: int) -> tuple[subprocess.Popen[bytes], str]:
        out = tmp_path / f"receive-{run}.out"
        with out.open("w") as stdout:
            process = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "receive", "--db", str(db), "--port", "0"],
                stdout=stdout,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 30
        while not (found := re.search(r"(http://127\.0\.0\.1:\d+)", out.read_text())):
            assert process.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.05)
        return process, found.group(1)

    process, url = start(1)
    try:
        body = _event("kept")
        answer = httpx.post(url + HOOK, content=body, headers=_signed(body), timeout=10)
        assert answer.status_code == 200
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    process, url = start(2)
    try:
        page = httpx.get(url + "/events", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
        assert [e["event"]["_id"] for e in page["events"]] == ["kept"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_ingest_reads_only_answers_to_sets_and_clears_of_the_stations_asked(tmp_path: Path) -> None:
    """Unknown types, requests, composite answers and other stations' answers stay in the inbox unread."""
    kinds = [
        ("a", "chargestation.set_charging_profile.accepted", "CP-1"),
        ("b", "chargestation.set_charging_profile.requested", "CP-1"),
        ("c", "chargestation.get_composite_schedule.accepted", "CP-1"),
        ("d", "organization.renamed", "CP-1"),
        ("e", "chargestation.clear_charging_profile.rejected", "CP-1"),
        ("f", "chargestation.set_charging_profile.accepted", "CP-2"),
    ]
    with Inbox(tmp_path / "inbox.sqlite3", create=True) as inbox:
        bodies = [_event(name, kind, chargestation=station) for name, kind, station in kinds]
        inbox.store([(parse_event(body), body) for body in bodies], time.time())
        read = outcomes(inbox, ["CP-1"], datetime.now(UTC) - timedelta(minutes=1))
        assert [r.event.event_id for r in read] == ["a", "e"]
        assert outcomes(inbox, ["CP-1"], datetime.now(UTC) + timedelta(minutes=1)) == []
        assert inbox.count() == len(kinds)


def test_when_the_inbox_cannot_be_written_deliveries_get_503_and_health_says_so(tmp_path: Path) -> None:
    """With its writer gone, a verified delivery is answered 503 (eDRV delivers again), never 200."""

    async def scenario(box: Box) -> None:
        await asyncio.to_thread(box.receiver._writer.stop)  # what a dead writer thread leaves
        body = _event("e1")
        assert (await box.post(body, _signed(body))).status_code == 503
        health = await box.http.get("/healthz")
        assert (health.status_code, health.json()["ok"]) == (503, False)
        assert box.stored() == []

    _run(tmp_path, scenario)
