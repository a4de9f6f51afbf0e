"""What sending a plan does to recorded state. Pure: every function returns a new `RecordedState`.

Apply records the outcome of each call as it comes back (`record_change`), and retires the records a
plan sends nothing for (`record_note`); `assume_applied` folds a whole plan in as if every call had
been accepted, which is what tests, benchmarks and the sandbox's first run need.

Decisions:
- a set that eDRV took is `requested` until a webhook reports `accepted` or `rejected`; plans treat
  `requested` as installed, so nothing is sent twice while eDRV works on it;
- a set that failed is recorded with the payload it tried to send and status `failed`, so the next
  plan retries it; the charger may still hold the previous payload under the same id;
- a clear that eDRV took retires the record as `cleared`; a failed clear leaves the record as it was,
  with the error, so the next plan tries again;
- retired records stay in the file (status and time) until a profile of the same name is set again:
  the file is the audit trail of what was sent, and the station's highest id keeps ids from reuse.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.model import format_timestamp
from reconciler.plan import Action, Change, Note, SitePlan
from reconciler.recorded import ProfileRecord, RecordedState, Status, payload_hash


def record_change(
    state: RecordedState,
    change: Change,
    status: Status,
    at: datetime,
    *,
    action_id: str | None = None,
    error: str | None = None,
) -> RecordedState:
    """`state` after `change` was sent and came back as `status` (`failed` with `error` when it did not)."""
    stamp = format_timestamp(at)
    current = state.record(change.station_id, change.name)
    if change.action is Action.SET:
        payload = change.after
        if payload is None:  # a set always carries its payload; a Change built otherwise is a bug
            raise ValueError(f"set of {change.station_id}/{change.name} has no payload")
        record = ProfileRecord(
            connector_id=change.connector_id,
            charging_profile_id=change.profile_id,
            purpose=payload["chargingProfilePurpose"],
            stack_level=payload["stackLevel"],
            payload=payload,
            payload_hash=payload_hash(payload),
            status=status,
            action_id=action_id,
            session_id=change.session_id,
            requested_at=stamp,
            updated_at=stamp,
            last_error=error,
        )
        return state.with_record(change.station_id, change.name, record)
    # A clear. The record may already hold a newer id under the same name (its pinned id changed and
    # the set of the new id came first); then the clear concerns a profile no longer recorded.
    if current is None or current.charging_profile_id != change.profile_id:
        return state
    if status is Status.FAILED:
        update = {"updated_at": stamp, "last_error": error}
    else:
        update = {"status": Status.CLEARED, "action_id": action_id, "updated_at": stamp, "last_error": None}
    return state.with_record(change.station_id, change.name, current.model_copy(update=update))


def record_note(state: RecordedState, note: Note, at: datetime) -> RecordedState:
    """`state` with the record a note retires (expired, replaced in its slot) marked so; else unchanged."""
    current = state.record(note.station_id, note.name)
    if note.retire is None or current is None or current.charging_profile_id != note.profile_id:
        return state
    update = {"status": note.retire, "updated_at": format_timestamp(at), "last_error": None}
    return state.with_record(note.station_id, note.name, current.model_copy(update=update))


def assume_applied(state: RecordedState, plan: SitePlan, at: datetime) -> RecordedState:
    """`state` after every change of `plan` was accepted and every note's record retired."""
    for change in plan.changes:
        state = record_change(state, change, Status.ACCEPTED, at)
    for note in plan.notes:
        state = record_note(state, note, at)
    return state
