"""Which sites there are, which changed since a git ref or need work, and how to split them into CI jobs.

`reconciler sites` calls `listing`, and the apply workflow turns its JSON into a job matrix. The sites are
the union of the desired files and the recorded-state files (as `network.site_ids`), so a site whose
desired file was deleted is still listed while its state remains. The only git call is `changed_paths`;
mapping paths to sites and cutting the list into jobs are pure functions.

Needing work is decided offline, from desired and recorded state alone: a site is applied when its plan
has calls to send or records to retire, when it has session caps (only eDRV knows whether a session runs),
when an inbox is configured and calls of the site await the charger's answer (its apply folds them, and
sends once more what is overdue), when a station's drift check is due (with a drift interval), or when
it cannot be planned (its apply then reports why). Every other
site is idle and left out.

Jobs: at most `max_jobs` listed sites get one job each; more are dealt into `max_jobs` batches of nearly
equal size, each site in exactly one job; a GitHub matrix holds 256 jobs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePath

from reconciler.desired.loader import SITE_ID, YAML_SUFFIXES
from reconciler.errors import ReconcilerError
from reconciler.plan.confirm import Confirmations
from reconciler.plan.drift import checks_due
from reconciler.plan.site import SitePlan
from reconciler.shell.network import known_sites, site_ids
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState

MATRIX_LIMIT = 256  # jobs in one GitHub Actions matrix
_GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Job:
    """One matrix entry: the sites one CI job applies (the workflow runs one apply at a time)."""

    name: str
    sites: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    """The sites chosen, the jobs to apply them in, and (when asked) why each needs work and who is idle."""

    sites: tuple[str, ...]
    jobs: tuple[Job, ...]
    work: Mapping[str, str] = field(default_factory=dict)
    idle: tuple[str, ...] = ()


def listing(
    desired_dir: Path,
    state_dir: Path | None,
    named: Sequence[str] = (),
    *,
    changed_since: str | None = None,
    max_jobs: int = MATRIX_LIMIT,
    needs_work_at: datetime | None = None,
    confirmations: Confirmations | None = None,
    drift_due_after: timedelta | None = None,
) -> Listing:
    """The sites of the network (only `named` ones, when given; only changed ones, with a ref; only those
    that need work at a moment, with `needs_work_at`), as jobs."""
    network = site_ids(desired_dir, state_dir)
    unusable = [site for site in network if not SITE_ID.fullmatch(site)]
    if unusable:
        raise ReconcilerError(
            f"{', '.join(map(repr, unusable))} is not a usable site id; name desired and state files "
            "with letters, digits, '.', '_' or '-'"
        )
    chosen = set(known_sites(desired_dir, state_dir, named)) if named else set(network)
    if changed_since is not None:
        recorded_dir = state.state_path(desired_dir, "x", state_dir).parent
        paths = changed_paths(changed_since, [desired_dir, recorded_dir])
        chosen &= sites_touched(paths, desired_dir.resolve(), recorded_dir.resolve())
    work: dict[str, str] = {}
    idle: list[str] = []
    if needs_work_at is not None:
        for site in sorted(chosen):
            reason = needs_work(
                desired_dir, state_dir, site, needs_work_at, confirmations, drift_due_after=drift_due_after
            )
            if reason is None:
                idle.append(site)
            else:
                work[site] = reason
        chosen = set(work)
    listed = tuple(sorted(chosen))
    return Listing(listed, tuple(split_into_jobs(listed, max_jobs)), work, tuple(idle))


def needs_work(
    desired_dir: Path,
    state_dir: Path | None,
    site: str,
    now: datetime,
    confirmations: Confirmations | None = None,
    *,
    drift_due_after: timedelta | None = None,
) -> str | None:
    """Why applying `site` at `now` would do anything, decided offline; None when it would do nothing.

    `confirmations` names the inbox apply will read, if any (it is not read here); with
    `drift_due_after`, stations not drift-checked within that long are work too.
    """
    read: list[RecordedState | None] = []  # the state the plan reads, kept for the drift count

    def reading(name: str) -> RecordedState | None:
        read.append(state.load(state.state_path(desired_dir, name, state_dir), name))
        return read[-1]

    try:
        (plan,) = plan_sites(
            desired_dir, [site], now, state_dir, force=True, confirmations=confirmations, recorded=reading
        )
        due = 0
        if drift_due_after is not None and read:
            due = checks_due(read[-1], now - drift_due_after)
    except ReconcilerError as err:
        # Applying it fails the same way, and that failure is what the operator must see.
        return f"cannot be planned: {str(err).splitlines()[0]}"
    reasons = [r for r in (work_of(plan), f"{due} drift check(s) due" if due else None) if r]
    return "; ".join(reasons) or None


def work_of(plan: SitePlan) -> str | None:
    """What applying a plan would do, in a few words; None for nothing at all."""
    parts = []
    if plan.changes:
        parts.append(f"{len(plan.changes)} call(s) to send")
    retiring = sum(note.retire is not None for note in plan.notes)
    if retiring:
        parts.append(f"{retiring} record(s) to retire")
    caps = sum(note.cap is not None for note in plan.notes)
    if caps:
        parts.append(f"{caps} session cap(s) to check")
    standing = plan.standing
    if standing is not None and standing.inbox is not None and standing.awaiting:
        parts.append(f"{standing.awaiting} answer(s) to fold")
    return "; ".join(parts) or None


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


def split_into_jobs(sites: Sequence[str], max_jobs: int) -> list[Job]:
    """One job per site while they fit in `max_jobs`; else `max_jobs` batches dealt out in turn.

    Dealing sorted sites in turn keeps the batches within one site of each other in size, and puts each
    site in exactly one job. Which batch a site lands in may differ from run to run: that is safe because
    the workflow runs one apply at a time.
    """
    if max_jobs < 1:
        raise ValueError("max_jobs must be at least 1")
    ordered = sorted(sites)
    if len(ordered) <= max_jobs:
        return [Job(site, (site,)) for site in ordered]
    width = len(str(max_jobs))
    return [
        Job(f"batch-{index + 1:0{width}d}-of-{max_jobs}", tuple(ordered[index::max_jobs]))
        for index in range(max_jobs)
    ]


def render_json(found: Listing) -> str:
    """One line of JSON (format_version 1), easy to hand to a workflow output."""
    document = {
        "format_version": 1,
        "sites": list(found.sites),
        "jobs": [{"name": job.name, "sites": list(job.sites)} for job in found.jobs],
        "work": dict(found.work),
        "idle": list(found.idle),
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def render_text(found: Listing) -> str:
    """One site id per line, with why it needs work when that was asked."""
    return "".join(
        f"{site}  ({found.work[site]})\n" if site in found.work else f"{site}\n" for site in found.sites
    )


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
