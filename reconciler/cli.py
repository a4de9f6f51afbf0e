"""The command line: each command parses its flags, makes one call, renders, and returns an exit code.

Exit codes: 0 success, 1 error, 2 changes pending (`plan --detailed-exitcode`), 64 usage error (click's
own 2 is remapped so that a typo in a workflow never reads as "changes pending"). Expected errors
(`ReconcilerError`) print one line, plus a GitHub annotation under Actions; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__, state
from reconciler.catalog import desired_requests
from reconciler.errors import DesiredStateError, Problem, ReconcilerError
from reconciler.loader import Loaded, load
from reconciler.model import SiteFile, format_timestamp, normalise_timestamp, parse_timestamp
from reconciler.reconcile import plan_sites
from reconciler.recorded import render_text as render_state
from reconciler.render import render_json, render_text

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_USAGE = 0, 1, 2, 64
DEFAULT_DESIRED = Path("desired")


class _Timestamp(click.ParamType):  # type: ignore[type-arg]
    name = "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        # Kept as normalised text: fraction digits as written matter in request bodies.
        try:
            return normalise_timestamp(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 date-time such as 2026-01-31T22:00:00Z", param, ctx)


TIMESTAMP = _Timestamp()
now_option = click.option(
    "--now", type=TIMESTAMP, default=None, help="Check as of this moment instead of the clock (RFC 3339)."
)
desired_option = click.option(
    "--desired",
    "desired_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DESIRED,
    show_default=True,
    help="Directory of site files.",
)

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory of recorded-state files.  [default: <desired>/.state]",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Charging profiles as code: desired OCPP 1.6 profiles in YAML, planned and applied through eDRV."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@now_option
def validate(paths: tuple[Path, ...], strict: bool, now: str | None) -> int:
    """Check desired site files (default: desired/) and report every problem with file:line:column."""
    loaded = load(paths or (DEFAULT_DESIRED,), _clock(now))
    _report(loaded.problems, sys.stdout)
    errors = sum(p.is_error for p in loaded.problems)
    warnings = len(loaded.problems) - errors
    click.echo(f"{len(loaded.sites)} site(s) valid; {errors} error(s), {warnings} warning(s)", err=True)
    return EXIT_ERROR if errors or (strict and warnings) else EXIT_OK


@cli.command()
@click.argument("sites", nargs=-1)
@desired_option
@state_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when it has none."
)
@click.option("--force", is_flag=True, help="Plan past the safety rails (mass clears or changes).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also save the plan (as JSON) for `apply --plan`, bound to each site's recorded serial.",
)
@now_option
def plan(
    *,
    sites: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    force: bool,
    out: Path | None,
    now: str | None,
) -> int:
    """Show the eDRV calls that would make the chargers match desired state. Sends nothing."""
    moment = _clock(now)
    plans = plan_sites(desired_dir, sites, moment, state_dir, force)
    if out is not None:
        out.write_text(render_json(plans, format_timestamp(moment)), encoding="utf-8")
    if fmt == "json":
        click.echo(render_json(plans, format_timestamp(moment)), nl=False)
    else:
        click.echo(render_text(plans, colour=sys.stdout.isatty()), nl=False)
    pending = any(p.has_changes for p in plans)
    return EXIT_CHANGES if detailed_exitcode and pending else EXIT_OK


@cli.group("state")
def state_group() -> None:
    """Inspect recorded state: what was sent to each station and what came of it."""


@state_group.command("show")
@click.argument("site")
@desired_option
@state_dir_option
def state_show(site: str, desired_dir: Path, state_dir: Path | None) -> int:
    """Print a site's recorded state for people."""
    path = state.state_path(desired_dir, site, state_dir)
    recorded = state.load(path, site)
    if recorded is None:
        click.echo(f"{path}: nothing recorded for site {site} yet", err=True)
        return EXIT_OK
    click.echo(render_state(recorded), nl=False)
    return EXIT_OK


@cli.command()
def schema() -> int:
    """Print the JSON Schema of a site file, for editors (yaml-language-server) and other tools."""
    click.echo(json.dumps(SiteFile.model_json_schema(by_alias=True), indent=2))
    return EXIT_OK


@cli.command()
@click.argument("sites", nargs=-1)
@desired_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--session-start",
    type=TIMESTAMP,
    default=None,
    help="Show session caps as sent for a session that began then (on every connector).",
)
@now_option
def payloads(
    sites: tuple[str, ...], desired_dir: Path, fmt: str, session_start: str | None, now: str | None
) -> int:
    """Print the exact eDRV request for every desired profile: method, path and body."""
    moment = _clock(now)
    requests = desired_requests(_load_sites(desired_dir, sites, moment).sites, moment, session_start)
    if fmt == "json":
        click.echo(json.dumps({"format_version": 1, "requests": requests}, indent=2))
    else:
        for entry in requests:
            note = "  (session cap: sent only while a session is active)" if entry["session_cap"] else ""
            note += "  (expired: not sent)" if entry["expired"] else ""
            click.echo(
                f"{entry['site']}/{entry['station']}/{entry['profile']}: "
                f"{entry['request']['method']} {entry['request']['path']}{note}"
            )
            click.echo("  " + json.dumps(entry["request"]["body"]))
    return EXIT_OK


def _load_sites(desired_dir: Path, sites: Sequence[str], now: datetime) -> Loaded:
    paths = [desired_dir / f"{site}.yaml" for site in sites] if sites else [desired_dir]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise click.BadParameter(f"no such site file: {', '.join(map(str, missing))}", param_hint="SITES")
    loaded = load(paths, now)
    if loaded.has_errors:
        raise DesiredStateError(loaded.problems)
    _report(loaded.problems, sys.stderr)
    return loaded


def _clock(now: str | None) -> datetime:
    """The moment a command works at: `--now` when given (for reproducible runs), else the clock."""
    return parse_timestamp(now) if now is not None else datetime.now(UTC)


def _report(problems: Sequence[Problem], stream: Any) -> None:
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    for problem in problems:
        print(problem, file=stream)
        if in_actions:
            print(_annotation(problem), file=stream)


def _annotation(problem: Problem) -> str:
    # GitHub workflow command; %, CR and LF must be escaped in the message and properties.
    def escape(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    where = f"file={escape(problem.file).replace(',', '%2C')}"
    if problem.line:
        where += f",line={problem.line},col={problem.column}"
    message = problem.message + (f" (fix: {problem.fix})" if problem.fix else "")
    return f"::{problem.severity} {where}::{escape(message)}"


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and exit with the documented codes."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="reconciler", standalone_mode=False
        )
    except click.UsageError as err:
        err.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as err:
        err.show()
        sys.exit(EXIT_ERROR)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except DesiredStateError as err:
        _report(err.problems, sys.stderr)
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_ERROR)
    except ReconcilerError as err:
        click.echo(f"error: {err}", err=True)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            click.echo(f"::error::{err}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
