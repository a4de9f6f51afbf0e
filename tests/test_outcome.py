"""How the outcome of each sent call, and of each retiring note, is folded into recorded state."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reconciler.plan.change import Action
from reconciler.plan.outcome import assume_applied, record_change, record_note
from reconciler.plan.site import SitePlan, build
from reconciler.state.recorded import RecordedState, Status

from .conftest import NOW
from .test_plan import STATION, _profile, _site


def _first(tmp_path: Path) -> tuple[RecordedState, SitePlan]:
    plan = build("depot", _site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10)), None, NOW)
    return RecordedState.new("depot"), plan


def test_a_pending_set_records_the_payload_and_id_before_any_answer(tmp_path: Path) -> None:
    """The intent of a set holds its allocated id and payload, so a crash cannot lose or re-allocate it."""
    state, plan = _first(tmp_path)
    change = plan.changes[0]
    pending = record_change(state, change, Status.PENDING, NOW)
    record = pending.record(STATION, change.name)
    assert record is not None
    assert (record.status, record.charging_profile_id, record.payload) == (
        Status.PENDING,
        change.profile_id,
        change.after,
    )
    assert pending.high_water_id(STATION) == change.profile_id


def test_a_failed_set_keeps_its_error_and_is_retried_by_the_next_plan(tmp_path: Path) -> None:
    """A set that failed is recorded with the error; the next plan sends it again under the same id."""
    state, plan = _first(tmp_path)
    site = _site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10))
    applied = assume_applied(state, plan, NOW)
    failed = record_change(applied, plan.changes[0], Status.FAILED, NOW, error="HTTP 503")
    record = failed.record(STATION, plan.changes[0].name)
    assert record is not None
    assert record.last_error == "HTTP 503"
    again = build("depot", site, failed, NOW)
    assert [(c.name, c.profile_id, c.reason) for c in again.changes] == [
        (plan.changes[0].name, plan.changes[0].profile_id, "retry: the last attempt was failed")
    ]


def test_a_cleared_record_is_retired_and_a_failed_clear_is_tried_again(tmp_path: Path) -> None:
    """A clear eDRV took marks the record cleared; a failed one leaves it live with the error."""
    state, plan = _first(tmp_path)
    applied = assume_applied(state, plan, NOW)
    removal = build("depot", _site(tmp_path, _profile("a", 20, 16)), applied, NOW)
    (clear,) = removal.changes
    assert clear.action is Action.CLEAR
    cleared = record_change(applied, clear, Status.CLEARED, NOW, action_id="act-1")
    record = cleared.record(STATION, "b")
    assert record is not None
    assert (record.status, record.action_id) == (Status.CLEARED, "act-1")
    failed = record_change(applied, clear, Status.FAILED, NOW, error="timeout")
    kept = failed.record(STATION, "b")
    assert kept is not None
    assert (kept.status, kept.last_error) == (Status.ACCEPTED, "timeout")
    assert build("depot", _site(tmp_path, _profile("a", 20, 16)), failed, NOW).changes == removal.changes


def test_a_clear_of_an_id_no_longer_recorded_changes_nothing(tmp_path: Path) -> None:
    """When the name's record already holds a newer id, the clear of the old id leaves it alone."""
    state, plan = _first(tmp_path)
    applied = assume_applied(state, plan, NOW)
    removal = build("depot", _site(tmp_path, _profile("a", 20, 16)), applied, NOW)
    (clear,) = removal.changes
    record = applied.record(STATION, "b")
    assert record is not None
    renumbered = applied.with_record(STATION, "b", record.model_copy(update={"charging_profile_id": 7}))
    assert record_change(renumbered, clear, Status.CLEARED, NOW) == renumbered


def test_a_note_retires_its_record_with_the_notes_status(tmp_path: Path) -> None:
    """A 'replaced in its slot' note marks the old record replaced; notes without retire change nothing."""
    state, plan = _first(tmp_path)
    applied = assume_applied(state, plan, NOW)
    swap = build("depot", _site(tmp_path, _profile("a", 20, 16), _profile("c", 21, 8)), applied, NOW)
    (note,) = swap.notes
    assert note.retire is Status.REPLACED
    record = record_note(applied, note, NOW).record(STATION, "b")
    assert record is not None
    assert record.status is Status.REPLACED
    assert record_note(applied, replace(note, retire=None), NOW) == applied
