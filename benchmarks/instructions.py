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
  plan       `reconcile.plan_sites`, a no-op plan, the work of `reconciler plan`.

Instructions are not time (a cache miss costs more than an add), so the ratios it prints are a
complement to the timed ones, not a replacement: they say whether a change did less work. Needs
valgrind (`apt install valgrind`); takes about three minutes.

    python benchmarks/instructions.py               # 20 sites, each work run 4 times
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
from plan_bench import record_everything
from validate_bench import generate

from reconciler.desired import loader
from reconciler.shell.reconcile import plan_sites

WORKS = ("parse", "validate", "read", "plan")
NOW = datetime(2026, 12, 5, tzinfo=UTC)  # fixed, so that every process checks the same thing
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def run_work(work: str, times: int, directory: Path) -> None:
    """In this process: warm up as every counted process does, then run `work` `times` times."""
    paths = loader.discover([directory])
    state_paths = sorted((directory / ".state").glob("*.json"))
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
        else:
            plan_sites(directory, [], NOW)


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
    """Write the network and its recorded state under `root`; the number of profiles."""
    root.mkdir(parents=True, exist_ok=True)
    paths = generate(root, sites, 10, 5)
    record_everything(root, NOW)
    return len(paths) * 10 * 5


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=20, help="site files of 10 stations x 5 profiles (20)")
    parser.add_argument("--times", type=int, default=4, help="runs of each work in its counted process (4)")
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
        base = count("parse", 0, root / "net")
        per = {work: (count(work, args.times, root / "net") - base) / args.times / profiles for work in WORKS}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for work in WORKS:
        print(f"{work:10} {per[work]:12,.0f} instructions per profile")
    print(f"ratio validate/parse {per['validate'] / per['parse']:.3f}  (timed target <= 1.2)")
    print(f"ratio plan/read      {per['plan'] / per['read']:.3f}  (timed target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
