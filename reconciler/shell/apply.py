"""Apply: send one site's planned calls to eDRV and record every outcome; where the plan meets the API.

`apply_site` is called by `apply_sites.apply_plans` with the site's lock held and its recorded state
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
   next, so writing takes at most a fifth of the time; the last write completes, without a rest
   before it, before `apply_site` returns. A station's next call waits until the answer to its
   previous one is on disk, so a crash leaves at most one call per station whose answer is not
   recorded (the one in flight, or answered during the last write); the next plan sends exactly
   those again (as in step 2). Records a set took the slot of are retired only once that set went
   through.

A call that fails is recorded with its error and the others go on; an error that would fail every
call (eDRV refusing the key) stops the site's remaining calls, which stay pending. So does a state
file that can no longer be written (changed, replaced or removed by someone else, or a full disk):
from then on nothing is sent for the site, since nothing sent could be recorded. Just before each
call goes out (after its wait for the rate limit), the writer checks that the file is still the one
it last wrote (its inode, size and time; its content when those differ), so someone else's change
stops the site before its next write would find it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from reconciler.edrv import wire as edrv
from reconciler.edrv.wire import EdrvRequest, EdrvResponse, Session
from reconciler.errors import EdrvAuthError, EdrvNotSentError, ReconcilerError
from reconciler.ocpp.profile import slot
from reconciler.plan.change import Action, Change, Effect, Note
from reconciler.plan.outcome import record_change, record_note
from reconciler.plan.sessions import resolve_caps
from reconciler.plan.site import SitePlan
from reconciler.render.names import visible
from reconciler.shell.writer import Writer
from reconciler.state.recorded import RecordedState, Status


class Api(Protocol):
    """What apply needs of eDRV (implemented by `edrv.client.EdrvClient`)."""

    async def send(self, request: EdrvRequest, *, proceed: Callable[[], bool] | None = None) -> EdrvResponse:
        """Send one call and return eDRV's answer. Raises ReconcilerError when it failed.

        Asks `proceed` just before the call goes out; EdrvNotSentError when it answers False.
        """
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
    status: Status | None = None  # what its record says now


@dataclass(slots=True)
class SiteResult:
    """What one site's apply did, and what it could not do."""

    site_id: str
    sent: list[Sent] = field(default_factory=list)
    skipped: list[Note] = field(default_factory=list)  # session caps without a session (or lookup)
    lookup_errors: dict[str, str] = field(default_factory=dict)  # station -> why its sessions are unknown
    unsent: list[Change] = field(default_factory=list)  # not sent after an error that stops the site
    stopped_because: str | None = None  # why the site stopped sending, when it did
    unrecorded: list[Sent] = field(default_factory=list)  # answered, but the state could not be written
    state_error: str | None = None  # the state file refused a write: later outcomes are not recorded
    state: RecordedState | None = None

    @property
    def accepted(self) -> int:
        return sum(s.ok for s in self.sent)

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.sent)

    @property
    def complete(self) -> bool:
        """Whether everything the plan asked for was done and recorded (else apply exits 1)."""
        return not (self.failed or self.lookup_errors or self.unsent or self.state_error)


