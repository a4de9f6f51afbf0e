"""Confirmations: the chargers' answers folded into recorded state, and how plans treat calls that are
rejected or still unanswered."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.edrv.webhook import Event
from reconciler.ocpp.profile import format_timestamp
from reconciler.plan.change import Action, Change
from reconciler.plan.confirm import Confirmations, fold, standing
from reconciler.plan.outcome import record_change
from reconciler.plan.site import build
from reconciler.render.confirm import standing_lines
from reconciler.state.recorded import ClearRequest, RecordedState, Status

from .conftest import NOW
from .test_plan import STATION, _applied, _plan, _profile, _site

INBOX = Confirmations(inbox="inbox.sqlite3")
LATER = NOW + timedelta(minutes=5)


def _answer(
    action_id: str, outcome: str = "accepted", command: str = "set_charging_profile", **fields: str
) -> Event:
    """The final event eDRV sends for an action of this station, with the charger's OCPP status."""
    status = fields.pop("charger_status", "Accepted" if outcome == "accepted" else "Rejected")
    return Event(
        f"evt-{action_id}-{outcome}",
        f"chargestation.{command}.{outcome}",
        "action",
        fields.pop("created_at", "2026-11-23T12:00:02Z"),
        fields.pop("station_id", STATION),
        action_id,
        command,
        outcome,
        status,
        status,
    )


def _requested(tmp_path: Path, *names: str) -> RecordedState:
    """A site of profiles `names` whose sets eDRV took (action `act-<name>`), none answered yet."""
    site = _site(tmp_path, *(_profile(n, 20 + i, 16) for i, n in enumerate(names)))
    state = RecordedState.new("depot")
    for change in _plan(site, None).changes:
        state = record_change(state, change, Status.REQUESTED, NOW, action_id=f"act-{change.name}")
    return state


def _status(state: RecordedState, name: str) -> Status:
    record = state.record(STATION, name)
    assert record is not None
    return record.status


def test_answers_make_requested_sets_accepted_or_rejected_with_the_chargers_reason(tmp_path: Path) -> None:
    """A set takes its answer by action id: accepted, or rejected with the answer; when is the event's."""
    state = _requested(tmp_path, "a", "b")
    result = fold(state, [(_answer("act-a"), LATER), (_answer("act-b", "rejected"), LATER)], LATER)
    a, b = result.state.record(STATION, "a"), result.state.record(STATION, "b")
    assert a is not None
    assert b is not None
    assert (a.status, a.confirmed_at, a.last_error) == (Status.ACCEPTED, "2026-11-23T12:00:02Z", None)
    assert (b.status, b.last_error) == (Status.REJECTED, "the charge point rejected the profile (Rejected)")
    assert [(f.name, f.became) for f in result.folded] == [("a", Status.ACCEPTED), ("b", Status.REJECTED)]
    assert result.unmatched == []


@settings(max_examples=60, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(["accepted", "rejected"]), min_size=4, max_size=4),
    picks=st.lists(st.integers(min_value=0, max_value=5), max_size=14),
)
def test_folding_is_idempotent_and_indifferent_to_order_and_repeats(
    tmp_path_factory: object, outcomes: list[str], picks: list[int]
) -> None:
    """However the answers come (repeated, shuffled, some for unknown actions), the state is the same,
    and folding them again changes nothing."""
    state = _requested(Path(str(tmp_path_factory.mktemp("site"))), "a", "b", "c", "d")  # type: ignore[attr-defined]
    answers = {f"act-{n}": _answer(f"act-{n}", o) for n, o in zip("abcd", outcomes, strict=True)}
    answers["act-zz"] = _answer("act-zz")  # an action no record holds
    keys = sorted(answers)
    received = [(answers[keys[i % len(keys)]], LATER) for i in picks]
    once = fold(state, received, LATER)
    in_order = fold(state, sorted(received, key=lambda item: item[0].action_id or ""), LATER)
    assert once.state == in_order.state
    assert fold(once.state, received, LATER).state == once.state
    for name, outcome in zip("abcd", outcomes, strict=True):
        seen = any(answers[f"act-{name}"] is event for event, _ in received)
        expected = (
            (Status.ACCEPTED if outcome == "accepted" else Status.REJECTED) if seen else Status.REQUESTED
        )
        assert _status(once.state, name) is expected


