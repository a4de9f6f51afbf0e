"""Apply: send one site's planned calls to eDRV and record every outcome; where the plan meets the API.

`apply_site` is called by `reconcile.apply_plans` with the site's lock held and its recorded state
loaded. Order of events:

1. Session caps are resolved: each station's active sessions are looked up once; a cap whose
   connector has a session becomes a set (unless already sent for that session); one whose session
   ended is retired without a call; one without a session is skipped and said so.
2. One write records the intent of every set (status `pending`, with its id and payload) and retires
   the records of expired profiles. From here on a crash loses nothing: the next plan sends every
   pending record again, and a repeated set only replaces the profile by id.
3. Changes go out in phases, every lowering change before any mixed one before any raising one; in a
   phase, stations are served concurrently and each station's calls one after another, in plan
   order. The client bounds the overall concurrency and rate.
4. Each answer is folded into the state at once and written by a background writer that coalesces
   the answers arriving during one write, and during a rest four times as long after it, into the
   next, so writing never holds back sending and takes at most a fifth of the time; the last write
   completes, without a rest before it, before `apply_site` returns. A crash forgets at most the
   answers of one write and one rest, and the next plan sends those calls again (as in step 2).
   Records a set took the slot of are retired only once that set went through.

A call that fails is recorded with its error and the others go on; an error that would fail every
call (eDRV refusing the key) stops the site's remaining calls, which stay pending.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from reconciler.edrv import wire as edrv
from reconciler.edrv.wire import EdrvRequest, EdrvResponse, Session
from reconciler.errors import EdrvAuthError, ReconcilerError
from reconciler.ocpp.profile import slot
from reconciler.plan.change import Action, Change, Effect, Note
from reconciler.plan.outcome import record_change, record_note
from reconciler.plan.sessions import resolve_caps
from reconciler.plan.site import SitePlan
from reconciler.state import store
from reconciler.state.recorded import RecordedState, Status


class Api(Protocol):
    """What apply needs of eDRV (implemented by `edrv.client.EdrvClient`)."""

    async def send(self, request: EdrvRequest) -> EdrvResponse:
        """Send one call and return eDRV's answer. Raises ReconcilerError when it failed."""
        ...

    async def active_sessions(self, station_id: str) -> Sequence[Session]:
        """The charging sessions running on a station now."""
        ...


@dataclass(frozen=True, slots=True)
class Sent:
    """One call and how eDRV answered it."""

    change: Change
    ok: bool
    action_id: str | None = None
    error: str | None = None


@dataclass(slots=True)
class SiteResult:
    """What one site's apply did."""

    site_id: str
    sent: list[Sent] = field(default_factory=list)
    skipped: list[Note] = field(default_factory=list)  # session caps without a session
    unsent: list[Change] = field(default_factory=list)  # not sent after an error that stops the site
    state: RecordedState | None = None

    @property
    def accepted(self) -> int:
        return sum(s.ok for s in self.sent)

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.sent)


Progress = Callable[[Sent], None]

_REST_PER_WRITE = 4  # after each write the writer rests 4 times as long (see `_Writer._drain`)


class _Writer:
    """Holds a site's state in memory and writes it after changes, one write at a time, coalescing."""

    def __init__(self, path: Path, state: RecordedState, loaded: RecordedState | None) -> None:
        # One writer for the whole run: its saves re-encode only the records that changed.
        self._file = store.StateWriter(path)
        self.state = state
        self._expected = loaded
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()

    def update(self, state: RecordedState) -> None:
        self.state = state
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def flush(self) -> RecordedState:
        """Wait until everything updated so far is on disk; the state as last written."""
        self._hurry.set()  # someone waits for the last write: no rest before it
        try:
            while self._task is not None and not self._task.done():
                await self._task
            if self._task is not None:
                self._task.result()  # re-raise a failed write
            if self._dirty:
                await self._drain()
        finally:
            self._hurry.clear()
        return self.state

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            self._dirty = False
            snapshot = self.state
            started_s = loop.time()
            written = await asyncio.to_thread(self._file.save, snapshot, self._expected)
            self._expected = written
            # Later updates were derived from the pre-write serial; carry the new one forward.
            self.state = self.state.model_copy(update={"serial": written.serial})
            # Writing back to back, a site of hundreds of stations would write its whole file (a MB
            # or more, synced) for every few answers, and the writer's thread would take the GIL from
            # the event loop sending the calls. Resting a few times as long as the write took lets the
            # answers gather, so writing takes at most 1 / (1 + _REST_PER_WRITE) of the time.
            rest_s = _REST_PER_WRITE * (loop.time() - started_s)
            if not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), rest_s)


async def apply_site(
    plan: SitePlan,
    api: Api,
    *,
    path: Path,
    loaded: RecordedState | None,
    now: datetime,
    progress: Progress | None = None,
) -> SiteResult:
    """Send `plan` (already checked fresh against `loaded`, the lock held) and record every outcome."""
    state = loaded or RecordedState.new(plan.site_id)
    sessions, lookup_errors = await _sessions(api, plan)
    caps, cap_notes = resolve_caps(plan, state, sessions, now, lookup_errors)
    if not (plan.has_changes or caps or any(n.retire is not None for n in cap_notes)):
        # Nothing to send or retire: the state file is left as it is (no new serial).
        return SiteResult(plan.site_id, skipped=[n for n in cap_notes if n.retire is None], state=loaded)
    changes = sorted((*caps, *plan.changes), key=lambda c: c.effect)  # stable: plan order within a phase
    for change in changes:
        if change.action is Action.SET:
            state = record_change(state, change, Status.PENDING, now)
    for note in (*plan.notes, *cap_notes):
        if note.retire is not None and note.retire is not Status.REPLACED:
            state = record_note(state, note, now)
    run = _Run(api, _Writer(path, state, loaded), now, SiteResult(plan.site_id), progress)
    run.result.skipped.extend(n for n in cap_notes if n.retire is None)
    run.writer.update(state)
    await run.writer.flush()
    for effect in Effect:
        # One pass per phase: a site of hundreds of stations would otherwise scan the phase per station.
        by_station: dict[str, list[Change]] = {}
        for change in changes:
            if change.effect is effect:
                by_station.setdefault(change.station_id, []).append(change)
        await asyncio.gather(*(run.station(by_station[s]) for s in sorted(by_station)))
    run.retire_replaced(plan)
    run.result.state = await run.writer.flush()
    return run.result


