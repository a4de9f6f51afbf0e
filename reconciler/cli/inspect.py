"""Commands that look at desired state without touching eDRV: payloads, schedule, sites, schema.

Registered on the `reconciler` group by `cli.main`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

from reconciler.cli.options import (
    EXIT_OK,
    HOURS_A_YEAR,
    TIMESTAMP,
    Duration,
    Finite,
    clock,
    complete_sites,
    complete_stations,
    desired_option,
    echo_json,
    format_option,
    hours_bounded,
    inbox_option,
    load_sites,
    now_option,
    sites_argument,
    state_dir_option,
)
from reconciler.desired.schema import site_schema
from reconciler.plan import siteschedule
from reconciler.plan.catalog import desired_requests
from reconciler.plan.confirm import Confirmations
from reconciler.render import schedule as schedule_view
from reconciler.render.jsontext import indented
from reconciler.shell import sites as sitelist


@click.command()
def schema() -> int:
    """Print the JSON Schema of a site file, for editors (yaml-language-server) and other tools."""
    click.echo(indented(site_schema()))
    return EXIT_OK


@click.command()
@sites_argument
@desired_option
@format_option("text", "json")
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
    moment = clock(now)
    requests = desired_requests(load_sites(desired_dir, sites, moment).sites, moment, session_start)
    if fmt == "json":
        click.echo(indented({"format_version": 1, "requests": requests}))
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


@click.command()
@click.argument("site", shell_complete=complete_sites)
@click.argument("station", required=False, shell_complete=complete_stations)
@desired_option
@click.option(
    "--connector", type=click.IntRange(min=0), default=0, show_default=True, help="0 is the station total."
)
@click.option("--from", "start", type=TIMESTAMP, default=None, help="Window start.  [default: --now]")
@click.option(
    "--hours",
    type=Finite(min=0, min_open=True, max=HOURS_A_YEAR),
    default=24.0,
    show_default=True,
    help="Window length (at most a year, and at most 50,000 periods of the profiles laid out).",
)
@click.option("--unit", type=click.Choice(["W", "A"]), default="W", show_default=True)
@format_option("text", "json")
@now_option
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
    now: str | None,
) -> int:
    """Show the limit over time that desired state gives each station (OCPP 1.6 composite schedule).

    Desired state is read as of --now (what has expired, which UTC-offset period a local-time schedule
    is compiled for); the window starts at --from, by default then.
    """
    today = clock(now).replace(microsecond=0)
    moment = clock(start) if start else today
    desired = load_sites(desired_dir, [site], today).sites[0]
    duration_s = max(1, round(hours * 3600))
    try:
        with hours_bounded():
            found = siteschedule.site_schedules(
                desired, [station] if station else [], connector, moment, duration_s=duration_s, unit=unit
            )
    except LookupError as err:
        raise click.BadParameter(str(err), param_hint="STATION or --connector") from None
    if fmt == "json":
        echo_json(schedule_view.render_json(found))
    else:
        click.echo(schedule_view.render_text(found), nl=False)
    return EXIT_OK


@click.command("sites")
@click.argument("names", nargs=-1, metavar="[SITES]...", shell_complete=complete_sites)
@desired_option
@state_dir_option
@format_option("text", "json", help="json: one line with the sites and the CI jobs to apply them in.")
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
    help="Jobs to split the sites into; past this, each job takes a batch of several sites.",
)
@click.option(
    "--needs-work",
    is_flag=True,
    help="Only sites whose apply would do something: calls to send, records to retire, session caps "
    "to check, answers to fold (with --inbox), or a plan that fails (decided offline, from desired and "
    "recorded state).",
)
@click.option(
    "--drift-due-after",
    type=Duration(),
    default=None,
    metavar="DURATION",
    help="With --needs-work: a site with a station not drift-checked within this long (6h, say) needs work.",
)
@inbox_option
@now_option
def sites_command(
    *,
    names: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    fmt: str,
    changed_since: str | None,
    max_jobs: int,
    needs_work: bool,
    inbox: str | None,
    drift_due_after: timedelta | None,
    now: str | None,
) -> int:
    """List the sites (desired files and recorded state): all, changed since a git ref, or needing work.

    With --needs-work, --inbox says that apply reads one (it is not read here): calls awaiting the
    charger's answer are then work, since apply folds them and sends once more what is overdue.
    """
    moment = clock(now) if needs_work else None
    found = sitelist.listing(
        desired_dir,
        state_dir,
        names,
        changed_since=changed_since,
        max_jobs=max_jobs,
        needs_work_at=moment,
        confirmations=Confirmations(inbox=inbox) if inbox else None,
        drift_due_after=drift_due_after,
    )
    click.echo((sitelist.render_json if fmt == "json" else sitelist.render_text)(found), nl=False)
    return EXIT_OK
