"""Confirmations: the charger's answers, reported by eDRV's webhooks, folded into recorded state. Pure.

`fold` is what `reconciler ingest` (and `--inbox` on plan and apply) does to one site: every record
waiting for an answer (a `requested` set, a clear in flight) takes the answer reported for its action
id. A set becomes `accepted` or `rejected` (with the charger's answer as `last_error`); a clear that
the charger accepted, or answered Unknown (nothing left to clear), retires the record as `cleared`; a
refused clear leaves the record live with the refusal, so the next plan clears it again.

Matching is by action id alone, so folding is idempotent (a record that has its answer waits for no
other) and indifferent to order: an answer that arrived before apply wrote its action id is folded
by the first ingest after, and one for an action no record holds changes nothing and is reported.

`Confirmations` is how plans treat records without a final answer (`station` applies it):
- a rejected set is sent again when its desired payload changes, or once its back-off has passed:
  `retry_rejected_after` after the rejection, doubled for every further rejection of the same
  payload, at most a day (None: only when desired changes);
- with an inbox, a record still unanswered `unconfirmed_after` its send is shown as such and sent
  again once (a set by the same id only replaces); without one, nothing is re-sent on that ground and
  the plan says that confirmations are not being read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reconciler.edrv.webhook import CLEAR, REJECTED, SET, Event
from reconciler.ocpp.profile import format_timestamp, parse_timestamp
from reconciler.state.recorded import ProfileRecord, RecordedState, Status

MAX_BACKOFF = timedelta(days=1)
DEFAULT_UNCONFIRMED_AFTER = timedelta(minutes=15)
DEFAULT_RETRY_REJECTED_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Confirmations:
    """Where answers are read from (`inbox`, None when nowhere) and how long to wait for them."""

    inbox: str | None = None
    unconfirmed_after: timedelta = DEFAULT_UNCONFIRMED_AFTER
    retry_rejected_after: timedelta | None = DEFAULT_RETRY_REJECTED_AFTER
    last_received_at: datetime | None = None  # the inbox's latest event of any kind, if any

    def retry_due(self, record: ProfileRecord) -> datetime | None:
        """When a rejected record may be sent again unchanged; None when only a desired change will."""
        if self.retry_rejected_after is None:
            return None
        rejected_at = parse_timestamp(record.confirmed_at or record.updated_at)
        wait = self.retry_rejected_after * (1 << min(record.attempts - 1, 16))
        return rejected_at + max(min(wait, MAX_BACKOFF), self.retry_rejected_after)

    def overdue(self, sent_at: str, now: datetime) -> bool:
        """Whether an answer to a call sent at `sent_at` is overdue (only an inbox can tell)."""
        return self.inbox is not None and now >= parse_timestamp(sent_at) + self.unconfirmed_after


@dataclass(frozen=True, slots=True)
class Folded:
    """One record that took an answer: what it became (`accepted`, `rejected`, `cleared`, or `failed`
    for a refused clear) and the charger's reason for a refusal."""

    station_id: str
    name: str
    profile_id: int
    action: str
    became: Status
    reason: str | None
    at: str


@dataclass(frozen=True, slots=True)
class FoldResult:
    """A site's state with the answers folded in, what each did, and the answers nothing awaited."""

    state: RecordedState
    folded: list[Folded] = field(default_factory=list)
    unmatched: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SiteIngest:
    """What ingest did to one site: the records that took an answer, the answers nothing awaited, the
    calls still awaiting one, and the serial written (None when nothing changed)."""

    site_id: str
    folded: list[Folded] = field(default_factory=list)
    unmatched: list[Event] = field(default_factory=list)
    still_awaiting: int = 0
    serial: int | None = None


@dataclass(frozen=True, slots=True)
class IngestReport:
    """An ingest over several sites, and the inbox's latest event when it ran."""

    inbox: str
    sites: list[SiteIngest]
    last_received_at: datetime | None


def awaiting(state: RecordedState) -> list[tuple[str, str, ProfileRecord]]:
    """Every record of `state` waiting for the charger's answer."""
    return [(s, n, r) for s, n, r in state.records() if not r.is_retired and r.awaits_answer]


def oldest_call(state: RecordedState) -> datetime | None:
    """When the oldest call still waiting for its answer was sent (a pending set counts: its answer
    may have arrived before apply could write the action id down)."""
    moments = [
        parse_timestamp(r.clearing.requested_at if r.clearing is not None else r.requested_at)
        for _, _, r in state.records()
        if not r.is_retired and (r.awaits_answer or r.status is Status.PENDING)
    ]
    return min(moments, default=None)


