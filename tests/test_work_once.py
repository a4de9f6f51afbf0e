"""Work done once: a payload built and serialised once for validation and the plan, the schema check
skipped only for bodies that passed it before, and a network planned site by site."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.desired import payload, schemacache, validate
from reconciler.desired.loader import load_site
from reconciler.desired.model import Profile
from reconciler.desired.payload import charging_profile
from reconciler.desired.template import PlacedProfile
from reconciler.errors import DesiredStateError
from reconciler.ocpp.profile import canonical_json
from reconciler.plan.outcome import assume_applied
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState, payload_hash

from .conftest import DESIRED, NOW


def _profile(limit: Any = 16, **extra: Any) -> Profile:
    raw = {
        "connectorId": 1,
        "stackLevel": 20,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": "2026-01-01T00:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
        **extra,
    }
    return Profile.model_validate(raw)


def _placed(profile: Profile) -> PlacedProfile:
    return PlacedProfile("CP-1", "night", profile, ((),))


@given(
    profile_id=st.integers(1, 2**31 - 1),
    limit=st.sampled_from([6, 8.1, 16, 20000, 32.5]),
    valid_to=st.sampled_from([None, "2030-01-01T00:00:00.000Z"]),
)
def test_the_hash_under_an_id_is_the_payload_hash_of_the_payload_under_it(
    profile_id: int, limit: float, valid_to: str | None
) -> None:
    """The body serialised once gives, for any id, the very hash of the payload built under that id."""
    extra = {"validTo": valid_to} if valid_to else {}
    body = _placed(_profile(limit, **extra)).body
    payload = body.under(profile_id)
    assert next(iter(payload)) == "chargingProfileId"
    assert body.hash_under(profile_id) == payload_hash(payload)


_TIMESTAMPS = st.sampled_from(
    [None, "2026-01-01T00:00:00Z", "2026-03-29T01:30:00.500Z", "2030-12-31T23:59:59.000000Z"]
)
_LIMITS = st.one_of(
    st.integers(0, 10**9),
    st.decimals(0, 10**6, places=1, allow_nan=False, allow_infinity=False).map(float),
    st.sampled_from([6, 8.1, 16.0, 1e21, 0.1, 32.5, 1e-1]),
)


@st.composite
def _written_profiles(draw: st.DrawFn) -> Profile:
    """A profile with every optional field present or not, in any combination the model accepts."""
    periods = [
        {"startPeriod": start, "limit": draw(_LIMITS)}
        | ({"numberPhases": draw(st.integers(1, 3))} if draw(st.booleans()) else {})
        for start in sorted(draw(st.sets(st.integers(0, 2**31 - 1), min_size=1, max_size=4)))
    ]
    schedule: dict[str, Any] = {
        "chargingRateUnit": draw(st.sampled_from(["A", "W"])),
        "chargingSchedulePeriod": periods,
    }
    for key, value in (
        ("startSchedule", draw(_TIMESTAMPS)),
        ("duration", draw(st.none() | st.integers(-(2**31), 2**31 - 1))),
        ("minChargingRate", draw(st.none() | _LIMITS)),
    ):
        if value is not None:
            schedule[key] = value
    raw: dict[str, Any] = {
        "connectorId": draw(st.integers(0, 4)),
        "stackLevel": draw(st.integers(-(2**31), 2**31 - 1)),
        "chargingProfilePurpose": draw(
            st.sampled_from(["TxDefaultProfile", "ChargePointMaxProfile", "TxProfile"])
        ),
        "chargingProfileKind": draw(st.sampled_from(["Absolute", "Recurring", "Relative"])),
        "chargingSchedule": schedule,
    }
    for key, value in (
        ("recurrencyKind", draw(st.sampled_from([None, "Daily", "Weekly"]))),
        ("validFrom", draw(_TIMESTAMPS)),
        ("validTo", draw(_TIMESTAMPS)),
        ("transactionId", draw(st.none() | st.integers(-(2**31), 2**31 - 1))),
        ("chargingProfileId", draw(st.none() | st.integers(1, 2**31 - 1))),
    ):
        if value is not None:
            raw[key] = value
    return Profile.model_validate(raw)


@given(profile=_written_profiles(), profile_id=st.integers(1, 2**31 - 1))
def test_the_text_written_directly_is_the_canonical_json_of_the_built_payload(
    profile: Profile, profile_id: int
) -> None:
    """The body's text, written field by field without building the object, is byte for byte the
    canonical JSON of the payload built as a dict, so recorded hashes compare as before."""
    body = _placed(profile).body
    built = charging_profile(profile, profile_id)
    assert body.hash_under(profile_id) == payload_hash(built)
    assert body.under(profile_id) == built
    assert f'{{"chargingProfileId":{profile_id},{body.rest}' == canonical_json(built)


def test_a_date_time_that_is_not_plain_ascii_is_escaped_as_the_canonical_encoder_does() -> None:
    """A string the direct writer cannot quote as it is goes through JSON's own escaping."""
    assert payload._string("2026-01-01T00:00:00Z") == '"2026-01-01T00:00:00Z"'
    assert payload._string('a"b\\c\u00e9\n') == canonical_json({"": 'a"b\\c\u00e9\n'})[4:-1]


