"""The simulated charge points on the wire: each connects to the central system as an OCPP 1.6J
client (`ws://<host>:<ocpp port>/<station id>`, subprotocol `ocpp1.6`), sends BootNotification and
stays connected, reconnecting if the connection drops. An `offline` fault disconnects a station
until it is lifted. Used by `server.Sandbox`, which waits on the central system to see the effect.
`StationPeer` handles the messages of one connection; what they do is `simulator`'s business.

All stations share one HTTP client session; a semaphore bounds the handshakes in flight so that a
sandbox of hundreds of stations does not overrun the listening socket's backlog at start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
from ocpp.v16 import call, call_result

from reconciler.sandbox.link import (
    OCPP_LOG,
    SUBPROTOCOL,
    LinkClosedError,
    Peer,
    WebSocketLink,
    after,
    on,
    serve,
    to_wire,
)
from reconciler.sandbox.simulator import SimulatedStation

_HANDSHAKES_IN_FLIGHT = 64
_RECONNECT_CAP_S = 2.0


class StationPeer(Peer):
    """The handlers of one OCPP connection of a simulated station (see `SimulatedStation`)."""

    def __init__(self, station: SimulatedStation, link: WebSocketLink, **kwargs: Any) -> None:
        super().__init__(station.station_id, link, **kwargs)
        self.station = station
        self._accepted_start: tuple[int, str] | None = None
        self._accepted_stop: int | None = None

    @on("SetChargingProfile")
    async def _set(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> call_result.SetChargingProfile:
        status = await self.station.set_profile(connector_id, to_wire(cs_charging_profiles))
        return call_result.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    def _clear(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
    ) -> call_result.ClearChargingProfile:
        status = self.station.clear(id, connector_id, charging_profile_purpose, stack_level)
        return call_result.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")
    def _composite(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None
    ) -> call_result.GetCompositeSchedule:
        return self.station.composite(connector_id, duration, charging_rate_unit)

    @on("GetConfiguration")
    def _configuration(self, key: list[str] | None = None) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(configuration_key=self.station.configuration(key))

    # A transaction is started or stopped only after the answer to the remote request has gone out,
    # as a charger does; the `after` hooks run then, and the `on` handlers leave them what to do.

    @on("RemoteStartTransaction")
    def _remote_start(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> call_result.RemoteStartTransaction:
        free = self.station.free_connector(connector_id)
        self._accepted_start = None if free is None else (free, id_tag)
        return call_result.RemoteStartTransaction(status="Rejected" if free is None else "Accepted")

    @after("RemoteStartTransaction")
    def _after_remote_start(self, **_: Any) -> None:
        if self._accepted_start is not None:
            connector_id, id_tag = self._accepted_start
            self.station.start_soon(self, connector_id, id_tag)

    @on("RemoteStopTransaction")
    def _remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        self._accepted_stop = self.station.connector_of(transaction_id)
        status = "Rejected" if self._accepted_stop is None else "Accepted"
        return call_result.RemoteStopTransaction(status=status)

    @after("RemoteStopTransaction")
    def _after_remote_stop(self, **_: Any) -> None:
        if self._accepted_stop is not None:
            self.station.spawn(self.station.end(self, self._accepted_stop))


def boot_request(station_id: str) -> call.BootNotification:
    return call.BootNotification(
        charge_point_model="reconciler-sandbox",
        charge_point_vendor="reconciler",
        charge_point_serial_number=station_id,
    )


class _Connection:
    """One station's connect-boot-stay loop."""

    def __init__(
        self, station: SimulatedStation, url: str, session: aiohttp.ClientSession, gate: asyncio.Semaphore
    ) -> None:
        self.station = station
        self._url = url
        self._session = session
        self._gate = gate
        self._online_wanted = asyncio.Event()
        self._offline_wanted = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def want(self, online: bool) -> None:
        (self._online_wanted if online else self._offline_wanted).set()
        (self._offline_wanted if online else self._online_wanted).clear()

    async def run(self) -> None:
        failures = 0
        while True:
            await self._online_wanted.wait()
            try:
                async with self._gate:
                    ws = await self._session.ws_connect(self._url, protocols=(SUBPROTOCOL,), heartbeat=None)
            except (aiohttp.ClientError, OSError):
                # The central system refused (the identity is taken) or is not listening yet.
                failures += 1
                await asyncio.sleep(min(_RECONNECT_CAP_S, 0.05 * 2**failures))
                continue
            failures = 0
            await self._connected(ws)

    async def _connected(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        peer = StationPeer(self.station, WebSocketLink(ws), logger=OCPP_LOG)
        receiving = asyncio.create_task(serve(peer))
        leaving = asyncio.create_task(self._offline_wanted.wait())
        try:
            with contextlib.suppress(LinkClosedError, TimeoutError):
                await peer.call(boot_request(self.station.station_id))
                await asyncio.wait({receiving, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leaving.cancel()
            await ws.close()
            await asyncio.wait({receiving, leaving})
            if not receiving.cancelled() and receiving.exception() is not None:
                OCPP_LOG.error(
                    "%s: connection failed", self.station.station_id, exc_info=receiving.exception()
                )
            # Calls a transaction start or stop was making went down with the connection.
            await self.station.cancel_tasks()


class Fleet:
    """Every simulated station's connection; `start` connects them, `stop` disconnects them for good."""

    def __init__(self, stations: Mapping[str, SimulatedStation]) -> None:
        self.stations = dict(stations)
        self._session: aiohttp.ClientSession | None = None
        self._connections: dict[str, _Connection] = {}

    def start(self, ocpp_url: str, offline: Iterable[str] = ()) -> None:
        """Begin connecting every station but the `offline` ones; the central system says when they are in."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        gate = asyncio.Semaphore(_HANDSHAKES_IN_FLIGHT)
        down = set(offline)
        for station_id, station in self.stations.items():
            connection = _Connection(station, f"{ocpp_url.rstrip('/')}/{station_id}", self._session, gate)
            connection.want(station_id not in down)
            connection.task = asyncio.create_task(connection.run())
            self._connections[station_id] = connection

    def set_offline(self, offline: Iterable[str]) -> None:
        """Disconnect the `offline` stations (and keep them so); reconnect every other one."""
        down = set(offline)
        for station_id, connection in self._connections.items():
            connection.want(station_id not in down)

    async def stop(self) -> None:
        tasks = [c.task for c in self._connections.values() if c.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if self._session is not None:
            await self._session.close()
