"""`reconciler drift`: compare what each charger enforces with what was recorded, report it, and heal it.

Registered by `reconciler.cli.main`; parses its flags, makes one call (`shell.drift.drift_sites`), renders
and exits: 0 when every station checked is in sync (or, without `--detailed-exitcode`, whatever it found),
2 with `--detailed-exitcode` when a station allows more or less than recorded, and 1 when a station could
not be checked (a lookup that failed is a failure).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import click

from reconciler.cli.options import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    HOURS_A_YEAR,
    Duration,
    Finite,
    clock,
    desired_option,
    echo_json,
    format_option,
    hours_bounded,
    inbox_option,
    lock_timeout_option,
    now_option,
    sites_argument,
    state_dir_option,
    station_option,
)
from reconciler.edrv.client import EdrvSettings
from reconciler.ocpp.drift import Tolerance, Verdict
from reconciler.plan.drift import DEFAULT_MAX_HEALS_PER_DAY
from reconciler.render import drift as drift_view
from reconciler.shell.drift import DriftSettings, drift_sites
from reconciler.shell.ingest import open_inbox
from reconciler.shell.network import station_sites


@click.command()
@sites_argument
@desired_option
@state_dir_option
@station_option("Check")
@click.option(
    "--hours", type=Finite(min=0, min_open=True, max=HOURS_A_YEAR), default=24.0, show_default=True,
    help="How far ahead to compare the composite schedules (at most a year, and at most 50,000 periods of "
    "the recorded profiles laid out).",
)  # fmt: skip
@format_option("text", "json", "markdown")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when a station allows more or less than recorded."
)
@click.option(
    "--heal", is_flag=True,
    help="Mark the recorded profiles of connectors that allow more than recorded, so that the next apply "
    "sends them again by id.",
)  # fmt: skip
@click.option(
    "--max-heals-per-day", type=click.IntRange(min=1), default=DEFAULT_MAX_HEALS_PER_DAY, show_default=True,
    help="Past this many heals within a day a station is reported as flapping and left alone.",
)  # fmt: skip
@inbox_option
@click.option(
    "--timeout", "timeout_s", type=Finite(min=0, max=HOURS_A_YEAR * 3600), default=60.0, show_default=True,
    help="Wait this long (s) for the chargers' answers to arrive in the inbox.",
)  # fmt: skip
@click.option(
    "--tolerance", "tolerance_percent", type=Finite(min=0, max=100), default=2.0, show_default=True,
    help="Limits this many percent apart still agree (rounding, A to W at a charger's own voltage).",
)  # fmt: skip
@click.option(
    "--align", "align_s", type=click.IntRange(min=0), default=10, show_default=True,
    help="A difference lasting at most this many seconds is clocks apart, not drift.",
)  # fmt: skip
@click.option(
    "--due-after", type=Duration(), default=None, metavar="DURATION",
    help="Check only stations whose last check is older than this (such as 6h), or that were never checked.",
)  # fmt: skip
@lock_timeout_option("another apply")
@click.option(
    "--key-file", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Read the API key here."
)
@now_option
def drift(
    *,
    sites: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    station: str | None,
    hours: float,
    fmt: str,
    detailed_exitcode: bool,
    heal: bool,
    max_heals_per_day: int,
    inbox: str | None,
    timeout_s: float,
    tolerance_percent: float,
    align_s: int,
    due_after: timedelta | None,
    lock_timeout: float,
    key_file: Path | None,
    now: str | None,
) -> int:
    """Ask each charger with recorded profiles for its composite schedule and compare it with what its
    records should give: in sync, allows more than recorded (profiles missing), allows less (a limit
    nobody here sent), or unreachable. With --heal, the next apply sends the missing profiles again."""
    tolerance = Tolerance(Decimal(str(tolerance_percent)) / 100, align_s)
    settings = DriftSettings(
        hours, timeout_s, tolerance, heal, max_heals_per_day, station, lock_timeout, due_after
    )
    names = station_sites(desired_dir, state_dir, sites, station)
    client_settings = EdrvSettings.from_environment(key_file)
    with open_inbox(inbox) as reader, hours_bounded():
        found = drift_sites(
            desired_dir, names, clock(now), client_settings, reader, state_dir=state_dir, settings=settings
        )
    if fmt == "json":
        echo_json(drift_view.render_json(found))
    else:
        render = drift_view.render_markdown if fmt == "markdown" else drift_view.render_text
        click.echo(render(found), nl=False)
    verdicts = {s.verdict for site in found for s in site.stations}
    if Verdict.UNREACHABLE in verdicts:
        return EXIT_ERROR
    if detailed_exitcode and verdicts & {Verdict.ALLOWS_MORE, Verdict.ALLOWS_LESS}:
        return EXIT_CHANGES
    return EXIT_OK
