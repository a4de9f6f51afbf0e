"""How much longer does `reconciler plan` take than merely reading the same files?

Writes the synthetic network of `validate_bench.py` (by default 2,000 sites x 10 stations x 5 profiles,
and a copy of its first tenth: 100,000 and 10,000 profiles), then recorded state for every site as if
all of it had been applied (a plan from no state, folded in by `outcome.assume_applied`, written by
`store.save`), and a copy of the YAML with the first period's limit of 1% of the profiles edited (never
a session cap, which is sent only with a session). Then, for each size, --repeat runs of each taken in
turns, each figure the median with the spread:

  a. read:     the fastest reading of the same files the reconciler itself could use: its own loader's
               parse of every site file and each state file's JSON as the store reads an unchanged
               one (pydantic-core's parser, `store.read_unchanged`), the collector paused;
  b. least:    the least any check costs, no rule run: that parse, the pydantic models of site and
               state files, each request body written and hashed, each state file read as the store
               reads it (`measure.least_checked`): the floor under the no-op plan;
  c. no-op plan: `reconcile.plan_sites` over the network against its recorded state, the work of
               `reconciler plan`, in this process (schema cache warm, as any run after the first); it
               must plan zero changes;
  d. 1% plan:  the same on the edited copy; it must plan exactly one set per edited profile;
  e. the whole `reconciler plan` process as a user runs it (text output included), no-op and 1%,
               with its peak resident memory; and once the no-op plan with a cold schema cache.

Per-profile figures count the profiles the plan diffs against a record (session caps are not diffed:
they are sent only with a session). Targets: no-op plan <= 1.3 x read; 1% plan <= 1.1 x no-op plan at
both sizes; 100,000 profiles within 10.5 x the time of 10,000 (linear); the `reconciler plan` process
of the no-op plan of 100,000 profiles at most 250 MiB at its peak; state files at most half the bytes
per record of format 2 (which this benchmark also writes, to compare). A measurement, not a test: it
exits 0 whatever the ratios, and non-zero only when a plan has the wrong number of changes or the
generated network is not valid.

    python benchmarks/plan_bench.py                  # 100,000 and 10,000 profiles
    python benchmarks/plan_bench.py --sites 200      # 10,000 and 1,000
    python benchmarks/plan_bench.py --profile        # cProfile of the no-op plan on the first 200 sites
    python benchmarks/plan_bench.py --keep /tmp/net  # write the networks there and leave them
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder is on sys.path, and with it the other benchmarks' modules.
from measure import (
    Process,
    Sample,
    cli_run,
    least_checked,
    own_parse,
    profile_work,
    say_what_is_measured,
    timed_each,
)
from validate_bench import (
    AMPS,
    STATION_WATTS,
    WATTS,
    Options,
    fresh_cache,
    generate,
    parse_options,
    run_in_directory,
)

from reconciler.desired.loader import load
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import SitePlan, build
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState

NOOP_TARGET = 1.3  # no-op plan / read
CHANGED_TARGET = 1.1  # 1% plan / no-op plan
LINEAR_TARGET = 10.5  # 10 x the profiles
PEAK_RSS_TARGET_MIB = 250
CHANGED_SHARE = 0.01

# The generator's layout: a profile's name at six spaces under `profiles:`, its fields at eight,
# each schedule period a flow mapping at twelve.
_PROFILE_HEAD = re.compile(r"      ([^\s:#][^:]*):\n")
_PURPOSE = re.compile(r"        chargingProfilePurpose: (\S+)\n")
_PERIOD_LIMIT = re.compile(r"(            - \{startPeriod: \d+, limit: )([0-9.]+)")


# --- preparing the network --------------------------------------------------------------------------


def record_everything(desired_dir: Path, now: datetime) -> tuple[int, int]:
    """Write each site's recorded state as if its first plan had been applied; the number of records,
    and the bytes the same states take in format 2 (every field, indented), to compare."""
    loaded = load([desired_dir], now)
    if loaded.problems:
        sys.exit(f"the generated network has {len(loaded.problems)} problem(s), e.g. {loaded.problems[0]}")
    records = format_2_bytes = 0
    for site in loaded.sites:
        first = build(site.site_id, site, None, now)
        applied = assume_applied(RecordedState.new(site.site_id), first, now)
        path = state.state_path(desired_dir, site.site_id)
        path.unlink(missing_ok=True)  # left by an earlier run with --keep; save() refuses to overwrite it
        written = state.save(path, applied, None)
        records += sum(1 for _ in applied.records())
        document = {"version": 2, **written.model_dump(mode="json")}
        format_2_bytes += len(json.dumps(document, sort_keys=True, indent=2)) + 1
    return records, format_2_bytes


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


def plan_checked(desired_dir: Path, state_dir: Path, now: datetime, expected: int) -> None:
    """`reconciler plan`'s work in this process; exits unless it has `expected` changes."""
    found = _changes(plan_sites(desired_dir, [], now, state_dir))
    if found != expected:
        sys.exit(f"the plan of {desired_dir} has {found} change(s), expected {expected}")


