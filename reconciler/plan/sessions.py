"""Session caps at apply time: which TxProfiles to send, given the sessions running now. Pure.

A plan cannot know sessions (it runs offline), so it lists each session cap as a note carrying the
cap's body as written. Apply looks up the active sessions of those stations and calls
`resolve_caps`, which turns each note into one of:

- a set, computed as eDRV prescribes (`payload.cap_for_session`), when a session runs on the cap's
  connector and the cap was not already sent for that very session;
- nothing, when it was (the charger keeps a TxProfile for the whole transaction);
- a retirement without a call, when the session it was sent for has ended: chargers delete
  TxProfiles when the transaction stops;
- a skip, said so, when no session runs on the connector, or the sessions could not be listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from reconciler.desired.payload import cap_for_session
from reconciler.edrv import wire as edrv
from reconciler.edrv.wire import Session
from reconciler.ocpp.profile import format_timestamp
from reconciler.plan.change import Action, Change, Effect, Note
from reconciler.plan.site import SitePlan
from reconciler.state.recorded import HELD, RecordedState, Status


def resolve_caps(
    plan: SitePlan,
    recorded: RecordedState,
    sessions: Mapping[str, Sequence[Session]],
    now: datetime,
    lookup_errors: Mapping[str, str] | None = None,
) -> tuple[list[Change], list[Note]]:
    """The sets to send for the plan's session caps, and notes for the caps that get no call.

    `sessions` holds the running sessions of every station whose listing succeeded; a station
    missing from it (its error in `lookup_errors`) gets nothing sent and nothing retired.
    """
    lookup_errors = lookup_errors or {}
    cleared = {(c.station_id, c.profile_id) for c in plan.changes if c.action is Action.CLEAR}
    changes: list[Change] = []
    notes: list[Note] = []
    for note in plan.notes:
        if note.cap is None or note.connector_id is None or note.profile_id is None:
            continue
        if note.station_id not in sessions:
            error = lookup_errors.get(note.station_id, "not looked up")
            notes.append(_note(note, f"the station's sessions could not be listed ({error}); nothing sent"))
            continue
        running = [s for s in sessions[note.station_id] if s.connector_id == note.connector_id]
        record = recorded.record(note.station_id, note.name)
        live = record if record is not None and not record.is_retired else None
        if not running:
            if live is not None and live.session_id is not None:
                reason = f"session {live.session_id} has ended; the charger dropped its cap"
                notes.append(_note(note, reason, Status.EXPIRED))
            else:
                notes.append(_note(note, f"no session on connector {note.connector_id}; nothing sent"))
            continue
        session = running[0]
        if (note.station_id, note.profile_id) in cleared:
            # The standing profile this name held is cleared by id in the last phase, which would
            # remove a cap sent now under the same id; the next apply sends the cap.
            notes.append(_note(note, "sent by the next apply, once this plan has cleared its id"))
            continue
        if live is not None and live.session_id == session.session_id and live.status in HELD:
            notes.append(_note(note, f"already sent for session {session.session_id}"))
            continue
        started = format_timestamp(session.started_at)
        body = cap_for_session(note.cap, started, now)
        mentioned = plan.clock.mention(session.started_at)
        changes.append(
            Change(
                plan.site_id,
                note.station_id,
                note.name,
                Action.SET,
                note.connector_id,
                note.profile_id,
                f"session cap for session {session.session_id} (started {mentioned})",
                Effect.LOWERS,  # a cap only ever limits the session it is sent for
                edrv.set_charging_profile(note.station_id, note.connector_id, body),
                before=None,
                after=body,
                session_id=session.session_id,
            )
        )
    return changes, notes


def _note(note: Note, reason: str, retire: Status | None = None) -> Note:
    return Note(note.site_id, note.station_id, note.name, note.profile_id, reason, retire)
