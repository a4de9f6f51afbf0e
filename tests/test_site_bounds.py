"""Site files beyond their bounds are refused before the work the bound is there to limit: a file over
its size before it is read in full, a site of too many profiles before its templates are placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.main import EXIT_ERROR, main
from reconciler.desired.loader import load_site
from reconciler.desired.validate import MAX_PROFILES_PER_SITE
from reconciler.errors import Severity

from .conftest import DESIRED, NOW


def test_a_site_file_over_its_bound_is_refused_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over RECONCILER_MAX_SITE_FILE_MB, a file is one error at the file, saying how to raise the bound."""
    path = tmp_path / "harbour-depot.yaml"
    path.write_text((DESIRED / "harbour-depot.yaml").read_text())
    monkeypatch.setenv("RECONCILER_MAX_SITE_FILE_MB", "0.005")
    site, problems = load_site(path, NOW)
    assert site is None
    assert [(p.line, p.severity, p.message) for p in problems] == [
        (0, Severity.ERROR, f"the file is over 5,000 bytes ({path.stat().st_size:,} bytes or more)")
    ]
    assert problems[0].fix == (
        "check that it is the right file, or raise the limit with RECONCILER_MAX_SITE_FILE_MB=<megabytes>"
    )
    monkeypatch.setenv("RECONCILER_MAX_SITE_FILE_MB", "0.01")
    assert load_site(path, NOW)[0] is not None


def test_a_sparse_ten_gigabyte_site_file_is_not_read(tmp_path: Path) -> None:
    """A file far over the bound is refused after reading one byte past it (this one would take minutes)."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(10 * 1024**3)
    _, problems = load_site(path, NOW)
    assert [p.message for p in problems] == ["the file is over 1 MB (1.07e+04 MB or more)"]


def test_a_site_placing_too_many_profiles_is_refused_before_placing_them(tmp_path: Path) -> None:
    """Templates on thousands of stations: the count is refused, at `stations`, before any is placed."""
    stations = "".join(
        f"  S{i}: {{connectors: 1, rated_power_kw: 1}}\n" for i in range(MAX_PROFILES_PER_SITE // 2 + 1)
    )
    templates = "".join(
        f"  t{level}:\n    profile: {{connectorId: 0, stackLevel: {level}, chargingProfilePurpose: "
        "TxDefaultProfile, chargingProfileKind: Relative, chargingSchedule: {chargingRateUnit: A, "
        "chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]}}\n"
        for level in (11, 12)
    )
    path = tmp_path / "amplified.yaml"
    path.write_text(f"site: {{name: Amplified}}\ntemplates:\n{templates}stations:\n{stations}")
    site, problems = load_site(path, NOW)
    assert site is None
    assert [(p.line, p.message) for p in problems] == [
        (
            7,  # `stations:`
            f"the site places {MAX_PROFILES_PER_SITE + 2:,} profiles on its stations, more than the "
            f"{MAX_PROFILES_PER_SITE:,} one site may hold",
        )
    ]


def test_a_malformed_size_setting_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`RECONCILER_MAX_SITE_FILE_MB=big` fails every command with one line naming it, exit 1."""
    monkeypatch.setenv("RECONCILER_MAX_SITE_FILE_MB", "big")
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--desired", str(DESIRED), "--state-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert exited.value.code == EXIT_ERROR
    assert err == (
        "error: RECONCILER_MAX_SITE_FILE_MB='big' is not a size in megabytes; set it to a number such as 4\n"
    )
