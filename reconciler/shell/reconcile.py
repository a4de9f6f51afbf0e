"""The imperative shell: read desired and recorded state from disk, plan, and apply.

Sites are the union of `desired/*.yaml` and the recorded-state files, so a site whose file was deleted
is still planned: all of its profiles are cleared (behind the safety rail). Applying holds each site's
lock from before its state is read until the last outcome is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from reconciler.desired import bounds
from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.glance import declared
from reconciler.desired.loader import (
    SITE_ID,
    YAML_SUFFIXES,
    each_site,
    load,
    load_site,
    paused_collector,
    zone,
)
from reconciler.desired.validate import DesiredSite
from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.errors import DesiredStateError, Problem, ReconcilerError
from reconciler.plan import saved as savedplan
from reconciler.plan.confirm import Confirmations
from reconciler.plan.safety import check_safety
from reconciler.plan.saved import PlanFileError, check_fresh
from reconciler.plan.site import SitePlan, build, descriptions
from reconciler.shell.apply import Api, Progress, SiteResult, apply_site
from reconciler.state import store as state
from reconciler.state.files import lock
from reconciler.state.recorded import RecordedState


def site_ids(desired_dir: Path, state_dir: Path | None = None) -> list[str]:
    """Every site with a desired file or a recorded state, sorted."""
    found = {
        p.stem for p in desired_dir.glob("*") if p.suffix in YAML_SUFFIXES and not p.name.startswith(".")
    }
    recorded_dir = state.state_path(desired_dir, "x", state_dir).parent
    if recorded_dir.is_dir():
        found |= {p.stem for p in recorded_dir.glob("*.json")}
    return sorted(found)


def known_sites(desired_dir: Path, state_dir: Path | None, named: Sequence[str]) -> list[str]:
    """The named sites, or every site when none is named; ReconcilerError naming any that does not exist.

    A site exists while it has a desired file or a recorded state. A typo must not read as a site
    with nothing to do (nor leave a lock file behind). Named sites are looked up one by one, as
    files, so that asking for one site of thousands costs no listing.
    """
    if not named:
        return site_ids(desired_dir, state_dir)
    unknown = sorted(
        {
            site
            for site in named
            if not SITE_ID.fullmatch(site)
            or (
                _site_file(desired_dir, site) is None
                and not state.state_path(desired_dir, site, state_dir).is_file()
            )
        }
    )
    if unknown:
        where = f"{desired_dir}" + (f" and {state_dir}" if state_dir is not None else "")
        raise ReconcilerError(
            f"no such site: {', '.join(unknown)} (sites are the site files and recorded state "
            f"in {where}; `reconciler sites` lists them)"
        )
    return list(named)


def station_sites(
    desired_dir: Path, state_dir: Path | None, named: Sequence[str], station: str | None
) -> list[str]:
    """The sites (of the named ones, or of all) that hold `station` in their site file or their recorded
    state (every one of them when no station is asked for); ReconcilerError naming the station when none
    does, so a typo never reads as a station with nothing to do.

    Only the files' station ids are read. A site whose files cannot be read counts as holding the
    station, so that the command goes on to report what is wrong with them.
    """
    sites = known_sites(desired_dir, state_dir, named)
    if station is None:
        return sites
    found = [
        site
        for site in sites
        if (stations := site_stations(desired_dir, state_dir, site)) is None or station in stations
    ]
    if not found:
        where = f"site(s) {', '.join(named)}" if named else f"any site of {desired_dir}"
        raise ReconcilerError(
            f"no such station: {station} in {where} (stations are those of the site files and of "
            "recorded state; `reconciler state show SITE` lists a site's recorded ones)"
        )
    return found


def site_stations(desired_dir: Path, state_dir: Path | None, site: str) -> set[str] | None:
    """The station ids a site's file and its recorded state name; None when either cannot be read."""
    found: set[str] = set()
    path = _site_file(desired_dir, site)
    if path is not None:
        glance = declared(path)
        if glance is None:
            return None
        found |= glance.stations
    recorded = state.state_path(desired_dir, site, state_dir)
    if recorded.is_file():
        try:
            text = bounds.read_text(recorded, bounds.state_file_limit(), bounds.STATE_FILE_SETTING)
            stations = json.loads(text)["stations"]
            found |= {str(s) for s in stations}
        except (bounds.TooLargeError, OSError, ValueError, LookupError, TypeError, RecursionError):
            return None  # RecursionError: JSON nested past Python's stack
    return found


