"""The sandbox's OCPP 1.6J central system: where charge points connect, and how the HTTP API calls them.

A charge point connects at `ws://<host>:<ocpp port>/<identity>` with subprotocol `ocpp1.6`, where the
identity is one of the sandbox's station ids; one connection per station at a time (another is refused
with 409). It counts as online from its BootNotification, which is accepted at once, until the
connection closes. Heartbeat, StatusNotification, Authorize and MeterValues are answered; from
StartTransaction and StopTransaction it keeps the sessions eDRV would list (`sessions`).

`command` sends one call to a station and returns the charge point's answer, raising `StationOfflineError`
when it is not connected, `NoAnswerError` when it does not answer within the timeout or disconnects first,
and the `ocpp` package's `OCPPError` when it answers with a CALLERROR. Calls are forwarded without a
schema check: the charge point is the judge of what it is sent, as in the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from ocpp.v16 import call, call_result

from reconciler.ocpp.profile import format_timestamp
from reconciler.sandbox.link import (
    OCPP_LOG,
    SUBPROTOCOL,
    LinkClosedError,
    Peer,
    WebSocketLink,
    after,
    on,
    serve,
)
from reconciler.sandbox.objects import ObjectIds
from reconciler.sandbox.sessions import SessionBook, SessionEvent, SessionRecord, WaitKey


class StationOfflineError(Exception):
    """The station's charge point is not connected."""


class NoAnswerError(Exception):
    """The charge point did not answer in time, or its connection closed before it did."""


class RefusedError(Exception):
    """The charge point answered a remote start or stop with Rejected."""


@dataclass(slots=True)
class _Station:
    peer: Peer | None = None
    link: WebSocketLink | None = None
    connected: bool = False
    up: asyncio.Event = field(default_factory=asyncio.Event)
    down: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.down.set()


class _CentralPeer(Peer):
    """The central system's end of one charge point's connection."""

    def __init__(self, identity: str, link: WebSocketLink, central: Central, timeout_s: float) -> None:
        super().__init__(identity, link, response_timeout=timeout_s, logger=OCPP_LOG)
        self.central = central
        self._opened: SessionRecord | None = None
        self._closed: SessionRecord | None = None

    @on("BootNotification")
    def _boot(self, **_: Any) -> call_result.BootNotification:
        self.central.mark_up(self.id)
        return call_result.BootNotification(
            current_time=self.central.timestamp(), interval=300, status="Accepted"
        )

    @on("Heartbeat")
    def _heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self.central.timestamp())

    @on("StatusNotification")
    def _status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    def _authorize(self, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def _meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("StartTransaction")
    def _start(
        self, connector_id: int, meter_start: int, timestamp: str, **_: Any
    ) -> call_result.StartTransaction:
        self._opened = self.central.sessions.open(self.id, connector_id, meter_start, timestamp)
        return call_result.StartTransaction(
            transaction_id=self._opened.transaction_id, id_tag_info={"status": "Accepted"}
        )

    @after("StartTransaction")
    def _started(self, **_: Any) -> None:
        # Only now, with the answer carrying the transaction id on the wire, may the HTTP caller go on:
        # anything it sends next reaches the charge point after the charge point knows its transaction.
        if self._opened is not None:
            self.central.sessions.announce("session.started", self._opened)
            self._opened = None

    @on("StopTransaction")
    def _stop(
        self, meter_stop: int, timestamp: str, transaction_id: int, **_: Any
    ) -> call_result.StopTransaction:
        self._closed = self.central.sessions.close(self.id, transaction_id, meter_stop, timestamp)
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})

    @after("StopTransaction")
    def _stopped(self, **_: Any) -> None:
        if self._closed is not None:
            self.central.sessions.announce("session.ended", self._closed)
            self._closed = None