def test_an_answer_that_came_before_its_action_id_was_written_is_folded_later(tmp_path: Path) -> None:
    """An answer for a call still recorded as pending is reported, kept, and folded once the id is there."""
    site = _site(tmp_path, _profile("a", 20, 16))
    (change,) = _plan(site, None).changes
    pending = record_change(RecordedState.new("depot"), change, Status.PENDING, NOW)
    early = [(_answer("act-a"), LATER)]
    first = fold(pending, early, LATER)
    assert (first.state, [e.action_id for e in first.unmatched]) == (pending, ["act-a"])
    written = record_change(pending, change, Status.REQUESTED, NOW, action_id="act-a")
    assert _status(fold(written, early, LATER).state, "a") is Status.ACCEPTED


def test_unmatched_answers_are_reported_only_since_the_given_moment_and_never_across_stations(
    tmp_path: Path,
) -> None:
    """An answer naming another station does not fold; unmatched ones before `report_since` go unsaid."""
    state = _requested(tmp_path, "a")
    elsewhere = _answer("act-a", station_id="CS-9")
    old, new = _answer("act-x"), _answer("act-y")
    result = fold(state, [(elsewhere, LATER), (old, NOW), (new, LATER)], LATER, report_since=LATER)
    assert _status(result.state, "a") is Status.REQUESTED
    assert [e.action_id for e in result.unmatched] == ["act-a", "act-y"]


def _clearing(tmp_path: Path) -> tuple[RecordedState, Change]:
    """Profile `b` accepted, then removed from desired state and its clear taken by eDRV (`act-clear`)."""
    site = _site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10))
    applied = _applied(_plan(site, None), None)
    removal = _plan(_site(tmp_path, _profile("a", 20, 16)), applied)
    (clear,) = removal.changes
    assert clear.action is Action.CLEAR
    return record_change(applied, clear, Status.REQUESTED, NOW, action_id="act-clear"), clear


def test_a_confirmed_clear_retires_its_record_and_a_refused_one_is_cleared_again(tmp_path: Path) -> None:
    """Accepted or Unknown retires the record as cleared; another refusal leaves it for the next plan."""
    waiting, _ = _clearing(tmp_path)
    record = waiting.record(STATION, "b")
    assert record is not None
    assert record.clearing is not None
    assert (record.status, record.clearing.action_id) == (Status.ACCEPTED, "act-clear")
    for answer in (
        _answer("act-clear", command="clear_charging_profile"),
        _answer("act-clear", "rejected", command="clear_charging_profile", charger_status="Unknown"),
    ):
        done = fold(waiting, [(answer, LATER)], LATER).state.record(STATION, "b")
        assert done is not None
        assert (done.status, done.clearing, done.action_id) == (Status.CLEARED, None, "act-clear")
    refusal = _answer("act-clear", "rejected", command="clear_charging_profile", charger_status="Rejected")
    refused = fold(waiting, [(refusal, LATER)], LATER).state
    kept = refused.record(STATION, "b")
    assert kept is not None
    assert (kept.status, kept.clearing, kept.last_error) == (
        Status.ACCEPTED,
        None,
        "the charge point refused the clear (Rejected)",
    )
    again = _plan(_site(tmp_path, _profile("a", 20, 16)), refused, LATER)
    assert [(c.action, c.name, c.reason) for c in again.changes] == [(Action.CLEAR, "b", "removed")]


