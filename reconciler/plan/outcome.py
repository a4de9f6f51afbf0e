"""What sending a plan does to recorded state. Pure: every function returns a new `RecordedState`.

Apply records the outcome of each call as it comes back (`record_change`), and retires the records a
plan sends nothing for (`record_note`); `assume_applied` folds a whole plan in as if every call had
been accepted, which is what tests, benchmarks and the sandbox's first run need.

Decisions:
- a set that eDRV took is `requested` until a webhook reports `accepted` or `rejected` (`confirm`
  folds it); plans treat `requested` as installed, so nothing is sent twice while eDRV works on it;
  an answer that already reports the charger's (`accepted`, `rejected`) is recorded as confirmed;
- a set that failed is recorded with the payload it tried to send and status `failed`, so the next
  plan retries it; the charger may still hold the previous payload under the same id;
- sending the same payload again under the same id counts one more attempt; a new payload starts
  at one (the back-off of rejected sets grows with it);
- a clear that eDRV took is recorded as `clearing` (its action id and time) until the charger's answer
  retires the record as `cleared`; plans treat it as cleared meanwhile. A clear answered at once
  retires it at once. A failed clear leaves the record as it was, with the error, so the next plan
  tries again;
- retired records stay in the file (status and time) until a profile of the same name is set again:
  the file is the audit trail of what was sent, and the station's highest id keeps ids from reuse;
- when a profile's pinned id changes, the set of the new id moves the live record of the old id
  aside, under `superseded_name`, until the clear of the old id goes through: a failed or unsent
  clear is then retried by the next plan (it clears the record as removed) instead of forgotten.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.ocpp.profile import format_timestamp
from reconciler.plan.change import Action, Change, Note, superseded_name
from reconciler.plan.site import SitePlan
from reconciler.state.recorded import (
    HASHES_VERIFIED,
    ClearRequest,
    ProfileRecord,
    RecordedState,
    Status,
    payload_hash,
)


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
        # Hashed here, from the payload sent, whatever the change carries: recorded state is what later
        # plans trust; the record is then built without its check hashing it a second time.
        digest = payload_hash(payload)
        fields = {
            "connector_id": change.connector_id,
            "charging_profile_id": change.profile_id,
            "purpose": payload["chargingProfilePurpose"],
            "stack_level": payload["stackLevel"],
            "payload": payload,
            "payload_hash": digest,
            "status": status,
            "action_id": action_id,
            "session_id": change.session_id,
            "requested_at": stamp,
            "updated_at": stamp,
            "last_error": error,
            "confirmed_at": stamp if status in (Status.ACCEPTED, Status.REJECTED) else None,
            "attempts": _attempts(current, change.profile_id, digest),
        }
        record = ProfileRecord.model_validate(fields, context={HASHES_VERIFIED: True})
        if (
            current is not None
            and not current.is_retired
            and current.charging_profile_id != change.profile_id
        ):
            aside = superseded_name(change.name, current.charging_profile_id)
            state = state.with_record(change.station_id, aside, current)
        # A set pinning an old id again takes over its record moved aside: one record per id.
        retaken = superseded_name(change.name, change.profile_id)
        if state.record(change.station_id, retaken) is not None:
            state = state.without_record(change.station_id, retaken)
        return state.with_record(change.station_id, change.name, record)
    # A clear. If the name's record already holds a newer id (its pinned id changed and the set of the
    # new id came first), the old id's record was moved aside.
    name, current = _holding(state, change.station_id, change.name, change.profile_id)
    if current is None:
        return state
    update: dict[str, object]
    if status is Status.FAILED:
        update = {"updated_at": stamp, "last_error": error}
    elif status is Status.REQUESTED:
        sent = current.clearing.attempts + 1 if current.clearing is not None else 1
        clearing = ClearRequest(action_id=action_id, requested_at=stamp, attempts=sent)
        update = {"clearing": clearing, "updated_at": stamp, "last_error": None}
    else:
        update = {
            "status": Status.CLEARED,
            "action_id": action_id,
            "updated_at": stamp,
            "confirmed_at": stamp,
            "last_error": None,
            "clearing": None,
        }
    return state.with_record(change.station_id, name, current.model_copy(update=update))


def _attempts(current: ProfileRecord | None, profile_id: int, digest: str) -> int:
    """The attempt a set of this payload and id is: one more than an unaccepted send of the same."""
    if (
        current is None
        or current.is_retired
        or current.charging_profile_id != profile_id
        or current.payload_hash != digest
        or current.status is Status.ACCEPTED
    ):
        return 1
    # A pending record is the intent of this very send (or of one a crash cut short): it counted.
    return current.attempts if current.status is Status.PENDING else current.attempts + 1


def _holding(
    state: RecordedState, station_id: str, name: str, profile_id: int
) -> tuple[str, ProfileRecord | None]:
    """The name and record under which `profile_id` of profile `name` is recorded, if it is."""
    for key in (name, superseded_name(name, profile_id)):
        record = state.record(station_id, key)
        if record is not None and record.charging_profile_id == profile_id:
            return key, record
    return name, None


def record_note(state: RecordedState, note: Note, at: datetime) -> RecordedState:
    """`state` with the record a note retires (expired, replaced in its slot) marked so; else unchanged."""
    if note.retire is None or note.profile_id is None:
        return state
    name, current = _holding(state, note.station_id, note.name, note.profile_id)
    if current is None:
        return state
    # A clear on its way is moot once the record retires (the profile expired, or its slot was taken).
    update = {"status": note.retire, "updated_at": format_timestamp(at), "last_error": None, "clearing": None}
    return state.with_record(note.station_id, name, current.model_copy(update=update))


def assume_applied(state: RecordedState, plan: SitePlan, at: datetime) -> RecordedState:
    """`state` after every change of `plan` was accepted and every note's record retired."""
    for change in plan.changes:
        state = record_change(state, change, Status.ACCEPTED, at)
    for note in plan.notes:
        state = record_note(state, note, at)
    return state
