"""The recorded-state file: its format, its refusals, atomic writes and the per-site lock."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import StateFileError
from reconciler.ocpp.profile import Json, Purpose
from reconciler.render.state import render_text
from reconciler.state import layout
from reconciler.state.files import lock
from reconciler.state.recorded import (
    RETIRED,
    STATE_VERSION,
    ClearRequest,
    ProfileRecord,
    RecordedState,
    StationRecord,
    Status,
    payload_hash,
)
from reconciler.state.store import load, save, state_path, to_json

SITE = "harbour-depot"


def _payload(profile_id: int = 13, limit: float = 16) -> Json:
    return {
        "chargingProfileId": profile_id,
        "stackLevel": 13,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }


def _record(profile_id: int = 13, status: Status = Status.ACCEPTED, **changes: Any) -> ProfileRecord:
    payload = _payload(profile_id)
    fields: dict[str, Any] = {
        "connector_id": 1,
        "charging_profile_id": profile_id,
        "purpose": Purpose.TX_DEFAULT,
        "stack_level": 13,
        "payload": payload,
        "payload_hash": payload_hash(payload),
        "status": status,
        "action_id": "64a1c0ffee",
        "requested_at": "2026-11-23T12:00:00Z",
        "updated_at": "2026-11-23T12:00:05Z",
    }
    return ProfileRecord(**(fields | changes))


def _state() -> RecordedState:
    return (
        RecordedState.new(SITE)
        .with_record("CP-1", "evening", _record(13))
        .with_record("CP-1", "night", _record(21, Status.REJECTED, last_error="charger said Rejected"))
        .with_record("CP-2", "evening", _record(4))
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return state_path(tmp_path, SITE)


def _saved(path: Path) -> RecordedState:
    return save(path, _state(), None)


def _edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_state_path_defaults_under_desired_and_honours_state_dir(tmp_path: Path) -> None:
    """State lives in `<desired>/.state/<site>.json` unless a state directory is given."""
    assert state_path(tmp_path, SITE) == tmp_path / ".state" / f"{SITE}.json"
    assert state_path(tmp_path, SITE, tmp_path / "elsewhere") == tmp_path / "elsewhere" / f"{SITE}.json"


def test_missing_file_loads_as_none(path: Path) -> None:
    """A site that was never applied has no file, which is not an error."""
    assert load(path, SITE) is None


def test_round_trip(path: Path) -> None:
    """What save writes, load reads back equal, creating the directory on the way."""
    written = _saved(path)
    assert load(path, SITE) == written
    assert written.record("CP-1", "night") == _record(21, Status.REJECTED, last_error="charger said Rejected")


def _member(line: str) -> tuple[str, str]:
    """A record line's key (a profile name, which may hold `": "` itself) and the JSON text of its value."""
    key, end = json.JSONDecoder().raw_decode(line.strip())
    rest = line.strip()[end:]
    assert rest.startswith(": "), line
    return key, rest[2:].rstrip(",")