def test_a_clear_on_its_way_counts_as_done_and_is_sent_once_more_when_overdue(tmp_path: Path) -> None:
    """Meanwhile nothing is sent (said so with an inbox); overdue with an inbox, one more clear, then none."""
    waiting, _ = _clearing(tmp_path)
    site = _site(tmp_path, _profile("a", 20, 16))
    quiet = build("depot", site, waiting, LATER)
    assert (quiet.changes, quiet.notes, quiet.recorded_count) == ((), (), 1)
    (note,) = build("depot", site, waiting, LATER, INBOX).notes
    assert note.reason == "clear sent at 2026-11-23T12:00:00Z; awaiting the charger's answer"
    overdue = NOW + timedelta(minutes=20)
    assert build("depot", site, waiting, overdue).changes == ()
    (resend,) = build("depot", site, waiting, overdue, INBOX).changes
    assert (resend.action, resend.reason) == (
        Action.CLEAR,
        "clear sent once more: no answer from the charger since 2026-11-23T12:00:00Z",
    )
    twice = record_change(waiting, resend, Status.REQUESTED, overdue, action_id="act-clear-2")
    record = twice.record(STATION, "b")
    assert record is not None
    assert record.clearing is not None
    assert record.clearing.attempts == 2
    final = build("depot", site, twice, overdue + timedelta(minutes=20), INBOX)
    assert final.changes == ()
    assert [n.reason.split(":")[0] for n in final.notes] == ["clear unconfirmed"]


def test_a_rejected_set_waits_for_its_back_off_which_doubles_with_each_rejection(tmp_path: Path) -> None:
    """Rejected: a note with the charger's answer until the back-off ends, then one set; 1 h, then 2 h."""
    site = _site(tmp_path, _profile("a", 20, 16))
    rejected = fold(_requested(tmp_path, "a"), [(_answer("act-a", "rejected"), NOW)], NOW).state
    (note,) = build("depot", site, rejected, NOW + timedelta(minutes=30)).notes
    assert note.reason == (
        "the charge point rejected the profile (Rejected) at 2026-11-23T12:00:02Z; "
        "sent again after 2026-11-23T13:00:02Z or when desired changes"
    )
    (retry,) = build("depot", site, rejected, NOW + timedelta(hours=1, seconds=2)).changes
    assert retry.reason.startswith("retry: the charge point rejected the profile (Rejected) at ")
    resent = record_change(rejected, retry, Status.PENDING, NOW + timedelta(hours=1, seconds=2))
    resent = record_change(
        resent, retry, Status.REQUESTED, NOW + timedelta(hours=1, seconds=2), action_id="r2"
    )
    record = resent.record(STATION, "a")
    assert record is not None
    assert record.attempts == 2
    second = _answer("r2", "rejected", created_at="2026-11-23T13:00:05Z")
    twice = fold(resent, [(second, NOW)], NOW).state
    assert build("depot", site, twice, datetime.fromisoformat("2026-11-23T14:30:00+00:00")).changes == ()
    assert len(build("depot", site, twice, datetime.fromisoformat("2026-11-23T15:00:05+00:00")).changes) == 1
    never = Confirmations(retry_rejected_after=None)
    (held,) = build("depot", site, twice, NOW + timedelta(days=30), never).notes
    assert held.reason.endswith("; sent again when desired changes")
    changed = _site(tmp_path, _profile("a", 20, 15))
    assert [c.reason for c in build("depot", changed, twice, LATER).changes] == ["changed"]


