"""The sandbox posts every Action outcome and session event to the webhook URL, in order, signed with
`edrv-signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from reconciler.edrv.webhook import sign_v1 as sign
from reconciler.ocpp.profile import Json

from .sandbox_harness import action, config, profile, running, station

SECRET = "whsec-test"


@dataclass
class Receiver:
    """A webhook endpoint that keeps what it is sent and answers 200 with an empty body, as eDRV asks."""

    received: list[tuple[str, bytes]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self.arrived:
            self.received.append((request.headers.get("edrv-signature", ""), body))
            self.arrived.notify_all()
        return web.Response(status=200)

    async def wait_for(self, count: int) -> list[Json]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.received) >= count), 10)
        return [json.loads(body) for _, body in self.received]


@asynccontextmanager
async def receiving() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield receiver, f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    finally:
        await runner.cleanup()


def test_outcomes_arrive_in_order_as_signed_events() -> None:
    """Set, clear, composite and session events arrive in order, each signed over its exact body."""

    async def scenario() -> None:
        async with (
            receiving() as (receiver, url),
            running(config(webhook_url=url, webhook_secret=SECRET)) as (_sandbox, api),
        ):
            accepted = action(await api.set(1, profile()))
            rejected = action(await api.set(1, profile(2, chargingProfilePurpose="ChargePointMaxProfile")))
            action(await api.clear({"id": 1, "connectorId": 1}))
            action(await api.composite(0, 60))
            session = await api.start_session(2)
            await api.stop_session(session["_id"])
            events = await receiver.wait_for(10)
        assert [e["type"] for e in events] == [
            "chargestation.set_charging_profile.requested",
            "chargestation.set_charging_profile.accepted",
            "chargestation.set_charging_profile.requested",
            "chargestation.set_charging_profile.rejected",
            "chargestation.clear_charging_profile.requested",
            "chargestation.clear_charging_profile.accepted",
            "chargestation.get_composite_schedule.requested",
            "chargestation.get_composite_schedule.accepted",
            "session.started",
            "session.ended",
        ]
        assert (events[1]["data"], events[3]["data"]) == (accepted, rejected)
        assert (events[0]["object"], events[0]["data"]["status"]) == ("action", "requested")
        assert (events[8]["object"], events[8]["data"]["_id"]) == ("session", session["_id"])
        for header, body in receiver.received:
            stamp, digest = (part.split("=", 1)[1] for part in header.split(","))
            expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(digest, expected)
            assert abs(int(stamp) - time.time()) < 60

    asyncio.run(scenario())


def test_signature_covers_timestamp_and_body() -> None:
    """The signature changes with the timestamp and with any byte of the body."""
    first = sign(SECRET, 1_700_000_000, b'{"a":1}')
    assert first.startswith("t=1700000000,v1=")
    assert sign(SECRET, 1_700_000_001, b'{"a":1}').split(",")[1] != first.split(",")[1]
    assert sign(SECRET, 1_700_000_000, b'{"a":2}') != first


def test_by_default_the_api_answers_requested_and_only_webhooks_carry_the_answer() -> None:
    """As eDRV: the answer is a `requested` Action without the charger's; the outcome comes by webhook,
    each station's events in the order its calls came."""

    async def scenario() -> None:
        stations = {"CP-1": station(), "CP-2": station()}
        async with (
            receiving() as (receiver, url),
            running(config(stations, webhook_url=url, webhook_secret=SECRET, synchronous=False)) as (
                sandbox,
                api,
            ),
        ):
            sent = []
            for station_id in ("CP-1", "CP-2"):
                sent.append(action(await api.set(1, profile(1), station_id)))
                sent.append(action(await api.set(1, profile(2, stackLevel=13), station_id)))
                sent.append(
                    action(await api.set(0, profile(3, chargingProfilePurpose="TxProfile"), station_id))
                )
            assert {(a["status"], "response_data" in a) for a in sent} == {("requested", False)}
            assert await sandbox.settled(10)
            events = await receiver.wait_for(12)
            installed = await api.installed("CP-2")
        for station_id in ("CP-1", "CP-2"):
            ours = [e for e in events if e["data"]["chargestation"] == station_id]
            ids = [a["_id"] for a in sent if a["chargestation"] == station_id]
            finals = [
                (e["data"]["_id"], e["type"].rsplit(".", 1)[1])
                for e in ours
                if e["data"]["status"] != "requested"
            ]
            assert finals == [(ids[0], "accepted"), (ids[1], "accepted"), (ids[2], "rejected")]
            for action_id in ids:
                kinds = [e["type"].rsplit(".", 1)[1] for e in ours if e["data"]["_id"] == action_id]
                assert kinds[0] == "requested"
        assert [p["chargingProfileId"] for p in installed["1"]] == [1, 2]

    asyncio.run(scenario())
