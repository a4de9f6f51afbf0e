"""State files that parse but cannot all be true, or that are too large or deep, are refused on load,
naming the record and its line, so nothing is planned or sent from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import StateFileError
from reconciler.ocpp.configuration import MOST_PROFILES_INSTALLED, MOST_RECORDED_STATION_PERIODS
from reconciler.state import check
from reconciler.state.recorded import Status, payload_hash
from reconciler.state.store import load, save, state_path

from .test_state import SITE, _state

Document = dict[str, Any]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = state_path(tmp_path, SITE)
    save(target, _state(), None)
    return target


def _profiles(document: Document, station: str = "CP-1") -> Document:
    profiles: Document = document["stations"][station]["profiles"]
    return profiles


def _rehash(document: Document) -> None:
    """Recompute every payload hash, as a careful hand edit would, so the checks beyond it are reached."""
    for station in document["stations"].values():
        for record in station["profiles"].values():
            record["payload_hash"] = payload_hash(record["payload"])


def _twin(document: Document) -> None:
    _profiles(document)["evening copy"] = dict(_profiles(document)["evening"])


def _retired_twin(document: Document) -> None:
    _profiles(document)["evening copy"] = {**_profiles(document)["evening"], "status": Status.CLEARED.value}


def _field(field: str, value: Any) -> Callable[[Document], None]:
    return lambda document: _profiles(document)["evening"].__setitem__(field, value)


def _payload_field(key: str, value: Any) -> Callable[[Document], None]:
    return lambda document: _profiles(document)["evening"]["payload"].__setitem__(key, value)


def _periods(count: int) -> list[Document]:
    """`count` periods a second apart."""
    return [{"startPeriod": start_s, "limit": 16} for start_s in range(count)]


def _schedule_field(key: str, value: Any) -> Callable[[Document], None]:
    return lambda document: _profiles(document)["evening"]["payload"]["chargingSchedule"].__setitem__(
        key, value
    )


def _crowd(document: Document) -> None:
    """As many more live records as a station may hold, beside those it has."""
    profiles = _profiles(document)
    evening = profiles["evening"]
    for number in range(1, MOST_PROFILES_INSTALLED + 1):
        payload = {**evening["payload"], "chargingProfileId": 1000 + number}
        profiles[f"extra {number:03d}"] = {**evening, "payload": payload}
    document["stations"]["CP-1"]["high_water_id"] = 1000 + MOST_PROFILES_INSTALLED


CASES = {
    "more live records than a station may hold": (
        _crowd,
        f"the station has more than {MOST_PROFILES_INSTALLED} live records",
    ),
    "two live records share an id": (
        _twin,
        "evening copy: chargingProfileId 13 is also live under 'evening'",
    ),
    "id differs from the payload's": (
        # Format 3 leaves the id to the payload; a record that states one must agree with it.
        lambda document: (
            _field("charging_profile_id", 13)(document),
            _payload_field("chargingProfileId", 14)(document),
        ),
        "evening: charging_profile_id is 13 but the payload sent has chargingProfileId 14",
    ),
    "stack level differs from the payload's": (
        _field("stack_level", 14),
        "evening: stack_level is 14 but the payload sent has stackLevel 13",
    ),
    "purpose differs from the payload's": (
        _field("purpose", "TxProfile"),
        "evening: purpose is <Purpose.TX: 'TxProfile'> but the payload sent has chargingProfilePurpose",
    ),
    "id zero": (
        _field("charging_profile_id", 0),
        "charging_profile_id: Input should be greater than or equal to 1",
    ),
    "id above the high water": (
        lambda document: document["stations"]["CP-1"].__setitem__("high_water_id", 20),
        "high_water_id 20 is below chargingProfileId 21 of record 'night'",
    ),
    "payload without a schedule": (
        lambda document: _profiles(document)["evening"]["payload"].pop("chargingSchedule"),
        "evening.payload: chargingSchedule is missing",
    ),
    "a period start past OCPP's integers": (
        _schedule_field("chargingSchedulePeriod", [{"startPeriod": 10**12, "limit": 16}]),
        "chargingSchedule.chargingSchedulePeriod[0].startPeriod must be seconds from 0 to 2147483647",
    ),
    "a date past the calendar": (
        _schedule_field("startSchedule", "9999-12-31T23:59:59Z"),
        "chargingSchedule.startSchedule must be an RFC 3339 UTC date-time",
    ),
    "a connector no charger has": (
        _field("connector_id", 10**30),
        "connector_id: Input should be less than or equal to 100",
    ),
    "more schedule periods on a station than a reconciler records": (
        _schedule_field("chargingSchedulePeriod", _periods(MOST_RECORDED_STATION_PERIODS + 1)),
        f"the station's live records hold more than {MOST_RECORDED_STATION_PERIODS:,} schedule periods",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_inconsistent_state_file_is_refused_naming_the_record_and_its_line(path: Path, case: str) -> None:
    """Each hand edit is refused by load with the record's place, even with every hash recomputed."""
    edit, message = CASES[case]
    document = json.loads(path.read_text())
    edit(document)
    _rehash(document)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    with pytest.raises(StateFileError) as refused:
        load(path, SITE)
    assert message in str(refused.value)
    assert refused.value.file == str(path)
    assert refused.value.line > 0
    assert str(refused.value).startswith(f"{path}:{refused.value.line}: ")
    assert path.read_text() == text, "a refused file is left as it is"


