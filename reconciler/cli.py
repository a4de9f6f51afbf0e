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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__, savedplan, siteschedule, state
from reconciler import sites as sitelist
from reconciler.apply import summary as apply_summary
from reconciler.catalog import desired_requests
from reconciler.client import EdrvSettings
from reconciler.errors import DesiredStateError, Problem, ReconcilerError
from reconciler.loader import Loaded, load
from reconciler.model import SiteFile, format_timestamp, normalise_timestamp, parse_timestamp
from reconciler.reconcile import apply_with_client, locked, plan_sites, site_ids
from reconciler.recorded import render_text as render_state
from reconciler.render import render_json, render_text
from reconciler.render_markdown import render_markdown
from reconciler.sandbox.commands import demo, sandbox

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


cli.add_command(sandbox)
cli.add_command(demo)


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: a pull-request comment, cut to fit GitHub's comment limit.",
)
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
    elif fmt == "markdown":
        click.echo(render_markdown(plans, format_timestamp(moment)), nl=False)
    else:
        click.echo(render_text(plans, colour=sys.stdout.isatty()), nl=False)
    pending = any(p.has_changes for p in plans)
    return EXIT_CHANGES if detailed_exitcode and pending else EXIT_OK


@cli.command()
@click.argument("sites", nargs=-1)
@desired_option
@state_dir_option
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Apply this saved plan (from `plan --out`) instead of planning now; refused when stale.",
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required without a terminal).")
@click.option("--force", is_flag=True, help="Plan past the safety rails (mass clears or changes).")
@click.option(
    "--lock-timeout", type=click.FloatRange(min=0), default=0, help="Wait this long (s) for another apply."
)
@click.option(
    "--key-file", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Read the API key here."
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=16, show_default=True, help="Calls in flight."
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Calls per s.",
)
@now_option
def apply(
    *,
    sites: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    plan_file: Path | None,
    auto_approve: bool,
    force: bool,
    lock_timeout: float,
    key_file: Path | None,
    concurrency: int,
    rate: float,
    now: str | None,
) -> int:
    """Send the planned calls to eDRV (lowering limits first) and record every outcome."""
    if plan_file is not None and sites:
        raise click.UsageError("give SITES or --plan FILE, not both")
    moment = _clock(now)
    settings = replace(
        EdrvSettings.from_environment(key_file),
        max_concurrent=concurrency,
        rate_per_s=rate,
        burst=max(1, int(rate)),
    )
    saved = savedplan.parse(plan_file.read_text(encoding="utf-8"), str(plan_file)) if plan_file else None
    names = (
        [p.site_id for p in saved] if saved is not None else list(sites) or site_ids(desired_dir, state_dir)
    )
    with locked(desired_dir, names, state_dir, lock_timeout):
        plans = saved if saved is not None else plan_sites(desired_dir, names, moment, state_dir, force)
        click.echo(render_text(plans, colour=sys.stdout.isatty()), nl=False)
        if not any(p.has_changes or p.has_session_caps for p in plans):
            click.echo("Nothing to apply.")
            return EXIT_OK
        if not auto_approve:
            if not sys.stdin.isatty():
                raise ReconcilerError(
                    "no terminal to confirm on; review the plan and rerun with --auto-approve"
                )
            click.confirm("Send these calls to eDRV?", abort=True)
        total = sum(len(p.changes) for p in plans)
        with click.progressbar(length=total, label="Applying", file=sys.stderr) as bar:
            results = apply_with_client(
                plans,
                settings,
                desired_dir=desired_dir,
                state_dir=state_dir,
                now=moment,
                source=str(plan_file) if plan_file else "the plan",
                progress=lambda _sent: bar.update(1),
            )
    click.echo(apply_summary(results), nl=False)
    return EXIT_ERROR if any(r.failed for r in results) else EXIT_OK


@cli.command("sites")
@click.argument("names", nargs=-1, metavar="[SITES]...")
@desired_option
@state_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one line with the sites and the CI jobs to apply them in.",
)
@click.option(
    "--changed-since",
    metavar="REF",
    default=None,
    help="Only sites whose desired file or state differs from this git ref (deleted files count).",
)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1, max=sitelist.MATRIX_LIMIT),
    default=sitelist.MATRIX_LIMIT,
    show_default=True,
    help="Jobs to split the sites into; past this, each job takes a shard of several sites.",
)
def sites_command(
    *,
    names: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    fmt: str,
    changed_since: str | None,
    max_jobs: int,
) -> int:
    """List the sites (desired files and recorded state), or those changed since a git ref."""
    found = sitelist.listing(desired_dir, state_dir, names, changed_since, max_jobs)
    click.echo((sitelist.render_json if fmt == "json" else sitelist.render_text)(found), nl=False)
    return EXIT_OK


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


@cli.command()
@click.argument("site")
@click.argument("station", required=False)
@desired_option
@click.option(
    "--connector", type=click.IntRange(min=0), default=0, show_default=True, help="0 is the station total."
)
@click.option("--from", "start", type=TIMESTAMP, default=None, help="Window start.  [default: now]")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=24.0,
    show_default=True,
    help="Window length.",
)
@click.option("--unit", type=click.Choice(["W", "A"]), default="W", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def schedule(
    *,
    site: str,
    station: str | None,
    desired_dir: Path,
    connector: int,
    start: str | None,
    hours: float,
    unit: str,
    fmt: str,
) -> int:
    """Show the limit over time that desired state gives each station (OCPP 1.6 composite schedule)."""
    moment = _clock(start) if start else _clock(None).replace(microsecond=0)
    desired = _load_sites(desired_dir, [site], moment).sites[0]
    duration_s = max(1, round(hours * 3600))
    try:
        found = siteschedule.site_schedules(
            desired, [station] if station else [], connector, moment, duration_s=duration_s, unit=unit
        )
    except LookupError as err:
        raise click.BadParameter(str(err), param_hint="STATION or --connector") from None
    click.echo((siteschedule.render_json if fmt == "json" else siteschedule.render_text)(found), nl=False)
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
