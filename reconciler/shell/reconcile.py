"""The imperative shell: read desired and recorded state from disk, plan, and apply.

Sites are the union of `desired/*.yaml` and the recorded-state files, so a site whose file was deleted
is still planned: all of its profiles are cleared (behind the safety rail). Applying holds each site's
lock from before its state is read until the last outcome is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.desired import bounds
from reconciler.desired.bounds import paused_collector
from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.loader import (
    each_site,
    load,
    load_site,
    zone,
)
from reconciler.desired.validate import DesiredSite
from reconciler.errors import DesiredStateError, Problem, ReconcilerError
from reconciler.plan import saved as savedplan
from reconciler.plan.confirm import Confirmations
from reconciler.plan.safety import check_safety
from reconciler.plan.saved import PlanFileError, check_fresh
from reconciler.plan.site import SitePlan, build, descriptions
from reconciler.shell.network import known_sites, site_file
from reconciler.state import store as state
from reconciler.state.files import lock
from reconciler.state.recorded import RecordedState


def read_saved_plan(path: Path) -> list[SitePlan]:
    """The site plans saved in `path` by `plan --out`, read within the state-file size bound."""
    try:
        text = bounds.read_text(path, bounds.state_file_limit(), bounds.STATE_FILE_SETTING)
    except bounds.TooLargeError as err:
        raise PlanFileError(f"{path}: {err}; {err.fix}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PlanFileError(f"{path}: cannot read the saved plan ({err})") from None
    return savedplan.parse(text, str(path), zone)


def check_saved_plan(
    plans: Sequence[SitePlan], desired_dir: Path, state_dir: Path | None, source: str
) -> None:
    """Refuse saved plans whose site's recorded state changed since they were made (PlanFileError
    naming the site and both serials), before anything is shown or sent; the caller holds the locks."""
    for plan in plans:
        path = state.state_path(desired_dir, plan.site_id, state_dir)
        check_fresh(plan, state.load(path, plan.site_id), source)


def plan_sites(
    desired_dir: Path,
    sites: Sequence[str],
    now: datetime,
    state_dir: Path | None = None,
    force: bool = False,
    *,
    confirmations: Confirmations | None = None,
    recorded: Callable[[str], RecordedState | None] | None = None,
    station: str | None = None,
) -> list[SitePlan]:
    """Plan the named sites (all when empty); refuse unknown sites, bad desired state and unsafe plans.

    `recorded` reads a site's recorded state when its turn comes (and folds answers in, as `plan
    --inbox` does in memory); by default it is read from its file. With `station`, only that
    station's calls are planned (the caller names the sites holding it, see `station_sites`), and the
    safety rails judge them against the whole site's recorded profiles.
    """
    chosen = known_sites(desired_dir, state_dir, sites)
    # As in `loader.load`; planning and reading state make no cycles either.
    with paused_collector():
        return _plan_sites(
            desired_dir,
            chosen,
            now,
            state_dir,
            force,
            confirmations=confirmations,
            read=recorded,
            station=station,
        )


def _plan_sites(
    desired_dir: Path,
    chosen: Sequence[str],
    now: datetime,
    state_dir: Path | None,
    force: bool,
    *,
    confirmations: Confirmations | None,
    read: Callable[[str], RecordedState | None] | None,
    station: str | None,
) -> list[SitePlan]:
    """Site by site: its desired file checked, its state read, its plan made, then both let go, so that
    memory is bounded by the largest site. Every file is still checked before anything is refused:
    problems in desired state come first, then the first plan that could not be made or is unsafe."""
    chosen = list(dict.fromkeys(chosen))  # a site named twice is planned once

    def from_file(site: str) -> RecordedState | None:
        return state.load(state.state_path(desired_dir, site, state_dir), site)

    read = read or from_file
    files = {site: path for site in chosen if (path := site_file(desired_dir, site)) is not None}
    checked = each_site(list(files.values()), now)
    problems: list[Problem] = []
    failed = False  # a desired file has errors: nothing more is planned, every file still checked
    refused: ReconcilerError | None = None
    plans = []
    for site_id in chosen:
        desired = None
        if site_id in files:
            _, desired, found = next(checked)
            problems.extend(found)
            failed = failed or any(p.is_error for p in found)
        if failed or refused is not None:
            continue
        try:
            plan = build(
                site_id,
                desired,
                read(site_id),
                now,
                confirmations,
                station=station,
                refuse=lambda unrated: check_safety(unrated, force),
            )
        except ReconcilerError as err:
            refused = err
            continue
        plans.append(plan)
    if failed:
        raise DesiredStateError(problems)
    if refused is not None:
        raise refused
    return plans


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What outputs about a site take from its desired file: its clock and its stations' descriptions."""

    clock: SiteClock
    descriptions: Mapping[str, str]
    note: str | None = None  # why they could not be read, when they could not


def load_desired(desired_dir: Path, sites: Sequence[str], now: datetime) -> dict[str, DesiredSite]:
    """The checked desired state of the named sites that have a file, by site; DesiredStateError when any
    file has an error (every problem of every file at once)."""
    files = [path for site in sites if (path := site_file(desired_dir, site)) is not None]
    loaded = load(files, now)
    if loaded.has_errors:
        raise DesiredStateError(loaded.problems)
    return {site.site_id: site for site in loaded.sites}


def site_facts(desired_dir: Path, site: str, now: datetime) -> SiteFacts:
    """The site's clock and descriptions from its desired file; UTC and none, with a note, without one."""
    path = site_file(desired_dir, site)
    if path is None:
        return SiteFacts(UTC_CLOCK, {}, f"no desired file for site {site} in {desired_dir}: times are UTC")
    desired, _ = load_site(path, now)
    if desired is None:
        return SiteFacts(UTC_CLOCK, {}, f"{path} has errors (see `reconciler validate`): times are UTC")
    return SiteFacts(desired.clock, descriptions(desired))


@contextlib.contextmanager
def locked(
    desired_dir: Path, sites: Sequence[str], state_dir: Path | None, timeout_s: float
) -> Iterator[None]:
    """Hold the apply lock of every named site, taken in sorted order so two applies cannot deadlock."""
    with contextlib.ExitStack() as stack:
        for site in sorted(set(sites)):
            stack.enter_context(lock(state.state_path(desired_dir, site, state_dir), timeout_s))
        yield
