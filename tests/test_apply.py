"""Apply: the real eDRV client against an in-memory eDRV; every outcome recorded, nothing lost on a kill."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.edrv.client import EdrvSettings
from reconciler.errors import EdrvAuthError, StateFileError
from reconciler.plan.change import Action
from reconciler.plan.saved import PlanFileError
from reconciler.plan.site import SitePlan
from reconciler.shell.apply import SiteResult, summary
from reconciler.shell.apply_sites import apply_with_client
from reconciler.shell.reconcile import locked, plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import Status

from .conftest import DESIRED, NOW
from .edrv_fake import FakeEdrv, Fault, Received

KEY = "test-key-0123456789"
SETTINGS = EdrvSettings(api_key=KEY, rate_per_s=1e6, burst=1000, backoff_base_s=0, backoff_cap_s=0)


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    """A copy of the shipped example network, so recorded state is written beside it in tmp_path."""
    target = tmp_path / "desired"
    shutil.copytree(DESIRED, target, ignore=shutil.ignore_patterns(".state"))
    return target


def _plan(desired: Path, now: datetime = NOW) -> list[SitePlan]:
    return plan_sites(desired, [], now)


def _apply(
    desired: Path, plans: list[SitePlan], transport: httpx.AsyncBaseTransport, source: str = "the plan"
) -> list[SiteResult]:
    return apply_with_client(
        plans, SETTINGS, desired_dir=desired, state_dir=None, now=NOW, source=source, transport=transport
    )


def _calls(fake: FakeEdrv) -> list[Received]:
    """The sets and clears eDRV received (session lookups left out)."""
    return [r for r in fake.received if r.path != "/v1.1/sessions"]


def _installed(plans: list[SitePlan]) -> dict[str, dict[int, Any]]:
    """What eDRV should hold after the plans' sets: station -> id -> the set's request body."""
    held: dict[str, dict[int, Any]] = {}
    for plan in plans:
        for change in plan.changes:
            if change.action is Action.SET:
                held.setdefault(change.station_id, {})[change.profile_id] = change.request.body
    return held


def test_applying_the_example_network_installs_it_and_a_second_apply_sends_nothing(desired: Path) -> None:
    """Every planned set reaches eDRV once; then the plan is empty and a second apply sends no set/clear."""
    fake = FakeEdrv(KEY)
    plans = _plan(desired)
    results = _apply(desired, plans, fake.transport())
    sets = sum(len(p.changes) for p in plans)
    assert sets > 10
    assert {c.action for p in plans for c in p.changes} == {Action.SET}, "a first apply only sets"
    assert [r.failed for r in results] == [0] * len(results)
    assert len(_calls(fake)) == sets
    assert fake.profiles == _installed(plans)
    again = _plan(desired)
    assert not any(p.has_changes for p in again)
    _apply(desired, again, fake.transport())
    assert len(_calls(fake)) == sets, "only session lookups, no set or clear"


def test_every_answer_is_recorded_with_its_status_and_action_id(desired: Path) -> None:
    """A set eDRV took is recorded as requested with the Action id eDRV gave it."""
    fake = FakeEdrv(KEY)
    results = _apply(desired, _plan(desired), fake.transport())
    assert sum(len(r.sent) for r in results) > 0
    for result in results:
        recorded = state.load(state.state_path(desired, result.site_id), result.site_id)
        assert recorded is not None
        for sent in result.sent:
            record = recorded.record(sent.change.station_id, sent.change.name)
            assert record is not None
            assert (record.status, record.action_id) == (Status.REQUESTED, sent.action_id)
            assert sent.action_id is not None


def test_a_failed_call_is_recorded_with_its_error_and_the_others_go_on(desired: Path) -> None:
    """One station's refusal fails its calls only; the next plan retries exactly those."""
    plans = _plan(desired)
    station = plans[0].changes[0].station_id
    fake = FakeEdrv(KEY)
    fake.fail(Fault(status=422, station_id=station, message="profile not accepted", times=None))
    results = _apply(desired, plans, fake.transport())
    failed = [s for r in results for s in r.sent if not s.ok]
    assert failed
    assert {s.change.station_id for s in failed} == {station}
    assert all("profile not accepted" in (s.error or "") for s in failed)
    others = sum(len(p.changes) for p in plans) - len(failed)
    assert sum(r.accepted for r in results) == others
    retry = _plan(desired)
    assert sorted((c.station_id, c.name) for p in retry for c in p.changes) == sorted(
        (s.change.station_id, s.change.name) for s in failed
    )
    lines = summary(results).splitlines()
    for sent in failed:
        site = next(r.site_id for r in results if sent in r.sent)
        where = f"{site}/{sent.change.station_id}/{sent.change.name}"
        assert f"failed   {where} {sent.change.action} id {sent.change.profile_id}: {sent.error}" in lines


class Killed(BaseException):
    """The process dying mid-apply: not an Exception, so nothing on the way catches it."""


