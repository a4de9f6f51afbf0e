"""Session caps at apply time: sent for a running session, once per session, retired when it ends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from reconciler.edrv.wire import Session
from reconciler.ocpp.profile import parse_timestamp
from reconciler.plan.change import Action
from reconciler.plan.outcome import assume_applied, record_change
from reconciler.plan.sessions import resolve_caps
from reconciler.plan.site import SitePlan, build
from reconciler.state.recorded import RecordedState, Status

from .conftest import NOW
from .test_plan import STATION, _profile, _site
from .test_savedplan import CAP

STARTED = "2026-11-23T11:50:00Z"  # ten minutes before NOW


def _plan(tmp_path: Path, recorded: RecordedState | None = None) -> SitePlan:
    return build("depot", _site(tmp_path, CAP), recorded, NOW)


def test_a_running_session_gets_the_cap_computed_from_its_start(tmp_path: Path) -> None:
    """With a session on the cap's connector, one set: start = session start, duration = elapsed + desired."""
    plan = _plan(tmp_path)
    changes, notes = resolve_caps(
        plan, RecordedState.new("depot"), {STATION: [_session("s1", 2, STARTED)]}, NOW
    )
    assert notes == []
    (change,) = changes
    assert (change.action, change.connector_id, change.session_id) == (Action.SET, 2, "s1")
    schedule = change.request.body["csChargingProfiles"]["chargingSchedule"]
    assert schedule["startSchedule"] == STARTED
    assert schedule["duration"] == 600 + 1200


def test_a_session_on_another_connector_does_not_count(tmp_path: Path) -> None:
    """Without a session on the cap's own connector nothing is sent, and the note says so."""
    plan = _plan(tmp_path)
    changes, notes = resolve_caps(
        plan, RecordedState.new("depot"), {STATION: [_session("s1", 1, STARTED)]}, NOW
    )
    assert changes == []
    assert [(n.name, n.reason, n.retire) for n in notes] == [
        ("cap", "no session on connector 2; nothing sent", None)
    ]


def test_a_cap_already_sent_for_the_running_session_is_not_sent_again(tmp_path: Path) -> None:
    """A cap recorded as requested for this very session needs no second call."""
    plan = _plan(tmp_path)
    sessions = {STATION: [_session("s1", 2, STARTED)]}
    (change,), _ = resolve_caps(plan, RecordedState.new("depot"), sessions, NOW)
    recorded = record_change(RecordedState.new("depot"), change, Status.REQUESTED, NOW)
    later = NOW + timedelta(minutes=5)
    changes, notes = resolve_caps(_plan(tmp_path, recorded), recorded, sessions, later)
    assert changes == []
    assert [n.reason for n in notes] == ["already sent for session s1"]


def test_a_cap_whose_session_ended_is_retired_without_a_call(tmp_path: Path) -> None:
    """When the session the cap was sent for is over, the record retires as expired and nothing is sent."""
    plan = _plan(tmp_path)
    (change,), _ = resolve_caps(
        plan, RecordedState.new("depot"), {STATION: [_session("s1", 2, STARTED)]}, NOW
    )
    recorded = record_change(RecordedState.new("depot"), change, Status.ACCEPTED, NOW)
    changes, notes = resolve_caps(_plan(tmp_path, recorded), recorded, {STATION: []}, NOW)
    assert changes == []
    assert [(n.reason, n.retire) for n in notes] == [
        ("session s1 has ended; the charger dropped its cap", Status.EXPIRED)
    ]


def test_a_new_session_gets_the_cap_again_under_the_same_id(tmp_path: Path) -> None:
    """A cap recorded for an earlier session is sent again for the new one, keeping its id."""
    plan = _plan(tmp_path)
    (first,), _ = resolve_caps(plan, RecordedState.new("depot"), {STATION: [_session("s1", 2, STARTED)]}, NOW)
    recorded = record_change(RecordedState.new("depot"), first, Status.ACCEPTED, NOW)
    sessions = {STATION: [_session("s2", 2, "2026-11-23T11:59:00Z")]}
    (second,), notes = resolve_caps(_plan(tmp_path, recorded), recorded, sessions, NOW)
    assert notes == []
    assert (second.session_id, second.profile_id) == ("s2", first.profile_id)
    assert second.request.body["csChargingProfiles"]["chargingSchedule"]["duration"] == 60 + 1200


def _session(session_id: str, connector_id: int, started: str) -> Session:
    return Session(session_id, STATION, connector_id, parse_timestamp(started), "active")


def test_a_cap_is_held_back_while_the_plan_clears_its_id(tmp_path: Path) -> None:
    """A standing profile turned cap is cleared first; its cap waits for the next apply."""
    standing = build("depot", _site(tmp_path, _profile("cap", 30, 16, connector=2)), None, NOW)
    recorded = assume_applied(RecordedState.new("depot"), standing, NOW)
    plan = _plan(tmp_path, recorded)
    assert [(c.action, c.name) for c in plan.changes] == [(Action.CLEAR, "cap")]
    changes, notes = resolve_caps(plan, recorded, {STATION: [_session("s1", 2, STARTED)]}, NOW)
    assert changes == []
    assert [n.reason for n in notes] == ["sent by the next apply, once this plan has cleared its id"]