def _layout_problems(text: str) -> list[str]:
    """What in `text` departs from format 3's layout (see `store`); an empty list when nothing does."""
    problems = []
    lines = text.split("\n")
    body = "\n".join([lines[0], *lines[2:]])
    if lines[1] != f'  "checksum": "sha256:{hashlib.sha256(body.encode()).hexdigest()}",':
        problems.append(f"line 2 is not the checksum of the rest: {lines[1]}")
    document = json.loads(text)
    records = {
        (station_id, name): record
        for station_id, station in document["stations"].items()
        for name, record in station["profiles"].items()
    }
    record_lines = [line for line in lines if line.startswith(" " * 8 + '"')]
    if len(record_lines) != len(records):
        problems.append(f"{len(record_lines)} record lines for {len(records)} records")
    for line in record_lines:
        key, value = _member(line)
        record = json.loads(value)
        if list(record) != sorted(record) or set(record) & {"charging_profile_id", "purpose", "stack_level"}:
            problems.append(f"record {key}: fields unsorted or repeating the payload's: {list(record)}")
        written = value[value.index('"payload": ') + len('"payload": ') :]
        canonical = json.dumps(record["payload"], sort_keys=True, separators=(",", ":"))
        if not written.startswith(canonical) or record["payload_hash"] != payload_hash(record["payload"]):
            problems.append(f"record {key}: payload not written as the canonical text its hash is of")
    # With each record emptied and without the checksum, the rest is indented JSON with sorted keys.
    skeleton = json.loads(text)
    skeleton.pop("checksum")
    for station in skeleton["stations"].values():
        station["profiles"] = {name: {} for name in station["profiles"]}
    emptied = [
        line[: len(line) - len(line.lstrip())]
        + json.dumps(_member(line)[0])
        + ": {}"
        + ("," if line.endswith(",") else "")
        if line in record_lines
        else line
        for line in [lines[0], *lines[2:]]
    ]
    if "\n".join(emptied) != json.dumps(skeleton, sort_keys=True, indent=2) + "\n":
        problems.append("the document and stations are not indented JSON with sorted keys")
    return problems


def test_file_is_one_line_per_record_under_a_checksum(path: Path) -> None:
    """Format 3: sorted, indented JSON down to the records, each record on one line without its
    default values or the fields its payload holds, the payload as the canonical text its hash is of,
    a checksum of the rest on line 2, one trailing newline, and the version."""
    _saved(path)
    text = path.read_text()
    assert _layout_problems(text) == []
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert json.loads(text)["version"] == STATE_VERSION == 3
    night = json.loads(text)["stations"]["CP-1"]["profiles"]["night"]
    assert "attempts" not in night
    assert "clearing" not in night
    assert night["last_error"] == "charger said Rejected"
    assert text == to_json(load(path, SITE) or RecordedState.new("unused"))


def test_a_record_takes_under_half_the_bytes_of_version_2(path: Path) -> None:
    """The same records in format 3 take less than half the bytes of the fully indented version 2."""
    state = _state()
    for number in range(40):
        state = state.with_record(
            "CP-9", f"p{number}", _record(100 + number, confirmed_at="2026-11-23T12:00:07Z")
        )
    assert len(to_json(state)) < len(_old_layout(state, 2)) / 2


def _old_layout(state: RecordedState, version: int) -> str:
    """`state` as versions 1 and 2 wrote it: every field, sorted keys, indent 2."""
    return json.dumps({"version": version, **state.model_dump(mode="json")}, sort_keys=True, indent=2) + "\n"


def test_a_version_2_file_reads_as_the_same_state(path: Path) -> None:
    """A file written before format 3 (indented, every field, no checksum) reads back the same records,
    every payload hash checked, and is written back in format 3."""
    state = save(path, _state(), None)
    path.write_text(_old_layout(state, 2))
    loaded = load(path, SITE)
    assert loaded == state
    save(path, state, state)
    assert json.loads(path.read_text())["version"] == 3
    assert _layout_problems(path.read_text()) == []
    edited = _old_layout(state, 2).replace('"limit": 16', '"limit": 15', 1)
    path.write_text(edited)
    with pytest.raises(StateFileError, match="payload_hash does not match payload"):
        load(path, SITE)


def test_a_record_without_its_payload_is_refused_naming_the_payload_first(path: Path) -> None:
    """Format 3 leaves the id, stack level and purpose to the payload, so a record that lost it is
    refused with the payload named first, not only the fields it would have given."""
    _saved(path)
    _edit(path, lambda d: d["stations"]["CP-1"]["profiles"]["night"].pop("payload"))
    with pytest.raises(
        StateFileError, match=r"not a valid state file: stations\.CP-1\.profiles\.night\.payload: "
    ):
        load(path, SITE)