def test_a_checksummed_state_with_too_many_periods_on_a_station_is_refused_too(path: Path) -> None:
    """A file whose checksum holds (as a reconciler writes it) still has its station's periods counted:
    a plan would otherwise work out the power of a day of one-second periods on every connector."""
    state = _state()
    record = state.stations["CP-1"].profiles["evening"]
    payload = {**record.payload}
    payload["chargingSchedule"] = {
        **payload["chargingSchedule"],
        "chargingSchedulePeriod": _periods(MOST_RECORDED_STATION_PERIODS + 1),
    }
    longer = record.model_copy(update={"payload": payload, "payload_hash": payload_hash(payload)})
    path.unlink()
    save(path, state.with_record("CP-1", "evening", longer), None)
    with pytest.raises(StateFileError, match="schedule periods in all"):
        load(path, SITE)


def test_a_retired_record_may_share_the_id_of_a_live_one(path: Path) -> None:
    """A cleared record keeps its id in the audit trail; only live records must hold distinct ids."""
    document = json.loads(path.read_text())
    _retired_twin(document)
    path.write_text(json.dumps(document))
    loaded = load(path, SITE)
    assert loaded is not None
    assert check.first_problem(loaded) is None


def test_the_line_points_at_the_record(path: Path) -> None:
    """The line of a refusal is where the record named in it begins, in a file as the store writes it."""
    document = json.loads(path.read_text())
    _twin(document)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    with pytest.raises(StateFileError) as refused:
        load(path, SITE)
    assert text.splitlines()[refused.value.line - 1].strip() == '"evening copy": {'


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_a_state_file_nested_past_the_stack_is_refused(path: Path, text: str) -> None:
    """JSON nested a hundred thousand deep is a refusal, not a RecursionError."""
    path.write_text(text)
    with pytest.raises(StateFileError, match="nested too deeply"):
        load(path, SITE)


def test_a_state_file_over_its_size_bound_is_refused_unread(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state file over its bound is refused naming RECONCILER_MAX_STATE_FILE_MB; so is a sparse 10 GB."""
    monkeypatch.setenv("RECONCILER_MAX_STATE_FILE_MB", "0.001")
    with pytest.raises(StateFileError, match=r"over 1,000 bytes .* RECONCILER_MAX_STATE_FILE_MB=<megabytes>"):
        load(path, SITE)
    monkeypatch.delenv("RECONCILER_MAX_STATE_FILE_MB")
    with path.open("r+b") as handle:
        handle.truncate(10 * 1024**3)  # sparse: no disk used, and only the first 32 MB are ever read
    with pytest.raises(StateFileError, match=r"over 32 MB \(1.07e\+04 MB or more\)"):
        load(path, SITE)


def test_a_malformed_size_setting_is_an_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A size setting that is not a positive number is refused with its name, not ignored."""
    monkeypatch.setenv("RECONCILER_MAX_STATE_FILE_MB", "lots")
    with pytest.raises(Exception, match="RECONCILER_MAX_STATE_FILE_MB='lots' is not a size in megabytes"):
        load(path, SITE)


def test_under_actions_a_refused_state_file_is_annotated_on_its_line(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan` on an inconsistent state file exits 1 with one error line and an annotation at file and line."""
    from reconciler.cli.main import EXIT_ERROR, main

    document = json.loads(path.read_text())
    _twin(document)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with pytest.raises(SystemExit) as exited:
        main(["plan", SITE, "--desired", str(path.parent.parent)])
    out, err = capsys.readouterr()
    assert exited.value.code == EXIT_ERROR
    assert out == ""
    error, annotation = err.splitlines()
    assert error.startswith(f"error: {path}:")
    assert annotation.startswith(f"::error file={path},line={error.split(':')[2]}::{path}:")
