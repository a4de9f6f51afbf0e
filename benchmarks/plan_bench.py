"""How much longer does `reconciler plan` take than merely parsing the same YAML?

Writes the synthetic network of `validate_bench.py` (by default 2,000 sites x 10 stations x 5 profiles),
then recorded state for every site as if all of it had been applied (a plan from no state, folded in
by `outcome.assume_applied`, written by `store.save`), then times, best of --repeat runs taken in turns:

  a. bare parse: every site file through `yaml.load(..., Loader=yaml.CSafeLoader)`, and the same
     with the cyclic garbage collector paused;
  b. no-op plan: `reconcile.plan_sites` over the whole network against its recorded state, the work
     of `reconciler plan`; it must plan zero changes;
  c. 1% plan:    the same after the first period's limit of 1% of the profiles was edited in a copy
     of the YAML (never a session cap, which is sent only with a session); it must plan exactly one
     set per edited profile.

Targets: no-op plan <= 2 x bare parse, and 1% plan <= 1.1 x no-op plan. A measurement, not a test:
it exits 0 whatever the ratios, and non-zero only when a plan has the wrong number of changes or the
generated network is not valid.

    python benchmarks/plan_bench.py                  # the full network
    python benchmarks/plan_bench.py --sites 200      # a tenth of it
    python benchmarks/plan_bench.py --profile        # cProfile of the no-op plan on the first 200 sites
    python benchmarks/plan_bench.py --keep /tmp/net  # write desired/ and desired-1pct/ there and leave them
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder is on sys.path, and with it the generator's module.
from validate_bench import (
    AMPS,
    STATION_WATTS,
    WATTS,
    Options,
    bare_parse,
    bare_parse_paused,
    best_of_each,
    generate,
    parse_options,
    profile_work,
    run_in_directory,
    say_what_is_measured,
)

from reconciler.desired.loader import load
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import SitePlan, build
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState

NOOP_TARGET = 2.0  # no-op plan / bare parse
CHANGED_TARGET = 1.1  # 1% plan / no-op plan
CHANGED_SHARE = 0.01

# The generator's layout: a profile's name at six spaces under `profiles:`, its fields at eight,
# each schedule period a flow mapping at twelve.
_PROFILE_HEAD = re.compile(r"      ([^\s:#][^:]*):\n")
_PURPOSE = re.compile(r"        chargingProfilePurpose: (\S+)\n")
_PERIOD_LIMIT = re.compile(r"(            - \{startPeriod: \d+, limit: )([0-9.]+)")


@dataclass(frozen=True)
class Timing:
    files: int
    profiles: int
    records: int
    edited: int
    yaml_bytes: int
    state_bytes: int
    parse_s: float
    parse_gc_s: float
    parse_paused_s: float
    noop_s: float
    noop_gc_s: float
    changed_s: float
    changed_gc_s: float


# --- preparing the network --------------------------------------------------------------------------


def record_everything(desired_dir: Path, now: datetime) -> int:
    """Write each site's recorded state as if its first plan had been applied; the number of records."""
    loaded = load([desired_dir], now)
    if loaded.problems:
        sys.exit(f"the generated network has {len(loaded.problems)} problem(s), e.g. {loaded.problems[0]}")
    records = 0
    for site in loaded.sites:
        first = build(site.site_id, site, None, now)
        applied = assume_applied(RecordedState.new(site.site_id), first, now)
        path = state.state_path(desired_dir, site.site_id)
        path.unlink(missing_ok=True)  # left by an earlier run with --keep; save() refuses to overwrite it
        state.save(path, applied, None)
        records += sum(1 for _ in applied.records())
    return records


def _other_limit(limit: str) -> str:
    """Another limit from the generator's own list for that unit: the next lower, or above the lowest.

    Staying inside the lists keeps every edited profile valid and free of warnings.
    """
    for pool in (AMPS, WATTS, STATION_WATTS):
        if limit in pool:
            index = pool.index(limit)
            return pool[index - 1] if index else pool[1]
    raise ValueError(f"limit {limit} is not one the generator writes")


