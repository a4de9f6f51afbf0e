"""The command line: each command parses its flags, makes one call, renders, and returns an exit code.

Exit codes: 0 success, 1 error, 2 changes pending (`plan --detailed-exitcode`), 64 usage error (click's
own 2 is remapped so that a typo in a workflow never reads as "changes pending"). Expected errors
(`ReconcilerError`) print one line, plus a GitHub annotation under Actions; anything else is a bug and
keeps its traceback. The commands that only look at desired state are in `cli.inspect`; what all
commands share (options, exit codes, the clock, problem display) is in `cli.options`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import click

from reconciler import __version__
from reconciler.cli.drift import drift
from reconciler.cli.inbox import ingest, receive
from reconciler.cli.inspect import payloads, schedule, schema, sites_command
from reconciler.cli.options import (
    DEFAULT_DESIRED,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    Finite,
    clock,
    confirmation_options,
    desired_option,
    error_annotation,
    force_option,
    format_option,
    inbox_option,
    now_option,
    report,
    state_dir_option,
    warn,
)
from reconciler.cli.sandbox import demo, sandbox
from reconciler.desired.loader import load
from reconciler.edrv.settings import EdrvSettings, key_file_exposure
from reconciler.errors import DesiredStateError, ReconcilerError
from reconciler.ocpp.profile import format_timestamp
from reconciler.render.confirm import ingest_text
from reconciler.render.markdown import render_markdown
from reconciler.render.state import render_text as render_state
from reconciler.render.text import render_json, render_text
from reconciler.shell import ingest as ingesting
from reconciler.shell.apply import summary as apply_summary
from reconciler.shell.ingest import open_inbox
from reconciler.shell.reconcile import (
    apply_with_client,
    known_sites,
    locked,
    plan_sites,
    read_saved_plan,
    site_facts,
)
from reconciler.state import store as state

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "cli", "main"]
# Each call in flight holds a connection of its own (see `edrv.client`).
MAX_CONCURRENCY = 256


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Charging profiles as code: desired OCPP 1.6 profiles in YAML, planned and applied through eDRV."""


for command in (payloads, schedule, sites_command, schema, sandbox, demo, receive, ingest, drift):
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
@click.argument("sites", nargs=-1)
@desired_option
@state_dir_option
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
@inbox_option
@confirmation_options
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
    inbox: str | None,
    unconfirmed_after: timedelta,
    retry_rejected_after: timedelta | None,
    now: str | None,
) -> int:
    """Show the eDRV calls that would make the chargers match desired state. Sends nothing.

    With --inbox, the chargers' answers are folded in first, in memory only (nothing is written).
    """
    moment = clock(now)
    with open_inbox(inbox) as reader:
        confirmations = ingesting.policy(reader, unconfirmed_after, retry_rejected_after)
        if reader is None:
            plans = plan_sites(desired_dir, sites, moment, state_dir, force, confirmations=confirmations)
        else:
            plans = ingesting.plan_folded(
                reader,
                desired_dir,
                sites,
                now=moment,
                state_dir=state_dir,
                force=force,
                confirmations=confirmations,
            )
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
@force_option
@click.option("--lock-timeout", type=Finite(min=0), default=0, help="Wait this long (s) for another apply.")
@click.option(
    "--key-file", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Read the API key here."
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=MAX_CONCURRENCY),
    default=16,
    show_default=True,
    help="Calls in flight.",
)
@click.option(
    "--rate",
    type=Finite(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Calls per s.",
)
@inbox_option
@confirmation_options
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
    inbox: str | None,
    unconfirmed_after: timedelta,
    retry_rejected_after: timedelta | None,
    now: str | None,
) -> int:
    """Send the planned calls to eDRV (lowering limits first) and record every outcome.

    With --inbox, the chargers' answers are folded into recorded state first (after sending, for a
    saved plan, which must apply to the state it was made from).
    """
    if plan_file is not None and sites:
        raise click.UsageError("give SITES or --plan FILE, not both")
    moment = clock(now)
    saved = read_saved_plan(plan_file) if plan_file is not None else None
    names = [p.site_id for p in saved] if saved is not None else known_sites(desired_dir, state_dir, sites)
    # Calls are spread evenly over each second (no burst): kinder to eDRV and its chargers, and a crash
    # then finds few calls in flight to send again.
    settings = replace(
        EdrvSettings.from_environment(key_file), max_concurrent=concurrency, rate_per_s=rate, burst=1
    )
    if key_file is not None and (exposed := key_file_exposure(key_file)) is not None:
        warn(exposed)
    with locked(desired_dir, names, state_dir, lock_timeout), open_inbox(inbox) as reader:
        confirmations = ingesting.policy(reader, unconfirmed_after, retry_rejected_after)

        def fold() -> None:
            if reader is not None:
                done = ingesting.ingest(reader, desired_dir, names, state_dir, now=moment, locks_held=True)
                click.echo(ingest_text(done))

        if saved is None:
            fold()
        plans = saved or plan_sites(desired_dir, names, moment, state_dir, force, confirmations=confirmations)
        click.echo(render_text(plans, colour=sys.stdout.isatty()), nl=False)
        if not any(p.has_changes or p.has_session_caps for p in plans):
            if saved is not None:
                fold()
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
        if saved is not None:
            fold()
    click.echo(apply_summary(results), nl=False)
    return EXIT_OK if all(r.complete for r in results) else EXIT_ERROR


@cli.group("state")
def state_group() -> None:
    """Inspect recorded state: what was sent to each station and what came of it."""


@state_group.command("show")
@click.argument("site")
@desired_option
@state_dir_option
@now_option
def state_show(site: str, desired_dir: Path, state_dir: Path | None, now: str | None) -> int:
    """Print a site's recorded state for people, in the site's local time."""
    known_sites(desired_dir, state_dir, [site])
    path = state.state_path(desired_dir, site, state_dir)
    recorded = state.load(path, site)
    if recorded is None:
        click.echo(f"{path}: nothing recorded for site {site} yet", err=True)
        return EXIT_OK
    moment = clock(now)
    facts = site_facts(desired_dir, site, moment)
    if facts.note is not None:
        click.echo(f"note: {facts.note}", err=True)
    click.echo(render_state(recorded, facts.clock, facts.descriptions, moment), nl=False)
    return EXIT_OK


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
