"""A sandbox on a thread of its own, for synchronous callers: `reconciler demo`, and tests that drive
the synchronous apply (`apply_sites.apply_with_client`, which runs its own event loop) against it.

    with BackgroundSandbox(config, receiver=receiver_config) as sandbox:
        settings = EdrvSettings(api_key=config.api_key, api_url=sandbox.api_url)
        ...
        sandbox.settle()  # every command answered, every webhook delivered

With a receiver's configuration, a webhook receiver (`reconciler.shell.receiver`) starts first on the
same loop and the sandbox sends its webhooks there, signed with the receiver's first secret: the
whole loop of eDRV, receiver and inbox in one process. `run` executes a coroutine function on the
sandbox's loop, for example `sandbox.set_faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, TypeVar

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.server import Sandbox
from reconciler.shell.receiver import Receiver, ReceiverConfig

T = TypeVar("T")


class BackgroundSandbox:
    """Starts a `Sandbox` on a new thread on entry and stops it on exit."""

    def __init__(
        self,
        config: SandboxConfig,
        log: Callable[[str], None] | None = None,
        receiver: ReceiverConfig | None = None,
    ) -> None:
        self._config = config
        self._log = log
        self._receiver_config = receiver
        self.receiver: Receiver | None = None
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

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued command is answered and every webhook delivered."""
        sandbox = self._running()
        if not self.run(lambda: sandbox.settled(timeout_s)):
            raise TimeoutError(f"the sandbox did not settle within {timeout_s:g} s")

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
            async with contextlib.AsyncExitStack() as stack:
                config = self._config
                hooks = self._receiver_config
                if hooks is not None:
                    self.receiver = await stack.enter_async_context(Receiver(hooks))
                    url, secret = self.receiver.url + hooks.path, hooks.verification.secrets[0]
                    config = replace(config, webhook_url=url, webhook_secret=secret)
                # Entered last, left first: its last webhooks still find the receiver.
                self.sandbox = await stack.enter_async_context(Sandbox(config, self._log))
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread waiting in __enter__, which raises it
            self._error = exc
        finally:
            self.sandbox = None
            self.receiver = None
            self._ready.set()