class Central:
    """The central system's stations, connections and sessions; see the module docstring."""

    def __init__(
        self,
        station_ids: list[str],
        clock: Callable[[], datetime],
        ids: ObjectIds,
        timeout_s: float,
        on_session: SessionEvent | None = None,
    ) -> None:
        self._stations = {station_id: _Station() for station_id in station_ids}
        self._clock = clock
        self.timeout_s = timeout_s
        self.sessions = SessionBook(clock, ids, on_session)

    def timestamp(self) -> str:
        return format_timestamp(self._clock().replace(microsecond=0))

    def knows(self, station_id: str) -> bool:
        return station_id in self._stations

    def online(self, station_id: str) -> bool:
        return self._stations[station_id].up.is_set()

    async def until(self, station_id: str, online: bool, timeout_s: float) -> None:
        """Wait until the station is online (booted) or offline (disconnected)."""
        state = self._stations[station_id]
        await asyncio.wait_for((state.up if online else state.down).wait(), timeout_s)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The websocket endpoint `/{identity}`."""
        identity = request.match_info["identity"]
        state = self._stations.get(identity)
        if state is None:
            raise web.HTTPNotFound(text=f"no station {identity} in this sandbox\n")
        if state.connected:
            raise web.HTTPConflict(text=f"station {identity} is already connected\n")
        ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,))
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="OCPP 1.6J: connect with a websocket, subprotocol ocpp1.6\n")
        state.connected = True
        try:
            await ws.prepare(request)
            if ws.ws_protocol != SUBPROTOCOL:
                await ws.close(code=1002, message=b"subprotocol ocpp1.6 required")
                return ws
            state.link = WebSocketLink(ws)
            state.peer = _CentralPeer(identity, state.link, self, self.timeout_s)
            await serve(state.peer)
        finally:
            state.connected, state.peer, state.link = False, None, None
            state.up.clear()
            state.down.set()
            await ws.close()
        return ws

    def mark_up(self, station_id: str) -> None:
        state = self._stations[station_id]
        state.down.clear()
        state.up.set()

    async def command(self, station_id: str, payload: Any) -> Any:
        """Send one OCPP call to the station and return its answer (see the module docstring)."""
        state = self._stations[station_id]
        if state.peer is None or not state.up.is_set():
            raise StationOfflineError(station_id)
        calling = asyncio.create_task(state.peer.call(payload, suppress=False, skip_schema_validation=True))
        dropped = asyncio.create_task(state.down.wait())
        try:
            done, _ = await asyncio.wait({calling, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
        if calling not in done:
            calling.cancel()
            await asyncio.wait({calling})
            raise NoAnswerError("the charge point disconnected before it answered")
        try:
            return calling.result()
        except TimeoutError:
            raise NoAnswerError(f"the charge point did not answer within {self.timeout_s:g} s") from None
        except LinkClosedError:
            raise NoAnswerError("the charge point disconnected before it answered") from None

    async def start_session(self, station_id: str, connector_id: int, id_tag: str) -> SessionRecord:
        """RemoteStartTransaction, then wait for the charge point's StartTransaction on that connector."""
        key: WaitKey = (station_id, connector_id)
        return await self._remote(
            key, station_id, call.RemoteStartTransaction(id_tag=id_tag, connector_id=connector_id)
        )

    async def stop_session(self, record: SessionRecord) -> SessionRecord:
        """RemoteStopTransaction, then wait for the charge point's StopTransaction."""
        key: WaitKey = (record.station_id, record.session_id)
        request = call.RemoteStopTransaction(transaction_id=record.transaction_id)
        return await self._remote(key, record.station_id, request)

    async def _remote(self, key: WaitKey, station_id: str, request: Any) -> SessionRecord:
        waiter = self.sessions.expect(key)
        try:
            answer = await self.command(station_id, request)
            if answer.status != "Accepted":
                raise RefusedError(f"the charge point answered {answer.status}")
            try:
                return await asyncio.wait_for(asyncio.shield(waiter), self.timeout_s)
            except TimeoutError:
                raise NoAnswerError(
                    f"the charge point accepted but sent no transaction message within {self.timeout_s:g} s"
                ) from None
        finally:
            self.sessions.forget(key, waiter)

    async def close(self) -> None:
        """Close every charge point's connection."""
        links = [s.link for s in self._stations.values() if s.link is not None]
        for link in links:
            await link.close()
