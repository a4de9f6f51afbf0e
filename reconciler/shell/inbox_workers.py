"""The receiver's threads on the inbox: one writer that group-commits, and readers beside it.

`InboxWriter` is the one thread that writes: it takes every delivery waiting, stores them in one
transaction (one disk sync for all of them, so a burst costs a few syncs, not one each), and then
wakes each caller with its event's `seq` (None for an `_id` stored before) or the error; it also
deletes events older than the retention once an hour. `InboxReaders` reads on a small pool of threads,
each with its own connection; WAL mode keeps readers off the writer's way. Used by `receiver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.edrv import webhook
from reconciler.edrv.inbox import Inbox, Page, Query
from reconciler.errors import InboxError

_BATCH = 512  # deliveries committed together at most
_PRUNE_EVERY_S = 3600.0
# SQLite copies its write-ahead log into the database at the commit that fills 1,000 pages, syncing the
# database file while every delivery of that commit waits. A thread of its own does it instead, this
# often, without blocking the writer.
_CHECKPOINT_EVERY_S = 0.5


class InboxWriter:
    """The one thread that writes the inbox: stores what waits in one commit, then wakes the callers."""

    def __init__(self, path: Path, retention: timedelta, on_stored: Callable[[], None]) -> None:
        self._path = path
        self._retention = retention
        self._on_stored = on_stored
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._checkpoints = threading.Thread(target=self._checkpoint, name="inbox-checkpoint", daemon=True)
        self._opened = threading.Event()
        self._stopping = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._opened.wait()
        if self._error is not None:
            raise self._error
        self._checkpoints.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        if self._checkpoints.is_alive():
            self._checkpoints.join()
        self._queue.put(None)
        self._thread.join()

    def submit(self, event: webhook.Event, body: bytes) -> asyncio.Future[int | None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int | None] = loop.create_future()
        if not self.alive:  # nothing would ever answer it
            done.set_exception(InboxError("the inbox writer has stopped"))
        else:
            self._queue.put((event, body, done, loop))
        return done

    def _run(self) -> None:
        try:
            inbox = Inbox(self._path, create=True)
        except InboxError as exc:
            self._error = exc
            self._opened.set()
            return
        inbox.checkpoint(automatic=False)
        self._opened.set()
        pruned_s = 0.0
        try:
            while True:
                batch, stopping = self._take()
                if batch:
                    self._write(inbox, batch)
                if time.monotonic() - pruned_s > _PRUNE_EVERY_S:
                    pruned_s = time.monotonic()
                    # A prune that fails (a locked or full disk) is tried again an hour later.
                    with contextlib.suppress(sqlite3.Error):
                        inbox.prune(datetime.now(UTC) - self._retention)
                if stopping:
                    return
        finally:
            with contextlib.suppress(sqlite3.Error):
                inbox.checkpoint(automatic=True)
            inbox.close()

    def _checkpoint(self) -> None:
        with Inbox(self._path) as inbox:
            while not self._stopping.wait(_CHECKPOINT_EVERY_S):
                # A checkpoint that fails (the disk, for a moment) is simply tried again.
                with contextlib.suppress(sqlite3.Error):
                    inbox.checkpoint()

    def _take(self) -> tuple[list[tuple[Any, ...]], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < _BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _write(self, inbox: Inbox, batch: list[tuple[Any, ...]]) -> None:
        try:
            outcome: list[Any] = inbox.store([(event, body) for event, body, _, _ in batch], time.time())
        except Exception as exc:  # noqa: BLE001 - a failed write (disk full) fails these deliveries, not the thread
            outcome = [exc] * len(batch)
        loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int | None], Any]]] = {}
        for (_, _, done, loop), result in zip(batch, outcome, strict=True):
            loops.setdefault(loop, []).append((done, result))
        for loop, results in loops.items():
            loop.call_soon_threadsafe(_settle, results, self._on_stored)


def _settle(results: list[tuple[asyncio.Future[int | None], Any]], on_stored: Callable[[], None]) -> None:
    for done, result in results:
        if done.done():  # the sender hung up meanwhile; the event is stored all the same
            continue
        if isinstance(result, BaseException):
            done.set_exception(result)
        else:
            done.set_result(result)
    on_stored()


class InboxReaders:
    """Reads on a few threads, each with its own connection to the inbox."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="inbox-reader")
        self._local = threading.local()
        self._opened: list[Inbox] = []
        self._lock = threading.Lock()

    def _inbox(self) -> Inbox:
        inbox: Inbox | None = getattr(self._local, "inbox", None)
        if inbox is None:
            inbox = self._local.inbox = Inbox(self._path)
            with self._lock:
                self._opened.append(inbox)
        return inbox

    async def page(self, query: Query) -> Page:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self._inbox().page(query))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for inbox in self._opened:
                inbox.close()
