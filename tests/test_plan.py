"""The plan's minimal-change rules, id allocation, power-safe order and safety rails."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.desired.loader import load_site
from reconciler.desired.validate import DesiredSite
from reconciler.errors import UnsafePlanError
from reconciler.plan.change import Action, Effect
from reconciler.plan.outcome import assume_applied, record_change
from reconciler.plan.safety import check_safety
from reconciler.plan.site import PlanError, SitePlan, build
from reconciler.state.recorded import RecordedState, Status

from .conftest import NOW

STATION = "CS-1"


def _profile(name: str, stack: int, limit: float, connector: int = 1, extra: str = "") -> str:
    # The name as a JSON string, a valid YAML key whatever characters it holds.
    return f"""      {json.dumps(name)}:
        connectorId: {connector}
        stackLevel: {stack}
        chargingProfilePurpose: TxDefaultProfile
        chargingProfileKind: Recurring
        recurrencyKind: Daily{extra}
        chargingSchedule:
          startSchedule: 2026-01-01T00:00:00Z
          duration: 86400
          chargingRateUnit: A
          chargingSchedulePeriod:
            - {{startPeriod: 0, limit: {limit}}}
"""


def _site(tmp_path: Path, *profiles: str, name: str = "depot") -> DesiredSite:
    body = "".join(profiles) if profiles else "      {}\n"
    text = f"site:\n  name: Depot\nstations:\n  {STATION}:\n    connectors: 2\n    rated_power_kw: 22\n"
    text += "    profiles:\n" + body
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    site, problems = load_site(path, NOW)
    assert site is not None, problems
    return site


def _applied(plan: SitePlan, recorded: RecordedState | None) -> RecordedState:
    """Recorded state after every call of `plan` was accepted (what apply will write)."""
    return assume_applied(recorded or RecordedState.new(plan.site_id), plan, NOW)


def _plan(site: DesiredSite | None, recorded: RecordedState | None, now: datetime = NOW) -> SitePlan:
    return build("depot", site, recorded, now)


def test_new_profiles_are_one_set_each_and_a_second_plan_is_empty(tmp_path: Path) -> None:
    """New profiles are one set each with fresh ids; after applying, the next plan has no change at all."""
    site = _site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10))
    first = _plan(site, None)
    assert [(c.action, c.name, c.profile_id) for c in first.changes] == [
        (Action.SET, "a", 1),
        (Action.SET, "b", 2),
    ]
    second = _plan(site, _applied(first, None))
    assert second.changes == ()
    assert not second.has_changes


def test_a_changed_profile_is_one_set_under_its_recorded_id(tmp_path: Path) -> None:
    """Changing a limit sends one set with the same id, shows before and after, and no clear."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16)), None), None)
    plan = _plan(_site(tmp_path, _profile("a", 20, 12)), recorded)
    assert [(c.action, c.profile_id, c.reason, c.effect) for c in plan.changes] == [
        (Action.SET, 1, "changed", Effect.LOWERS)
    ]
    record = recorded.record(STATION, "a")
    assert record is not None
    (change,) = plan.changes
    assert (change.before, change.before_connector_id) == (record.payload, 1)
    assert change.after is not None
    assert change.after["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 12}]


def test_moving_a_profile_to_another_connector_or_stack_level_is_still_one_set(tmp_path: Path) -> None:
    """A new connector or stack level replaces by id: one set, never clear-then-set."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16)), None), None)
    plan = _plan(_site(tmp_path, _profile("a", 25, 16, connector=2)), recorded)
    assert [(c.action, c.profile_id, c.connector_id) for c in plan.changes] == [(Action.SET, 1, 2)]


def test_a_removed_profile_is_one_clear_by_id(tmp_path: Path) -> None:
    """Removing a profile from desired sends one clear of its recorded id, which raises a limit."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10)), None), None)
    plan = _plan(_site(tmp_path, _profile("a", 20, 16)), recorded)
    assert [(c.action, c.name, c.profile_id, c.effect) for c in plan.changes] == [
        (Action.CLEAR, "b", 2, Effect.RAISES)
    ]
    assert plan.changes[0].request.body == {"id": 2, "connectorId": 1}


def test_no_clear_when_a_new_profile_takes_the_removed_ones_slot(tmp_path: Path) -> None:
    """A set into the same (connector, purpose, stack level) replaces the old one: retired, not cleared."""
    recorded = _applied(_plan(_site(tmp_path, _profile("old", 20, 16)), None), None)
    plan = _plan(_site(tmp_path, _profile("new", 20, 10)), recorded)
    assert [(c.action, c.name) for c in plan.changes] == [(Action.SET, "new")]
    assert [(n.name, n.retire) for n in plan.notes] == [("old", Status.REPLACED)]
    assert plan.changes[0].profile_id == 2, "a fresh id, never the replaced profile's"


def test_an_expired_recorded_profile_is_retired_without_a_call(tmp_path: Path) -> None:
    """A recorded profile past its validTo has left the charger: no clear, the record is retired."""
    expiring = _profile("a", 20, 16, extra="\n        validTo: 2026-12-01T00:00:00Z")
    recorded = _applied(_plan(_site(tmp_path, expiring), None), None)
    later = datetime.fromisoformat("2026-12-02T00:00:00+00:00")
    plan = _plan(_site(tmp_path, _profile("b", 21, 10)), recorded, now=later)
    assert [(c.action, c.name) for c in plan.changes] == [(Action.SET, "b")]
    assert [(n.name, n.retire) for n in plan.notes] == [("a", Status.EXPIRED)]


def test_a_profile_whose_slot_a_failed_set_may_have_taken_is_sent_again(tmp_path: Path) -> None:
    """An unchanged profile is resent when another profile's failed set went into its slot."""
    site = _site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10))
    first = _plan(site, None)
    recorded = _applied(first, None)
    b = next(c for c in first.changes if c.name == "b")
    assert b.after is not None
    into_a = replace(b, after={**b.after, "stackLevel": 20})  # an earlier version of b, in a's slot
    failed = record_change(recorded, into_a, Status.FAILED, NOW, error="timeout")
    plan = _plan(site, failed)
    assert sorted((c.action, c.name, c.profile_id, c.reason) for c in plan.changes) == [
        (Action.SET, "a", 1, "resent: a set into its slot failed and may have replaced it"),
        (Action.SET, "b", 2, "changed"),
    ]
    assert _plan(site, _applied(plan, failed)).changes == ()


