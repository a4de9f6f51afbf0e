"""How long a window of composite schedules may be asked for: `schedule --hours` and `drift --hours`
count the pieces of the profiles they would lay out and refuse, before any is worked out or anything
is asked, more than `window.MAX_COMPOSITE_PIECES`.

The site: one station of two connectors with a Daily TxDefaultProfile of 200 periods of 432 s, so that
a day lays out 200 pieces and a year some 73,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli.main import EXIT_USAGE
from reconciler.plan.outcome import assume_applied
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState

from .conftest import NOW, run_cli

NOW_TEXT = "2026-11-23T12:00:00Z"
PERIODS = ", ".join(f"{{startPeriod: {n * 432}, limit: {6 + n % 20}}}" for n in range(200))
SITE = f"""site: {{name: Dense}}
stations:
  S1:
    connectors: 2
    rated_power_kw: 22
    ocpp: {{ChargingScheduleMaxPeriods: 200}}
    profiles:
      tariff:
        connectorId: 0
        stackLevel: 20
        chargingProfilePurpose: TxDefaultProfile
        chargingProfileKind: Recurring
        recurrencyKind: Daily
        chargingSchedule:
          startSchedule: 2026-01-01T00:00:00Z
          chargingRateUnit: A
          chargingSchedulePeriod: [{PERIODS}]
"""


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    (tmp_path / "dense.yaml").write_text(SITE)
    return tmp_path


def test_a_schedule_longer_than_the_window_allows_is_refused_naming_the_longest_that_is_not(
    desired: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A year of 200 periods a day is a usage error at --hours that counts the pieces and names the
    longest window allowed (250 days' worth of 50,000 pieces: about 6,000 h); that window is listed."""
    base = ("schedule", "dense", "S1", "--desired", str(desired), "--now", NOW_TEXT)
    code, out, err = run_cli(capsys, *base, "--hours", "8784")
    assert code == EXIT_USAGE
    assert out == ""
    assert (
        "Invalid value for --hours: the schedule asked for would lay out 73,200 periods of the profiles"
        in err
    )
    assert "more than the 50,000 worked out at once; ask for fewer hours (at most about 6000 here)" in err
    code, out, _ = run_cli(capsys, *base, "--hours", "6000", "--format", "json")
    assert code == 0
    assert len(json.loads(out)["stations"][0]["periods"]) > 40_000


def test_drift_over_more_than_the_window_allows_is_refused_before_anything_is_asked(
    desired: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drift compares a charger's answer with the recorded profiles' composite over --hours: a year of them
    is a usage error naming the pieces, before any charger is asked (eDRV here is an address nothing
    answers at, where a request would have ended the run with the station unreachable, exit 1)."""
    for plan in plan_sites(desired, [], NOW):
        applied = assume_applied(RecordedState.new(plan.site_id), plan, NOW)
        store.save(store.state_path(desired, plan.site_id), applied, None)
    monkeypatch.setenv("EDRV_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("EDRV_API_KEY", "a-key")
    code, out, err = run_cli(
        capsys, "drift", "dense", "--desired", str(desired), "--now", NOW_TEXT, "--hours", "8784"
    )
    assert code == EXIT_USAGE
    assert out == ""
    assert (
        "Invalid value for --hours: the schedule asked for would lay out 73,200 periods of the profiles"
        in err
    )
