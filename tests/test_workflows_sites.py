"""`reconciler sites`: the site listing the apply workflow's matrix is built from, with and without git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePath

import pytest

from reconciler.cli.main import main
from reconciler.shell.sites import MATRIX_LIMIT, shard_of, sites_touched, split_into_jobs

from .conftest import DESIRED

DESIRED_DIR = PurePath("/repo/desired")
STATE_DIR = PurePath("/repo/desired/.state")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


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
    code, out, err = _run(capsys, "sites", "--format", "json", *argv)
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


def test_a_network_that_fits_gets_one_job_per_site_in_its_own_group() -> None:
    """Up to the job limit, each site is a job and a concurrency group of its own."""
    jobs = split_into_jobs(["b", "a"], network_size=2, max_jobs=2)
    assert [(j.name, j.group, j.sites) for j in jobs] == [("a", "site-a", ("a",)), ("b", "site-b", ("b",))]


def test_a_large_network_is_sharded_within_the_limit_with_every_site_once() -> None:
    """Past the limit, sites are split into at most max_jobs shards and each site is in exactly one."""
    sites = [f"site-{n:04d}" for n in range(1000)]
    jobs = split_into_jobs(sites, network_size=1000, max_jobs=MATRIX_LIMIT)
    assert len(jobs) <= MATRIX_LIMIT
    assert sorted(s for job in jobs for s in job.sites) == sites
    assert all(job.name == job.group for job in jobs)


def test_a_site_keeps_its_shard_whichever_other_sites_are_listed() -> None:
    """A push listing a few sites puts each in the same shard (and group) as the schedule listing all."""
    everyone = [f"site-{n:04d}" for n in range(300)]
    full = {s: job.group for job in split_into_jobs(everyone, 300, 16) for s in job.sites}
    few = {s: job.group for job in split_into_jobs(everyone[7:10], 300, 16) for s in job.sites}
    assert few == {s: full[s] for s in everyone[7:10]}


def test_shards_are_the_same_in_every_process() -> None:
    """The shard of a site is fixed by its name, not by a per-process salted hash, so every runner agrees."""
    code = (
        "from reconciler.shell.sites import shard_of; print([shard_of(f'site-{n}', 256) for n in range(8)])"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env=os.environ | {"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert seen == {f"{[shard_of(f'site-{n}', 256) for n in range(8)]}\n"}


def test_sites_lists_desired_files_and_state_files_together(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A site with only recorded state left (its file deleted) is listed beside those with files."""
    (repo / "desired" / "spare.yml").unlink()
    (repo / "desired" / ".state" / "gone.json").write_text("{}\n")
    code, out, _ = _run(capsys, "sites")
    assert code == 0
    assert out == "edrv-examples\ngone\nharbour-depot\n"


def test_json_listing_is_one_versioned_line_with_the_jobs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON form is a single line a workflow can put in an output, with each job's group and sites."""
    code, out, _ = _run(capsys, "sites", "--format", "json", "--max-jobs", "2")
    assert code == 0
    assert out.count("\n") == 1
    document = json.loads(out)
    assert document["format_version"] == 1
    assert document["sites"] == ["edrv-examples", "harbour-depot", "spare"]
    assert len(document["jobs"]) <= 2
    assert sorted(s for job in document["jobs"] for s in job["sites"]) == document["sites"]


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
    code, _, err = _run(capsys, "sites", "harbor-depot")
    assert code == 1
    assert "no such site: harbor-depot" in err


def test_an_unknown_ref_is_one_clean_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ref git cannot resolve fails with git's own words, not a traceback."""
    code, out, err = _run(capsys, "sites", "--changed-since", "no-such-ref")
    assert code == 1
    assert out == ""
    assert "git diff failed" in err
    assert "no-such-ref" in err


def test_an_unusable_site_id_in_the_state_directory_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state file whose name could not be a site id (so could not travel safely in a job) is an error."""
    (repo / "desired" / ".state" / "bad name.json").write_text("{}\n")
    code, _, err = _run(capsys, "sites")
    assert code == 1
    assert "'bad name' is not a usable site id" in err
