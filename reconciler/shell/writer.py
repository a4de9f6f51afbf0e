"""The background writer of one site's state during apply: coalescing writes, waiting, refusing.

`apply` folds each answer into the state and hands it over (`update`); the writer writes it with the
store's `StateWriter` on a worker thread, one write at a time, gathering the answers that arrive
during a write, and during a rest four times as long after it, into the next, so that writing takes
at most a fifth of the time and never holds up the event loop sending calls. A station's next call
waits for its previous answer (`on_disk`); a write the store refuses ends all writing (`failure`),
and `intact` tells apply, before each call, whether the file is still the one it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from reconciler.errors import StateFileError
from reconciler.state import store
from reconciler.state.recorded import RecordedState

_REST_PER_WRITE = 4  # after each write the writer rests 4 times as long (see `Writer._drain`)


class Writer:
    """Holds a site's state in memory and writes it after changes, one write at a time, coalescing.

    `version` counts updates and `written` the last version on disk; a write refused (someone else
    changed the file, it vanished, the disk is full) is kept in `failure`, and nothing is written
    after it.
    """

    def __init__(self, path: Path, state: RecordedState, loaded: RecordedState | None) -> None:
        # One writer for the whole run: its saves re-encode only the records that changed.
        self._file = store.StateWriter(path)
        self.state = state
        self._expected = loaded
        self.version = 0
        self.written = 0
        self.failure: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._saving = False  # a save runs on the worker thread now (the file may be mid-rename)
        self._hurry = asyncio.Event()
        self._progress = asyncio.Event()  # set, and replaced, whenever a write ends or fails

    def update(self, state: RecordedState) -> int:
        """Take `state` as the latest; its version, which `on_disk` waits for."""
        self.state = state
        self.version += 1
        if self.failure is None and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._drain())
        return self.version

    def intact(self) -> bool:
        """False once a write failed, or when the file is no longer the one this writer wrote.

        Between writes, the file's inode, size and modification time must be as the last write left
        them; if they are not, the file is read and compared with that state, and a changed content
        is a failure (a touched but equal file is not).
        """
        if self.failure is None and self.written and not self._saving:
            try:
                self._file.check_unchanged(self._expected)
            except (StateFileError, OSError) as err:
                self.failure = str(err)
                self._signal()
        return self.failure is None

    @property
    def _writing(self) -> bool:
        return self._task is not None and not self._task.done()

    async def on_disk(self, version: int) -> bool:
        """Wait until `version` is written (or writing failed); whether it was written."""
        while self.written < version and self.failure is None:
            await self._progress.wait()
        return self.written >= version

    def _signal(self) -> None:
        self._progress.set()  # wakes every waiter; each checks again on the next event
        self._progress = asyncio.Event()

    async def flush(self) -> RecordedState:
        """Wait until everything updated so far is on disk (or a write failed); the state last written."""
        self._hurry.set()  # someone waits for the last write: no rest before it
        try:
            while self._writing:
                assert self._task is not None
                await self._task
            if self.failure is None and self.written < self.version:
                await self._drain()
        finally:
            self._hurry.clear()
        return self.state

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.written < self.version and self.failure is None:
            snapshot, version = self.state, self.version
            started_s = loop.time()
            self._saving = True
            try:
                written = await asyncio.to_thread(self._file.save, snapshot, self._expected)
            except (StateFileError, OSError) as err:
                # Nothing more is written; the run stops sending (see `_Run.station`).
                self.failure = (
                    str(err) if isinstance(err, StateFileError) else f"cannot write the state: {err}"
                )
                written = None
            finally:
                self._saving = False
            if written is not None:
                self._expected = written
                # Later updates were derived from the pre-write serial; carry the new one forward.
                self.state = self.state.model_copy(update={"serial": written.serial})
                self.written = version
            self._signal()
            if written is None:
                return
            # Writing back to back, a site of hundreds of stations would write its whole file (a MB
            # or more, synced) for every few answers, and the writer's thread would take the GIL from
            # the event loop sending the calls. Resting a few times as long as the write took lets the
            # answers gather, so writing takes at most 1 / (1 + _REST_PER_WRITE) of the time.
            rest_s = _REST_PER_WRITE * (loop.time() - started_s)
            if not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), rest_s)