def test_hashes_are_not_computed_again_while_the_checksum_holds(path: Path) -> None:
    """A file whose checksum holds is taken as the reconciler wrote it, its payload hashes unread; an edit
    anywhere breaks the checksum, and then every hash is computed and checked again."""
    _saved(path)
    text = path.read_text()
    edited = text.replace('"limit":16', '"limit":15', 1)
    path.write_text(edited)
    with pytest.raises(StateFileError, match="payload_hash does not match payload"):
        load(path, SITE)
    lines = edited.split("\n")
    body = "\n".join([lines[0], *lines[2:]])
    lines[1] = f'  "checksum": "sha256:{hashlib.sha256(body.encode()).hexdigest()}",'
    path.write_text("\n".join(lines))  # the checksum recomputed by hand: taken as written
    loaded = load(path, SITE)
    assert loaded is not None
    record = loaded.record("CP-1", "evening")
    assert record is not None
    assert record.payload["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 15


def test_serial_bumps_and_lineage_stays(path: Path) -> None:
    """Every save raises the serial by one; the lineage chosen at creation never changes."""
    first = _saved(path)
    second = save(path, first.with_record("CP-3", "evening", _record(1)), first)
    third = save(path, second.without_record("CP-3", "evening"), second)
    assert [first.serial, second.serial, third.serial] == [1, 2, 3]
    assert first.lineage == second.lineage == third.lineage
    assert load(path, SITE) == third


def test_stale_serial_is_refused(path: Path) -> None:
    """Two runs that loaded the same serial cannot both write: the second is told to plan again."""
    loaded = _saved(path)
    save(path, loaded, loaded)
    with pytest.raises(StateFileError, match=r"serial 2 but this run loaded serial 1.*plan again"):
        save(path, loaded, loaded)


def test_lineage_mismatch_is_refused(path: Path) -> None:
    """A state file replaced by another state of the same site is not overwritten with ours."""
    loaded = _saved(path)
    other = RecordedState.new(SITE)
    path.write_text(to_json(other.model_copy(update={"serial": loaded.serial})))
    with pytest.raises(StateFileError, match=rf"lineage {other.lineage}, not {loaded.lineage}"):
        save(path, loaded, loaded)


def test_appeared_or_vanished_file_is_refused(path: Path) -> None:
    """A file that appeared after we found none, or vanished after we loaded it, stops the write."""
    loaded = _saved(path)
    with pytest.raises(StateFileError, match="was created"):
        save(path, RecordedState.new(SITE), None)
    path.unlink()
    with pytest.raises(StateFileError, match="vanished"):
        save(path, loaded, loaded)
    assert not path.exists()


def test_corrupt_json_is_refused_with_file_and_line(path: Path) -> None:
    """Broken JSON names the file, line and column, and says how to recover."""
    path.parent.mkdir(parents=True)
    path.write_text('{\n  "version": 1,\n  "site": "harbour-depot",,\n}\n')
    with pytest.raises(StateFileError, match=rf"^{path}:3:27: not valid JSON .*restore it"):
        load(path, SITE)


@pytest.mark.parametrize("version", [4, 0, "1", True, None, [1]])
def test_unknown_version_is_refused(path: Path, version: Any) -> None:
    """Only format versions this reconciler knows are read; the message says which it reads."""
    _saved(path)
    _edit(path, lambda d: d.update(version=version))
    with pytest.raises(StateFileError, match=rf"version {re.escape(repr(version))} .*reads version 1, 2, 3"):
        load(path, SITE)


def test_a_version_1_file_reads_with_nothing_confirmed_and_is_written_as_version_3(path: Path) -> None:
    """A file from before confirmations loads (no answer recorded, one attempt) and saves as version 3."""
    state = _saved(path)
    document = json.loads(_old_layout(state, 1))
    for station in document["stations"].values():
        for record in station["profiles"].values():
            for added in ("confirmed_at", "attempts", "clearing", "heal_requested_at"):
                del record[added]
    path.write_text(json.dumps(document, sort_keys=True, indent=2))
    loaded = load(path, SITE)
    assert loaded is not None
    record = loaded.record("CP-1", "night")
    assert record is not None
    assert (record.confirmed_at, record.attempts, record.clearing) == (None, 1, None)
    save(path, loaded, loaded)
    assert json.loads(path.read_text())["version"] == 3


def test_missing_version_is_refused(path: Path) -> None:
    """A file without a version is not guessed at."""
    _saved(path)
    _edit(path, lambda d: d.pop("version"))
    with pytest.raises(StateFileError, match="version None"):
        load(path, SITE)


def test_duplicate_keys_are_refused(path: Path) -> None:
    """A key written twice (a hand edit) is an error naming the key and where, not a lost record."""
    _saved(path)
    text = path.read_text()
    profile = '    "profiles": {\n'
    duplicated = text.replace(profile, profile + '        "night": {},\n', 1)
    path.write_text(duplicated)
    with pytest.raises(
        StateFileError, match=r"key 'night' appears more than once in stations\.CP-1\.profiles"
    ):
        load(path, SITE)


def test_other_sites_file_is_refused(path: Path) -> None:
    """A file whose site field names another site is not taken for this one."""
    _saved(path)
    _edit(path, lambda d: d.update(site="north-yard"))
    with pytest.raises(StateFileError, match=r"records site 'north-yard', not 'harbour-depot'"):
        load(path, SITE)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(serial="7"), "serial"),
        (lambda d: d.update(stations=[]), "stations"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["stations"]["CP-1"]["profiles"]["night"].update(status="done"), "night.status"),
        (lambda d: d["stations"]["CP-1"]["profiles"]["night"].update(connector_id="1"), "connector_id"),
        (lambda d: d["stations"]["CP-1"]["profiles"]["night"].update(updated_at="today"), "updated_at"),
        (lambda d: d["stations"]["CP-1"].update(high_water_id=3), "CP-1: Value error, high_water_id 3"),
        (
            lambda d: d["stations"]["CP-1"]["profiles"]["night"]["payload"].update(stackLevel=99),
            "payload_hash",
        ),
    ],
)
def test_hand_broken_types_are_refused(path: Path, change: Any, where: str) -> None:
    """Wrong types, unknown keys, a lowered high water and an edited payload are named by their place."""
    _saved(path)
    _edit(path, change)
    with pytest.raises(StateFileError, match=rf"not a valid state file: .*{where}"):
        load(path, SITE)