def edit_limits(paths: Sequence[Path], target_dir: Path, share: float) -> int:
    """Copy the site files to `target_dir`, with the first limit of `share` of the profiles changed.

    The edited profiles are spread evenly over the network and are never session caps (TxProfile), whose
    sets wait for a session; the same files always get the same edits. Returns how many were edited.
    """
    texts = [path.read_text(encoding="utf-8") for path in paths]
    lines = [text.splitlines(keepends=True) for text in texts]
    total = 0
    editable: list[tuple[int, int]] = []  # (file, line of the profile's first period)
    for file_index, file_lines in enumerate(lines):
        purpose: str | None = None
        waiting = False  # inside a profile whose first period is not yet seen
        for line_index, line in enumerate(file_lines):
            if _PROFILE_HEAD.fullmatch(line):
                total += 1
                purpose, waiting = None, True
            elif waiting and (found := _PURPOSE.fullmatch(line)):
                purpose = found.group(1)
            elif waiting and _PERIOD_LIMIT.match(line):
                waiting = False
                if purpose != "TxProfile":
                    editable.append((file_index, line_index))
    wanted = max(1, round(total * share))
    if wanted > len(editable):
        sys.exit(f"only {len(editable)} editable profiles for the {wanted} edits wanted")
    for number in range(wanted):
        file_index, line_index = editable[number * len(editable) // wanted]
        line = lines[file_index][line_index]
        lines[file_index][line_index] = _PERIOD_LIMIT.sub(
            lambda m: m.group(1) + _other_limit(m.group(2)), line, count=1
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    for path, file_lines in zip(paths, lines, strict=True):
        (target_dir / path.name).write_text("".join(file_lines), encoding="utf-8")
    return wanted


# --- measuring --------------------------------------------------------------------------------------


def _changes(plans: Sequence[SitePlan]) -> int:
    # A note that retires a record changes recorded state too, so it counts.
    return sum(len(p.changes) + sum(n.retire is not None for n in p.notes) for p in plans)


def _plan(desired_dir: Path, state_dir: Path, now: datetime, expected: int) -> None:
    found = _changes(plan_sites(desired_dir, [], now, state_dir))
    if found != expected:
        sys.exit(f"the plan of {desired_dir} has {found} change(s), expected {expected}")


def measure(
    paths: Sequence[Path],
    desired_dir: Path,
    changed_dir: Path,
    counts: tuple[int, int, int],
    *,
    now: datetime,
    repeat: int,
) -> Timing:
    """Time the three steps; `counts` are the profiles, records and edited profiles of the network."""
    state_dir = state.state_path(desired_dir, "x").parent
    profiles, records, edited = counts
    (parse_s, parse_gc_s), (parse_paused_s, _), (noop_s, noop_gc_s), (changed_s, changed_gc_s) = best_of_each(
        repeat,
        (
            lambda: bare_parse(paths),
            lambda: bare_parse_paused(paths),
            lambda: _plan(desired_dir, state_dir, now, 0),
            lambda: _plan(changed_dir, state_dir, now, edited),
        ),
    )
    return Timing(
        files=len(paths),
        profiles=profiles,
        records=records,
        edited=edited,
        yaml_bytes=sum(path.stat().st_size for path in paths),
        state_bytes=sum(path.stat().st_size for path in state_dir.glob("*.json")),
        parse_s=parse_s,
        parse_gc_s=parse_gc_s,
        parse_paused_s=parse_paused_s,
        noop_s=noop_s,
        noop_gc_s=noop_gc_s,
        changed_s=changed_s,
        changed_gc_s=changed_gc_s,
    )


def report(timing: Timing) -> None:
    per_profile = 1e6 / timing.profiles

    def seconds(value: float) -> str:
        return f"{value:.2f} s  ({value * per_profile:.1f} µs/profile)"

    noop_ratio = timing.noop_s / timing.parse_s
    noop_ratio_paused = timing.noop_s / timing.parse_paused_s
    changed_ratio = timing.changed_s / timing.noop_s
    rows = (
        ("files", f"{timing.files:,}"),
        ("profiles", f"{timing.profiles:,} ({timing.records:,} recorded, {timing.edited:,} edited)"),
        ("total YAML", f"{timing.yaml_bytes / 1e6:.1f} MB"),
        ("total recorded state", f"{timing.state_bytes / 1e6:.1f} MB"),
        ("bare parse (CSafeLoader)", seconds(timing.parse_s)),
        ("bare parse, GC paused", seconds(timing.parse_paused_s)),
        ("no-op plan (plan_sites)", seconds(timing.noop_s)),
        ("1% plan (plan_sites)", seconds(timing.changed_s)),
        ("ratio no-op plan/parse", f"{noop_ratio:.2f}"),
        ("ratio no-op plan/parse paused", f"{noop_ratio_paused:.2f}"),
        ("ratio 1% plan/no-op plan", f"{changed_ratio:.2f}"),
        (
            "of which cyclic GC",
            f"parse {timing.parse_gc_s:.2f} s, no-op plan {timing.noop_gc_s:.2f} s, "
            f"1% plan {timing.changed_gc_s:.2f} s",
        ),
    )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for name, measured, target in (
        ("no-op plan/parse", noop_ratio, NOOP_TARGET),
        ("no-op plan/parse paused", noop_ratio_paused, NOOP_TARGET),
        ("1% plan/no-op plan", changed_ratio, CHANGED_TARGET),
    ):
        verdict = "met" if measured <= target else "NOT met"
        print(f"target: {name} <= {target}  ({verdict})")


# --- the command ------------------------------------------------------------------------------------


def run(options: Options, root: Path) -> None:
    now = datetime.now(UTC)
    say_what_is_measured()
    desired_dir, changed_dir = root / "desired", root / "desired-1pct"
    desired_dir.mkdir(parents=True, exist_ok=True)
    # The profile subset is the first sites of the full network: generation is sequential and seeded.
    sites = min(options.sites, options.profile_sites) if options.profile else options.sites
    started = time.perf_counter()
    paths = generate(desired_dir, sites, options.stations, options.profiles)
    records = record_everything(desired_dir, now)
    edited = edit_limits(paths, changed_dir, CHANGED_SHARE)
    print(
        f"generated {len(paths):,} site files and their recorded state in {desired_dir}, "
        f"{edited:,} edited profiles in {changed_dir} ({time.perf_counter() - started:.1f} s)"
    )
    print(f"timing best of {options.repeat} at {now.isoformat(timespec='seconds')} ...\n")
    profiles = sites * options.stations * options.profiles
    report(
        measure(paths, desired_dir, changed_dir, (profiles, records, edited), now=now, repeat=options.repeat)
    )
    if options.profile:
        state_dir = state.state_path(desired_dir, "x").parent
        profile_work(lambda: _plan(desired_dir, state_dir, now, 0))


def main(argv: Sequence[str] | None = None) -> int:
    return run_in_directory(parse_options(argv, __doc__, "the no-op plan"), run, "plan-bench-")


if __name__ == "__main__":
    sys.exit(main())