def test_a_pinned_id_recorded_for_another_profile_is_an_error(tmp_path: Path) -> None:
    """Pinning an id the charger may still hold for another profile is refused."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16)), None), None)
    pinned = _profile("b", 21, 10, extra="\n        chargingProfileId: 1")
    with pytest.raises(PlanError, match="recorded for 'a'"):
        _plan(_site(tmp_path, pinned), recorded)


def test_ids_are_never_reused_after_a_clear(tmp_path: Path) -> None:
    """After a profile is cleared, a new one gets an id above every id the station ever used."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10)), None), None)
    cleared = _applied(_plan(_site(tmp_path, _profile("a", 20, 16)), recorded), recorded)
    plan = _plan(_site(tmp_path, _profile("a", 20, 16), _profile("c", 22, 8)), cleared)
    assert [(c.name, c.profile_id) for c in plan.changes] == [("c", 3)]


def test_lowering_changes_are_sent_before_raising_ones(tmp_path: Path) -> None:
    """Clears and raised limits come after every change that only lowers a limit."""
    # b sits on the other connector, so it hides neither a's raise nor c's cut.
    b = _profile("b", 21, 10, connector=2)
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16), b), None), None)
    plan = _plan(_site(tmp_path, _profile("a", 20, 32), _profile("c", 22, 8)), recorded)
    assert [(c.name, c.effect) for c in plan.changes] == [
        ("c", Effect.LOWERS), ("a", Effect.RAISES), ("b", Effect.RAISES)
    ]  # fmt: skip


def test_clearing_every_profile_of_a_deleted_site_needs_force(tmp_path: Path) -> None:
    """A site whose file is gone is planned as clears of everything, refused without --force."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16)), None), None)
    plan = _plan(None, recorded)
    assert [(c.action, c.name) for c in plan.changes] == [(Action.CLEAR, "a")]
    with pytest.raises(UnsafePlanError, match=r"clears all 1 recorded profiles.*--force"):
        check_safety(plan, force=False)
    check_safety(plan, force=True)


def test_the_rails_judge_a_plan_before_its_changes_are_rated(tmp_path: Path) -> None:
    """`refuse` sees the plan's calls before any composite is computed (no power basis yet, every change
    at the unrated default), and what it raises stops the build; passed, the plan is rated as without it."""
    recorded = _applied(_plan(_site(tmp_path, _profile("a", 20, 16)), None), None)
    seen: list[SitePlan] = []

    def refuse(plan: SitePlan) -> None:
        seen.append(plan)
        check_safety(plan, force=False)

    with pytest.raises(UnsafePlanError, match=r"clears all 1 recorded profiles"):
        build("depot", None, recorded, NOW, refuse=refuse)
    ((unrated,),) = (seen,)
    assert [(c.action, c.name) for c in unrated.changes] == [(Action.CLEAR, "a")]
    assert unrated.power is None
    raised = _site(tmp_path, _profile("a", 20, 32))
    passed = build("depot", raised, recorded, NOW, refuse=lambda plan: None)
    assert passed == _plan(raised, recorded)
    assert [c.effect for c in passed.changes] == [Effect.RAISES]


def test_changing_too_large_a_share_needs_force(tmp_path: Path) -> None:
    """Changing 4 of 10 recorded profiles (40% > 30%) is refused with the numbers; 3 of 10 passes."""
    names = [f"p{i}" for i in range(10)]
    site = _site(tmp_path, *(_profile(n, 20 + i, 16) for i, n in enumerate(names)))
    recorded = _applied(_plan(site, None), None)
    three = _site(tmp_path, *(_profile(n, 20 + i, 12 if i < 3 else 16) for i, n in enumerate(names)))
    check_safety(_plan(three, recorded), force=False)
    four = _site(tmp_path, *(_profile(n, 20 + i, 12 if i < 4 else 16) for i, n in enumerate(names)))
    with pytest.raises(
        UnsafePlanError, match=r"site depot: .* 4 of 10 recorded profiles \(40% > 30% allowed\)"
    ):
        check_safety(_plan(four, recorded), force=False)