def test_non_object_top_level_is_refused(path: Path) -> None:
    """A file holding a list, not an object, is refused plainly."""
    path.parent.mkdir(parents=True)
    path.write_text("[]\n")
    with pytest.raises(StateFileError, match="top level is a JSON list"):
        load(path, SITE)


def test_nothing_is_overwritten_on_refusal(path: Path) -> None:
    """A refused save leaves the file's bytes exactly as they were, whether stale or unreadable."""
    loaded = _saved(path)
    save(path, loaded, loaded)
    before = path.read_bytes()
    with pytest.raises(StateFileError):
        save(path, loaded.with_record("CP-9", "x", _record(1)), loaded)
    assert path.read_bytes() == before
    broken = before.replace(b'"serial"', b'"serial" "serial"')
    path.write_bytes(broken)
    with pytest.raises(StateFileError):
        save(path, loaded, loaded)
    assert path.read_bytes() == broken


def test_atomic_write_leaves_no_temporary_files(path: Path) -> None:
    """After saves only the state file is in its directory: the temporary file was renamed over it."""
    saved = _saved(path)
    save(path, saved, saved)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_failed_write_keeps_old_file_and_cleans_up(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash before the rename leaves the previous file intact and no temporary file behind."""
    saved = _saved(path)
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save(path, saved.with_record("CP-9", "x", _record(1)), saved)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_lock_refuses_a_second_holder_at_once_and_frees_on_release(path: Path) -> None:
    """While one apply holds a site's lock another fails at once naming the holder; after release it may."""
    with lock(path):
        started = time.monotonic()
        holder = rf"holds the lock on .*\(pid {os.getpid()} since .*Z\); retry"
        with pytest.raises(StateFileError, match=holder), lock(path):
            pass
        assert time.monotonic() - started < 1
    with lock(path):
        pass


def test_lock_waits_up_to_its_timeout(path: Path) -> None:
    """With a timeout, a second apply waits for the holder and gets the lock once it is released."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock(path):
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    with (
        pytest.raises(StateFileError, match=r"still holds the lock .* after 0\.2 s"),
        lock(path, timeout_s=0.2),
    ):
        pass
    threading.Timer(0.2, release.set).start()
    with lock(path, timeout_s=5):
        pass
    holder.join()


def test_high_water_never_decreases_when_a_record_is_removed() -> None:
    """Removing records keeps the station and its highest id, so ids are never handed out twice."""
    state = _state()
    assert state.stations["CP-1"].high_water_id == 21
    emptied = state.without_record("CP-1", "night").without_record("CP-1", "evening")
    assert emptied.stations["CP-1"].high_water_id == 21
    assert emptied.stations["CP-1"].profiles == {}
    assert emptied.with_record("CP-1", "again", _record(2)).high_water_id("CP-1") == 21
    assert state.record("CP-1", "night") is not None, "the original state is unchanged"


def test_records_are_listed_sorted_and_retired_statuses_are_known() -> None:
    """records() walks every record in station and name order; expired, replaced and cleared are retired."""
    listed = [(station, name) for station, name, _ in _state().records()]
    assert listed == [("CP-1", "evening"), ("CP-1", "night"), ("CP-2", "evening")]
    assert (
        {s for s in Status if _record(status=s).is_retired} == RETIRED == {"expired", "replaced", "cleared"}
    )


def test_payload_hash_is_of_canonical_json() -> None:
    """The hash ignores key order and whitespace and is prefixed with its algorithm."""
    reordered = dict(reversed(list(_payload().items())))
    assert payload_hash(_payload()) == payload_hash(reordered)
    assert payload_hash(_payload()) != payload_hash(_payload(limit=16.5))
    assert payload_hash({}) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_state_show_says_per_profile_whether_confirmed_since_when_and_what_is_pending() -> None:
    """Each line says whether the charger's answer is recorded and when, and what is on its way."""
    confirmed = _record(13, confirmed_at="2026-11-23T12:00:03Z")
    waiting = _record(14, Status.REQUESTED, attempts=2)
    clearing = _record(
        15,
        confirmed_at="2026-11-23T12:00:03Z",
        clearing=ClearRequest(action_id="a-9", requested_at="2026-11-23T13:00:00Z"),
    )
    state = (
        RecordedState.new(SITE)
        .with_record("CP-1", "a", confirmed)
        .with_record("CP-1", "b", waiting)
        .with_record("CP-1", "c", clearing)
    )
    lines = render_text(state).splitlines()
    assert lines[4].endswith("accepted   confirmed 2026-11-23T12:00:03Z")
    assert lines[5].endswith(
        "requested  unconfirmed                     set sent 2026-11-23T12:00:00Z (2 sends), "
        "awaiting the charger's answer"
    )
    assert lines[6].endswith(
        "accepted   confirmed 2026-11-23T12:00:03Z  "
        "clear sent 2026-11-23T13:00:00Z, awaiting the charger's answer"
    )


def test_render_text_summarises_each_profile() -> None:
    """`state show` prints site, serial and lineage, then each profile's line and its last error."""
    state = _state()
    text = render_text(state)
    assert text.splitlines()[:3] == [f"site {SITE}", "serial 0", f"lineage {state.lineage}"]
    assert "station CP-1 (highest id 21)" in text
    assert "night    connector 1  id 21  TxDefaultProfile/13  rejected  since 2026-11-23T12:00:05Z" in text
    assert "    last error: charger said Rejected" in text
    assert render_text(RecordedState.new(SITE)).endswith("no profiles recorded\n")


_json_leaf = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
_json = st.recursive(
    _json_leaf, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=10
)


@st.composite
def _records(draw: st.DrawFn, profile_id: int) -> ProfileRecord:
    """A consistent record (its fields repeat its payload's) with anything in the payload besides."""
    purpose, stack_level = draw(st.sampled_from(Purpose)), draw(st.integers(0, 99))
    limit = draw(st.integers(0, 10**6) | st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
    extras = draw(st.dictionaries(st.text().map(lambda key: "x-" + key), _json, max_size=3))
    payload = {
        **extras,
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": str(purpose),
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }
    return ProfileRecord(
        connector_id=draw(st.integers(0, 8)),
        charging_profile_id=profile_id,
        purpose=purpose,
        stack_level=stack_level,
        payload=payload,
        payload_hash=payload_hash(payload),
        status=draw(st.sampled_from(Status)),
        action_id=draw(st.none() | st.text(min_size=1)),
        session_id=draw(st.none() | st.text(min_size=1)),
        requested_at="2026-11-23T12:00:00.5Z",
        updated_at="2026-11-23T13:00:00+01:00",
        last_error=draw(st.none() | st.text()),
    )


@settings(
    max_examples=50,
    deadline=None,
    # Draws happen inside the test, beside file writes: on a loaded machine they look slow.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_any_state_round_trips_through_its_file(path: Path, data: st.DataObject) -> None:
    """Whatever the records hold, the file read back equals the state written (ids, payloads, texts),
    and its text keeps format 3's layout."""
    state = RecordedState.new(SITE)
    # Ids differ from record to record (and reach OCPP's largest), so every record may be live.
    ids = data.draw(st.lists(st.integers(1, 2**31 - 1), max_size=6, unique=True))
    for profile_id in ids:
        station_id, name = data.draw(st.text(min_size=1)), data.draw(st.text())
        state = state.with_record(station_id, name, data.draw(_records(profile_id)))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = to_json(state)
    path.write_text(text)
    assert load(path, SITE) == state
    assert _layout_problems(text) == []


def test_a_name_with_a_lone_surrogate_escape_reads_back(tmp_path: Path) -> None:
    """A station id holding an unpaired surrogate, which the store writes as a `\\ud800` escape and the
    fast parser of unchanged files refuses, is still read back as written."""
    station = "CS-\ud800"
    state = RecordedState.new("site").model_copy(
        update={"stations": {station: StationRecord(high_water_id=3)}}
    )
    path = state_path(tmp_path, "site")
    save(path, state, None)
    assert "\\ud800" in path.read_text(encoding="utf-8")
    back = load(path, "site")
    assert back is not None
    assert list(back.stations) == [station]
    assert back.stations[station].high_water_id == 3


def test_a_file_with_a_valid_checksum_over_bytes_that_are_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    """A state file whose checksum holds over bytes that are not UTF-8 (made by hand, not by the store) is
    refused with the file's name, as any unreadable state file is, never a traceback."""
    path = state_path(tmp_path, "site")
    save(path, RecordedState.new("site"), None)
    body = path.read_bytes().split(b"\n", 2)[2].replace(b'"site": "site"', b'"site": "s\xffte"')
    digest = hashlib.sha256(b"{\n" + body).hexdigest()
    path.write_bytes(b'{\n  "checksum": "sha256:' + digest.encode() + b'",\n' + body)
    assert layout.unchanged(path.read_bytes()), "the checksum holds"
    with pytest.raises(StateFileError, match=re.escape(str(path))):
        load(path, "site")
