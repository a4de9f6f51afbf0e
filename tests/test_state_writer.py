"""The repeated-save writer apply uses: the same file text as a full save, and the same refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import StateFileError
from reconciler.plan.outcome import assume_applied, record_change
from reconciler.plan.site import build
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState, Status
from reconciler.state.store import StateWriter

from .conftest import NOW
from .test_plan import _profile, _site


def _states(tmp_path: Path) -> list[RecordedState]:
    """A sequence of states as apply produces them: intents, then answers one by one."""
    plan = build("depot", _site(tmp_path, *(_profile(f"p{i}", 20 + i, 16) for i in range(5))), None, NOW)
    current = RecordedState.new("depot")
    sequence = []
    for change in plan.changes:
        current = record_change(current, change, Status.PENDING, NOW)
    sequence.append(current)
    for change in plan.changes:
        current = record_change(current, change, Status.REQUESTED, NOW, action_id=f"a-{change.profile_id}")
        sequence.append(current)
    sequence.append(assume_applied(current, plan, NOW))
    return sequence


def test_every_save_writes_the_text_a_full_save_would(tmp_path: Path) -> None:
    """Reusing the text of unchanged stations and records gives the file `to_json` gives, save after save."""
    path = tmp_path / "state" / "depot.json"
    writer = StateWriter(path)
    expected: RecordedState | None = None
    for current in _states(tmp_path):
        expected = writer.save(current, expected)
        assert path.read_text() == state.to_json(expected)
        assert state.load(path, "depot") == expected


def test_a_file_changed_behind_the_writers_back_is_refused(tmp_path: Path) -> None:
    """When another writer moved the serial, the next save is refused and the file is left as it was."""
    path = tmp_path / "depot.json"
    first, second, *_ = _states(tmp_path)
    writer = StateWriter(path)
    written = writer.save(first, None)
    other = state.save(path, second, written)  # someone else's save
    before = path.read_text()
    with pytest.raises(StateFileError, match="serial"):
        writer.save(second, written)
    assert path.read_text() == before
    assert other.serial == written.serial + 1


def test_a_vanished_file_is_refused(tmp_path: Path) -> None:
    """A state file deleted between two saves is not silently recreated."""
    path = tmp_path / "depot.json"
    first, second, *_ = _states(tmp_path)
    writer = StateWriter(path)
    written = writer.save(first, None)
    path.unlink()
    with pytest.raises(StateFileError, match="vanished"):
        writer.save(second, written)
    assert not path.exists()
