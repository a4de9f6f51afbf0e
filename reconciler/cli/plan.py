"""`reconciler plan`: the calls that would make the chargers match desired state, rendered for a person, a
pull request or a program; optionally saved for `apply --plan` and drawn as SVG charts. Sends nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import click

from reconciler.cli.options import (
    EXIT_CHANGES,
    EXIT_OK,
    clock,
    colour,
    confirmation_options,
    desired_option,
    echo_json,
    force_option,
    format_option,
    inbox_option,
    no_color_option,
    now_option,
    sites_argument,
    state_dir_option,
    station_option,
    verbose_option,
)
from reconciler.desired import bounds
from reconciler.ocpp.profile import format_timestamp
from reconciler.plan.site import SitePlan
from reconciler.render.text import json_output, plan_document, render_text, saved_json
from reconciler.shell import ingest as ingesting
from reconciler.shell.ingest import open_inbox
from reconciler.shell.network import station_sites
from reconciler.shell.reconcile import plan_sites


@click.command()
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
    # Rendered with the collector paused, as the plan was made: the power view works out composites and
    # the JSON plan writes every period, hundreds of thousands of objects the collector would walk again
    # and again (a twentieth of the JSON plan of 30 connectors' minute tariffs) and find no cycle among.
    with bounds.paused_collector():
        _render(
            plans,
            fmt,
            format_timestamp(moment),
            out=out,
            chart_dir=chart_dir,
            coloured=colour(no_color),
            verbose=verbose,
        )
    pending = any(p.has_changes for p in plans)
    return EXIT_CHANGES if detailed_exitcode and pending else EXIT_OK


def _render(
    plans: Sequence[SitePlan],
    fmt: str,
    generated_at: str,
    *,
    out: Path | None,
    chart_dir: Path | None,
    coloured: bool,
    verbose: bool,
) -> None:
    """Save the plan where `--out` says, draw its charts, and print it in `fmt`."""
    # Made once when it is both saved and printed (the charts and the other formats read the plans).
    document = plan_document(plans, generated_at) if out is not None or fmt == "json" else {}
    if out is not None:
        _save(out, saved_json(document))
    charts = _write_charts(plans, chart_dir) if chart_dir is not None else {}
    if fmt == "json":
        echo_json(json_output(document))
    elif fmt == "markdown":
        # Only a pull-request comment needs its renderer; every other plan starts without it.
        from reconciler.render.markdown import render_markdown  # noqa: PLC0415 - see the line above

        click.echo(render_markdown(plans, generated_at, charts=charts), nl=False)
    else:
        click.echo(render_text(plans, colour=coloured, verbose=verbose), nl=False)


def _save(out: Path, data: bytes) -> None:
    """Write the saved plan and its closing line break, and warn when it is larger than `apply --plan`
    reads by default."""
    with out.open("wb") as file:
        file.write(data)
        file.write(b"\n")
    size, limit = len(data) + 1, bounds.state_file_limit()
    if size > limit:
        click.echo(
            f"warning: the saved plan {out} is {size / bounds.MB:,.1f} MB, more than the "
            f"{limit / bounds.MB:,.1f} MB `apply --plan` reads: set {bounds.STATE_FILE_SETTING}=<megabytes> "
            "to at least its size where it is applied",
            err=True,
        )


def _write_charts(plans: Sequence[SitePlan], chart_dir: Path) -> dict[str, list[str]]:
    """Write each site's SVG charts under `chart_dir`; the file names by site."""
    from reconciler.render.svg import plan_charts  # noqa: PLC0415 - charts are asked for, rarely

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
