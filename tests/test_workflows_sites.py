"""`reconciler sites`: the site listing the apply workflow's matrix is built from, with and without git."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path, PurePath
from typing import Any

import pytest

from reconciler.ocpp.profile import parse_timestamp
from reconciler.plan.outcome import assume_applied, record_change
from reconciler.shell.reconcile import plan_sites
from reconciler.shell.sites import sites_touched, split_into_jobs
from reconciler.state import store
from reconciler.state.recorded import RecordedState, Status

from .conftest import DESIRED, run_cli

DESIRED_DIR = PurePath("/repo/desired")
STATE_DIR = PurePath("/repo/desired/.state")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with three sites committed, one of them with recorded state; the cwd is its root."""
    _git(tmp_path, "init", "-q", "-b", "main")
    desired = tmp_path / "desired"
    (desired / ".state").mkdir(parents=True)
    shutil.copy(DESIRED / "harbour-depot.yaml", desired / "harbour-depot.yaml")
    shutil.copy(DESIRED / "edrv-examples.yaml", desired / "edrv-examples.yaml")
    shutil.copy(DESIRED / "edrv-examples.yaml", desired / "spare.yml")
    (desired / ".state" / "harbour-depot.json").write_text("{}\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "network")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    code, out, err = run_cli(capsys, "sites", "--format", "json", *argv)
    assert code == 0, err
    sites: list[str] = json.loads(out)["sites"]
    return sites


def test_paths_map_to_the_sites_whose_desired_file_or_state_they_are() -> None:
    """A site is touched by its YAML (either suffix) or its state JSON, not by other files nearby."""
    paths = [
        DESIRED_DIR / "a.yaml",
        DESIRED_DIR / "b.yml",
        STATE_DIR / "c.json",
        STATE_DIR / "c.json.lock",
        DESIRED_DIR / "README.md",
        DESIRED_DIR / "nested" / "d.yaml",
        DESIRED_DIR / ".hidden.yaml",
        PurePath("/repo/schema/e.json"),
    ]
    assert sites_touched(paths, DESIRED_DIR, STATE_DIR) == {"a", "b", "c"}


def test_sites_that_fit_get_one_job_each() -> None:
    """Up to the job limit, each listed site is a job of its own, named after it."""
    jobs = split_into_jobs(["b", "a"], max_jobs=2)
    assert [(j.name, j.sites) for j in jobs] == [("a", ("a",)), ("b", ("b",))]


def test_a_300_site_network_is_applied_in_the_configured_number_of_jobs_each_site_once() -> None:
    """Past the limit, sites are dealt into exactly max_jobs batches of nearly equal size, each site once."""
    sites = [f"site-{n:04d}" for n in range(300)]
    jobs = split_into_jobs(list(reversed(sites)), max_jobs=4)
    assert [job.name for job in jobs] == [f"batch-{n}-of-4" for n in range(1, 5)]
    assert sorted(s for job in jobs for s in job.sites) == sites
    assert {len(job.sites) for job in jobs} == {75}


def test_a_network_of_any_size_runs_in_the_same_number_of_jobs() -> None:
    """Twenty sites and two thousand both take max_jobs jobs; batches never differ by more than one site."""
    for size in (20, 2000, 2003):
        jobs = split_into_jobs([f"s{n}" for n in range(size)], max_jobs=8)
        assert len(jobs) == 8
        sizes = [len(job.sites) for job in jobs]
        assert max(sizes) - min(sizes) <= 1
        assert sum(sizes) == size


def test_a_job_limit_below_one_is_refused() -> None:
    """Zero jobs could apply nothing, so asking for them is a programming error, not an empty matrix."""
    with pytest.raises(ValueError, match="at least 1"):
        split_into_jobs(["a"], max_jobs=0)


def test_sites_lists_desired_files_and_state_files_together(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A site with only recorded state left (its file deleted) is listed beside those with files."""
    (repo / "desired" / "spare.yml").unlink()
    (repo / "desired" / ".state" / "gone.json").write_text("{}\n")
    code, out, _ = run_cli(capsys, "sites")
    assert code == 0
    assert out == "edrv-examples\ngone\nharbour-depot\n"


def test_json_listing_is_one_versioned_line_with_the_jobs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON form is a single line a workflow can put in an output, with each job's name and sites."""
    code, out, _ = run_cli(capsys, "sites", "--format", "json", "--max-jobs", "2")
    assert code == 0
    assert out.count("\n") == 1
    document = json.loads(out)
    assert document["format_version"] == 1
    assert document["sites"] == ["edrv-examples", "harbour-depot", "spare"]
    assert [job["name"] for job in document["jobs"]] == ["batch-1-of-2", "batch-2-of-2"]
    assert sorted(s for job in document["jobs"] for s in job["sites"]) == document["sites"]
    assert document["work"] == {}
    assert document["idle"] == []


def test_changed_since_lists_edited_deleted_added_and_restated_sites(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Edits, a deleted file whose state remains, an untracked new file and a state change all count."""
    desired = repo / "desired"
    assert _listed(capsys, "--changed-since", "HEAD") == []
    with (desired / "spare.yml").open("a") as f:
        f.write("# edited\n")
    (desired / "harbour-depot.yaml").unlink()  # its state remains: planned as "clear everything"
    shutil.copy(DESIRED / "edrv-examples.yaml", desired / "new-site.yaml")
    assert _listed(capsys, "--changed-since", "HEAD") == ["harbour-depot", "new-site", "spare"]
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "changes")
    (desired / ".state" / "edrv-examples.json").write_text("{}\n")
    assert _listed(capsys, "--changed-since", "HEAD") == ["edrv-examples"]
    assert _listed(capsys, "--changed-since", "HEAD~1") == [
        "edrv-examples",
        "harbour-depot",
        "new-site",
        "spare",
    ]


def test_a_site_with_both_files_gone_is_not_listed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When a site's desired file and state are both deleted there is nothing left to apply."""
    (repo / "desired" / "harbour-depot.yaml").unlink()
    (repo / "desired" / ".state" / "harbour-depot.json").unlink()
    assert _listed(capsys, "--changed-since", "HEAD") == []


def test_changed_since_works_from_another_directory(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths are matched from the repository's root, so `--desired` may point anywhere inside it."""
    with (repo / "desired" / "spare.yml").open("a") as f:
        f.write("# edited\n")
    monkeypatch.chdir(repo / "desired")
    assert _listed(capsys, "--desired", ".", "--changed-since", "HEAD") == ["spare"]


def test_named_sites_narrow_the_listing_and_unknown_ones_are_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Named sites are checked against the network, so a typo in a manual run fails before anything runs."""
    assert _listed(capsys, "spare", "harbour-depot") == ["harbour-depot", "spare"]
    code, _, err = run_cli(capsys, "sites", "harbor-depot")
    assert code == 1
    assert "no such site: harbor-depot" in err


def test_an_unknown_ref_is_one_clean_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ref git cannot resolve fails with git's own words, not a traceback."""
    code, out, err = run_cli(capsys, "sites", "--changed-since", "no-such-ref")
    assert code == 1
    assert out == ""
    assert "git diff failed" in err
    assert "no-such-ref" in err


def test_an_unusable_site_id_in_the_state_directory_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state file whose name could not be a site id (so could not travel safely in a job) is an error."""
    (repo / "desired" / ".state" / "bad name.json").write_text("{}\n")
    code, _, err = run_cli(capsys, "sites")
    assert code == 1
    assert "'bad name' is not a usable site id" in err


NOW = "2026-12-04T12:00:00Z"


def _drop_session_cap(desired: Path) -> None:
    """Harbour-depot without its one session cap (the profile block is cut out of the YAML)."""
    path = desired / "harbour-depot.yaml"
    text = path.read_text()
    start = text.index("    profiles:\n      duty-van-cap:\n")
    end = text.index("\n\n", start)
    path.write_text(text[:start] + text[end + 1 :])


def _applied_offline(repo: Path, site: str) -> None:
    """Record `site` as if every call of its plan at NOW had been accepted (what apply would write)."""
    moment = parse_timestamp(NOW)
    desired = repo / "desired"
    path = store.state_path(desired, site)
    path.unlink(missing_ok=True)
    (plan,) = plan_sites(desired, [site], moment)
    store.save(path, assume_applied(RecordedState.new(site), plan, moment), None)


def _needing_work(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "sites", "--needs-work", "--now", NOW, "--format", "json", *argv)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def test_needs_work_lists_unapplied_sites_with_their_calls(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before any apply every site has calls to send, and the listing says how many and what else."""
    (repo / "desired" / ".state" / "harbour-depot.json").unlink()
    found = _needing_work(capsys)
    assert found["sites"] == ["edrv-examples", "harbour-depot", "spare"]
    assert found["idle"] == []
    assert re.fullmatch(r"\d+ call\(s\) to send; 1 session cap\(s\) to check", found["work"]["harbour-depot"])


def test_an_applied_site_without_session_caps_is_idle_and_left_out(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Applied and with no session cap to check, a site is skipped; one with caps is still listed for them."""
    _drop_session_cap(repo / "desired")
    (repo / "desired" / "spare.yml").unlink()
    for site in ("harbour-depot", "edrv-examples"):
        _applied_offline(repo, site)
    found = _needing_work(capsys)
    assert found["sites"] == ["edrv-examples"]
    assert found["work"] == {"edrv-examples": "2 session cap(s) to check"}
    assert found["idle"] == ["harbour-depot"]
    assert [job["sites"] for job in found["jobs"]] == [["edrv-examples"]]

    text = run_cli(capsys, "sites", "--needs-work", "--now", NOW)[1]
    assert text == "edrv-examples  (2 session cap(s) to check)\n"


def test_a_changed_limit_makes_an_applied_site_need_work_again(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A template's limit edited after the apply gives the site calls to send: the schedule picks it up."""
    _drop_session_cap(repo / "desired")
    (repo / "desired" / "spare.yml").unlink()
    _applied_offline(repo, "harbour-depot")
    path = repo / "desired" / "harbour-depot.yaml"
    path.write_text(path.read_text().replace("limit: 32,", "limit: 31,", 1))
    found = _needing_work(capsys, "harbour-depot")
    assert found["sites"] == ["harbour-depot"]
    assert re.fullmatch(r"\d+ call\(s\) to send", found["work"]["harbour-depot"])


def test_a_site_that_cannot_be_planned_is_listed_so_its_failure_shows(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Broken desired state is never skipped as idle: its apply job is what reports the error."""
    path = repo / "desired" / "harbour-depot.yaml"
    path.write_text(path.read_text().replace("\nsite:\n", "\nsite:\n  grid_limt_kw: 300\n", 1))
    found = _needing_work(capsys, "harbour-depot")
    assert found["sites"] == ["harbour-depot"]
    assert found["work"]["harbour-depot"].startswith("cannot be planned: ")


def test_calls_awaiting_answers_are_work_only_when_apply_reads_an_inbox(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent and unanswered, a site is idle without an inbox; with one, its answers are to fold, and once
    overdue its calls are to send again."""
    monkeypatch.delenv("RECONCILER_INBOX", raising=False)
    _drop_session_cap(repo / "desired")
    (repo / "desired" / "spare.yml").unlink()
    moment = parse_timestamp(NOW)
    desired = repo / "desired"
    for site in ("harbour-depot", "edrv-examples"):
        path = store.state_path(desired, site)
        path.unlink(missing_ok=True)
        (plan,) = plan_sites(desired, [site], moment)
        state = RecordedState.new(site)
        for number, change in enumerate(plan.changes):
            state = record_change(state, change, Status.REQUESTED, moment, action_id=f"{site}-{number}")
        store.save(path, state, None)
    assert _needing_work(capsys, "harbour-depot")["idle"] == ["harbour-depot"]
    found = _needing_work(capsys, "harbour-depot", "--inbox", "https://hooks.example")
    assert re.fullmatch(r"(\d+) answer\(s\) to fold", found["work"]["harbour-depot"])
    later = "2026-12-04T12:20:00Z"
    overdue = run_cli(
        capsys, "sites", "harbour-depot", "--needs-work", "--now", later, "--inbox", "inbox.sqlite3"
    )[1]
    assert re.fullmatch(r"harbour-depot  \((\d+) call\(s\) to send; \1 answer\(s\) to fold\)\n", overdue)