@dataclass(frozen=True)
class Network:
    """One size of the network on disk: its desired files, edited copy and recorded state."""

    desired: Path
    changed: Path
    records: int
    edited: int

    @property
    def state_dir(self) -> Path:
        return state.state_path(self.desired, "x").parent

    def paths(self) -> list[Path]:
        return sorted(self.desired.glob("*.yaml"))

    def state_paths(self) -> list[Path]:
        return sorted(self.state_dir.glob("*.json"))


@dataclass(frozen=True)
class Figures:
    network: Network
    read: Sample
    floor: Sample
    noop: Sample
    changed: Sample
    cli_noop: Process
    cli_changed: Process
    cli_cold: Process | None


def measure(network: Network, now: datetime, repeat: int, cold: bool) -> Figures:
    state_dir = network.state_dir
    plan_checked(network.desired, state_dir, now, 0)  # warms the schema cache, as any run after the first
    read, floor, noop, changed = timed_each(
        repeat,
        (
            lambda: own_parse(network.paths(), network.state_paths()),
            lambda: least_checked(network.paths(), network.state_paths()),
            lambda: plan_checked(network.desired, state_dir, now, 0),
            lambda: plan_checked(network.changed, state_dir, now, network.edited),
        ),
    )
    stamp = ["--now", now.isoformat()]
    common = ["--state-dir", str(state_dir), *stamp]
    cli_noop = cli_run(["plan", "--desired", str(network.desired), *common])
    cli_changed = cli_run(["plan", "--desired", str(network.changed), *common])
    cli_cold = None
    if cold:
        cache = fresh_cache()
        cli_cold = cli_run(["plan", "--desired", str(network.desired), *common])
        shutil.rmtree(cache, ignore_errors=True)
    return Figures(network, read, floor, noop, changed, cli_noop, cli_changed, cli_cold)


