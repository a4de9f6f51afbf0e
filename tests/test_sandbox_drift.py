"""Drift end to end over real sockets: the example network applied to an eDRV-like sandbox, its chargers
then wronged on purpose, and `drift` classifying each station from the composite schedules that arrive
as webhooks in the inbox; healing sends exactly the lost profiles again."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli.main import main
from reconciler.edrv.client import EdrvSettings
from reconciler.edrv.inbox import Inbox
from reconciler.ocpp import recurrence, schedule
from reconciler.ocpp.drift import Verdict
from reconciler.plan.drift import Heal, SiteDrift, StationResult, Verified, last_verified
from reconciler.render.text import no_changes
from reconciler.sandbox.config import DEFAULT_API_KEY
from reconciler.shell.drift import DriftSettings, drift_sites

from .conftest import DESIRED, NOW, run_cli
from .sandbox_network import Network, start_network

HARBOUR = "harbour-depot"
NOW_TEXT = NOW.isoformat().replace("+00:00", "Z")
BAY = "65a10c5ca6a3a4506513270e"  # AC bay 02: a station total cap and a daytime share, both on connector 0
OTHER_BAY = "65a10fd6f29d0da9953f48f1"


def _check(network: Network, **settings: Any) -> list[SiteDrift]:
    client = EdrvSettings(
        api_key=DEFAULT_API_KEY, api_url=network.sandbox.api_url, rate_per_s=1000, burst=100
    )
    with Inbox(network.inbox) as reader:
        return drift_sites(
            network.desired_dir, ["edrv-examples", HARBOUR], NOW, client, reader,
            settings=DriftSettings(timeout_s=20, **settings),
        )  # fmt: skip


def _stations(found: list[SiteDrift]) -> dict[str, StationResult]:
    return {s.target.station_id: s for site in found for s in site.stations}


def _applied(network: Network) -> None:
    network.apply()
    network.ingest()


def test_chargers_holding_what_was_recorded_are_in_sync_with_one_request_per_connector(
    network: Network,
) -> None:
    """After an apply every station is in sync, and exactly one composite request went out per station and
    connector checked; the site's last verification is recorded."""
    _applied(network)
    before = network.requests().get("get_composite_schedule", 0)
    found = _check(network)
    stations = _stations(found)
    assert stations
    assert {s.verdict for s in stations.values()} == {Verdict.IN_SYNC}
    asked = sum(len(s.target.connectors) for s in stations.values())
    assert network.requests()["get_composite_schedule"] - before == asked
    assert last_verified(network.recorded(HARBOUR)) == Verified(NOW, Verdict.IN_SYNC)
    (plan,) = [p for p in network.plan() if p.site_id == HARBOUR]
    assert no_changes(plan) == (
        "No changes: recorded state matches desired state. The chargers were last verified "
        f"{plan.clock.mention(NOW)} (all in sync)."
    )


