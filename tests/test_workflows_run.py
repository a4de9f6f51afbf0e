"""The workflows' steps, executed: plan, the comment relay and apply, in a throwaway operator repository.

Each test makes a bare git "origin" holding a copy of desired/ and .github/, and runs the workflows' jobs
with `workflow_runner`: every `run:` step (the composite action's included) runs in bash with the
variables and files GitHub provides. What cannot run here is stood in for: `actions/checkout` fetches from
the origin, artifacts are folders, and `gh` is a fake that keeps one pull request's comments. eDRV is
`reconciler sandbox`, started on loopback with a simulated charge point for every station of desired/.
The one command never executed is the action's `pip install`: each job starts as if it had installed this
checkout's reconciler.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import DESIRED, ROOT
from .workflow_runner import ActionCall, JobResult, Runner, StepFailedError, load_workflow

API_KEY = "test-key-not-a-secret"
WEBHOOK_SECRET = "test-webhook-secret"
SANDBOX_START_S = 60
MARKER = "<!-- reconciler plan -->"
BOT = "github-actions[bot]"
REPOSITORY = "operator/network"
HARBOUR = "harbour-depot"
EXAMPLES = "edrv-examples"
LAKESIDE = "lakeside-offices"

FAKE_GH = """\
import json, os, sys
state_path = os.environ["FAKE_GH_STATE"]
with open(state_path) as f:
    state = json.load(f)
args = sys.argv[1:]
if not os.environ.get("GH_TOKEN"):
    sys.exit("gh: no GH_TOKEN")
if args[:1] != ["api"]:
    sys.exit("gh: only `gh api` is faked")
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = next(a for a in args[1:] if a.startswith("repos/"))
if method == "GET" and "/pulls/" in path:
    print(json.dumps({"number": int(path.rsplit("/", 1)[1]), "head": {"sha": state["head_sha"]}}))
elif method == "GET":
    comments = state["comments"]
    for start in range(0, max(len(comments), 1), 2):  # pages of two, as --paginate prints them
        print(json.dumps(comments[start : start + 2]))
else:
    body = json.load(sys.stdin)["body"]
    if method == "POST":
        comment = {"id": 100 + len(state["comments"]), "body": body, "user": {"login": "github-actions[bot]"}}
        state["comments"].append(comment)
    else:
        comment_id = int(path.rsplit("/", 1)[1])
        next(c for c in state["comments"] if c["id"] == comment_id)["body"] = body
    print("{}")
with open(state_path, "w") as f:
    json.dump(state, f)
"""


@dataclass
class Sandbox:
    """A running `reconciler sandbox` (a local eDRV with a simulated charge point per desired station)."""

    url: str

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", timeout=10).json()

    def calls(self, route: str) -> int:
        """How many requests of one route (set_charging_profile, clear_charging_profile…) it received."""
        return int(self.get("/_sandbox/stats")["requests"].get(route, 0))

    def sent(self) -> int:
        return self.calls("set_charging_profile") + self.calls("clear_charging_profile")

    def fault(self, faults: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/_sandbox/faults", json=faults, timeout=30).raise_for_status()


@contextlib.contextmanager
def _process(command: list[str], log: Path, ready: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A reconciler command running in the background until the block ends (Ctrl-C, as its README says);
    yields the first match of `ready` (a regular expression with one group) in its output."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *command], stdout=out, stderr=subprocess.STDOUT,
            cwd=log.parent, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + SANDBOX_START_S
        while not (found := re.search(ready, log.read_text())):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{command[0]} did not start: {log.read_text()}"
            time.sleep(0.1)
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # it may have inherited SIGINT ignored: end it plainly
            process.kill()
            process.wait(timeout=30)


@contextlib.contextmanager
def _sandbox(tmp_path: Path, *extra: str) -> Iterator[Sandbox]:
    """`reconciler sandbox` on free loopback ports, once every simulated charge point is online."""
    command = ["sandbox", "--desired", str(DESIRED), "--port", "0", "--ocpp-port", "0", "--api-key", API_KEY]
    with _process(
        [*command, *extra], tmp_path / "sandbox.log", r"eDRV API\s+(http://127\.0\.0\.1:\d+)"
    ) as url:
        sandbox = Sandbox(url)
        deadline = time.monotonic() + SANDBOX_START_S
        while not all(s["online"] for s in sandbox.get("/_sandbox/stations")["stations"].values()):
            assert time.monotonic() < deadline, "the simulated charge points did not all connect"
            time.sleep(0.1)
        yield sandbox


@pytest.fixture
def edrv(tmp_path: Path) -> Iterator[Sandbox]:
    """`reconciler sandbox` on free loopback ports, started as its README says, stopped with Ctrl-C."""
    with _sandbox(tmp_path) as sandbox:
        yield sandbox


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    """The sandbox sending its webhooks to `reconciler receive`, and the receiver's inbox database."""
    db = tmp_path / "inbox.sqlite3"
    env = {**os.environ, "EDRV_WEBHOOK_SECRET": WEBHOOK_SECRET}
    command = ["receive", "--db", str(db), "--port", "0"]
    with _process(
        command, tmp_path / "receiver.log", r"Health (http://127\.0\.0\.1:\d+)/healthz", env
    ) as url:
        hooks = ["--webhook-url", f"{url}/webhooks/edrv", "--webhook-secret", WEBHOOK_SECRET]
        with _sandbox(tmp_path, *hooks) as sandbox:
            yield sandbox, db


