"""The network as it lies on disk: which sites there are, their desired files, the stations they name and
the time zone they declare, read without checking a site.

A site exists while it has a desired file (`desired/<site>.yaml`) or a recorded state, so a site whose
file was deleted is still listed. Light on purpose: the commands that only look (`validate`, completion
of site and station ids) import this and not the planning shell (`reconcile`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reconciler.desired import bounds
from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.glance import declared
from reconciler.desired.loader import SITE_ID, YAML_SUFFIXES, zone
from reconciler.errors import ReconcilerError
from reconciler.state import store as state


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
                site_file(desired_dir, site) is None
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
    path = site_file(desired_dir, site)
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
    missing = [site for site in sites if site_file(desired_dir, site) is None]
    if missing:
        raise ReconcilerError(
            f"no site file for {', '.join(missing)} in {desired_dir}; `reconciler sites` lists the sites"
        )
    return [path for site in sites if (path := site_file(desired_dir, site)) is not None]


def declared_clock(desired_dir: Path, site: str) -> SiteClock:
    """The site's clock as its file names it, without checking the file: UTC when there is no file,
    it names no zone, or an unknown one (for listings of many sites, where checking each would cost)."""
    path = site_file(desired_dir, site)
    glance = declared(path) if path is not None else None
    name = glance.timezone if glance is not None else None
    tz = zone(name) if name else None
    return SiteClock(name, tz) if name and tz is not None else UTC_CLOCK


def site_file(desired_dir: Path, site: str) -> Path | None:
    """The site's desired file, whichever YAML suffix it has; None when it has none."""
    for suffix in YAML_SUFFIXES:
        path = desired_dir / f"{site}{suffix}"
        if path.exists():
            return path
    return None
