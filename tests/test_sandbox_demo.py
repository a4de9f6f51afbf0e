"""`reconciler demo`, the README's first command, runs the whole loop against a sandbox and its webhook
receiver, and exits 0."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reconciler.cli.main import main

from .conftest import DESIRED


def test_demo_applies_the_example_network_and_leaves_files_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo applies every profile (requested), ingests the answers (accepted, one rejected with the
    charger's answer), finds nothing left to send, shows stations by their descriptions and times in the
    sites' zone, finds a rebooted charger allowing more and heals it, and changes no file of the user's."""
    desired_dir = tmp_path / "desired"
    shutil.copytree(DESIRED, desired_dir, ignore=shutil.ignore_patterns(".*"))
    before = {p: p.read_bytes() for p in desired_dir.rglob("*")}
    with pytest.raises(SystemExit) as done:
        main(["demo", "--desired", str(desired_dir)])
    out = capsys.readouterr().out
    assert done.value.code == 0, out
    sent = re.search(r"Apply: ([1-9]\d*) sent, \1 accepted by eDRV, 0 failed", out)
    assert sent, out
    calls = int(sent.group(1))
    assert f"Recorded now: {calls} requested: eDRV took the calls" in out
    assert f"{calls} answer(s) folded into 3 site(s) ({calls - 1} accepted, 1 rejected), 0 unmatched" in out
    assert f"Recorded now: {calls - 1} accepted, 1 rejected." in out
    (refusal,) = [line for line in out.splitlines() if line.startswith("rejected ")]
    assert refusal.endswith(": the charge point rejected the profile (Rejected)")
    assert "rejects: 5 profiles after the set, MaxChargingProfilesInstalled is 4" in out
    assert "A second plan now finds 0 change(s) to make." in out
    assert "station total, times Europe/Berlin, " in out  # every example site with varied limits is there
    assert "  6650a1c2e4b0a1d2c3e4f501 (Wallbox P1): " in out
    drifted = re.search(r"\n  (\w+) \([^)]*\): allows MORE than recorded from ", out)
    assert drifted is not None, out
    # The depot is in Berlin: when drift was found is told on its clock.
    assert re.search(
        rf"set   {drifted.group(1)}/\S+ .*\(heal: drift found at \w{{3}} [0-9-]+ [0-9:]+ CES?T ", out
    )
    assert re.search(r"After the heal, drift again: (\d+) station\(s\) checked: \1 in sync,", out)
    assert {p: p.read_bytes() for p in desired_dir.rglob("*")} == before


def test_sandbox_flags_are_checked_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed fault flag is a usage error (exit 64), not a half-started sandbox."""
    with pytest.raises(SystemExit) as done:
        main(["sandbox", "--desired", str(DESIRED), "--error", "teapot"])
    assert done.value.code == 64
    assert "teapot" in capsys.readouterr().err
