"""A sandbox on a thread of its own, for synchronous callers: `reconciler demo`, and tests that drive
the synchronous apply (`reconcile.apply_with_client`, which runs its own event loop) against it.

    with BackgroundSandbox(config) as sandbox:
        settings = EdrvSettings(api_key=config.api_key, api_url=sandbox.api_url)
        ...

`run` executes a coroutine function on the sandbox's loop, for example `sandbox.set_faults`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.server import Sandbox

T = TypeVar("T")


class BackgroundSandbox:
    """Starts a `Sandbox` on a new thread on entry and stops it on exit."""

    def __init__(self, config: SandboxConfig, log: Callable[[str], None] | None = None) -> None:
        self._config = config
        self._log = log
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="reconciler-sandbox", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.sandbox: Sandbox | None = None

    @property
    def api_url(self) -> str:
        return self._running().api_url

    @property
    def ocpp_url(self) -> str:
        return self._running().ocpp_url

    def _running(self) -> Sandbox:
        if self.sandbox is None:
            raise RuntimeError("the sandbox is not running")
        return self.sandbox

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `work()` on the sandbox's event loop and return its result."""
        if self._loop is None:
            raise RuntimeError("the sandbox is not running")
        return asyncio.run_coroutine_threadsafe(work(), self._loop).result()

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with Sandbox(self._config, self._log) as sandbox:
                self.sandbox = sandbox
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread waiting in __enter__, which raises it
            self._error = exc
        finally:
            self.sandbox = None
            self._ready.set()
