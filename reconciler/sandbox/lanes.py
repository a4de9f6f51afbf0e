"""Work done in order per key and concurrently across keys: the sandbox's per-station FIFO.

eDRV delivers the events of one charge station first in, first out, and a charge point handles one
command at a time. The HTTP API (`api`) queues each station's OCPP commands in a lane of their own,
answering at once as eDRV does; the webhooks (`webhooks`) deliver each station's events in a lane of
their own. Lanes of different stations run side by side, at most `limit` of them at once.

`settled` waits until every queued piece of work is done (tests and the demo look at the chargers
only then); `close` cancels what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

Work = Callable[[], Awaitable[None]]
_LOG = logging.getLogger("reconciler.sandbox")


class Lanes:
    """See the module docstring."""

    def __init__(self, limit: int | None = None) -> None:
        self._queues: dict[str, deque[Work]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(limit) if limit is not None else None
        self._idle = asyncio.Event()
        self._idle.set()
        self.queued = 0

    def submit(self, key: str, work: Work) -> None:
        """Queue `work` behind everything queued under `key`."""
        self.queued += 1
        self._idle.clear()
        if key in self._queues:
            self._queues[key].append(work)
            return
        self._queues[key] = deque([work])
        task = asyncio.create_task(self._drain(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                work = queue[0]
                async with self._slots or contextlib.nullcontext():
                    try:
                        await work()
                    except Exception:  # noqa: BLE001 - a bug in one piece of work must not stall the lane
                        _LOG.exception("sandbox work for %s failed", key)
                queue.popleft()
                self._done()
        finally:
            del self._queues[key]

    def _done(self) -> None:
        self.queued -= 1
        if self.queued == 0:
            self._idle.set()

    async def settled(self, timeout_s: float) -> bool:
        """Wait until nothing is queued, at most `timeout_s`; whether that happened."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Cancel every lane; their queued work is dropped."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._queues.clear()
        self.queued = 0
        self._idle.set()
