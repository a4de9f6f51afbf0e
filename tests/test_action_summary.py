"""The action's job summary stays within GitHub's 1 MiB a step, which drops the whole summary past it: a
validate of thousands of findings is cut at a line, says how many lines it left out, and keeps its totals."""

from __future__ import annotations

import os
import subprocess
import sysconfig
from pathlib import Path

from .conftest import ROOT

SCRIPT = ROOT / ".github" / "actions" / "reconcile" / "reconcile.sh"
SUMMARY_LIMIT_BYTES = 1024 * 1024
STATIONS = 2000


def _site(stations: int) -> str:
    """A site whose every station has a profile below 6 A: a warning a line, each about 150 bytes."""
    profile = (
        "{p: {connectorId: 1, stackLevel: 20, chargingProfilePurpose: TxDefaultProfile, chargingProfileKind: "
        "Absolute, chargingSchedule: {startSchedule: 2026-01-01T00:00:00Z, chargingRateUnit: A, "
        "chargingSchedulePeriod: [{startPeriod: 0, limit: 4}]}}}"
    )
    rows = [
        f"  CS-{n:05d}: {{connectors: 1, rated_power_kw: 22, profiles: {profile}}}" for n in range(stations)
    ]
    return "site: {name: Big}\nstations:\n" + "\n".join(rows) + "\n"


def test_a_validate_too_large_for_the_summary_is_cut_at_a_line_and_keeps_its_totals(tmp_path: Path) -> None:
    """Three sites sharing 2,000 stations write about 1.4 MB of findings: the summary holds under 1 MiB of
    them, whole lines only, counts the lines it left out exactly, and ends with validate's totals."""
    desired = tmp_path / "desired"
    desired.mkdir()
    for n in range(3):
        (desired / f"big{n}.yaml").write_text(_site(STATIONS), encoding="utf-8")
    summary, outputs, out = tmp_path / "summary.md", tmp_path / "outputs", tmp_path / "out"
    environment = {
        **os.environ,
        "PATH": f"{sysconfig.get_path('scripts')}:{os.environ['PATH']}",
        "DESIRED": str(desired),
        "OUT_DIR": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
    }
    # As on a runner: unbuffered output, set in some shells, would hide a flush left out.
    environment.pop("PYTHONUNBUFFERED", None)
    subprocess.run(["bash", str(SCRIPT), "validate"], env=environment, capture_output=True, check=False)
    log = (out / "validate.txt").read_text(encoding="utf-8").splitlines()
    assert len("\n".join(log)) > SUMMARY_LIMIT_BYTES, "the findings alone would not fit"
    written = summary.read_text(encoding="utf-8")
    assert len(written.encode()) < SUMMARY_LIMIT_BYTES
    shown = [line.removeprefix("    ") for line in written.splitlines() if line.startswith("    ")]
    *findings, blank, note, totals = shown
    assert findings == log[: len(findings)], "whole lines, in order, from the first"
    assert blank == ""
    cut = len(log) - len(findings) - 1
    assert note == f"... {cut} line(s) cut here to fit the job summary: the job's log has them all"
    assert totals == log[-1] == "3 site(s) valid; 4000 error(s), 6000 warning(s)"
    assert "exit-code=1" in outputs.read_text(encoding="utf-8")