def _answered(change: Change, response: EdrvResponse) -> tuple[Sent, Status]:
    """How a call eDRV took went, and the status its record takes.

    eDRV answers before the charger has (`requested`; webhooks tell the rest, folded by ingest), but
    an Action may already say `completed` (the charger accepted) or `failed` (it refused). A clear
    the charger answers `Unknown` found nothing to clear, which is what a clear is for: done.
    """
    action_id = edrv.action_id(response)
    outcome = edrv.action_outcome(response)
    said = outcome.charger_status or outcome.detail or outcome.status
    if change.action is Action.CLEAR:
        if outcome.failed and outcome.charger_status != "Unknown":
            error = f"the charge point refused the clear ({said})"
            return Sent(change, ok=False, action_id=action_id, error=error), Status.FAILED
        done = outcome.completed or outcome.failed
        return Sent(change, ok=True, action_id=action_id), Status.CLEARED if done else Status.REQUESTED
    if outcome.failed:
        error = f"the charge point rejected the profile ({said})"
        return Sent(change, ok=False, action_id=action_id, error=error), Status.REJECTED
    return Sent(
        change, ok=True, action_id=action_id
    ), Status.ACCEPTED if outcome.completed else Status.REQUESTED


async def _sessions(api: Api, plan: SitePlan) -> tuple[dict[str, Sequence[Session]], dict[str, str]]:
    """The running sessions of each station with a session cap, and the error of each failed lookup.

    A failed lookup skips that station's caps only; a refused key fails the whole apply before any
    call is sent, since every call after it would be refused too.
    """
    stations = sorted({n.station_id for n in plan.notes if n.cap is not None})
    found = await asyncio.gather(*(api.active_sessions(s) for s in stations), return_exceptions=True)
    sessions: dict[str, Sequence[Session]] = {}
    errors: dict[str, str] = {}
    for station_id, outcome in zip(stations, found, strict=True):
        if isinstance(outcome, EdrvAuthError):
            raise outcome
        if isinstance(outcome, ReconcilerError):
            errors[station_id] = str(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            sessions[station_id] = outcome
    return sessions, errors


@dataclass
class _Run:
    """One site's sending: the API, the state writer, and what happened so far."""

    api: Api
    writer: _Writer
    now: datetime
    result: SiteResult
    progress: Progress | None
    stopped: bool = False

    async def station(self, changes: list[Change]) -> None:
        """Send one station's calls of a phase one after another, recording each answer."""
        for change in changes:
            if self.stopped:
                self.result.unsent.append(change)
                continue
            try:
                response = await self.api.send(change.request)
            except ReconcilerError as err:
                sent = Sent(change, ok=False, error=str(err))
                self.stopped |= isinstance(err, EdrvAuthError)  # every later call would be refused too
                state = record_change(self.writer.state, change, Status.FAILED, self.now, error=sent.error)
            else:
                sent, status = _answered(change, response)
                state = record_change(
                    self.writer.state, change, status, self.now, action_id=sent.action_id, error=sent.error
                )
            self.writer.update(state)
            self.result.sent.append(sent)
            if self.progress is not None:
                self.progress(sent)

    def retire_replaced(self, plan: SitePlan) -> None:
        """Retire the records whose slot a set of this run took, now that the set went through."""
        taken = {
            (s.change.station_id, slot(s.change.connector_id, s.change.after))
            for s in self.result.sent
            if s.ok and s.change.after is not None
        }
        state = self.writer.state
        for note in plan.notes:
            if note.retire is not Status.REPLACED:
                continue
            record = state.record(note.station_id, note.name)
            if record is not None and (note.station_id, slot(record.connector_id, record.payload)) in taken:
                state = record_note(state, note, self.now)
        if state is not self.writer.state:
            self.writer.update(state)


def summary(results: Sequence[SiteResult]) -> str:
    """What an apply did, for people: every failure and skip on its own line, then the totals."""
    lines = []
    for result in results:
        for sent in result.sent:
            if not sent.ok:
                change = sent.change
                lines.append(
                    f"failed   {result.site_id}/{change.station_id}/{change.name} {change.action} "
                    f"id {change.profile_id}: {sent.error}"
                )
        for note in result.skipped:
            lines.append(f"skipped  {result.site_id}/{note.station_id}/{note.name}: {note.reason}")
        for change in result.unsent:
            where = f"{result.site_id}/{change.station_id}/{change.name}"
            lines.append(f"not sent {where}: stopped after eDRV refused the key")
    calls = sum(len(r.sent) for r in results)
    accepted = sum(r.accepted for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(len(r.skipped) for r in results)
    unsent = sum(len(r.unsent) for r in results)
    totals = f"Apply: {calls} sent, {accepted} accepted by eDRV, {failed} failed, {skipped} skipped"
    lines.append(totals + (f", {unsent} not sent" if unsent else "") + f" across {len(results)} site(s).")
    return "\n".join(lines) + "\n"
