"""Which sites there are, which changed since a git ref, and how to split them into CI jobs.

`reconciler sites` calls `listing`, and the apply workflow turns its JSON into a job matrix. The sites are
the union of the desired files and the recorded-state files (as `reconcile.site_ids`), so a site whose
desired file was deleted is still listed while its state remains. The only git call is `changed_paths`;
mapping paths to sites and cutting the list into jobs are pure functions.

Jobs: a network of at most `max_jobs` sites gets one job per site, in its own concurrency group. A larger
network is cut into `max_jobs` shards by a hash of the site id, so a site stays in the same shard (and
concurrency group) from run to run whichever other sites are listed; a GitHub matrix holds 256 jobs.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from reconciler.desired.loader import SITE_ID, YAML_SUFFIXES
from reconciler.errors import ReconcilerError
from reconciler.shell.reconcile import site_ids
from reconciler.state import store as state

MATRIX_LIMIT = 256  # jobs in one GitHub Actions matrix
_GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Job:
    """One matrix entry: the sites one CI job applies, and the concurrency group it must hold."""

    name: str
    group: str
    sites: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    sites: tuple[str, ...]
    jobs: tuple[Job, ...]


def listing(
    desired_dir: Path,
    state_dir: Path | None,
    named: Sequence[str] = (),
    changed_since: str | None = None,
    max_jobs: int = MATRIX_LIMIT,
) -> Listing:
    """The sites of the network (only `named` ones, when given; only changed ones, with a ref), as jobs."""
    network = site_ids(desired_dir, state_dir)
    unusable = [site for site in network if not SITE_ID.fullmatch(site)]
    if unusable:
        raise ReconcilerError(
            f"{', '.join(map(repr, unusable))} is not a usable site id; name desired and state files "
            "with letters, digits, '.', '_' or '-'"
        )
    unknown = sorted(set(named) - set(network))
    if unknown:
        raise ReconcilerError(
            f"no such site: {', '.join(unknown)} (sites are the files in {desired_dir} and their state)"
        )
    chosen = set(named) if named else set(network)
    if changed_since is not None:
        recorded_dir = state.state_path(desired_dir, "x", state_dir).parent
        paths = changed_paths(changed_since, [desired_dir, recorded_dir])
        chosen &= sites_touched(paths, desired_dir.resolve(), recorded_dir.resolve())
    listed = tuple(sorted(chosen))
    return Listing(listed, tuple(split_into_jobs(listed, len(network), max_jobs)))


def sites_touched(paths: Iterable[PurePath], desired_dir: PurePath, state_dir: PurePath) -> set[str]:
    """The site ids whose desired file (`<desired>/<site>.yaml`) or state (`<state>/<site>.json`) is a path.

    All paths are absolute (or all relative to one place); files in subdirectories belong to no site.
    """
    found = set()
    for path in paths:
        desired_file = path.parent == desired_dir and path.suffix in YAML_SUFFIXES
        state_file = path.parent == state_dir and path.suffix == ".json"
        if (desired_file or state_file) and not path.name.startswith("."):
            found.add(path.stem)
    return found


def split_into_jobs(sites: Sequence[str], network_size: int, max_jobs: int) -> list[Job]:
    """One job per site while the network fits in `max_jobs`; else stable hash shards (see the module)."""
    if max_jobs < 1:
        raise ValueError("max_jobs must be at least 1")
    if network_size <= max_jobs:
        return [Job(site, f"site-{site}", (site,)) for site in sorted(sites)]
    shards: dict[int, list[str]] = {}
    for site in sorted(sites):
        shards.setdefault(shard_of(site, max_jobs), []).append(site)
    width = len(str(max_jobs))
    return [
        Job(
            f"shard-{index:0{width}d}-of-{max_jobs}", f"shard-{index:0{width}d}-of-{max_jobs}", tuple(members)
        )
        for index, members in sorted(shards.items())
    ]


def shard_of(site: str, shards: int) -> int:
    """The shard (0-based) a site belongs to: the same on every machine and every run."""
    digest = hashlib.sha256(site.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def render_json(found: Listing) -> str:
    """One line of JSON (format_version 1), easy to hand to a workflow output."""
    document = {
        "format_version": 1,
        "sites": list(found.sites),
        "jobs": [{"name": job.name, "group": job.group, "sites": list(job.sites)} for job in found.jobs],
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def render_text(found: Listing) -> str:
    """One site id per line."""
    return "".join(f"{site}\n" for site in found.sites)


def changed_paths(ref: str, directories: Sequence[Path]) -> list[Path]:
    """Absolute paths under `directories` that differ from git `ref`: changed, added, deleted or untracked.

    Compares with the work tree, so uncommitted edits count; renames count as a deletion and an addition.
    """
    existing = [d for d in directories if d.is_dir()]
    if not existing:
        return []
    top = Path(_git(["rev-parse", "--show-toplevel"], existing[0]).strip())
    specs = [str(d.resolve()) for d in existing]
    diff = _git(["diff", "--name-only", "--no-renames", "-z", ref, "--", *specs], top)
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard", "--", *specs], top)
    return [top / name for name in (diff + untracked).split("\0") if name]


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments are not interpreted by a shell
            ["git", *args],  # noqa: S607 - git is looked up on PATH, as a user would run it
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise ReconcilerError("--changed-since needs git on PATH") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise ReconcilerError(f"git {args[0]} failed in {cwd}: {first}")
    return done.stdout