def report(figures: Figures) -> None:
    network = figures.network
    per = network.records
    yaml_bytes = sum(path.stat().st_size for path in network.paths())
    state_bytes = sum(path.stat().st_size for path in network.state_paths())
    noop_ratio = figures.noop.ratio(figures.read)
    changed_ratio = figures.changed.ratio(figures.noop)
    rows = [
        ("profiles diffed", f"{per:,} ({network.edited:,} edited in the 1% copy)"),
        ("files", f"{yaml_bytes / 1e6:.1f} MB of YAML, {state_bytes / 1e6:.1f} MB of recorded state"),
        ("read (own parse + json, GC paused)", figures.read.text(per)),
        ("least any check costs", figures.floor.text(per) + "  models and bodies, no rule"),
        ("no-op plan, in process", figures.noop.text(per)),
        ("1% plan, in process", figures.changed.text(per)),
        ("`reconciler plan` process, no-op", _process(figures.cli_noop)),
        ("`reconciler plan` process, 1%", _process(figures.cli_changed)),
    ]
    if figures.cli_cold is not None:
        rows.append(
            ("`reconciler plan`, no-op, cold cache", _process(figures.cli_cold) + "  (a first run or CI)")
        )
    rows += [
        ("ratio no-op plan/read", f"{noop_ratio:.2f}  (target <= {NOOP_TARGET})"),
        ("ratio least/read", f"{figures.floor.ratio(figures.read):.2f}  (what no rule could go below)"),
        ("ratio 1% plan/no-op plan", f"{changed_ratio:.2f}  (target <= {CHANGED_TARGET})"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def _process(process: Process) -> str:
    return f"{process.wall_s:.2f} s, peak {process.peak_rss_mib:.0f} MiB"


# --- the command ------------------------------------------------------------------------------------


def prepare(root: Path, sites: int, options: Options, now: datetime) -> tuple[Network, int]:
    """A network of `sites` sites under `root`, its state recorded; with the format 2 bytes of it."""
    desired_dir, changed_dir = root / "desired", root / "desired-1pct"
    desired_dir.mkdir(parents=True, exist_ok=True)
    paths = generate(desired_dir, sites, options.stations, options.profiles)
    records, format_2_bytes = record_everything(desired_dir, now)
    edited = edit_limits(paths, changed_dir, CHANGED_SHARE)
    return Network(desired_dir, changed_dir, records, edited), format_2_bytes


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def run(options: Options, root: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    say_what_is_measured()
    fresh_cache()
    if options.profile:
        network, _ = prepare(root / "profiled", options.profile_sites, options, now)
        plan_checked(network.desired, network.state_dir, now, 0)
        profile_work(lambda: plan_checked(network.desired, network.state_dir, now, 0))
        return
    small_sites = max(1, options.sites // 10)
    small, _ = prepare(root / "small", small_sites, options, now)
    large, format_2_bytes = prepare(root / "large", options.sites, options, now)
    print(f"generated {options.sites:,} and {small_sites:,} sites with their recorded state under {root}")
    print(f"timing {options.repeat} runs of each at {now.isoformat()} ...")
    found = {}
    for name, network in (("small", small), ("large", large)):
        figures = found[name] = measure(network, now, options.repeat, cold=name == "large")
        print(f"\n{network.records:,} profiles diffed ({name}):")
        report(figures)
    large_figures, small_figures = found["large"], found["small"]
    scale = large_figures.noop.ratio(small_figures.noop)
    state_bytes = sum(path.stat().st_size for path in large.state_paths())
    per_record, per_record_2 = state_bytes / large.records, format_2_bytes / large.records
    peak = large_figures.cli_noop.peak_rss_mib
    print()
    print(f"no-op plan, {large.records:,} vs {small.records:,} profiles: {scale:.2f} x")
    share = per_record / per_record_2
    print(f"state files: {per_record:.0f} bytes per record, format 2 {per_record_2:.0f} ({share:.0%})")
    for name, figures in found.items():
        ratio = figures.noop.ratio(figures.read)
        print(f"target: no-op plan/read <= {NOOP_TARGET} ({name})  ({verdict(ratio <= NOOP_TARGET)})")
    for name, figures in found.items():
        ratio = figures.changed.ratio(figures.noop)
        print(
            f"target: 1% plan/no-op plan <= {CHANGED_TARGET} ({name})  ({verdict(ratio <= CHANGED_TARGET)})"
        )
    linear = verdict(scale <= LINEAR_TARGET)
    print(f"target: linear, 10 x the profiles in <= {LINEAR_TARGET} x the time  ({linear})")
    bounded = verdict(peak <= PEAK_RSS_TARGET_MIB)
    print(f"target: peak RSS of `reconciler plan`, no-op, <= {PEAK_RSS_TARGET_MIB} MiB  ({bounded})")
    print(f"target: state bytes per record <= half of format 2  ({verdict(per_record <= per_record_2 / 2)})")


def main(argv: Sequence[str] | None = None) -> int:
    return run_in_directory(parse_options(argv, __doc__, "the no-op plan"), run, "plan-bench-")


if __name__ == "__main__":
    sys.exit(main())