@dataclass
class ApplyRun:
    """What one run of apply.yml did: its sites job and each matrix job by name."""

    sites: JobResult | None
    jobs: dict[str, JobResult] = field(default_factory=dict)


class Operator:
    """A throwaway operator repository with its origin, and the runs of its workflows."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.origin = root / "origin.git"
        self.scratch = root / "scratch"
        self.artifacts: dict[tuple[str, str], Path] = {}
        self.gh_state = root / "gh.json"
        self.gh_state.write_text(json.dumps({"head_sha": "", "comments": []}))
        bin_dir = root / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
        gh.chmod(0o755)
        (root / "home").mkdir()
        self.base_env = {
            "PATH": f"{bin_dir}:{sysconfig.get_path('scripts')}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(root / "home"),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "FAKE_GH_STATE": str(self.gh_state),
            "PUSH_DELAY_S": "0",
        }
        self.edrv_url = ""  # set by tests that apply
        self.variables: dict[str, str] = {}  # repository variables beyond EDRV_API_URL
        self.environment_secrets: dict[str, str] = {}  # the `edrv` environment's, beyond the key
        self.tokens_checked_out: list[str] = []  # the token each checkout was given
        self.app_tokens: list[dict[str, str]] = []  # the inputs of each GitHub App token made
        self._runs = 0
        self.git(root, "init", "-q", "--bare", "-b", "main", str(self.origin))
        self.git(self.origin, "config", "uploadpack.allowAnySHA1InWant", "true")
        self.git(root, "clone", "-q", self.url, str(self.scratch))
        shutil.copytree(DESIRED, self.scratch / "desired", ignore=shutil.ignore_patterns(".state"))
        shutil.copytree(
            ROOT / ".github", self.scratch / ".github", ignore=shutil.ignore_patterns("__pycache__")
        )
        self.git(self.scratch, "checkout", "-q", "-b", "main")
        self.git(self.scratch, "add", "-A")
        self.git(self.scratch, "commit", "-q", "-m", "The network")
        self.git(self.scratch, "push", "-q", "origin", "main")

    @property
    def url(self) -> str:
        return f"file://{self.origin}"

    def git(self, cwd: Path, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=Operator", "-c", "user.email=ops@example.com", *args],
            cwd=cwd,
            env=self.base_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def change(
        self, message: str, edit: Callable[[Path], None], branch: str = "main", base: str = "main"
    ) -> str:
        """Commit `edit` (of the checkout's root) on `branch`, starting from `base`, and push it."""
        self.git(self.scratch, "fetch", "-q", "origin")
        start = f"origin/{branch}" if self.has_branch(branch) else f"origin/{base}"
        self.git(self.scratch, "checkout", "-q", "-B", branch, start)
        edit(self.scratch)
        self.git(self.scratch, "add", "-A")
        self.git(self.scratch, "commit", "-q", "-m", message)
        self.git(self.scratch, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return self.head(branch)

    def has_branch(self, branch: str) -> bool:
        return bool(self.git(self.origin, "branch", "--list", branch))

    def head(self, ref: str = "main") -> str:
        return self.git(self.origin, "rev-parse", ref)

    def open_pull_request(self, number: int, branch: str) -> tuple[str, str]:
        """Make GitHub's merge ref for a pull request; return (base sha, head sha)."""
        base, head = self.head("main"), self.head(branch)
        self.git(self.scratch, "fetch", "-q", "origin")
        self.git(self.scratch, "checkout", "-q", "--detach", base)
        self.git(self.scratch, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", head)
        self.git(self.scratch, "push", "-q", "-f", "origin", f"HEAD:refs/pull/{number}/merge")
        return base, head

    def state_commits(self) -> list[tuple[str, str, list[str]]]:
        """(author, subject, files) of each commit on main by the bot, newest first."""
        found = []
        for line in self.git(self.origin, "log", "--format=%H%x09%an%x09%s", "main").splitlines():
            sha, author, subject = line.split("\t")
            if author == BOT:
                files = self.git(self.origin, "show", "--format=", "--name-only", sha).splitlines()
                found.append((author, subject, files))
        return found

    def show(self, path: str, ref: str = "main") -> str:
        return self.git(self.origin, "show", f"{ref}:{path}")

    # --- running workflows -----------------------------------------------------------------------

    def runner(
        self,
        event_name: str,
        event: dict[str, Any],
        *,
        ref: str = "refs/heads/main",
        sha: str | None = None,
        inputs: dict[str, Any] | None = None,
        before_step: Callable[[str], None] | None = None,
    ) -> Runner:
        self._runs += 1
        run_id = str(1000 + self._runs)
        event = {"repository": {"default_branch": "main", "full_name": REPOSITORY}} | event
        github = {
            "event_name": event_name,
            "event": event,
            "ref": ref,
            "ref_name": ref.removeprefix("refs/heads/"),
            "sha": sha or self.head("main"),
            "repository": REPOSITORY,
            "run_id": run_id,
            "server_url": "https://github.test",
            "token": "ghs-test-token",
        }
        handlers = {
            "actions/checkout": self._checkout,
            "actions/setup-python": lambda call: None,
            "actions/upload-artifact": lambda call: self._upload(run_id, call),
            "actions/download-artifact": self._download,
            "actions/create-github-app-token": self._app_token,
        }
        return Runner(
            github=github,
            handlers=handlers,
            base_env=dict(self.base_env),
            temp_root=self.root / "runs" / run_id,
            # The key is an environment secret, as the README has it: only jobs in `edrv` can read it.
            secrets={},
            environments={"edrv": {"EDRV_API_KEY": API_KEY} | self.environment_secrets},
            variables={"EDRV_API_URL": self.edrv_url} | self.variables,
            inputs=inputs or {},
            before_step=before_step,
        )

    def run_job(
        self,
        runner: Runner,
        workflow: str,
        job_id: str,
        *,
        label: str | None = None,
        matrix: Mapping[str, Any] | None = None,
        needs: Mapping[str, Any] | None = None,
    ) -> JobResult:
        workspace = self.root / "runs" / runner.github["run_id"] / f"ws-{label or job_id}"
        workspace.mkdir(parents=True)
        # The action's install step finds this checkout's reconciler installed already (see the module).
        runner.base_env["RECONCILER_INSTALLED_FROM"] = str(workspace.resolve())
        workflow_file = load_workflow(ROOT / ".github" / "workflows" / workflow)
        return runner.run_job(workflow_file, job_id, workspace, matrix=matrix, needs=needs)

    def run_plan(self, number: int, branch: str) -> tuple[Runner, JobResult]:
        base, head = self.open_pull_request(number, branch)
        event = {
            "number": number,
            "pull_request": {"number": number, "base": {"sha": base}, "head": {"sha": head}},
        }
        runner = self.runner("pull_request", event, ref=f"refs/pull/{number}/merge", sha=head)
        return runner, self.run_job(runner, "plan.yml", "plan")

    def run_comment(self, plan_runner: Runner, head_sha: str) -> JobResult:
        event = {
            "workflow_run": {
                "id": int(plan_runner.github["run_id"]),
                "event": "pull_request",
                "conclusion": "success",
                "head_sha": head_sha,
            }
        }
        runner = self.runner("workflow_run", event)
        job = load_workflow(ROOT / ".github" / "workflows" / "plan-comment.yml")["jobs"]["comment"]
        assert runner.job_runs(job, {})
        return self.run_job(runner, "plan-comment.yml", "comment")

    def run_apply(
        self,
        event_name: str,
        event: dict[str, Any] | None = None,
        *,
        inputs: dict[str, Any] | None = None,
        ref: str = "refs/heads/main",
        before_step: Callable[[str], None] | None = None,
    ) -> ApplyRun:
        runner = self.runner(event_name, event or {}, ref=ref, inputs=inputs, before_step=before_step)
        workflow = load_workflow(ROOT / ".github" / "workflows" / "apply.yml")
        if not runner.job_runs(workflow["jobs"]["sites"], {}):
            return ApplyRun(None)
        sites = self.run_job(runner, "apply.yml", "sites")
        run = ApplyRun(sites)
        needs = {"sites": {"result": sites.status, "outputs": sites.outputs}}
        apply_job = workflow["jobs"]["apply"]
        if not runner.job_runs(apply_job, needs):
            return run
        for entry in runner.matrix_of(apply_job, needs):
            run.jobs[entry["name"]] = self.run_job(
                runner, "apply.yml", "apply", label=f"apply-{entry['name']}", matrix=entry, needs=needs
            )
        return run

    def comments(self) -> list[dict[str, Any]]:
        comments: list[dict[str, Any]] = json.loads(self.gh_state.read_text())["comments"]
        return comments

    def set_pull_request_head(self, sha: str) -> None:
        state = json.loads(self.gh_state.read_text())
        state["head_sha"] = sha
        self.gh_state.write_text(json.dumps(state))

    # --- stand-ins for the actions from elsewhere ---------------------------------------------------

    def _app_token(self, call: ActionCall) -> dict[str, str]:
        self.app_tokens.append(dict(call.inputs))
        return {"token": f"ghs-app-token-{len(self.app_tokens)}"}

    def _checkout(self, call: ActionCall) -> None:
        self.tokens_checked_out.append(call.inputs.get("token", ""))
        event = call.env["GITHUB_EVENT_NAME"]
        ref = call.inputs.get("ref") or (
            call.env["GITHUB_REF"] if event == "pull_request" else call.env["GITHUB_SHA"]
        )
        depth = int(call.inputs.get("fetch-depth") or "1")
        workspace = call.workspace
        self.git(workspace, "init", "-q")
        self.git(workspace, "remote", "add", "origin", self.url)
        if depth == 0:
            self.git(workspace, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
            self.git(workspace, "fetch", "-q", "origin", ref)
        else:
            self.git(workspace, "fetch", "-q", f"--depth={depth}", "origin", ref)
        self.git(workspace, "checkout", "-q", "--detach", "FETCH_HEAD")
        if "/" not in ref and len(ref) != 40:  # a branch name: check it out as that branch
            self.git(workspace, "checkout", "-q", "-B", ref)

    def _upload(self, run_id: str, call: ActionCall) -> dict[str, str]:
        name = call.inputs["name"]
        assert (run_id, name) not in self.artifacts, f"artifact {name} uploaded twice in one run"
        pattern = Path(call.inputs["path"])
        if not pattern.is_absolute():
            pattern = call.workspace / pattern
        matches = [pattern] if pattern.exists() else sorted(pattern.parent.glob(pattern.name))
        if call.inputs.get("include-hidden-files") != "true":  # hidden files are left out by default
            base = call.workspace if pattern.is_relative_to(call.workspace) else pattern.parent
            matches = [m for m in matches if not any(p.startswith(".") for p in m.relative_to(base).parts)]
        if not matches:
            if call.inputs.get("if-no-files-found") == "error":
                raise StepFailedError(f"no files for artifact {name} at {pattern}")
            return {}
        store = self.root / "artifacts" / run_id / name
        store.mkdir(parents=True)
        for match in matches:
            if match.is_dir():
                shutil.copytree(match, store, dirs_exist_ok=True)
            else:
                shutil.copy(match, store / match.name)
        self.artifacts[(run_id, name)] = store
        # As upload-artifact answers: where a reviewer downloads it.
        return {"artifact-url": f"https://github.example/actions/runs/{run_id}/artifacts/{name}"}

    def _download(self, call: ActionCall) -> None:
        key = (call.inputs["run-id"], call.inputs["name"])
        if key not in self.artifacts:
            raise StepFailedError(f"no artifact {key[1]} in run {key[0]}")
        assert call.inputs["github-token"], "downloading from another run needs a token"
        shutil.copytree(self.artifacts[key], Path(call.inputs["path"]), dirs_exist_ok=True)


@pytest.fixture
def operator(tmp_path: Path) -> Operator:
    """A fresh operator repository holding a copy of desired/ and .github/."""
    return Operator(tmp_path)


@pytest.fixture
def applying(operator: Operator, edrv: Sandbox) -> Operator:
    """The operator's repository, its apply jobs pointed at the sandbox."""
    operator.edrv_url = edrv.url
    return operator


def _replace(path: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        text = (root / path).read_text()
        assert old in text
        (root / path).write_text(text.replace(old, new, 1))

    return edit


def _lower_first_limit(path: str) -> Callable[[Path], None]:
    """An edit that lowers the first whole-number limit in a file by one (one profile or one template)."""

    def edit(root: Path) -> None:
        text = (root / path).read_text()
        found = re.search(r"limit: (\d+)(?![\d.])", text)
        assert found is not None
        lowered = f"limit: {int(found.group(1)) - 1}"
        (root / path).write_text(text[: found.start()] + lowered + text[found.end() :])

    return edit


def _installed(edrv: Sandbox, site: str) -> int:
    """How many profiles the sandbox's charge points of a site's stations hold, once every call sent
    so far was answered (the sandbox answers eDRV's way: at once, the charge point after)."""
    stations = _stations_of(site)
    assert edrv.get("/_sandbox/settled")["settled"]
    ground = edrv.get("/_sandbox/stations")["stations"]
    return sum(len(profiles) for s in stations for profiles in ground[s]["profiles"].values())


def _stations_of(site: str) -> list[str]:
    stations: dict[str, Any] = yaml.safe_load((DESIRED / f"{site}.yaml").read_text())["stations"]
    return list(stations)


HARBOUR_PEAK = _lower_first_limit("desired/harbour-depot.yaml")
EXAMPLES_LIMIT = _lower_first_limit("desired/edrv-examples.yaml")
HARBOUR_ONE_STATION = _replace(
    "desired/harbour-depot.yaml", "{startPeriod: 57600, limit: 11}", "{startPeriod: 57600, limit: 10}"
)
HARBOUR_TYPO = _replace("desired/harbour-depot.yaml", "\nsite:\n", "\nsite:\n  grid_limt_kw: 300\n")


LINK_TAIL = ", one SVG image per site with changes and per station it sends to, before and after."


def test_a_pull_request_gets_its_plan_as_one_comment_updated_in_place(operator: Operator) -> None:
    """Plan validates, plans the changed sites, fills summary and artifacts (the JSON plan, the comment, the
    SVG charts, linked under the comment's heading); the relay keeps one comment."""
    head = operator.change("Lower the depot's peak", HARBOUR_PEAK, branch="peak")
    runner, plan = operator.run_plan(7, "peak")
    assert plan.status == "success", plan.log
    assert plan.step("changed").outputs["sites"] == HARBOUR
    assert plan.step("plan").outputs["changes"] == "true"
    assert "already" in plan.log  # the install step found this checkout's reconciler
    assert "## Charging profile plan" in plan.summary
    assert "### reconciler validate" in plan.summary
    run_id = runner.github["run_id"]
    comment_dir = operator.artifacts[(run_id, "plan-comment")]
    assert (comment_dir / "pull-request").read_text() == "7\n"
    assert (comment_dir / "comment.md").read_text().startswith(MARKER)
    saved = json.loads((operator.artifacts[(run_id, "plan")] / "plan.json").read_text())
    assert saved["format_version"] == 1
    assert [site["site"] for site in saved["sites"]] == [HARBOUR]
    charts = operator.artifacts[(run_id, "plan-charts")]
    assert (charts / f"{HARBOUR}.svg").read_text().startswith("<svg ")
    assert list((charts / HARBOUR).glob("*.svg")), "the stations the plan sends to are drawn too"
    link = f"**Charts**: [plan-charts](https://github.example/actions/runs/{run_id}/artifacts/plan-charts)"
    assert (comment_dir / "comment.md").read_text().splitlines()[2:4] == ["", link + LINK_TAIL]

    operator.set_pull_request_head(head)
    relay = operator.run_comment(runner, head)
    assert relay.status == "success", relay.log
    assert [c["body"].startswith(MARKER) for c in operator.comments()] == [True]

    head = operator.change("And the examples", EXAMPLES_LIMIT, branch="peak")
    operator.set_pull_request_head(head)
    runner, plan = operator.run_plan(7, "peak")
    assert plan.step("changed").outputs["sites"] == f"{EXAMPLES} {HARBOUR}"
    assert operator.run_comment(runner, head).status == "success"
    (comment,) = operator.comments()
    assert f"### {EXAMPLES}" in comment["body"]
    assert f"### {HARBOUR}" in comment["body"]

    operator.set_pull_request_head("f" * 40)  # pushed again while the relay waited: this plan is stale
    assert operator.run_comment(runner, head).status == "success"
    assert operator.comments() == [comment]


def test_invalid_desired_state_is_annotated_and_explained_in_the_comment(operator: Operator) -> None:
    """A typo fails the plan job with an annotation on its line, and the comment says why there is no plan."""
    operator.change("Typo", HARBOUR_TYPO, branch="typo")
    runner, plan = operator.run_plan(8, "typo")
    assert plan.status == "failure"
    assert (
        "::error file=desired/harbour-depot.yaml,line=" in plan.step("Validate desired state").log + plan.log
    )
    assert plan.step("plan").outcome == "skipped"
    body = (operator.artifacts[(runner.github["run_id"], "plan-comment")] / "comment.md").read_text()
    assert body.startswith(MARKER)
    assert "Desired state has errors" in body
    assert "grid_limt_kw" in body
    assert "::error" not in body
    assert (runner.github["run_id"], "plan") not in operator.artifacts


def _drop_harbour_session_cap(root: Path) -> None:
    """Harbour-depot without its one session cap, so that once applied it has nothing left to check."""
    path = root / "desired" / "harbour-depot.yaml"
    text = path.read_text()
    start = text.index("    profiles:\n      duty-van-cap:\n")
    path.write_text(text[:start] + text[text.index("\n\n", start) + 1 :])


def test_a_merge_applies_every_site_that_needs_work_in_one_batched_job(
    applying: Operator, edrv: Sandbox
) -> None:
    """With one job configured, a push applies every site in one process and commits their states once."""
    operator = applying
    operator.variables["RECONCILER_APPLY_JOBS"] = "1"
    before = operator.head()
    after = operator.change("Lower the depot's peak", HARBOUR_PEAK)
    run = operator.run_apply("push", {"before": before, "after": after})
    assert run.sites is not None
    assert run.sites.outputs["count"] == "3"
    assert "### Sites that need work: 3 in 1 job(s)" in run.sites.summary
    assert list(run.jobs) == ["batch-1-of-1"]
    job = run.jobs["batch-1-of-1"]
    assert job.status == "success", job.log
    assert job.step("commit").outputs["committed"] == "true"
    assert f"### Applied: {EXAMPLES} {HARBOUR} {LAKESIDE}" in job.summary
    assert _installed(edrv, HARBOUR) > 0
    assert _installed(edrv, EXAMPLES) > 0
    assert _installed(edrv, LAKESIDE) > 0
    (commit,) = operator.state_commits()
    assert commit[2] == [f"desired/.state/{site}.json" for site in (EXAMPLES, HARBOUR, LAKESIDE)]
    assert operator.tokens_checked_out[-1] == "ghs-test-token"  # no app configured: the run's own token
    assert operator.app_tokens == []


def test_the_schedule_skips_idle_sites_and_a_push_picks_a_changed_one_up(
    applying: Operator, edrv: Sandbox
) -> None:
    """Once applied, a site with nothing to send, retire or check is left out before any job starts."""
    operator = applying
    operator.change("The depot's van needs no cap", _drop_harbour_session_cap)
    first = operator.run_apply("schedule", {"schedule": "17,47 * * * *"})
    assert sorted(first.jobs) == [EXAMPLES, HARBOUR, LAKESIDE]
    assert all(job.status == "success" for job in first.jobs.values())

    sent, commits = edrv.sent(), len(operator.state_commits())
    idle = operator.run_apply("schedule", {"schedule": "17,47 * * * *"})
    assert idle.sites is not None
    assert list(idle.jobs) == [EXAMPLES]  # its session caps are still to be checked with eDRV
    assert f"{EXAMPLES} (2 session cap(s) to check)" in idle.sites.summary
    assert "2 idle site(s) skipped" in idle.sites.summary
    assert idle.jobs[EXAMPLES].status == "success", idle.jobs[EXAMPLES].log
    assert edrv.sent() == sent
    assert len(operator.state_commits()) == commits

    before = operator.head()
    after = operator.change("Lower one bay's evening limit", HARBOUR_ONE_STATION)
    pushed = operator.run_apply("push", {"before": before, "after": after})
    assert sorted(pushed.jobs) == [EXAMPLES, HARBOUR]
    assert pushed.jobs[HARBOUR].step("commit").outputs["committed"] == "true", pushed.jobs[HARBOUR].log
    assert pushed.jobs[EXAMPLES].step("commit").outputs["committed"] == "false"
    assert edrv.sent() > sent


def test_the_key_lives_in_the_environment_and_an_app_token_pushes_the_state(
    applying: Operator, edrv: Sandbox
) -> None:
    """Only the environment holds the key; with an app configured its token checks out and pushes."""
    operator = applying
    operator.variables["RECONCILER_APP_ID"] = "12345"
    operator.environment_secrets["RECONCILER_APP_PRIVATE_KEY"] = "-----BEGIN PRIVATE KEY-----test"
    run = operator.run_apply("workflow_dispatch", inputs={"sites": EXAMPLES, "force": False})
    (job,) = run.jobs.values()
    assert job.status == "success", job.log
    assert operator.app_tokens == [{"app-id": "12345", "private-key": "-----BEGIN PRIVATE KEY-----test"}]
    assert operator.tokens_checked_out[-1] == "ghs-app-token-1"
    assert job.step("commit").outputs["committed"] == "true"
    assert _installed(edrv, EXAMPLES) > 0
    assert API_KEY not in job.log


def test_a_push_that_loses_a_race_is_rebased_and_a_conflict_is_kept_and_red(applying: Operator) -> None:
    """A commit landing mid-apply is rebased onto; one to the same state file fails the job, state kept."""
    operator = applying
    commits_seen: list[str] = []

    def meanwhile(step: str) -> None:
        """Just before the first two jobs commit (edrv-examples' job runs first), someone else pushes."""
        if step != "commit":
            return
        commits_seen.append(step)
        if len(commits_seen) == 1:  # an unrelated commit: another site's job, or a merge
            operator.change("Meanwhile", lambda root: _write(root / "desired" / "NOTES.md", "notes\n"))
        elif len(commits_seen) == 2:  # the same state file, changed behind the job's back
            operator.change(
                "Hand edit", lambda root: _write(root / "desired" / ".state" / f"{HARBOUR}.json", "{}\n")
            )

    run = operator.run_apply("schedule", {"schedule": "17,47 * * * *"}, before_step=meanwhile)
    assert list(run.jobs) == [EXAMPLES, HARBOUR, LAKESIDE]
    examples, harbour = run.jobs[EXAMPLES], run.jobs[HARBOUR]
    assert run.jobs[LAKESIDE].status == "success", run.jobs[LAKESIDE].log
    assert examples.status == "success", examples.log
    assert "moved on while this job applied; rebasing" in examples.log
    assert examples.step("commit").outputs["committed"] == "true"
    assert harbour.status == "failure"
    assert f"the recorded state in desired/.state/{HARBOUR}.json changed on main" in harbour.log, harbour.log
    kept = operator.artifacts[(harbour.workspace.parent.name, f"state-{HARBOUR}")]
    assert json.loads((kept / f"{HARBOUR}.json").read_text())["serial"] >= 1
    assert operator.show(f"desired/.state/{HARBOUR}.json") == "{}"
    assert operator.show("desired/NOTES.md") == "notes"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_failed_call_is_recorded_and_committed_and_the_run_is_red(
    applying: Operator, edrv: Sandbox
) -> None:
    """A call eDRV refuses fails the job after its outcome is committed, and the summary says so."""
    (station,) = _stations_of(EXAMPLES)
    edrv.fault({"errors": [{"kind": 422, "station": station}]})
    run = applying.run_apply("workflow_dispatch", inputs={"sites": EXAMPLES, "force": False})
    (job,) = run.jobs.values()
    assert job.status == "failure"
    assert job.step("commit").outputs["committed"] == "true"
    assert job.step("Fail when a call failed").outcome == "failure"
    assert "### Apply failed (exit 1)" in job.summary
    recorded = json.loads(applying.show(f"desired/.state/{EXAMPLES}.json"))
    assert '"status": "failed"' in json.dumps(recorded)
    assert "422" in json.dumps(recorded)


def test_deleting_a_site_is_refused_until_applied_by_hand_with_force(
    applying: Operator, edrv: Sandbox
) -> None:
    """A deleted site file shows as refused in the plan and on merge; a manual run with force clears it."""
    operator = applying
    assert all(job.status == "success" for job in operator.run_apply("schedule").jobs.values())
    operator.change(
        "Retire the depot", lambda root: (root / "desired" / "harbour-depot.yaml").unlink(), branch="retire"
    )
    runner, plan = operator.run_plan(9, "retire")
    assert plan.status == "failure"
    assert plan.step("changed").outputs["sites"] == HARBOUR
    body = (operator.artifacts[(runner.github["run_id"], "plan-comment")] / "comment.md").read_text()
    assert "**No plan**" in body
    assert "--force" in body

    before = operator.head()
    operator.git(operator.scratch, "push", "-q", "origin", "retire:main")
    merged = operator.run_apply("push", {"before": before, "after": operator.head()})
    assert merged.jobs[HARBOUR].status == "failure"
    assert merged.jobs[HARBOUR].step("commit").outputs["committed"] == "false"

    assert _installed(edrv, HARBOUR) > 0
    by_hand = operator.run_apply("workflow_dispatch", inputs={"sites": HARBOUR, "force": True})
    assert by_hand.jobs[HARBOUR].status == "success", by_hand.jobs[HARBOUR].log
    assert edrv.calls("clear_charging_profile") > 0
    assert _installed(edrv, HARBOUR) == 0
    assert by_hand.jobs[HARBOUR].step("commit").outputs["committed"] == "true"


def test_a_manual_run_naming_an_unknown_site_stops_before_any_apply(operator: Operator) -> None:
    """A typo in the sites input fails the listing job, so no apply job starts."""
    run = operator.run_apply("workflow_dispatch", inputs={"sites": "harbor-depot", "force": False})
    assert run.sites is not None
    assert run.sites.status == "failure"
    assert "no such site: harbor-depot" in run.sites.log
    assert run.jobs == {}


def test_apply_runs_from_the_default_branch_only(operator: Operator) -> None:
    """A manual run started on another branch applies nothing: unreviewed desired state never goes out."""
    run = operator.run_apply(
        "workflow_dispatch", inputs={"sites": "", "force": False}, ref="refs/heads/feature"
    )
    assert run.sites is None


BAY = "65a10c5ca6a3a4506513270e"


def test_the_schedule_checks_drift_when_due_heals_it_and_folds_answers_from_the_inbox(
    operator: Operator, inbox: tuple[Sandbox, Path]
) -> None:
    """With an inbox and a drift interval, each scheduled apply folds the chargers' answers, checks the
    stations due, heals a charger that lost its profiles in the same job, and reports it in the summary."""
    edrv, db = inbox
    operator.edrv_url = edrv.url
    operator.variables |= {"RECONCILER_INBOX": str(db), "RECONCILER_DRIFT_EVERY": "6h"}
    first = operator.run_apply("schedule", {"schedule": "17,47 * * * *"})
    assert all(job.status == "success" for job in first.jobs.values()), [j.log for j in first.jobs.values()]
    assert all("0 station(s) checked" in job.summary for job in first.jobs.values())  # nothing sent before

    httpx.post(
        f"{edrv.url}/_sandbox/stations/{BAY}/reboot", json={"lose": "all"}, timeout=10
    ).raise_for_status()
    second = operator.run_apply("schedule", {"schedule": "17,47 * * * *"})
    assert second.sites is not None
    assert "drift check(s) due" in second.sites.summary
    harbour = second.jobs[HARBOUR]
    assert harbour.status == "success", harbour.log
    assert "### Drift" in harbour.summary
    assert f"| {HARBOUR} | {BAY} (AC bay 02) | allows MORE than recorded |" in harbour.summary
    assert "heal: drift found at" in harbour.log
    assert harbour.step("commit").outputs["committed"] == "true"
    assert _installed(edrv, HARBOUR) > 0
    held = edrv.get("/_sandbox/stations")["stations"][BAY]["profiles"]
    assert any(held.values()), "the heal sent the lost profiles again"

    third = operator.run_apply("schedule", {"schedule": "17,47 * * * *"})
    assert third.sites is not None
    assert "drift check(s) due" not in third.sites.summary
