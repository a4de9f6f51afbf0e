"""The command line: each command parses its flags, makes one call, renders, and returns an exit code.

Exit codes: 0 success, 1 error, 2 changes pending (`plan --detailed-exitcode`), 64 usage error (click's
own 2 is remapped so that a typo in a workflow never reads as "changes pending"). Expected errors
(`ReconcilerError`) print one line, plus a GitHub annotation under Actions; anything else is a bug and
keeps its traceback. Apply is in `cli.apply`, recorded state in `cli.state`, the commands that only
look at desired state in `cli.inspect`; what all commands share (options, exit codes, the clock,
problem display) is in `cli.options`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import click

from reconciler import __version__
from reconciler.cli.apply import apply
from reconciler.cli.drift import drift
from reconciler.cli.inbox import ingest, receive
from reconciler.cli.inspect import payloads, schedule, schema, sites_command
from reconciler.cli.options import (
    DEFAULT_DESIRED,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    clock,
    colour,
    confirmation_options,
    desired_option,
    error_annotation,
    force_option,
    format_option,
    inbox_option,
    no_color_option,
    now_option,
    report,
    sites_argument,
    state_dir_option,
    station_option,
    verbose_option,
)
from reconciler.cli.sandbox import demo, sandbox
from reconciler.cli.state import state_group
from reconciler.desired.loader import load
from reconciler.errors import DesiredStateError, ReconcilerError
from reconciler.ocpp.profile import format_timestamp
from reconciler.plan.site import SitePlan
from reconciler.render.markdown import render_markdown
from reconciler.render.svg import plan_charts
from reconciler.render.text import render_json, render_text
from reconciler.shell import ingest as ingesting
from reconciler.shell.ingest import open_inbox
from reconciler.shell.network import station_sites
from reconciler.shell.reconcile import plan_sites

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Charging profiles as code: desired OCPP 1.6 profiles in YAML, planned and applied through eDRV."""


for command in (
    payloads,
    schedule,
    sites_command,
    schema,
    sandbox,
    demo,
    receive,
    ingest,
    drift,
    state_group,
    apply,
):
    cli.add_command(command)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@now_option
def validate(paths: tuple[Path, ...], strict: bool, now: str | None) -> int:
    """Check desired site files (default: desired/) and report every problem with file:line:column."""
    loaded = load(paths or (DEFAULT_DESIRED,), clock(now), keep=False)
    report(loaded.problems, sys.stdout)
    errors = sum(p.is_error for p in loaded.problems)
    warnings = len(loaded.problems) - errors
    click.echo(f"{loaded.valid} site(s) valid; {errors} error(s), {warnings} warning(s)", err=True)
    return EXIT_ERROR if errors or (strict and warnings) else EXIT_OK


@cli.command()
@sites_argument
@desired_option
@state_dir_option
@station_option("Plan")
@format_option(
    "text", "json", "markdown", help="markdown: a pull-request comment, cut to fit GitHub's comment limit."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when it has none."
)
@force_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also save the plan (as JSON) for `apply --plan`, bound to each site's recorded serial.",
)
@click.option(
    "--chart",
    "chart_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also draw SVG charts here: per site with changes its combined limit before and after "
    "(<site>.svg), and each station it sends to (<site>/<station>.svg).",
)
@no_color_option
@verbose_option
@inbox_option
@confirmation_options
@now_option
def plan(
    *,
    sites: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    station: str | None,
    fmt: str,
    detailed_exitcode: bool,
    force: bool,
    out: Path | None,
    chart_dir: Path | None,
    no_color: bool,
    verbose: bool,
    inbox: str | None,
    unconfirmed_after: timedelta,
    retry_rejected_after: timedelta | None,
    now: str | None,
) -> int:
    """Show the eDRV calls that would make the chargers match desired state. Sends nothing.

    With --inbox, the chargers' answers are folded in first, in memory only (nothing is written).
    """
    moment = clock(now)
    names = station_sites(desired_dir, state_dir, sites, station) if station else list(sites)
    with open_inbox(inbox) as reader:
        confirmations = ingesting.policy(reader, unconfirmed_after, retry_rejected_after)
        if reader is None:
            plans = plan_sites(
                desired_dir, names, moment, state_dir, force, confirmations=confirmations, station=station
            )
        else:
            plans = ingesting.plan_folded(
                reader,
                desired_dir,
                names,
                now=moment,
                state_dir=state_dir,
                force=force,
                confirmations=confirmations,
                station=station,
            )
    if out is not None:
        out.write_text(render_json(plans, format_timestamp(moment)), encoding="utf-8")
    charts = _write_charts(plans, chart_dir) if chart_dir is not None else {}
    if fmt == "json":
        click.echo(render_json(plans, format_timestamp(moment)), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(plans, format_timestamp(moment), charts=charts), nl=False)
    else:
        click.echo(render_text(plans, colour=colour(no_color), verbose=verbose), nl=False)
    pending = any(p.has_changes for p in plans)
    return EXIT_CHANGES if detailed_exitcode and pending else EXIT_OK


def _write_charts(plans: Sequence[SitePlan], chart_dir: Path) -> dict[str, list[str]]:
    """Write each site's SVG charts under `chart_dir`; the file names by site."""
    written: dict[str, list[str]] = {}
    for site_plan in plans:
        for name, text in plan_charts(site_plan).items():
            path = chart_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.setdefault(site_plan.site_id, []).append(name)
    count = sum(map(len, written.values()))
    click.echo(f"{count} chart(s) written to {chart_dir}", err=True)
    return written


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
        report(err.problems, sys.stderr)
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_ERROR)
    except ReconcilerError as err:
        click.echo(f"error: {err}", err=True)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            click.echo(error_annotation(err), err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
