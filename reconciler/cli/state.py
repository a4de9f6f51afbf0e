"""`reconciler state`: recorded state for people and tools, `list` (every site) and `show` (one site).

Registered by `cli.main`; each command reads the state files through `state.store` and renders with
`render.state`. Neither writes anything.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.options import (
    EXIT_OK,
    clock,
    complete_sites,
    desired_option,
    echo_json,
    format_option,
    now_option,
    sites_argument,
    state_dir_option,
)
from reconciler.render import state as state_view
from reconciler.shell.network import declared_clock, known_sites
from reconciler.shell.reconcile import site_facts
from reconciler.state import store


@click.group("state")
def state_group() -> None:
    """Inspect recorded state: what was sent to each station and what came of it."""


@state_group.command("list")
@sites_argument
@desired_option
@state_dir_option
@format_option("text", "json", help="json: per site its serial, lineage and counts, times UTC.")
def state_list(sites: tuple[str, ...], desired_dir: Path, state_dir: Path | None, fmt: str) -> int:
    """List the sites (all, or those named) with their recorded serial and live profiles by status."""
    listed = [
        state_view.Listed(
            site,
            store.load(store.state_path(desired_dir, site, state_dir), site),
            declared_clock(desired_dir, site),
        )
        for site in known_sites(desired_dir, state_dir, sites)
    ]
    click.echo((state_view.list_json if fmt == "json" else state_view.list_text)(listed), nl=False)
    return EXIT_OK


@state_group.command("show")
@click.argument("site", shell_complete=complete_sites)
@desired_option
@state_dir_option
@format_option("text", "json", help="json: the records as the state file holds them, times UTC.")
@now_option
def state_show(site: str, desired_dir: Path, state_dir: Path | None, fmt: str, now: str | None) -> int:
    """Print a site's recorded state, for people in the site's local time (or as JSON)."""
    known_sites(desired_dir, state_dir, [site])
    path = store.state_path(desired_dir, site, state_dir)
    recorded = store.load(path, site)
    moment = clock(now)
    facts = site_facts(desired_dir, site, moment)
    if facts.note is not None:
        click.echo(f"note: {facts.note}", err=True)
    if fmt == "json":
        echo_json(state_view.json_pieces(site, recorded, facts.clock, facts.descriptions))
    elif recorded is None:
        click.echo(f"{path}: nothing recorded for site {site} yet", err=True)
    else:
        click.echo(state_view.render_text(recorded, facts.clock, facts.descriptions, moment), nl=False)
    return EXIT_OK