def site_files(desired_dir: Path, sites: Sequence[str]) -> list[Path]:
    """The desired files of the named sites (every one in `desired_dir` when none is named)."""
    if not sites:
        return [desired_dir]
    missing = [site for site in sites if _site_file(desired_dir, site) is None]
    if missing:
        raise ReconcilerError(
            f"no site file for {', '.join(missing)} in {desired_dir}; `reconciler sites` lists the sites"
        )
    return [path for site in sites if (path := _site_file(desired_dir, site)) is not None]


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
    files = {site: path for site in chosen if (path := _site_file(desired_dir, site)) is not None}
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
    files = [path for site in sites if (path := _site_file(desired_dir, site)) is not None]
    loaded = load(files, now)
    if loaded.has_errors:
        raise DesiredStateError(loaded.problems)
    return {site.site_id: site for site in loaded.sites}


def site_facts(desired_dir: Path, site: str, now: datetime) -> SiteFacts:
    """The site's clock and descriptions from its desired file; UTC and none, with a note, without one."""
    path = _site_file(desired_dir, site)
    if path is None:
        return SiteFacts(UTC_CLOCK, {}, f"no desired file for site {site} in {desired_dir}: times are UTC")
    desired, _ = load_site(path, now)
    if desired is None:
        return SiteFacts(UTC_CLOCK, {}, f"{path} has errors (see `reconciler validate`): times are UTC")
    return SiteFacts(desired.clock, descriptions(desired))


def declared_clock(desired_dir: Path, site: str) -> SiteClock:
    """The site's clock as its file names it, without checking the file: UTC when there is no file,
    it names no zone, or an unknown one (for listings of many sites, where checking each would cost)."""
    path = _site_file(desired_dir, site)
    glance = declared(path) if path is not None else None
    name = glance.timezone if glance is not None else None
    tz = zone(name) if name else None
    return SiteClock(name, tz) if name and tz is not None else UTC_CLOCK


def _site_file(desired_dir: Path, site: str) -> Path | None:
    for suffix in YAML_SUFFIXES:
        path = desired_dir / f"{site}{suffix}"
        if path.exists():
            return path
    return None


@contextlib.contextmanager
def locked(
    desired_dir: Path, sites: Sequence[str], state_dir: Path | None, timeout_s: float
) -> Iterator[None]:
    """Hold the apply lock of every named site, taken in sorted order so two applies cannot deadlock."""
    with contextlib.ExitStack() as stack:
        for site in sorted(set(sites)):
            stack.enter_context(lock(state.state_path(desired_dir, site, state_dir), timeout_s))
        yield


async def apply_plans(
    plans: Sequence[SitePlan],
    api: Api,
    *,
    desired_dir: Path,
    state_dir: Path | None,
    now: datetime,
    source: str,
    progress: Progress | None = None,
) -> list[SiteResult]:
    """Apply each site's plan concurrently; the caller holds the sites' locks (see `locked`).

    Each plan is first checked against the site's recorded state as it is now (`source` names the
    saved plan in the refusal), so a plan computed before another apply ran is never sent.
    """
    loaded = []
    for plan in plans:
        path = state.state_path(desired_dir, plan.site_id, state_dir)
        recorded = state.load(path, plan.site_id)
        check_fresh(plan, recorded, source)
        loaded.append((path, recorded))
    return list(
        await asyncio.gather(
            *(
                apply_site(plan, api, path=path, loaded=recorded, now=now, progress=progress)
                for plan, (path, recorded) in zip(plans, loaded, strict=True)
            )
        )
    )


def apply_with_client(
    plans: Sequence[SitePlan],
    settings: EdrvSettings,
    *,
    desired_dir: Path,
    state_dir: Path | None,
    now: datetime,
    source: str,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[SiteResult]:
    """Apply `plans` through one eDRV client made from `settings` (the caller holds the locks)."""

    async def run() -> list[SiteResult]:
        async with EdrvClient(settings, transport=transport) as client:
            return await apply_plans(
                plans,
                client,
                desired_dir=desired_dir,
                state_dir=state_dir,
                now=now,
                source=source,
                progress=progress,
            )

    return asyncio.run(run())
