"""The benchmarks' ratios counted in CPU instructions, which a busy machine cannot blur.

Wall time on a shared virtual machine swings by half from one minute to the next, and a median of
runs taken in turns still moves a ratio by a tenth or more. Instructions executed do not move: this
counts them under valgrind (`cachegrind`, cache simulation off), with hash randomisation fixed, for the
works `validate_bench.py` and `plan_bench.py` time, on a small copy of their network (by default 20
sites x 10 stations x 5 profiles, recorded as applied). Each work runs in its own process after the
same warm-up (one validate, one parse, a schema cache filled); its count is the process's count with
the work run --times times less the count with it run none, per profile of the network:

  parse      the baseline of validate: the loader's own parse of every site file, collector paused;
  validate   `loader.load(..., keep=False)`, the work of `reconciler validate DIR`;
  read       the baseline of plan: that parse and every state file's JSON as the store reads it;
  plan       `reconcile.plan_sites`, a no-op plan, the work of `reconciler plan`;
  plan-1%    the same plan of `plan_bench.py`'s edited copy, 1% of the profiles' first limit changed
             (the process checks it plans exactly one set for each).

With --linear it also counts the no-op plan of a network ten times the size (each count less its own
warm-up), for the linearity `plan_bench.py` times: the plan works site by site, so anything above 10x
is work that grows with the network, not with the site.

Instructions are not time (a cache miss costs more than an add), so the ratios it prints are a
complement to the timed ones, not a replacement: they say whether a change did less work, and they
hold still where a busy machine moves a timed ratio across its target. Needs valgrind
(`apt install valgrind`); takes about four minutes, ten in all with --linear.

    python benchmarks/instructions.py               # 20 sites, each work run 4 times
    python benchmarks/instructions.py --linear      # and the no-op plan of 200 sites beside 20
    python benchmarks/instructions.py --sites 40 --times 2
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder is on sys.path, and with it the other benchmarks' modules.
from measure import own_parse, say_what_is_measured
from plan_bench import (
    CHANGED_SHARE,
    CHANGED_TARGET,
    LINEAR_TARGET,
    NOOP_TARGET,
    edit_limits,
    plan_checked,
    record_everything,
)
from validate_bench import generate

from reconciler.desired import loader
from reconciler.shell.reconcile import plan_sites

WORKS = ("parse", "validate", "read", "plan", "plan-1%")
VALIDATE_TARGET = 1.2  # validate / parse, as `validate_bench.py` states it
NOW = datetime(2026, 12, 5, tzinfo=UTC)  # fixed, so that every process checks the same thing
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def edited_copy(directory: Path) -> Path:
    """Where the copy of `directory` with 1% of its limits changed is written: beside it."""
    return directory.with_name(directory.name + "-1pct")


def run_work(work: str, times: int, directory: Path) -> None:
    """In this process: warm up as every counted process does, then run `work` `times` times."""
    paths = loader.discover([directory])
    state_dir = directory / ".state"
    state_paths = sorted(state_dir.glob("*.json"))
    loader.load([directory], NOW, keep=False)  # fills the schema cache and the readers' memos
    own_parse(paths, state_paths)
    gc.collect()
    for _ in range(times):
        if work == "parse":
            own_parse(paths)
        elif work == "validate":
            loader.load([directory], NOW, keep=False)
        elif work == "read":
            own_parse(paths, state_paths)
        elif work == "plan":
            plan_sites(directory, [], NOW)
        else:
            plan_sites(edited_copy(directory), [], NOW, state_dir)


def count(work: str, times: int, directory: Path) -> int:
    """Instructions of a whole process that runs `work` `times` times after the warm-up."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--run",
        work,
        "--times",
        str(times),
        "--dir",
        str(directory),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    finished = subprocess.run(  # noqa: S603 - valgrind, this interpreter, arguments of our own
        command, capture_output=True, text=True, env=environment, check=False
    )
    found = _REFS.search(finished.stderr)
    if finished.returncode != 0 or found is None:
        sys.exit(f"valgrind run of {work} failed:\n{finished.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def prepare(root: Path, sites: int) -> int:
    """Write the network, its recorded state and its edited copy under `root`; the number of profiles.
    Exits unless a plan of the network changes nothing and one of the copy sets each profile edited."""
    root.mkdir(parents=True, exist_ok=True)
    paths = generate(root, sites, 10, 5)
    record_everything(root, NOW)
    edited = edit_limits(paths, edited_copy(root), CHANGED_SHARE)
    plan_checked(root, root / ".state", NOW, 0)
    plan_checked(edited_copy(root), root / ".state", NOW, edited)
    return len(paths) * 10 * 5


def per_profile(works: Sequence[str], times: int, root: Path, profiles: int) -> dict[str, float]:
    """Instructions of each work per profile of the network at `root`, the processes' warm-up taken off."""
    base = count("parse", 0, root)
    return {work: (count(work, times, root) - base) / times / profiles for work in works}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=20, help="site files of 10 stations x 5 profiles (20)")
    parser.add_argument("--times", type=int, default=4, help="runs of each work in its counted process (4)")
    parser.add_argument(
        "--linear", action="store_true", help="also count the no-op plan of 10 x the sites, once"
    )
    parser.add_argument("--run", choices=WORKS, help=argparse.SUPPRESS)  # inside a counted process
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:
        run_work(args.run, args.times, args.dir)
        return 0
    if args.sites < 1 or args.times < 1:
        parser.error("--sites and --times must be at least 1")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt install valgrind)")
    say_what_is_measured()
    root = Path(tempfile.mkdtemp(prefix="instructions-bench-"))
    os.environ.setdefault("RECONCILER_CACHE_DIR", str(root / ".cache"))
    try:
        profiles = prepare(root / "net", args.sites)
        print(f"counting {', '.join(WORKS)} on {profiles:,} profiles, {args.times} runs each ...", flush=True)
        per = per_profile(WORKS, args.times, root / "net", profiles)
        larger = None
        if args.linear:
            bigger = prepare(root / "net10", args.sites * 10)
            print(f"counting the no-op plan of {bigger:,} profiles, once ...", flush=True)
            larger = (bigger, per_profile(["plan"], 1, root / "net10", bigger)["plan"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for work in WORKS:
        print(f"{work:10} {per[work]:12,.0f} instructions per profile")
    ratios = (
        ("validate/parse", per["validate"] / per["parse"], VALIDATE_TARGET),
        ("plan/read", per["plan"] / per["read"], NOOP_TARGET),
        ("plan-1%/plan", per["plan-1%"] / per["plan"], CHANGED_TARGET),
    )
    for name, ratio, target in ratios:
        print(f"ratio {name:<15}{ratio:.3f}  (timed target <= {target})")
    if larger is not None:
        bigger, per_bigger = larger
        scale = per_bigger * bigger / (per["plan"] * profiles)
        vs = f"{bigger:,} vs {profiles:,} profiles"
        print(f"no-op plan, {vs}: {scale:.2f} x  (timed target <= {LINEAR_TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
