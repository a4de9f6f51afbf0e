"""`reconciler apply`: send the planned calls to eDRV and record every outcome, as Terraform applies.

Registered by `cli.main`. Everything that refuses (a usage error, the key, no terminal to confirm on
without --auto-approve, an unknown site or station, a stale saved plan, the safety rails) does so
before any plan is shown; "no" at the prompt exits 1 with nothing sent. On a terminal a progress bar
follows the calls, elsewhere one line per call as its answer is recorded; the summary comes last.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import click

from reconciler.cli.options import (
    EXIT_ERROR,
    EXIT_OK,
    Finite,
    clock,
    colour,
    confirmation_options,
    desired_option,
    force_option,
    inbox_option,
    lock_timeout_option,
    no_color_option,
    now_option,
    sites_argument,
    state_dir_option,
    station_option,
    verbose_option,
    warn,
)
from reconciler.edrv.settings import EdrvSettings, key_file_exposure
from reconciler.errors import ReconcilerError
from reconciler.plan.site import SitePlan
from reconciler.render.confirm import ingest_text
from reconciler.render.text import render_text, waiting_caps
from reconciler.shell import ingest as ingesting
from reconciler.shell.apply import Progress, SiteResult, sent_line
from reconciler.shell.apply import summary as apply_summary
from reconciler.shell.apply_sites import apply_with_client
from reconciler.shell.ingest import open_inbox
from reconciler.shell.network import station_sites
from reconciler.shell.reconcile import check_saved_plan, locked, plan_sites, read_saved_plan

# Each call in flight holds a connection of its own (see `edrv.client`).
MAX_CONCURRENCY = 256


@click.command()
@sites_argument
@desired_option
@state_dir_option
@station_option("Apply")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Apply this saved plan (from `plan --out`) instead of planning now; refused when stale.",
)
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required without a terminal).")
@force_option
@lock_timeout_option("another apply")
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
@no_color_option
@verbose_option
@inbox_option
@confirmation_options
@now_option
def apply(
    *,
    sites: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    station: str | None,
    plan_file: Path | None,
    auto_approve: bool,
    force: bool,
    lock_timeout: float,
    key_file: Path | None,
    concurrency: int,
    rate: float,
    no_color: bool,
    verbose: bool,
    inbox: str | None,
    unconfirmed_after: timedelta,
    retry_rejected_after: timedelta | None,
    now: str | None,
) -> int:
    """Send the planned calls to eDRV (lowering limits first) and record every outcome.

    On a terminal it asks first and shows a progress bar; otherwise (--auto-approve) it prints a line
    per call as its answer is recorded. With --inbox, the chargers' answers are folded into recorded
    state first (after sending, for a saved plan, which must apply to the state it was made from).
    """
    if plan_file is not None and (sites or station):
        raise click.UsageError("give SITES (or --station) or --plan FILE, not both")
    moment = clock(now)
    saved = read_saved_plan(plan_file) if plan_file is not None else None
    if saved is not None:
        names = [p.site_id for p in saved]
    else:
        names = station_sites(desired_dir, state_dir, sites, station)
    # Calls are spread evenly over each second (no burst): kinder to eDRV and its chargers, and a crash
    # then finds few calls in flight to send again.
    settings = replace(
        EdrvSettings.from_environment(key_file), max_concurrent=concurrency, rate_per_s=rate, burst=1
    )
    if key_file is not None and (exposed := key_file_exposure(key_file)) is not None:
        warn(exposed)
    # Every refusal comes before the plan is shown: a plan that cannot be applied is not worth reading.
    if not auto_approve and not sys.stdin.isatty():
        raise ReconcilerError(
            "no terminal to confirm on; review the plan (`reconciler plan`) and rerun with --auto-approve"
        )
    source = str(plan_file) if plan_file else "the plan"
    with locked(desired_dir, names, state_dir, lock_timeout), open_inbox(inbox) as reader:
        confirmations = ingesting.policy(reader, unconfirmed_after, retry_rejected_after)

        def fold() -> None:
            if reader is not None:
                done = ingesting.ingest(reader, desired_dir, names, state_dir, now=moment, locks_held=True)
                click.echo(ingest_text(done, ingesting.clocks(desired_dir, done)))

        if saved is None:
            fold()
        else:
            check_saved_plan(saved, desired_dir, state_dir, source)
        plans = saved or plan_sites(
            desired_dir, names, moment, state_dir, force, confirmations=confirmations, station=station
        )
        click.echo(render_text(plans, colour=colour(no_color), verbose=verbose), nl=False)
        if not any(p.has_changes or p.has_session_caps for p in plans):
            if saved is not None:
                fold()
            click.echo("Nothing to apply.")
            return EXIT_OK
        if not auto_approve and not click.confirm("Send these calls to eDRV?"):
            click.echo("Apply cancelled: nothing was sent.", err=True)
            return EXIT_ERROR
        results = _send(
            plans,
            settings=settings,
            desired_dir=desired_dir,
            state_dir=state_dir,
            moment=moment,
            source=source,
        )
        if saved is not None:
            fold()
    click.echo(apply_summary(results), nl=False)
    return EXIT_OK if all(r.complete for r in results) else EXIT_ERROR


def _send(
    plans: Sequence[SitePlan],
    *,
    settings: EdrvSettings,
    desired_dir: Path,
    state_dir: Path | None,
    moment: datetime,
    source: str,
) -> list[SiteResult]:
    """Apply with a progress bar on a terminal, else a line per call as its answer is recorded."""
    calls = sum(len(p.changes) for p in plans)
    # A session cap is sent only for a running session, which apply looks up: the count is then unknown.
    total = None if any(p.has_session_caps for p in plans) else calls

    def run(progress: Progress) -> list[SiteResult]:
        return apply_with_client(
            plans,
            settings,
            desired_dir=desired_dir,
            state_dir=state_dir,
            now=moment,
            source=source,
            progress=progress,
        )

    if not sys.stdout.isatty():
        counted = itertools.count(1)
        return run(lambda sent: click.echo(sent_line(sent, next(counted), total)))
    caps = sum(waiting_caps(p) for p in plans)
    with click.progressbar(length=calls + caps, label="Applying", file=sys.stdout) as bar:
        results = run(lambda _sent: bar.update(1))
        bar.update(calls + caps - bar.pos)  # the caps left without a session are done too: nothing to send
    return results