def test_a_stations_records_are_read_once_for_all_its_answers(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each live record's payload is read twice in a drift, whatever its station's answers: once to
    count the window's pieces and once for every answer of its station compared."""
    _applied(network)
    read: list[Any] = []  # every payload read, the sandbox's charge points' own among them

    def read_profile(connector_id: int, payload: Any) -> Any:
        read.append(payload)
        return recurrence.read_profile(connector_id, payload)

    monkeypatch.setattr(schedule, "read_profile", read_profile)
    stations = _stations(_check(network))
    assert max(len(s.target.connectors) for s in stations.values()) > 1, "a station answers more than once"
    recorded = {id(r.payload) for s in stations.values() for r in s.target.records.values()}
    assert sum(id(payload) in recorded for payload in read) == 2 * len(recorded)


def test_a_reboot_losing_the_top_stack_level_allows_more_and_heal_sends_exactly_the_lost_connectors(
    network: Network,
) -> None:
    """A charger that lost its top-level profile allows more from the moment it mattered; --heal marks the
    records of that connector, the next plan sends exactly those again, and then the station is in sync."""
    _applied(network)
    lost = network.http.post(f"/_sandbox/stations/{BAY}/reboot", json={"lose": "top_stack_level"}).json()[
        "lost"
    ]
    assert lost
    found = _stations(_check(network, heal=True))
    bay = found[BAY]
    assert bay.verdict is Verdict.ALLOWS_MORE
    assert bay.first_difference is not None
    assert bay.heal is Heal.REQUESTED
    assert {s.verdict for sid, s in found.items() if sid != BAY} == {Verdict.IN_SYNC}
    on_zero = {n for n, r in network.recorded(HARBOUR).stations[BAY].profiles.items() if r.connector_id == 0}
    assert set(bay.healed) == on_zero

    (plan,) = [p for p in network.plan() if p.site_id == HARBOUR]
    assert {(c.station_id, c.name) for c in plan.changes} == {(BAY, name) for name in bay.healed}
    assert all(c.reason.startswith("heal: ") and c.before == c.after for c in plan.changes)
    _applied(network)
    assert _stations(_check(network))[BAY].verdict is Verdict.IN_SYNC


def test_a_limit_nobody_sent_allows_less_and_is_never_healed(
    edited_network: Callable[[Edit], Network],
) -> None:
    """A 6 A TxDefaultProfile at eDRV's stack level 5 on a connector-first charger is a stricter limit
    nobody here sent: reported as allowing less, and left alone even with --heal."""

    def connector_first(desired_dir: Path) -> None:
        _declare(desired_dir, {OTHER_BAY: "{tx_default_precedence: connector_first}"})

    network = edited_network(connector_first)
    _applied(network)
    edrv_limit = {
        "chargingProfileId": 900, "stackLevel": 5, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"startSchedule": "2026-01-01T00:00:00Z", "chargingRateUnit": "A",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}]},
    }  # fmt: skip
    answer = network.http.post(
        f"/_sandbox/stations/{OTHER_BAY}/profiles", json={"connectorId": 1, "csChargingProfiles": edrv_limit}
    )
    assert answer.json() == {"status": "Accepted"}
    found = _stations(_check(network, heal=True))
    assert found[OTHER_BAY].verdict is Verdict.ALLOWS_LESS
    assert found[OTHER_BAY].heal is Heal.NONE
    assert not any(
        r.heal_requested_at for r in network.recorded(HARBOUR).stations[OTHER_BAY].profiles.values()
    )
    assert all(c.station_id != OTHER_BAY for p in network.plan() for c in p.changes)


def test_an_offline_charger_is_unreachable_and_says_why(network: Network) -> None:
    """eDRV refusing the request for an offline station makes it unreachable, with eDRV's words."""
    _applied(network)
    network.http.post("/_sandbox/faults", json={"offline": [BAY]}).raise_for_status()
    bay = _stations(_check(network))[BAY]
    assert bay.verdict is Verdict.UNREACHABLE
    assert bay.reason is not None
    assert "offline" in bay.reason


def test_a_station_healed_too_often_is_flapping_and_left_alone(network: Network) -> None:
    """With one heal a day allowed, a second loss the same day is reported as flapping, nothing marked."""
    _applied(network)
    for attempt in (Heal.REQUESTED, Heal.FLAPPING):
        network.http.post(f"/_sandbox/stations/{BAY}/reboot", json={"lose": "all"}).raise_for_status()
        bay = _stations(_check(network, heal=True, max_heals_per_day=1))[BAY]
        assert bay.heal is attempt
        if attempt is Heal.REQUESTED:
            _applied(network)
    assert bay.verdict is Verdict.ALLOWS_MORE
    assert bay.healed == ()


def test_chargers_that_compute_composites_their_own_way_are_in_sync_when_they_hold_what_was_sent(
    edited_network: Callable[[Edit], Network],
) -> None:
    """Stations declaring MicroOcpp-like rules (station total from the cap alone, -1 or nothing for no limit,
    connector-first TxDefaults, minChargingRate applied) report by them and are compared by them: in sync."""
    rules = [
        "{station_total: charge_point_max, no_limit: minus_one}",
        "{no_limit: omitted, tx_default_precedence: connector_first}",
        "{min_charging_rate_raises: true, tx_default_without_session: false, recur_before_start: true}",
    ]

    def declare(desired_dir: Path) -> None:
        text = (desired_dir / f"{HARBOUR}.yaml").read_text()
        stations = [line.strip(" :\n") for line in text.splitlines() if line.startswith("  65a1")][:3]
        _declare(desired_dir, dict(zip(stations, rules, strict=True)))

    network = edited_network(declare)
    _applied(network)
    assert {s.verdict for s in _stations(_check(network)).values()} == {Verdict.IN_SYNC}


