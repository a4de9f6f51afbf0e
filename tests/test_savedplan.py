"""Saved plans: `plan --out` writes what `apply --plan` reads back, and stale or edited plans are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.desired import bounds
from reconciler.desired.loader import zone
from reconciler.plan.outcome import assume_applied
from reconciler.plan.saved import PlanFileError, check_fresh, parse
from reconciler.plan.site import SitePlan, build
from reconciler.render.text import render_json
from reconciler.shell.reconcile import read_saved_plan
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW, run_cli
from .test_plan import _profile, _site

CAP = """      cap:
        connectorId: 2
        stackLevel: 30
        chargingProfilePurpose: TxProfile
        chargingProfileKind: Absolute
        chargingSchedule:
          duration: 1200
          chargingRateUnit: A
          chargingSchedulePeriod:
            - {startPeriod: 0, limit: 10}
"""


def _recorded_and_plan(tmp_path: Path) -> tuple[RecordedState, SitePlan]:
    first = build("depot", _site(tmp_path, _profile("a", 20, 16), _profile("b", 21, 10)), None, NOW)
    recorded = assume_applied(RecordedState.new("depot"), first, NOW).model_copy(update={"serial": 4})
    desired = _site(tmp_path, _profile("a", 20, 12), _profile("c", 22, 8), CAP)
    return recorded, build("depot", desired, recorded, NOW)


def _saved(plan: SitePlan) -> str:
    return render_json([plan], "2026-11-23T12:00:00Z")


def test_a_saved_plan_reads_back_as_the_same_changes_and_notes(tmp_path: Path) -> None:
    """Every change (with its request, before and after) and every note survives the JSON round trip."""
    _, plan = _recorded_and_plan(tmp_path)
    assert {c.action for c in plan.changes} == {"set", "clear"}
    assert any(n.cap is not None for n in plan.notes), "the session cap's body travels with the plan"
    (read,) = parse(_saved(plan), "plan.json")
    assert read.changes == plan.changes
    assert read.notes == plan.notes
    assert (read.recorded_serial, read.recorded_lineage) == (4, plan.recorded_lineage)
    assert (read.recorded_count, read.desired_count) == (plan.recorded_count, plan.desired_count)


def test_a_saved_plan_is_fresh_against_the_state_it_was_made_from(tmp_path: Path) -> None:
    """The recorded state the plan was computed from passes the staleness check."""
    recorded, plan = _recorded_and_plan(tmp_path)
    (read,) = parse(_saved(plan), "plan.json")
    check_fresh(read, recorded, "plan.json")


def test_a_plan_is_stale_once_another_apply_bumped_the_serial(tmp_path: Path) -> None:
    """A state written since planning (higher serial) refuses the plan, naming both serials."""
    recorded, plan = _recorded_and_plan(tmp_path)
    moved = recorded.model_copy(update={"serial": 5})
    with pytest.raises(
        PlanFileError, match=r"plan.json: stale: site depot was planned at serial 4.*serial 5"
    ):
        check_fresh(plan, moved, "plan.json")


def test_a_plan_is_stale_when_the_state_file_was_replaced(tmp_path: Path) -> None:
    """A state file with another lineage (recreated or from elsewhere) refuses the plan."""
    recorded, plan = _recorded_and_plan(tmp_path)
    other = recorded.model_copy(update={"lineage": "0" * 32})
    with pytest.raises(PlanFileError, match="lineage"):
        check_fresh(plan, other, "plan.json")


def test_a_first_plan_is_stale_once_a_state_appeared_and_a_later_one_when_it_vanished(tmp_path: Path) -> None:
    """Planned without state but state exists now, or planned with state that is gone: both refused."""
    recorded, plan = _recorded_and_plan(tmp_path)
    first = build("depot", _site(tmp_path, _profile("a", 20, 16)), None, NOW)
    check_fresh(first, None, "plan.json")
    with pytest.raises(PlanFileError, match="had no recorded state when planned"):
        check_fresh(first, recorded, "plan.json")
    with pytest.raises(PlanFileError, match="has no recorded state now"):
        check_fresh(plan, None, "plan.json")


def test_an_edited_request_body_is_refused(tmp_path: Path) -> None:
    """A body that no longer matches the change's own fields (a hand edit) is refused, naming the profile."""
    _, plan = _recorded_and_plan(tmp_path)
    document = json.loads(_saved(plan))
    change = document["sites"][0]["changes"][0]
    change["request"]["body"]["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0][
        "limit"
    ] = 99
    with pytest.raises(PlanFileError, match=rf"site depot, CS-1/{change['profile']}: its request is not"):
        parse(json.dumps(document), "plan.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"format_version": 9, "sites": []}', "format_version 9 is not one this reconciler reads"),
        ('{"format_version": [1], "sites": []}', r"format_version \[1\] is not one this reconciler reads"),
        ("[" * 100_000 + "]" * 100_000, "not a saved plan"),
        (
            '{"format_version": 1, "generated_at": "x", "sites": [{"site": "a"}]}',
            r"sites\.0\.recorded_serial",
        ),
    ],
)
def test_a_file_that_is_not_a_saved_plan_is_refused_with_its_name(text: str, message: str) -> None:
    """Invalid JSON, an unknown version or a missing field is one clear error naming the file."""
    with pytest.raises(PlanFileError, match=rf"^plan.json: .*{message}"):
        parse(text, "plan.json")


def test_plan_out_writes_a_plan_that_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`reconciler plan --out FILE` saves the JSON plan while printing the text plan as usual."""
    _site(tmp_path, _profile("a", 20, 16))
    out = tmp_path / "saved.json"
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--desired", str(tmp_path), "--out", str(out), "--now", "2026-11-23T12:00:00Z"])
    assert exited.value.code == 0
    assert "set   CS-1/a" in capsys.readouterr().out
    (read,) = parse(out.read_text(), str(out))
    assert [(c.action, c.name, c.profile_id) for c in read.changes] == [("set", "a", 1)]
    assert read.recorded_serial is None


def test_a_saved_plan_is_compact_and_says_when_apply_would_need_a_larger_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plan --out` writes the JSON plan without indentation, in under half the bytes of `--format json`,
    reading back as the same plan; one larger than `apply --plan` reads is written with a warning naming
    the setting that lets apply read it."""
    sites = sorted(p.stem for p in DESIRED.glob("*.yaml"))
    out = tmp_path / "plan.json"
    args = ["plan", *sites, "--desired", str(DESIRED), "--now", "2026-11-23T12:00:00Z"]
    code, shown, _ = run_cli(capsys, *args, "--format", "json", "--out", str(out))
    assert code == 0
    saved = out.read_text(encoding="utf-8")
    assert saved.count("\n") == 1
    assert len(saved) * 2 < len(shown)
    assert json.loads(saved) == json.loads(shown)
    assert [p.changes for p in read_saved_plan(out)] == [p.changes for p in parse(shown, "shown", zone)]
    monkeypatch.setenv(bounds.STATE_FILE_SETTING, str(len(saved) / 2 / bounds.MB))
    code, _, err = run_cli(capsys, *args, "--out", str(out))
    assert code == 0
    assert f"more than the {len(saved) / 2 / bounds.MB:,.1f} MB `apply --plan` reads" in err
    assert f"set {bounds.STATE_FILE_SETTING}=<megabytes>" in err
