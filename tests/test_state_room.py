"""A site whose profiles would be recorded in more state than the store reads is refused when checked,
before anything is sent; the estimate it is judged by never falls short of the state really written."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.desired import bounds
from reconciler.desired.loader import load
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import build
from reconciler.state import store
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW, run_cli

SITES = sorted(DESIRED.glob("*.yaml"))


@pytest.mark.parametrize("path", SITES, ids=[p.stem for p in SITES])
def test_the_estimate_is_never_below_the_state_written(path: Path) -> None:
    """Each example site, planned from nothing and recorded as applied, takes no more bytes of state than
    `state_room` counts for it."""
    (site,) = load([path], NOW).sites
    recorded = assume_applied(RecordedState.new(site.site_id), build(site.site_id, site, None, NOW), NOW)
    sizes = [len(item.body.rest) for items in site.profiles.values() for item in items]
    assert len(store.to_json(recorded)) <= sum(sizes) + bounds.RECORD_BYTES * len(sizes)


def test_a_site_too_large_for_its_state_file_is_refused_until_the_bound_is_raised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With state files bounded to 20 KB, the harbour depot (about 25 KB of state) fails validation and
    plans nothing, naming the setting; raised to 1 MB, the same site passes."""
    site = str(DESIRED / "harbour-depot.yaml")
    monkeypatch.setenv(bounds.STATE_FILE_SETTING, "0.02")
    code, out, _ = run_cli(capsys, "validate", site)
    assert code == 1
    assert "profiles would be recorded in about" in out
    assert f"raise {bounds.STATE_FILE_SETTING}=<megabytes>" in out
    code, _, err = run_cli(capsys, "plan", "harbour-depot", "--desired", str(DESIRED))
    assert code == 1
    assert "error(s) in desired state" in err
    monkeypatch.setenv(bounds.STATE_FILE_SETTING, "1")
    assert run_cli(capsys, "validate", site)[0] == 0
