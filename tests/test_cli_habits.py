"""The command line's conventions, as an operator used to Terraform meets them: refusals before any plan,
"no" exits 1, colour only where wanted, session caps counted rather than listed, `--station` on plan,
apply and drift, `--now` on schedule, `state list` and `state show --format json`, shell completion."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
from click.shell_completion import BashComplete

from reconciler.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE, cli
from reconciler.desired.glance import Declared, declared
from reconciler.desired.yamlread import parse
from reconciler.plan.outcome import assume_applied
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW, run_cli

AT = "2026-11-23T12:00:00Z"
LAB = "64f0c1a2b3c4d5e6f7a8b9c0"  # edrv-examples' one station, with two session caps
BAY = "65a10c5ca6a3a4506513270e"  # a station of harbour-depot


@pytest.fixture
def desired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example network, nothing recorded, a key, and an eDRV nobody answers at."""
    target = tmp_path / "desired"
    shutil.copytree(DESIRED, target, ignore=shutil.ignore_patterns(".state"))
    monkeypatch.setenv("EDRV_API_KEY", "k")
    monkeypatch.setenv("EDRV_API_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("RECONCILER_INBOX", raising=False)
    return target


class _Terminal(io.StringIO):
    """Standard input typed at a terminal."""

    def isatty(self) -> bool:
        return True


def _applied(desired: Path) -> None:
    """Record the whole example network as applied, so that plans are empty but for session caps."""
    for plan in plan_sites(desired, [], NOW):
        path = store.state_path(desired, plan.site_id)
        store.save(path, assume_applied(RecordedState.new(plan.site_id), plan, NOW), None)


def test_answering_no_exits_1_and_sends_nothing(
    desired: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the prompt, "no" cancels: exit 1 (as Terraform), nothing sent, nothing recorded."""
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    code, out, err = run_cli(capsys, "apply", "edrv-examples", "--desired", str(desired), "--now", AT)
    assert code == EXIT_ERROR
    assert "Send these calls to eDRV?" in out
    assert "Apply cancelled: nothing was sent." in err
    assert list(desired.glob(".state/*")) == []


def test_colour_only_on_a_terminal_unless_turned_off(
    desired: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text plan is coloured on a terminal, not with --no-color, not with NO_COLOR set."""
    args = ("plan", "edrv-examples", "--desired", str(desired), "--now", AT)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[" in run_cli(capsys, *args)[1]
    assert "\x1b[" not in run_cli(capsys, *args, "--no-color")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run_cli(capsys, *args)[1]


def test_session_caps_waiting_are_counted_and_listed_with_verbose(
    desired: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A no-op plan says how many session caps wait for sessions on one line; -v lists each of them."""
    _applied(desired)
    args = ("plan", "edrv-examples", "--desired", str(desired), "--now", AT)
    code, out, _ = run_cli(capsys, *args)
    assert code == EXIT_OK
    assert "No changes" in out
    assert "· 2 session caps wait for sessions: each is sent while a session runs on its connector" in out
    assert "session cap: applies while" not in out
    verbose = run_cli(capsys, *args, "-v")[1]
    assert verbose.count("session cap: applies while a session is active on its connector") == 2
    assert "2 session caps wait" not in verbose


def test_station_narrows_plan_to_that_station(desired: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan --station ID` plans only the site holding it and only its calls; the site's counts stay."""
    code, out, _ = run_cli(
        capsys, "plan", "--station", BAY, "--format", "json", "--desired", str(desired), "--now", AT
    )
    assert code == EXIT_OK
    (site,) = json.loads(out)["sites"]
    assert site["site"] == "harbour-depot"
    assert site["changes"]
    assert {c["station"] for c in site["changes"]} == {BAY}
    assert site["desired_profiles"] > len(site["changes"]), "the whole site is still counted"
    assert [s["station"] for s in site["power"]["stations"]] == [BAY]


def test_station_keeps_the_safety_rails(desired: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Clearing every profile of a site whose file is gone is refused for one station too, as without it."""
    _applied(desired)
    (desired / "edrv-examples.yaml").unlink()
    code, _, err = run_cli(capsys, "plan", "--station", LAB, "--desired", str(desired), "--now", AT)
    assert code == EXIT_ERROR
    assert "site edrv-examples: the plan clears all" in err
    assert "--force" in err
    forced = run_cli(capsys, "plan", "--station", LAB, "--force", "--desired", str(desired), "--now", AT)
    assert forced[0] == EXIT_OK
    assert "to clear" in forced[1]


@pytest.mark.parametrize(
    "command", [["plan"], ["apply", "--auto-approve"], ["drift"]], ids=lambda command: command[0]
)
def test_an_unknown_station_is_an_error_in_plan_apply_and_drift(
    desired: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """A mistyped --station is one error naming it (exit 1) before anything is planned or written."""
    code, out, err = run_cli(capsys, *command, "--station", "CP-typo", "--desired", str(desired), "--now", AT)
    assert code == EXIT_ERROR
    assert out == ""
    assert "error: no such station: CP-typo in any site of" in err
    assert list(desired.glob(".state/*")) == []


def test_apply_refuses_station_with_a_saved_plan(
    desired: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A saved plan is applied whole: --station beside --plan is a usage error (64)."""
    saved = tmp_path / "plan.json"
    saved.write_text("{}")
    code, _, err = run_cli(capsys, "apply", "--plan", str(saved), "--station", BAY, "--desired", str(desired))
    assert code == EXIT_USAGE
    assert "not both" in err


def test_schedule_reads_desired_state_as_of_now(desired: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`schedule --now` starts the window then and reads desired state as of then (expiry included)."""
    code, out, _ = run_cli(
        capsys, "schedule", "edrv-examples", "--format", "json", "--desired", str(desired), "--now", AT
    )
    assert code == EXIT_OK
    (station,) = json.loads(out)["stations"]
    assert station["periods"][0]["start"] == AT
    code, out, _ = run_cli(
        capsys, "schedule", "edrv-examples", "--desired", str(desired), "--now", "2023-06-28T15:30:00Z"
    )
    assert code == EXIT_OK
    assert "2023-06-28 15:30" in out, "the window starts at --now, not at the clock"

    def connector_1(moment: str) -> list[tuple[str, int]]:
        argv = ("schedule", "edrv-examples", "--connector", "1", "--format", "json", "--now", moment)
        code, out, _ = run_cli(capsys, *argv, "--desired", str(desired))
        assert code == EXIT_OK
        (station,) = json.loads(out)["stations"]
        return [(p["start"], p["limit"]) for p in station["periods"]]

    # Profile 20 (13 kW for three minutes from 15:28:25) is in force at a --now within them, expired later.
    assert connector_1("2023-06-28T15:28:30Z")[:2] == [
        ("2023-06-28T15:28:30Z", 13000),
        ("2023-06-28T15:31:25Z", 10000),
    ]
    assert connector_1(AT) == [(AT, 10000)]


def test_state_list_and_show_as_json(desired: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`state list` counts each site's live profiles by status; `state show --format json` gives the
    records with the site's timezone and each station's description."""
    code, out, _ = run_cli(capsys, "state", "list", "--desired", str(desired), "--format", "json")
    assert code == EXIT_OK
    assert [s["recorded"] for s in json.loads(out)["sites"]] == [None, None, None]
    _applied(desired)
    code, out, _ = run_cli(capsys, "state", "list", "--desired", str(desired))
    assert code == EXIT_OK
    header, *rows = out.splitlines()
    assert header.split()[:5] == ["site", "serial", "stations", "profiles", "accepted"]
    depot = next(row.split() for row in rows if row.startswith("harbour-depot"))
    recorded = store.load(store.state_path(desired, "harbour-depot"), "harbour-depot")
    assert recorded is not None
    assert depot[1:4] == [str(recorded.serial), "14", str(sum(1 for _ in recorded.records()))]
    code, out, _ = run_cli(
        capsys, "state", "show", "harbour-depot", "--format", "json", "--desired", str(desired)
    )
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["format_version"] == 1
    assert document["timezone"] == "Europe/Berlin"
    assert document["serial"] == recorded.serial
    site_file = parse((desired / "harbour-depot.yaml").read_text())
    assert document["stations"][BAY]["description"] == site_file["stations"][BAY]["description"]
    assert document["stations"][BAY]["profiles"] == {
        name: record.model_dump(mode="json") for name, record in recorded.stations[BAY].profiles.items()
    }


def test_shell_completion_offers_sites_and_stations() -> None:
    """Completion offers the site ids of --desired, and the station ids of the site named before it."""

    def complete(args: list[str], incomplete: str) -> list[str]:
        completion = BashComplete(cli, {}, "reconciler", "_RECONCILER_COMPLETE")
        return [item.value for item in completion.get_completions(args, incomplete)]

    assert complete(["plan", "--desired", str(DESIRED)], "") == [
        "edrv-examples",
        "harbour-depot",
        "lakeside-offices",
    ]
    assert complete(["state", "show", "--desired", str(DESIRED)], "lake") == ["lakeside-offices"]
    assert complete(["plan", "edrv-examples", "--desired", str(DESIRED), "--station"], "") == [LAB]
    assert BAY in complete(["drift", "--desired", str(DESIRED), "--station"], "65a1")


def test_a_glance_reads_station_keys_merges_included_and_never_loops(tmp_path: Path) -> None:
    """A site file's station ids come from its keys and `<<:` merges, a mapping merged into itself is
    read once, and a file that does not parse gives nothing."""
    path = tmp_path / "site.yaml"
    path.write_text(
        "site: {name: S, timezone: Europe/Berlin}\n"
        "base: &base {CS-1: {connectors: 1}, CS-2: {connectors: 1}}\n"
        "loop: &loop {<<: *base, CS-4: {connectors: 1}}\n"
        "stations: {<<: [*base, *loop], CS-3: {connectors: 1}}\n"
    )
    assert declared(path) == Declared(frozenset({"CS-1", "CS-2", "CS-3", "CS-4"}), "Europe/Berlin")
    cyclic = tmp_path / "cyclic.yaml"
    cyclic.write_text("stations: &s {CS-1: {}, <<: *s}\n")
    glance = declared(cyclic)
    assert glance is not None
    assert glance.stations == frozenset({"CS-1"})
    broken = tmp_path / "broken.yaml"
    broken.write_text("stations: [unclosed\n")
    assert declared(broken) is None
