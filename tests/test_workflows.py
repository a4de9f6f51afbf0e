"""The GitHub Actions files, checked without running them: actionlint, shellcheck, and the safety rules."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .workflow_runner import load_workflow

WORKFLOWS = ROOT / ".github" / "workflows"
ACTION_DIR = ROOT / ".github" / "actions" / "reconcile"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
COMPOSITE_STEP_KEYS = {"name", "id", "if", "run", "shell", "uses", "with", "env", "working-directory"}


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed: python -m pip install -e '.[test]'"
    return found


def _workflow(name: str) -> dict[str, Any]:
    return load_workflow(WORKFLOWS / name)


def _action() -> dict[str, Any]:
    return load_workflow(ACTION_DIR / "action.yml")


def _steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in document:
        steps: list[dict[str, Any]] = document["runs"]["steps"]
        return steps
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def test_the_expected_workflows_exist() -> None:
    """Plan, its comment relay, apply and the project's CI are all there (a rename breaks the docs)."""
    assert [p.name for p in WORKFLOW_FILES] == ["apply.yml", "ci.yml", "plan-comment.yml", "plan.yml"]


def test_actionlint_finds_nothing() -> None:
    """actionlint (with shellcheck on every run: script) reports no finding in any workflow."""
    _tool("shellcheck")  # without it actionlint silently skips the scripts
    done = subprocess.run(
        [_tool("actionlint"), "-oneline", "-no-color", *map(str, WORKFLOW_FILES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout + done.stderr == ""
    assert done.returncode == 0


def test_shellcheck_finds_nothing_in_the_action() -> None:
    """actionlint does not read action.yml, so its run: scripts and its shell files get shellcheck here."""
    sources: list[tuple[str, str, list[str]]] = [
        (path.name, path.read_text(), []) for path in sorted(ACTION_DIR.glob("*.sh"))
    ]
    sources += [
        # A step's variables come from its env: block, which shellcheck cannot see (as actionlint does).
        (f"action.yml: {step.get('name')}", step["run"], ["--exclude=SC2153,SC2154"])
        for step in _steps(_action())
        if "run" in step
    ]
    findings = []
    for name, text, options in sources:
        done = subprocess.run(
            [_tool("shellcheck"), "--shell=bash", "--format=gcc", *options, "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        findings += [f"{name}: {line}" for line in done.stdout.splitlines()]
    assert findings == []


def test_the_composite_action_is_well_formed() -> None:
    """Every step has known keys, run steps name their shell, and every input and step it uses exists."""
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = set(action["inputs"])
    assert {"command", "sites", "working-directory", "force", "python-version"} <= inputs
    ids = {step["id"] for step in _steps(action) if "id" in step}
    text = (ACTION_DIR / "action.yml").read_text()
    for step in _steps(action):
        assert set(step) <= COMPOSITE_STEP_KEYS, step.get("name")
        assert ("run" in step) != ("uses" in step), step.get("name")
        if "run" in step:
            assert step.get("shell") == "bash", step.get("name")
    assert set(re.findall(r"inputs\.([a-z-]+)", text)) <= inputs
    assert set(re.findall(r"steps\.([a-z-]+)\.", text)) <= ids


def test_no_script_has_an_expression_in_it() -> None:
    """Values reach run: scripts only through env, so no text (a branch name, an input) becomes shell code."""
    scripts = [
        (path.name, step.get("name"), step["run"])
        for path in [*WORKFLOW_FILES, ACTION_DIR / "action.yml"]
        for step in _steps(load_workflow(path))
        if "run" in step
    ]
    assert {name for name, _, _ in scripts} == {"action.yml", "ci.yml", "plan-comment.yml", "plan.yml"}
    assert [(name, step) for name, step, script in scripts if "${{" in script] == []


@pytest.mark.parametrize("path", [*WORKFLOW_FILES, ACTION_DIR / "action.yml"], ids=lambda p: p.name)
def test_every_action_from_elsewhere_is_pinned_to_a_commit(path: Path) -> None:
    """A third-party action is pinned by its full commit SHA (a tag can be moved), its release beside it."""
    text = path.read_text()
    for step in _steps(load_workflow(path)):
        if "uses" in step and step["uses"] != "./.github/actions/reconcile":
            assert re.fullmatch(r"actions/[a-z-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            assert re.search(re.escape(step["uses"]) + r" # v\d+\.\d+\.\d+\n", text), step["uses"]


def test_plan_is_fork_safe() -> None:
    """Plan runs on pull_request (not _target), with a read-only token and no secrets, so forks get it too."""
    plan = _workflow("plan.yml")
    assert set(plan["on"]) == {"pull_request"}
    assert plan["on"]["pull_request"]["paths"] == ["desired/**"]
    assert plan["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in plan["jobs"].values())
    assert "secrets." not in (WORKFLOWS / "plan.yml").read_text()


def test_the_comment_relay_never_runs_the_pull_requests_files() -> None:
    """The workflow holding a write token checks out the default branch only and is the only writer."""
    relay = _workflow("plan-comment.yml")
    assert relay["on"] == {"workflow_run": {"workflows": ["plan"], "types": ["completed"]}}
    assert relay["permissions"] == {"contents": "read"}
    job = relay["jobs"]["comment"]
    assert job["permissions"]["pull-requests"] == "write"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert "ref" not in checkout.get("with", {})
    assert "repository" not in checkout.get("with", {})


def test_apply_triggers_on_merges_a_schedule_and_by_hand() -> None:
    """Apply runs on pushes to main under desired/, on an odd-minute schedule, and by hand (sites, force)."""
    triggers = _workflow("apply.yml")["on"]
    assert triggers["push"] == {"branches": ["main"], "paths": ["desired/**"]}
    for entry in triggers["schedule"]:
        minute = entry["cron"].split()[0]
        assert all(int(m) % 2 == 1 for m in minute.split(",")), minute
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"sites", "force"}
    assert triggers["workflow_dispatch"]["inputs"]["force"]["type"] == "boolean"


def test_apply_runs_one_at_a_time_and_never_cancels_a_running_apply() -> None:
    """One concurrency group for the whole workflow (so no site is in two running jobs), never cancelling."""
    workflow = _workflow("apply.yml")
    assert workflow["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    apply = workflow["jobs"]["apply"]
    assert "concurrency" not in apply
    strategy = apply["strategy"]
    assert strategy["fail-fast"] is False
    assert strategy["matrix"] == {"include": "${{ fromJSON(needs.sites.outputs.jobs) }}"}
    assert apply["permissions"] == {"contents": "write"}
    assert workflow["permissions"] == {"contents": "read"}


def test_apply_jobs_are_batched_and_only_sites_that_need_work_are_listed() -> None:
    """The listing asks for sites that need work (but by hand) in a few jobs, RECONCILER_APPLY_JOBS or 4."""
    (listing,) = [s for s in _workflow("apply.yml")["jobs"]["sites"]["steps"] if s.get("id") == "list"]
    assert listing["with"]["needs-work"] == "${{ github.event_name != 'workflow_dispatch' }}"
    assert listing["with"]["max-jobs"] == "${{ vars.RECONCILER_APPLY_JOBS || '4' }}"


def test_the_key_reaches_only_apply_jobs_in_the_environment_and_only_their_reconciler_step() -> None:
    """The eDRV key is read in the `edrv` environment's apply job, handed to the action as an input that
    only the step running the reconciler puts in its environment; nothing else in any workflow reads it."""
    jobs = _workflow("apply.yml")["jobs"]
    assert jobs["apply"]["environment"] == "edrv"
    assert "environment" not in jobs["sites"]
    readers = [
        (path.name, step.get("name"))
        for path in WORKFLOW_FILES
        for step in _steps(load_workflow(path))
        if "EDRV_API_KEY" in str(step)
    ]
    assert readers == [("apply.yml", "Apply")]
    (apply_step,) = [s for s in jobs["apply"]["steps"] if s.get("name") == "Apply"]
    assert apply_step["with"]["edrv-api-key"] == "${{ secrets.EDRV_API_KEY }}"
    assert "env" not in apply_step
    assert apply_step["with"]["inbox-token"] == "${{ secrets.RECONCILER_INBOX_TOKEN }}"
    for secret in ("RECONCILER_INBOX_TOKEN", "RECONCILER_APP_PRIVATE_KEY"):
        readers = [
            (path.name, step.get("name") or step.get("id"))
            for path in WORKFLOW_FILES
            for step in _steps(load_workflow(path))
            if f"secrets.{secret}" in str(step)
        ]
        assert len(readers) == 1, readers
    for given in ("inputs.edrv-api-key", "inputs.inbox-token"):
        action_steps = [s for s in _steps(_action()) if given in str(s)]
        assert [s.get("id") for s in action_steps] == ["run"], given


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """The CI workflow runs exactly the README's test command, the line .ci/run runs on every submission."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```sh\n(python -m pip install -e '\.\[test\]'[^\n]*)\n```", readme)
    assert command is not None
    runs = [step["run"].strip() for step in _steps(_workflow("ci.yml")) if "run" in step]
    assert runs == [command.group(1)]
    assert command.group(1) in (ROOT / ".ci" / "run").read_text().splitlines()