def fold(
    state: RecordedState,
    answers: Sequence[tuple[Event, datetime]],
    now: datetime,
    report_since: datetime | None = None,
) -> FoldResult:
    """`state` with every answer to an awaited call folded in; see the module docstring.

    `answers` are final events (`accepted` or `rejected`) of set and clear calls, each with when it
    was received; `report_since` limits the unmatched ones reported to those received since then.
    """
    sets: dict[str, tuple[str, str]] = {}
    clears: dict[str, tuple[str, str]] = {}
    known: set[str] = set()
    for station_id, name, record in state.records():
        if record.action_id is not None:
            known.add(record.action_id)
        if record.is_retired:
            continue
        if record.status is Status.REQUESTED and record.action_id is not None:
            sets[record.action_id] = (station_id, name)
        if record.clearing is not None and record.clearing.action_id is not None:
            clears[record.clearing.action_id] = (station_id, name)
            known.add(record.clearing.action_id)
    folded: list[Folded] = []
    unmatched: list[Event] = []
    stamp = format_timestamp(now)
    for event, received_at in answers:
        action_id = event.action_id
        if action_id is None or not event.is_final:
            continue
        waiting = sets if event.command == SET else clears if event.command == CLEAR else {}
        where = waiting.get(action_id)
        # An answer naming another station than its call's is not that call's answer.
        foreign = where is not None and event.station_id not in (None, where[0])
        if where is None or foreign:
            unknown = foreign or action_id not in known
            if unknown and (report_since is None or received_at >= report_since):
                unmatched.append(event)
            continue
        del waiting[action_id]
        held = state.record(*where)
        if held is None:  # cannot happen: `where` came from this state
            continue
        at = _moment(event, received_at)
        answered = _set_answered if event.command == SET else _clear_answered
        updated, became, reason = answered(held, event, at, stamp)
        state = state.with_record(*where, updated)
        action = "set" if event.command == SET else "clear"
        folded.append(Folded(*where, held.charging_profile_id, action, became, reason, at))
    return FoldResult(state, folded, unmatched)


def _moment(event: Event, received_at: datetime) -> str:
    """When the charger's answer was reported: the event's `createdAt`, else when it was received."""
    if event.created_at is not None:
        try:
            moment = datetime.fromisoformat(event.created_at)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return format_timestamp(moment)
    return format_timestamp(received_at)


def _said(event: Event) -> str:
    return event.reason or event.charger_status or event.outcome or "no reason given"


def _set_answered(
    record: ProfileRecord, event: Event, at: str, stamp: str
) -> tuple[ProfileRecord, Status, str | None]:
    update: dict[str, object]
    if event.outcome == REJECTED:
        reason = f"the charge point rejected the profile ({_said(event)})"
        update = {"status": Status.REJECTED, "last_error": reason, "confirmed_at": at, "updated_at": stamp}
        return record.model_copy(update=update), Status.REJECTED, reason
    update = {"status": Status.ACCEPTED, "last_error": None, "confirmed_at": at, "updated_at": stamp}
    return record.model_copy(update=update), Status.ACCEPTED, None


def _clear_answered(
    record: ProfileRecord, event: Event, at: str, stamp: str
) -> tuple[ProfileRecord, Status, str | None]:
    clearing = record.clearing
    update: dict[str, object]
    # Unknown: the charger held no such profile, which is what a clear is for.
    if event.outcome != REJECTED or event.charger_status == "Unknown":
        update = {
            "status": Status.CLEARED,
            "action_id": clearing.action_id if clearing is not None else record.action_id,
            "clearing": None,
            "last_error": None,
            "confirmed_at": at,
            "updated_at": stamp,
        }
        return record.model_copy(update=update), Status.CLEARED, None
    reason = f"the charge point refused the clear ({_said(event)})"
    update = {"clearing": None, "last_error": reason, "updated_at": stamp}
    return record.model_copy(update=update), Status.FAILED, reason


@dataclass(frozen=True, slots=True)
class Standing:
    """What one site's records say of the charger's answers, as its plan shows them.

    `receiving` is False when an inbox is read yet has received nothing since the oldest call still
    unanswered past its wait was sent: confirmations are not arriving. None when it cannot be told.
    """

    inbox: str | None
    accepted: int = 0
    awaiting: int = 0
    rejected: int = 0
    oldest_awaiting: datetime | None = None
    last_received_at: datetime | None = None
    receiving: bool | None = None


def standing(state: RecordedState | None, policy: Confirmations, now: datetime) -> Standing:
    """Count `state`'s live records by answer, and tell whether answers are arriving at all."""
    if state is None:
        return Standing(policy.inbox, last_received_at=policy.last_received_at)
    # Every plan counts these, over every record, in one pass and unsorted: order does not matter to a count.
    accepted = rejected = 0
    waiting: list[ProfileRecord] = []
    for station in state.stations.values():
        for r in station.profiles.values():
            if r.is_retired:
                continue
            if r.awaits_answer:
                waiting.append(r)
            if r.clearing is None:
                accepted += r.status is Status.ACCEPTED
                rejected += r.status is Status.REJECTED
    oldest = min(
        (parse_timestamp(r.clearing.requested_at if r.clearing else r.requested_at) for r in waiting),
        default=None,
    )
    receiving: bool | None = None
    if policy.inbox is not None and oldest is not None and now >= oldest + policy.unconfirmed_after:
        receiving = policy.last_received_at is not None and policy.last_received_at >= oldest
    return Standing(
        policy.inbox,
        accepted=accepted,
        awaiting=len(waiting),
        rejected=rejected,
        oldest_awaiting=oldest,
        last_received_at=policy.last_received_at,
        receiving=receiving,
    )