def test_a_kill_mid_apply_loses_no_record_and_the_next_apply_completes(desired: Path) -> None:
    """After a kill at the 5th call, state is intact, nothing sent is unrecorded, and a rerun converges."""
    fake = FakeEdrv(KEY)
    calls = 0

    async def dying(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise Killed
        return await fake.handle(request)

    plans = _plan(desired)
    with pytest.raises(Killed):
        _apply(desired, plans, httpx.MockTransport(dying))
    reached = {(s, i) for s, held in fake.profiles.items() for i in held}
    recorded = {
        (station, record.charging_profile_id)
        for plan in plans
        if (loaded := state.load(state.state_path(desired, plan.site_id), plan.site_id)) is not None
        for station, _, record in loaded.records()
    }
    assert reached <= recorded, "every profile that reached eDRV is in the recorded state"
    resumed = _plan(desired)
    total = sum(len(p.changes) for p in plans)
    resent = sum(len(p.changes) for p in resumed)
    assert total - len(reached) <= resent <= total
    _apply(desired, resumed, fake.transport())
    assert fake.profiles == _installed(plans), "same ids as first planned: nothing re-allocated"
    assert not any(p.has_changes for p in _plan(desired))


def test_a_plan_made_before_another_apply_is_refused_as_stale(desired: Path) -> None:
    """A plan computed against serial N is not sent once the state moved on; nothing is sent."""
    fake = FakeEdrv(KEY)
    first = _plan(desired)
    _apply(desired, first, fake.transport())
    sent = len(fake.received)
    with pytest.raises(PlanFileError, match="stale"):
        _apply(desired, first, fake.transport(), source="saved.json")
    assert len(fake.received) == sent


def test_a_refused_key_stops_the_remaining_calls_which_stay_pending(desired: Path) -> None:
    """After a 401 no further call is sent; the unsent sets remain pending and the next plan sends them."""
    fake = FakeEdrv("another-key")
    # Without session caps, so that the first call to eDRV is a set.
    plans = [replace(p, notes=tuple(n for n in p.notes if n.cap is None)) for p in _plan(desired)]
    results = _apply(desired, plans, fake.transport())
    assert sum(r.accepted for r in results) == 0
    # Each site sees its first call fail (the client refuses at once after the 401); the rest are unsent.
    assert [(r.failed, len(r.unsent)) for r in results] == [(1, len(p.changes) - 1) for p in plans]
    assert len(_calls(fake)) == 1, "nothing after the refusal"
    assert KEY not in summary(results)
    assert "not sent" in summary(results)
    assert [len(p.changes) for p in _plan(desired)] == [len(p.changes) for p in plans]


def test_a_refused_key_on_the_session_lookup_fails_before_any_call(desired: Path) -> None:
    """A 401 while listing sessions ends the apply with the auth error; no set or clear was sent."""
    fake = FakeEdrv("another-key")
    with pytest.raises(EdrvAuthError, match="401"):
        _apply(desired, _plan(desired), fake.transport())
    assert _calls(fake) == []


def test_a_session_cap_is_sent_for_a_running_session_as_edrv_prescribes(desired: Path) -> None:
    """With a session on a cap's connector, apply sends the cap from the session start; others skip."""
    plans = _plan(desired)
    cap = next(
        n for p in plans for n in p.notes if n.cap is not None and n.cap["chargingProfileKind"] == "Absolute"
    )
    assert cap.connector_id is not None
    fake = FakeEdrv(KEY)
    fake.start_session(cap.station_id, cap.connector_id, "2026-11-23T11:50:00Z")
    results = _apply(desired, plans, fake.transport())
    sent = [s for r in results for s in r.sent if s.change.name == cap.name]
    assert len(sent) == 1
    schedule = sent[0].change.request.body["csChargingProfiles"]["chargingSchedule"]
    assert schedule["startSchedule"] == "2026-11-23T11:50:00Z"
    assert schedule["duration"] == 600 + cap.cap["chargingSchedule"]["duration"]  # type: ignore[index]
    caps = [n for p in plans for n in p.notes if n.cap is not None]
    running = (cap.station_id, cap.connector_id)
    sent_caps = {(s.change.station_id, s.change.name) for r in results for s in r.sent if s.change.session_id}
    skipped = {(n.station_id, n.name) for r in results for n in r.skipped}
    assert sent_caps == {(n.station_id, n.name) for n in caps if (n.station_id, n.connector_id) == running}
    assert skipped == {(n.station_id, n.name) for n in caps if (n.station_id, n.connector_id) != running}
    assert skipped, "the example network has caps without a session, and they are skipped"


def test_a_second_apply_on_a_locked_site_fails_at_once(desired: Path) -> None:
    """While one apply holds a site's lock, another is refused with a message naming the lock."""
    with (
        locked(desired, ["harbour-depot"], None, 0),
        pytest.raises(StateFileError, match="another apply holds"),
        locked(desired, ["harbour-depot"], None, 0),
    ):
        pass