Progress = Callable[[Sent], None]
_STATE_REFUSED = "the state file could not be written"


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
    skipped = [n for n in cap_notes if n.retire is None]
    if not (plan.has_changes or caps or any(n.retire is not None for n in cap_notes)):
        # Nothing to send or retire: the state file is left as it is (no new serial).
        return SiteResult(plan.site_id, skipped=skipped, lookup_errors=lookup_errors, state=loaded)
    changes = sorted((*caps, *plan.changes), key=lambda c: c.effect)  # stable: plan order within a phase
    for change in changes:
        if change.action is Action.SET:
            state = record_change(state, change, Status.PENDING, now)
    for note in (*plan.notes, *cap_notes):
        if note.retire is not None and note.retire is not Status.REPLACED:
            state = record_note(state, note, now)
    result = SiteResult(plan.site_id, skipped=skipped, lookup_errors=lookup_errors)
    run = _Run(api, Writer(path, state, loaded), now, result, progress)
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
    result.state = await run.writer.flush()
    result.state_error = run.writer.failure
    if result.state_error is not None:
        result.unrecorded = [sent for sent, version in run.versions if version > run.writer.written]
    return result


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
            return Sent(change, False, action_id, error, Status.FAILED), Status.FAILED
        status = Status.CLEARED if outcome.completed or outcome.failed else Status.REQUESTED
        return Sent(change, True, action_id, status=status), status
    if outcome.failed:
        error = f"the charge point rejected the profile ({said})"
        return Sent(change, False, action_id, error, Status.REJECTED), Status.REJECTED
    status = Status.ACCEPTED if outcome.completed else Status.REQUESTED
    return Sent(change, True, action_id, status=status), status


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
    writer: Writer
    now: datetime
    result: SiteResult
    progress: Progress | None
    versions: list[tuple[Sent, int]] = field(default_factory=list)  # each answer's writer version

    async def station(self, changes: list[Change]) -> None:
        """Send one station's calls of a phase one after another, recording each answer.

        Each call goes out only once the answer to the one before is on disk, and only while the
        state can be written and eDRV has not refused the key.
        """
        for change in changes:
            if self.result.stopped_because is None and not self.writer.intact():
                self.result.stopped_because = _STATE_REFUSED
            if self.result.stopped_because is not None:
                self.result.unsent.append(change)
                continue
            try:
                response = await self.api.send(change.request, proceed=self.writer.intact)
            except EdrvNotSentError:
                # The state file was refused while this call waited for its turn: nothing went out.
                self.result.stopped_because = self.result.stopped_because or _STATE_REFUSED
                self.result.unsent.append(change)
                continue
            except ReconcilerError as err:
                sent = Sent(change, ok=False, error=str(err), status=Status.FAILED)
                if isinstance(err, EdrvAuthError) and self.result.stopped_because is None:
                    self.result.stopped_because = "eDRV refused the key"  # every later call would be too
                state = record_change(self.writer.state, change, Status.FAILED, self.now, error=sent.error)
            else:
                sent, status = _answered(change, response)
                state = record_change(
                    self.writer.state, change, status, self.now, action_id=sent.action_id, error=sent.error
                )
            version = self.writer.update(state)
            self.versions.append((sent, version))
            self.result.sent.append(sent)
            if self.progress is not None:
                self.progress(sent)
            await self.writer.on_disk(version)

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


def sent_line(sent: Sent, count: int, total: int | None) -> str:
    """One line for a call as its answer is recorded, for an apply followed in a log:
    `[3/24] set harbour-depot/CS-1/night id 40: requested (eDRV action a1b2), the charger's answer to come`.

    `total` is None when it is not known beforehand (session caps are sent only for running sessions).
    """
    change = sent.change
    of = "" if total is None else f"/{total}"
    where = visible(f"{change.site_id}/{change.station_id}/{change.name}")
    what = f"[{count}{of}] {change.action.value:<5} {where}"
    action = f" (eDRV action {sent.action_id})" if sent.action_id else ""
    if not sent.ok:
        return f"{what} id {change.profile_id}: {sent.status or 'failed'}{action}: {visible(str(sent.error))}"
    if sent.status is Status.REQUESTED:
        outcome = "requested" + action + ", the charger's answer to come"
    else:
        outcome = f"{sent.status or 'sent'}{action}"
    return f"{what} id {change.profile_id}: {outcome}"


def summary(results: Sequence[SiteResult]) -> str:
    """What an apply did, for people: everything not done on its own line, then the totals."""
    lines = []
    for result in results:
        site = result.site_id
        for sent in result.sent:
            if not sent.ok:
                change = sent.change
                lines.append(
                    f"failed   {site}/{change.station_id}/{change.name} {change.action} "
                    f"id {change.profile_id}: {sent.error}"
                )
        for station_id, error in sorted(result.lookup_errors.items()):
            lines.append(f"failed   {site}/{station_id}: session lookup, so no session cap was sent: {error}")
        for note in result.skipped:
            lines.append(f"skipped  {site}/{note.station_id}/{note.name}: {note.reason}")
        if result.state_error is not None:
            lines.append(f"failed   {site}: state file: {result.state_error}")
        for sent in result.unrecorded:
            change = sent.change
            lines.append(
                f"unrecorded {site}/{change.station_id}/{change.name} {change.action} id "
                f"{change.profile_id}: sent, but its outcome could not be written to the state file"
            )
        for change in result.unsent:
            lines.append(
                f"not sent {site}/{change.station_id}/{change.name} {change.action} id {change.profile_id}: "
                f"stopped because {result.stopped_because}"
            )
    calls = sum(len(r.sent) for r in results)
    accepted = sum(r.accepted for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(len(r.skipped) for r in results)
    extra = [
        f"{count} {what}"
        for count, what in (
            (sum(len(r.unsent) for r in results), "not sent"),
            (sum(len(r.unrecorded) for r in results), "not recorded"),
            (sum(len(r.lookup_errors) for r in results), "session lookup(s) failed"),
        )
        if count
    ]
    totals = f"Apply: {calls} sent, {accepted} accepted by eDRV, {failed} failed, {skipped} skipped"
    lines.append(", ".join([totals, *extra]) + f" across {len(results)} site(s).")
    incomplete = [r.site_id for r in results if not r.complete]
    if incomplete:
        lines.append(f"Not everything was done for {', '.join(incomplete)}: see above.")
    return "\n".join(lines) + "\n"
