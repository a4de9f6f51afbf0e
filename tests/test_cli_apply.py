"""`reconciler apply` at the command line: refusals that happen before anything is sent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli.main import EXIT_ERROR, EXIT_USAGE

from .conftest import DESIRED, run_cli

NOW = "2026-11-23T12:00:00Z"


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    target = tmp_path / "desired"
    shutil.copytree(DESIRED, target, ignore=shutil.ignore_patterns(".state"))
    return target


def test_apply_without_a_terminal_needs_auto_approve(
    desired: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no terminal to ask on, apply refuses without --auto-approve before any plan output, and
    records nothing."""
    monkeypatch.setenv("EDRV_API_KEY", "k")
    monkeypatch.setenv("EDRV_API_URL", "http://127.0.0.1:9")  # never reached
    code, out, err = run_cli(capsys, "apply", "--desired", str(desired), "--now", NOW)
    assert code == EXIT_ERROR
    assert out == "", "a refusal comes before the plan"
    assert "--auto-approve" in err
    assert list(desired.glob(".state/*.json")) == []


def test_apply_without_a_key_fails_before_planning(
    desired: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No EDRV_API_KEY and no --key-file is one clear error, before any plan is shown."""
    monkeypatch.delenv("EDRV_API_KEY", raising=False)
    code, out, err = run_cli(capsys, "apply", "--desired", str(desired), "--auto-approve", "--now", NOW)
    assert code == EXIT_ERROR
    assert out == ""
    assert "EDRV_API_KEY" in err


def test_apply_takes_sites_or_a_saved_plan_not_both(
    desired: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Naming sites and --plan together is a usage error (64)."""
    saved = tmp_path / "plan.json"
    saved.write_text("{}")
    code, _, err = run_cli(capsys, "apply", "harbour-depot", "--plan", str(saved), "--desired", str(desired))
    assert code == EXIT_USAGE
    assert "not both" in err


def test_apply_refuses_a_stale_saved_plan_and_sends_nothing(
    desired: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A plan saved before the state it was made from changed is refused, naming the site, before any of
    it is shown."""
    saved = tmp_path / "plan.json"
    assert run_cli(capsys, "plan", "--desired", str(desired), "--out", str(saved), "--now", NOW)[0] == 0
    state_dir = desired / ".state"
    state_dir.mkdir()
    (state_dir / "harbour-depot.json").write_text(
        '{"lineage": "'
        + "a" * 32
        + '", "serial": 1, "site": "harbour-depot", "stations": {}, "version": 1}\n'
    )
    monkeypatch.setenv("EDRV_API_KEY", "k")
    monkeypatch.setenv("EDRV_API_URL", "http://127.0.0.1:9")  # never reached
    code, out, err = run_cli(
        capsys, "apply", "--plan", str(saved), "--desired", str(desired), "--auto-approve", "--now", NOW
    )
    assert code == EXIT_ERROR
    assert out == "", "no plan and no progress before the refusal"
    assert "stale: site harbour-depot had no recorded state when planned" in err


@pytest.mark.parametrize(
    ("mode", "warned"), [(0o600, None), (0o640, "its group"), (0o644, "its group and all users")]
)
def test_a_key_file_others_may_read_draws_a_warning(
    *,
    desired: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mode: int,
    warned: str | None,
) -> None:
    """A key file readable by group or others is used with a warning (an annotation under Actions)."""
    key = tmp_path / "edrv.key"
    key.write_text("k\n")
    key.chmod(mode)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("EDRV_API_URL", "http://127.0.0.1:9")  # never reached: no terminal to confirm on
    code, _, err = run_cli(capsys, "apply", "--desired", str(desired), "--key-file", str(key), "--now", NOW)
    assert code == EXIT_ERROR
    warnings = [line for line in err.splitlines() if "warning" in line]
    if warned is None:
        assert warnings == []
    else:
        assert warnings == [
            f"warning: the eDRV API key file {key} is readable by {warned} (mode {mode:04o}); "
            f"`chmod 600 {key}` keeps the key to its owner",
            f"::warning::the eDRV API key file {key} is readable by {warned} (mode {mode:04o}); "
            f"`chmod 600 {key}` keeps the key to its owner",
        ]
    assert "k\n" not in err


def test_a_key_file_of_the_wrong_size_is_refused_unread(
    desired: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A key file over 4 KB (a wrong path, a device) is refused before it is read in full."""
    key = tmp_path / "huge.key"
    with key.open("wb") as handle:
        handle.truncate(10 * 1024**3)  # sparse: reading it whole would take minutes
    code, out, err = run_cli(capsys, "apply", "--desired", str(desired), "--key-file", str(key))
    assert code == EXIT_ERROR
    assert out == ""
    assert f"the eDRV API key file {key} is over 4,096 bytes" in err