Edit = Callable[[Path], None]


def _declare(desired_dir: Path, rules: dict[str, str]) -> None:
    """Give stations of the depot's file `ocpp.composite` rules (a YAML flow mapping each), in the
    station's `ocpp:` mapping when it has one."""
    path = desired_dir / f"{HARBOUR}.yaml"
    text = path.read_text()
    for station, rule in rules.items():
        head = text.index(f"\n  {station}:\n") + 1
        end = text.find("\n  6", head + 1)
        block = text[head : end if end > 0 else len(text)]
        if "\n    ocpp:\n" in block:
            block = block.replace("\n    ocpp:\n", f"\n    ocpp:\n      composite: {rule}\n", 1)
        else:
            block = block.replace(f"  {station}:\n", f"  {station}:\n    ocpp: {{composite: {rule}}}\n", 1)
        text = text[:head] + block + text[head + len(text[head : end if end > 0 else len(text)]) :]
    path.write_text(text)


@pytest.fixture
def edited_network(tmp_path: Path) -> Iterator[Callable[[Edit], Network]]:
    """Starts the example network with its site files edited first; stops it after the test."""
    started: list[Generator[Network]] = []

    def start(edit: Edit) -> Network:
        started.append(start_network(tmp_path, edit))
        return next(started[-1])

    yield start
    for generator in started:
        generator.close()


def _cli(
    network: Network, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    monkeypatch.setenv("EDRV_API_URL", network.sandbox.api_url)
    monkeypatch.setenv("EDRV_API_KEY", DEFAULT_API_KEY)
    base = ["drift", "--desired", str(network.desired_dir), "--inbox", str(network.inbox), "--now", NOW_TEXT]
    with pytest.raises(SystemExit) as exited:
        main([*base, *argv])
    return int(exited.value.code or 0), capsys.readouterr().out


def test_the_command_reports_in_each_format_and_exits_by_what_it_found(
    network: Network, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In sync exits 0; drift exits 2 only with --detailed-exitcode; an unreachable station exits 1; text
    names the station by description, JSON carries every station, Markdown is a job summary."""
    _applied(network)
    code, out = _cli(network, monkeypatch, capsys, "--detailed-exitcode")
    assert code == 0
    assert out.endswith(
        " in sync, 0 allows less than recorded, 0 allows more than recorded, 0 unreachable.\n"
    )

    network.http.post(f"/_sandbox/stations/{BAY}/reboot", json={"lose": "all"}).raise_for_status()
    assert _cli(network, monkeypatch, capsys)[0] == 0
    code, out = _cli(network, monkeypatch, capsys, "--detailed-exitcode", "--format", "json")
    assert code == 2
    document = json.loads(out)
    stations = {s["station"]: s for site in document["sites"] for s in site["stations"]}
    assert stations[BAY]["verdict"] == "allows_more"
    assert stations[BAY]["connectors"][0]["differences"]
    code, out = _cli(network, monkeypatch, capsys, "--format", "markdown", HARBOUR)
    assert out.startswith("### Drift\n")
    assert f"| {HARBOUR} | {BAY} (AC bay 02) | allows MORE than recorded |" in out

    network.http.post("/_sandbox/faults", json={"offline": [BAY]}).raise_for_status()
    code, out = _cli(network, monkeypatch, capsys, "--station", BAY, HARBOUR)
    assert code == 1
    assert "1 station(s) checked: 0 in sync" in out
    assert "is offline" in out


def test_an_unknown_site_is_an_error_before_anything_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in a site name exits 1 naming it, without asking eDRV anything."""
    code, _, err = run_cli(capsys, "drift", "harbor-depot", "--desired", str(DESIRED))
    assert code == 1
    assert "no such site: harbor-depot" in err
