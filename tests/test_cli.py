"""The command line: documented exit codes, the published schema, and editor support in desired/."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler import __version__
from reconciler.cli.main import EXIT_ERROR, EXIT_USAGE, cli
from reconciler.desired.yamlread import parse
from reconciler.plan.outcome import assume_applied
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW, ROOT, run_cli
from .site_schema import errors

NOW_ARG = "2026-11-23T12:00:00Z"

SCHEMA_FILE = ROOT / "schema" / "site.schema.json"


def test_usage_errors_exit_64_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped flag exits 64, so a workflow never mistakes it for 'changes pending' (2)."""
    code, _, err = run_cli(capsys, "validate", "--no-such-flag")
    assert code == EXIT_USAGE
    assert "no-such-flag" in err


def test_unknown_command_exits_64(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command is a usage error too."""
    assert run_cli(capsys, "planx")[0] == EXIT_USAGE


def test_validate_of_the_example_network_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped desired/ has no errors, so the README's first command succeeds."""
    code, _, err = run_cli(capsys, "validate", str(DESIRED), "--now", "2026-11-23T12:00:00Z")
    assert code == 0
    assert "0 error(s)" in err


def test_schema_command_matches_the_published_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`reconciler schema` prints exactly schema/site.schema.json (regenerate it when the models change)."""
    code, out, _ = run_cli(capsys, "schema")
    assert code == 0
    assert json.loads(out) == json.loads(SCHEMA_FILE.read_text())


@pytest.mark.parametrize("path", sorted(DESIRED.glob("*.yaml")), ids=lambda p: p.stem)
def test_desired_files_carry_the_modeline_and_satisfy_the_schema(path: Path) -> None:
    """Each desired file points editors at the schema and is itself valid by that schema."""
    first_line = path.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schema/site.schema.json"
    assert errors(parse(path.read_text())) == []


def test_payloads_json_is_versioned_and_names_every_request(capsys: pytest.CaptureFixture[str]) -> None:
    """`payloads --format json` carries a format version and, per profile, method, path and body."""
    code, out, _ = run_cli(capsys, "payloads", "edrv-examples", "--desired", str(DESIRED), "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["format_version"] == 1
    assert {r["chargingProfileId"] for r in document["requests"]} == {11, 12, 13, 14, 15, 16, 17, 20, 21}
    assert all(set(r["request"]) == {"method", "path", "body"} for r in document["requests"])


@pytest.mark.parametrize(
    "command",
    [
        ["plan"],
        ["apply", "--auto-approve"],
        ["state", "show"],
        ["state", "list"],
        ["drift"],
        ["payloads"],
        ["schedule"],
        ["sites"],
        ["ingest", "--inbox", "http://127.0.0.1:9"],
    ],
    ids=" ".join,
)
def test_every_command_refuses_an_unknown_site(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    """A mistyped site is an error (exit 1) naming it in every command, never a site with nothing to do."""
    desired = tmp_path / "desired"
    shutil.copytree(DESIRED, desired)
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run_cli(capsys, *command, "office-prak", "--desired", str(desired))
    assert code == EXIT_ERROR
    assert "office-prak" in err
    assert "No changes" not in out
    assert sorted(tmp_path.rglob("*")) == before, "nothing written, no lock file left behind"


def test_a_plan_without_changes_says_what_it_compared(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With nothing to do, plan says recorded state matches desired state, never what the chargers hold."""
    desired = tmp_path / "desired"
    shutil.copytree(DESIRED, desired)
    for plan in plan_sites(desired, [], NOW):
        state.save(
            state.state_path(desired, plan.site_id),
            assume_applied(RecordedState.new(plan.site_id), plan, NOW),
            None,
        )
    sites = len(list(desired.glob("*.yaml")))
    # Text says it for every site; Markdown for every site it shows (one with notes), in its section.
    for fmt, expected, least in (
        ("text", "   No changes: recorded state matches desired state.\n", sites),
        ("markdown", "\nNo changes: recorded state matches desired state.\n", 1),
    ):
        code, out, _ = run_cli(capsys, "plan", "--desired", str(desired), "--now", NOW_ARG, "--format", fmt)
        assert code == 0
        assert least <= out.count(expected) <= sites, out
        assert "chargers hold" not in out


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m reconciler --version` runs the CLI and prints the package's version."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "reconciler" in done.stdout
    assert __version__ in done.stdout


def test_plan_detailed_exitcode_is_2_with_changes_and_json_names_requests(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With nothing recorded the example network has changes: exit 2, and JSON lists each request."""
    args = ["plan", "--desired", str(DESIRED), "--state-dir", str(tmp_path), "--now", "2026-11-23T12:00:00Z"]
    code, out, _ = run_cli(capsys, *args, "--format", "json", "--detailed-exitcode")
    assert code == 2
    document = json.loads(out)
    assert document["format_version"] == 1
    changes = [c for site in document["sites"] for c in site["changes"]]
    assert changes
    assert all(c["request"]["path"].endswith("/set_charging_profile") for c in changes)
    assert run_cli(capsys, *args)[0] == 0, "without --detailed-exitcode pending changes still exit 0"


@pytest.mark.parametrize("command", [["plan"], ["state", "show", "harbour-depot"]])
def test_json_is_written_alike_to_an_output_that_takes_only_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    """Standard output replaced by one that takes text alone (a StringIO, as a program running the CLI
    in process gives it) gets the whole JSON plan or recorded state, the very text an output with bytes
    under it (a terminal, a pipe) gets."""
    args = [*command, "--desired", str(DESIRED), "--state-dir", str(tmp_path), "--format", "json"]
    args += ["--now", "2026-11-23T12:00:00Z"]
    code, through_bytes, _ = run_cli(capsys, *args)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        cli.main(args, prog_name="reconciler")
    assert (exited.value.code, code) == (0, 0)
    assert json.loads(out.getvalue())["format_version"] == 1
    assert out.getvalue() == through_bytes


def test_validate_and_plan_load_only_what_they_need() -> None:
    """`reconciler validate` imports no planner, renderer, HTTP client or event loop, and a text `plan` of
    new profiles no HTTP client, event loop, DeepDiff, Markdown or SVG renderer: each is loaded when used."""
    heavy = (
        "reconciler.shell.reconcile",
        "reconciler.render.text",
        "reconciler.render.markdown",
        "reconciler.render.svg",
        "httpx",
        "asyncio",
        "deepdiff",
    )
    program = (
        "import sys\n"
        "from reconciler.cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        f"    print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )

    def loaded(*argv: str) -> str:
        ran = subprocess.run(
            [sys.executable, "-c", program, *argv], capture_output=True, text=True, check=True
        )
        return ran.stdout.splitlines()[-1]

    assert loaded("validate", str(DESIRED / "harbour-depot.yaml")) == "[]"
    planned = loaded("plan", "harbour-depot", "--desired", str(DESIRED))
    assert planned == "['reconciler.render.text', 'reconciler.shell.reconcile']"


def test_every_command_has_help_and_a_row_in_the_readme() -> None:
    """A command without a help text or without a README entry is an undocumented command."""
    readme = (ROOT / "README.md").read_text()
    context = click.Context(cli)
    names = cli.list_commands(context)
    assert {"validate", "plan", "apply", "drift", "state"} <= set(names)
    for name in names:
        command = cli.get_command(context, name)
        assert command is not None, f"{name} is listed but cannot be loaded"
        assert command.name == name, f"{name} loads the command {command.name}"
        assert command.help, f"{name} has no help text"
        assert f"`reconciler {name}" in readme, f"the README does not describe `reconciler {name}`"


@pytest.mark.parametrize(
    "argv",
    [
        ["receive", "--replay-window", "nan"],  # would accept a signed delivery of any age
        ["receive", "--retention-days", "1e999"],
        ["plan", "--unconfirmed-after", "99999999999d"],
        ["apply", "--retry-rejected-after", "9999999999999999999999h"],
        ["schedule", "harbour-depot", "--hours", "nan"],
        ["apply", "--rate", "inf"],
        ["drift", "--hours", "nan"],
        ["drift", "--hours", "99999"],
        ["drift", "--timeout", "inf"],
        ["drift", "--tolerance", "nan"],
        ["drift", "--lock-timeout", "nan"],
        ["ingest", "--lock-timeout", "nan"],
    ],
    ids=" ".join,
)
def test_numbers_no_wait_or_window_can_hold_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """nan, infinity and durations past a year are refused as usage errors (64), never a traceback."""
    desired = [] if argv[0] == "receive" else ["--desired", str(DESIRED)]
    code, _, err = run_cli(capsys, *argv, *desired)
    assert code == EXIT_USAGE
    assert "Invalid value for" in err