def test_a_body_is_built_once_for_validation_and_plan() -> None:
    """Asking a placed profile for its body again gives the same object, not a new build."""
    item = _placed(_profile())
    assert item.body is item.body


def test_a_passing_body_is_remembered_and_a_failing_one_never() -> None:
    """Only a body that passed the official schema enters the cache; one that fails is checked every
    time and never added, whatever else the cache holds."""
    passes: set[bytes] = set()
    good, bad = _placed(_profile(16)), _placed(_profile(8.15))
    assert validate._check_schema(good, passes) == []
    assert passes == {good.body.digest}
    for _ in range(2):
        (finding,) = validate._check_schema(bad, passes)
        assert "must be multiple of 0.1" in finding.message
    assert passes == {good.body.digest}


def test_a_remembered_body_is_not_checked_again() -> None:
    """A body whose digest is in the cache is taken as passing without the check (the cache is trusted
    because only a pass adds to it; see `schemacache`)."""
    bad = _placed(_profile(8.15))
    assert validate._check_schema(bad, {bad.body.digest}) == []


def test_the_digest_is_the_body_whatever_its_id() -> None:
    """Two profiles that differ only in their pinned id share a digest; any other field changes it."""
    assert (
        _placed(_profile(chargingProfileId=5)).body.digest
        == _placed(_profile(chargingProfileId=9)).body.digest
    )
    assert _placed(_profile(16)).body.digest != _placed(_profile(16.5)).body.digest


def test_the_cache_file_carries_passes_to_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What one run added is read by the next; a file that is not whole digests starts afresh; an empty
    setting keeps nothing."""
    monkeypatch.setenv(schemacache.CACHE_SETTING, str(tmp_path))
    schemacache.forget()
    first = schemacache.schema_passes("test")
    first.add(b"a" * 32)
    first.save()
    schemacache.forget()
    assert b"a" * 32 in schemacache.schema_passes("test")
    path = tmp_path / "schema-passed-test.bin"
    path.write_bytes(b"a" * 32 + b"torn")
    schemacache.forget()
    torn = schemacache.schema_passes("test")
    assert b"a" * 32 not in torn
    torn.add(b"b" * 32)
    torn.save()
    assert path.read_bytes() == b"b" * 32
    monkeypatch.setenv(schemacache.CACHE_SETTING, "")
    schemacache.forget()
    assert schemacache.cache_dir() is None
    schemacache.schema_passes("test").add(b"c" * 32)
    schemacache.schema_passes("test").save()
    schemacache.forget()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema-passed-test.bin"]


def test_loading_a_site_file_fills_the_cache_in_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, now: datetime
) -> None:
    """`validate` of the example depot leaves the digest of every body it checked in the cache file."""
    monkeypatch.setenv(schemacache.CACHE_SETTING, str(tmp_path / "cache"))
    schemacache.forget()
    site, problems = load_site(Path(__file__).parent.parent / "desired" / "harbour-depot.yaml", now)
    assert site is not None
    assert not [p for p in problems if p.is_error]
    (cache_file,) = (tmp_path / "cache").iterdir()
    assert cache_file.name == f"schema-passed-{validate.schema_identity()}.bin"
    digests = {item.body.digest for item in site.placed()}
    stored = cache_file.read_bytes()
    assert {stored[at : at + 32] for at in range(0, len(stored), 32)} == digests
    schemacache.forget()
    os.environ.pop(schemacache.CACHE_SETTING, None)


def test_the_schema_is_read_without_importing_the_ocpp_runtime() -> None:
    """Checking a body reads the official schema file without importing `ocpp.v16` (and jsonschema)."""
    program = (
        "import sys\n"
        "from reconciler.desired import validate\n"
        "assert validate.schema_problem({'connectorId': 1}) is not None\n"
        "print(sorted(m for m in ('ocpp.v16', 'jsonschema') if m in sys.modules))\n"
    )
    finished = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert finished.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "read",
    [
        "loader.load([folder], datetime(2026, 12, 5, tzinfo=UTC)).sites[0]",
        "store.load(store.state_path(folder, 'a-site'), 'a-site')",
    ],
    ids=["site files", "state file"],
)
def test_what_a_read_keeps_is_left_out_of_the_collectors_walks(
    tmp_path: Path, now: datetime, read: str
) -> None:
    """What a read of site files or of a state file keeps is frozen out of the cyclic collector's
    generations, so the first collection after the read does not walk it all."""
    (tmp_path / "a-site.yaml").write_text(SITE.format(name="A", station="CP-A", limit=11000))
    (plan,) = plan_sites(tmp_path, [], now)
    path = store.state_path(tmp_path, "a-site")
    path.parent.mkdir()
    store.save(path, assume_applied(RecordedState.new("a-site"), plan, now), None)
    program = (
        "import gc, sys\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from reconciler.desired import loader\n"
        "from reconciler.state import store\n"
        "folder = Path(sys.argv[1])\n"
        f"kept = {read}\n"
        "walked = lambda: any(o is kept for o in gc.get_objects())\n"
        "before = walked()\n"
        "gc.unfreeze()\n"
        "print(gc.is_tracked(kept), before, walked())\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert finished.stdout.split() == ["True", "False", "True"]


SITE = """\
site: {{name: {name}}}
stations:
  {station}:
    connectors: 1
    rated_power_kw: 22
    profiles:
      cap:
        connectorId: 0
        stackLevel: 20
        chargingProfilePurpose: ChargePointMaxProfile
        chargingProfileKind: Absolute
        chargingSchedule:
          startSchedule: 2026-01-01T00:00:00Z
          chargingRateUnit: W
          chargingSchedulePeriod: [{{startPeriod: 0, limit: {limit}}}]
