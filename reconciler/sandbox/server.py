"""The sandbox as one running thing: eDRV API and control endpoints on one port, the OCPP central
system on another, the simulated charge points connected to it, and the webhooks going out.

`Sandbox` is an async context manager; `reconciler sandbox` runs one until interrupted, tests run one per
test, and `background.BackgroundSandbox` runs one on a thread for synchronous callers (`reconciler demo`).
Start-up returns once every simulated station that is not offline has booted; stopping disconnects the
charge points, closes both servers and delivers the webhooks still queued.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from reconciler.ocpp.profile import Json
from reconciler.sandbox import control
from reconciler.sandbox.api import EdrvApi
from reconciler.sandbox.central import Central
from reconciler.sandbox.config import SandboxConfig, SandboxError
from reconciler.sandbox.faults import FaultPlay, Faults
from reconciler.sandbox.fleet import Fleet
from reconciler.sandbox.guard import Guard
from reconciler.sandbox.objects import ObjectIds
from reconciler.sandbox.sessions import SessionRecord
from reconciler.sandbox.simulator import SimulatedStation
from reconciler.sandbox.webhooks import Webhooks

# Generous: 500 stations boot in a few seconds on two cores; a slow CI machine must not fail start-up.
_BOOT_TIMEOUT_S = 120.0
_FAULT_EFFECT_TIMEOUT_S = 30.0


class Sandbox:
    """A running sandbox; see the module docstring. `log` receives one line per served command."""

    def __init__(self, config: SandboxConfig, log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.stations = {
            station_id: SimulatedStation(station_id, spec, config.clock, log)
            for station_id, spec in config.stations.items()
            if station_id not in config.external
        }
        ids = ObjectIds(int(time.time()))
        self._webhooks: Webhooks | None = None
        if config.webhook_url is not None and config.webhook_secret is not None:
            self._webhooks = Webhooks(config.webhook_url, config.webhook_secret, ids, config.clock)
        self.central = Central(
            list(config.stations), config.clock, ids, config.ocpp_timeout_s, self._session_event
        )
        self._stopping = asyncio.Event()
        self.guard = Guard(config.api_key, FaultPlay(config.faults), self._stopping, log)
        self.api = EdrvApi(
            central=self.central,
            clock=config.clock,
            ids=ids,
            webhooks=self._webhooks,
            log=log,
            synchronous=config.synchronous,
        )
        self._fleet = Fleet(self.stations)
        self._runners: list[web.AppRunner] = []
        self.api_url = ""
        self.ocpp_url = ""

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
        config = self.config
        ocpp_app = web.Application()
        ocpp_app.router.add_get("/{identity}", self.central.handle)
        ocpp_port = await self._serve(ocpp_app, config.ocpp_port, "--ocpp-port")
        self.ocpp_url = f"ws://{config.host}:{ocpp_port}"
        api_app = web.Application(middlewares=[self.guard.middleware])
        api_app.add_routes(self.api.routes())
        api_app.add_routes(control.routes(self))
        api_port = await self._serve(api_app, config.port, "--port")
        self.api_url = f"http://{config.host}:{api_port}"
        self._apply_rejections(config.faults)
        self._fleet.start(self.ocpp_url, offline=config.faults.offline)
        try:
            await self._until_online(set(self.stations) - set(config.faults.offline), _BOOT_TIMEOUT_S)
        except TimeoutError:
            raise SandboxError(
                f"the simulated charge points did not all boot within {_BOOT_TIMEOUT_S:g} s"
            ) from None

    async def _serve(self, app: web.Application, port: int, flag: str) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        # A deep backlog: hundreds of simulated charge points connect at once at start-up.
        site = web.TCPSite(runner, self.config.host, port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            raise SandboxError(
                f"cannot listen on {self.config.host}:{port} ({flag}): {exc.strerror}"
            ) from None
        address = runner.addresses[-1]
        return int(address[1])

    async def stop(self) -> None:
        self._stopping.set()
        await self.api.lanes.close()
        await self._fleet.stop()
        await self.central.close()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._webhooks is not None:
            await self._webhooks.close()

    async def settled(self, timeout_s: float) -> bool:
        """Wait until every queued command is answered and every webhook delivered (or given up on)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if not await self.api.lanes.settled(timeout_s):
            return False
        if self._webhooks is None:
            return True
        return await self._webhooks.lanes.settled(max(0.0, deadline - loop.time()))

    def _session_event(self, event: str, record: SessionRecord) -> None:
        if self._webhooks is not None:
            self._webhooks.emit(event, "session", record.as_json())

    async def _until_online(self, station_ids: set[str], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await asyncio.gather(*(self.central.until(s, True, timeout_s) for s in sorted(station_ids)))

    def _apply_rejections(self, faults: Faults) -> None:
        for station_id, station in self.stations.items():
            station.reject = station_id in faults.reject

    def faults(self) -> Faults:
        return self.guard.play.current()

    async def set_faults(self, faults: Faults) -> None:
        """Put `faults` in play instead of those before; return once offline stations are down, others up."""
        self.config.check_faults(faults)
        self.guard.play = FaultPlay(faults)
        self._apply_rejections(faults)
        self._fleet.set_offline(faults.offline)
        down = set(faults.offline)
        async with asyncio.timeout(_FAULT_EFFECT_TIMEOUT_S):
            await asyncio.gather(
                *(self.central.until(s, False, _FAULT_EFFECT_TIMEOUT_S) for s in sorted(down)),
                self._until_online(set(self.stations) - down, _FAULT_EFFECT_TIMEOUT_S),
            )

    def ground_truth(self) -> Json:
        """Every station: online or not, simulated or not, and what its charge point holds now."""
        out: Json = {}
        for station_id, spec in sorted(self.config.stations.items()):
            simulated = self.stations.get(station_id)
            entry: Json = {
                "online": self.central.online(station_id),
                "simulated": simulated is not None,
                "connectors": spec.connectors,
                "transactions": None,
                "profiles": None,
            }
            if simulated is not None:
                entry["transactions"] = {str(c): t for c, t in sorted(simulated.transactions().items())}
                entry["profiles"] = {str(c): profiles for c, profiles in simulated.installed().items()}
            out[station_id] = entry
        return {"stations": out}

    def reboot(self, station_id: str, lose: str) -> list[int]:
        """Make a simulated charge point lose profiles as if it restarted; the ids lost."""
        return self._simulated(station_id).reboot(lose)

    def install(self, station_id: str, connector_id: int, profile: Json) -> str:
        """Install a profile on a simulated charge point without any API call; its answer."""
        return self._simulated(station_id).install_behind_the_back(connector_id, profile)

    def _simulated(self, station_id: str) -> SimulatedStation:
        station = self.stations.get(station_id)
        if station is None:
            raise SandboxError(f"no simulated charge point {station_id!r}")
        return station

    def stats(self) -> Json:
        requests = dict(sorted(self.guard.requests.items()))
        webhooks = self._webhooks
        return {
            "requests": requests,
            "total": sum(requests.values()),
            "commands_queued": self.api.lanes.queued,
            "webhooks": {
                "delivered": webhooks.delivered if webhooks is not None else 0,
                "failed": webhooks.failed if webhooks is not None else 0,
                "queued": webhooks.lanes.queued if webhooks is not None else 0,
            },
        }