def test_an_unanswered_set_is_sent_once_more_only_with_an_inbox(tmp_path: Path) -> None:
    """Without an inbox a requested set stays as it is; with one, it is awaited, resent once, then shown."""
    site = _site(tmp_path, _profile("a", 20, 16))
    waiting = _requested(tmp_path, "a")
    overdue = NOW + timedelta(minutes=15)
    assert (build("depot", site, waiting, NOW + timedelta(days=2)).changes, ()) == ((), ())
    (awaited,) = build("depot", site, waiting, LATER, INBOX).notes
    assert awaited.reason == "sent at 2026-11-23T12:00:00Z; awaiting the charger's answer"
    (resend,) = build("depot", site, waiting, overdue, INBOX).changes
    assert resend.reason == "sent once more: no answer from the charger since 2026-11-23T12:00:00Z"
    again = record_change(waiting, resend, Status.PENDING, overdue)
    again = record_change(again, resend, Status.REQUESTED, overdue, action_id="act-a-2")
    later = build("depot", site, again, overdue + timedelta(minutes=15), INBOX)
    assert later.changes == ()
    assert [n.reason for n in later.notes] == [
        f"unconfirmed: no answer from the charger since {format_timestamp(overdue)}, after 2 sends; "
        "not sent again (check that the inbox receives eDRV's webhooks)"
    ]


def test_standing_counts_answers_and_tells_when_confirmations_do_not_arrive(tmp_path: Path) -> None:
    """Counts by answer; `receiving` is False only with an inbox that got nothing since an overdue call."""
    state = fold(_requested(tmp_path, "a", "b", "c"), [(_answer("act-a"), LATER)], LATER).state
    state = fold(state, [(_answer("act-b", "rejected"), LATER)], LATER).state
    overdue = NOW + timedelta(hours=1)
    view = standing(state, INBOX, overdue)
    assert (view.accepted, view.awaiting, view.rejected, view.oldest_awaiting) == (1, 1, 1, NOW)
    assert view.receiving is False
    heard = Confirmations(inbox="inbox.sqlite3", last_received_at=LATER)
    assert standing(state, heard, overdue).receiving is True
    assert standing(state, INBOX, LATER).receiving is None, "not overdue yet"
    assert standing(state, Confirmations(), overdue).receiving is None, "no inbox, no telling"


def test_a_resend_of_the_same_payload_counts_attempts_and_a_new_payload_starts_again(tmp_path: Path) -> None:
    """The intent of a resend counts one more attempt, its answer keeps it; a changed payload is 1 again."""
    state = _requested(tmp_path, "a")
    site = _site(tmp_path, _profile("a", 20, 16))
    rejected = fold(state, [(_answer("act-a", "rejected"), NOW)], NOW).state
    (retry,) = build("depot", site, rejected, NOW + timedelta(hours=2)).changes
    intent = record_change(rejected, retry, Status.PENDING, NOW)
    answered = record_change(intent, retry, Status.REQUESTED, NOW, action_id="x")
    attempts = [s.record(STATION, "a").attempts for s in (rejected, intent, answered)]  # type: ignore[union-attr]
    assert attempts == [1, 2, 2]
    (changed,) = build("depot", _site(tmp_path, _profile("a", 20, 12)), answered, NOW).changes
    assert record_change(answered, changed, Status.REQUESTED, NOW).record(STATION, "a").attempts == 1  # type: ignore[union-attr]


def test_a_clear_record_keeps_its_request_until_answered() -> None:
    """A ClearRequest holds the clear's action id, when it was sent, and how many clears were sent."""
    request = ClearRequest(action_id="a", requested_at="2026-11-23T12:00:00Z")
    assert (request.action_id, request.attempts) == ("a", 1)


def test_the_plan_says_when_confirmations_are_not_read_or_not_arriving(tmp_path: Path) -> None:
    """Without an inbox the plan says answers are not received; with a silent one, that none arrive."""
    state = _requested(tmp_path, "a", "b")
    overdue = NOW + timedelta(hours=1)
    (without,) = standing_lines(standing(state, Confirmations(), overdue))
    assert without.startswith("Confirmations are not being received (no --inbox): 2 call(s) await")
    counts, silent = standing_lines(standing(state, INBOX, overdue))
    assert counts.startswith("Confirmations from inbox.sqlite3: 0 accepted, 2 awaiting an answer")
    assert silent.startswith("Confirmations are not arriving: the inbox has received nothing since")
    assert standing_lines(standing(RecordedState.new("depot"), INBOX, overdue)) == []