"""


def test_a_network_with_an_error_anywhere_is_refused_with_every_problem_and_no_plan(
    tmp_path: Path, now: datetime
) -> None:
    """Planned site by site, a network still reports the problems of every file before anything else,
    even those of files after a site whose plan was made."""
    (tmp_path / "a-site.yaml").write_text(SITE.format(name="A", station="CP-A", limit=11000))
    (tmp_path / "b-site.yaml").write_text(SITE.format(name="B", station="CP-B", limit="8.15"))
    (tmp_path / "c-site.yaml").write_text(SITE.format(name="C", station="CP-A", limit=11000))
    with pytest.raises(DesiredStateError) as refused:
        plan_sites(tmp_path, [], now)
    messages = [str(p) for p in refused.value.problems]
    assert any("b-site.yaml" in m and "one decimal" in m for m in messages)
    assert any("c-site.yaml" in m and "is also in site 'a-site'" in m for m in messages)


def test_a_remembered_floor_does_not_change_what_another_site_is_told(tmp_path: Path, now: datetime) -> None:
    """Two sites whose voltages are equal decimals written differently (230 and 230.0) are each told the
    floor in their own writing: remembering the floor by value would show one site the other's."""
    told = []
    for voltage in ("230", "230.0"):
        path = tmp_path / f"site-{voltage.replace('.', '-')}.yaml"
        path.write_text(
            SITE.format(name="S", station="CP-1", limit=2000).replace(
                "site: {name: S}", f"site: {{name: S, nominal_voltage_v: {voltage}}}"
            )
        )
        told += [p.message for p in load_site(path, now)[1]]
    assert [m.split("below ")[1].split(" W")[0] for m in told] == ["4140", "4140.0"], told


def test_a_template_body_is_written_once_for_every_station_it_is_placed_on(
    tmp_path: Path, now: datetime
) -> None:
    """An unpatched template's body is one object on all its stations; a patched placement has its own."""
    path = tmp_path / "depot.yaml"
    path.write_text(
        "site: {name: Depot}\ntemplates:\n  cap:\n"
        "    profile: {connectorId: 0, stackLevel: 20, chargingProfilePurpose: TxDefaultProfile, "
        "chargingProfileKind: Relative, chargingSchedule: {chargingRateUnit: A, "
        "chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]}}\n"
        "stations:\n"
        + "".join(f"  S{i}: {{connectors: 1, rated_power_kw: 22}}\n" for i in range(3))
        + "  S3:\n    connectors: 1\n    rated_power_kw: 22\n"
        "    overrides: {cap: {chargingSchedule: {chargingSchedulePeriod: [{startPeriod: 0, limit: 10}]}}}\n"
    )
    site, problems = load_site(path, now)
    assert site is not None, problems
    bodies = {item.station_id: item.body for item in site.placed()}
    assert bodies["S0"] is bodies["S1"] is bodies["S2"]
    assert bodies["S3"] is not bodies["S0"]
    for item in site.placed():
        assert item.body.rest == payload.canonical_rest(item.profile)
    assert '"limit":10' in bodies["S3"].rest
    assert '"limit":16' in bodies["S0"].rest


def test_the_hashes_a_change_carries_are_its_payloads_hashes(tmp_path: Path) -> None:
    """Every set of a first plan of the example network carries its payload's very hash, which the records
    of it take; every clear of a site emptied afterwards carries its recorded payload's."""
    sites = sorted(p.stem for p in DESIRED.glob("*.yaml"))
    first = plan_sites(DESIRED, sites, NOW)
    sets = [c for plan in first for c in plan.changes]
    assert sets
    assert all(c.after is not None and c.after_hash == payload_hash(c.after) for c in sets)
    for plan in first:
        recorded = assume_applied(RecordedState.new(plan.site_id), plan, NOW)
        assert all(
            r.payload_hash == payload_hash(r.payload)
            for s in recorded.stations.values()
            for r in s.profiles.values()
        )
        store.StateWriter(store.state_path(tmp_path, plan.site_id)).save(recorded, None)
    (tmp_path / "harbour-depot.yaml").write_text("site: {name: Emptied}\nstations: {}\n")
    (emptied,) = plan_sites(tmp_path, ["harbour-depot"], NOW, force=True)
    clears = [c for c in emptied.changes if c.before is not None]
    assert clears
    assert all(c.before is not None and c.before_hash == payload_hash(c.before) for c in clears)
