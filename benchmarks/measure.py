"""Timing helpers the benchmarks share: medians with their spread, runs in turns, the baseline parse
and whole CLI processes with their peak memory.

Every figure is a median of several runs with the lowest and highest beside it, never the best run:
a machine shared with other work makes some runs slow, and the median says what a user gets. Runs of
the works compared are taken in turns, so that a busy spell slows them alike.
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reconciler
from reconciler.desired import yamlread
from reconciler.desired.bounds import paused_collector
from reconciler.desired.model import SiteFile
from reconciler.desired.template import place
from reconciler.state import store


@dataclass(frozen=True)
class Sample:
    """Seconds of several runs of one work: their median and spread, and the cyclic GC's share."""

    runs: tuple[float, ...]
    gc_s: float = 0.0  # the cyclic collector's seconds in the median run

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def text(self, per: int | None = None, unit: str = "profile") -> str:
        """`1.23 s (1.20-1.31 s, 5 runs)`, with µs per `unit` when `per` is given."""
        scale, suffix = (1.0, "s") if self.median >= 1 else (1000.0, "ms")
        low, high = min(self.runs) * scale, max(self.runs) * scale
        spread = f"{low:.2f}-{high:.2f} {suffix}, {len(self.runs)} runs"
        each = f", {self.median / per * 1e6:.1f} µs/{unit}" if per else ""
        return f"{self.median * scale:.2f} {suffix}  ({spread}{each})"

    def ratio(self, other: Sample) -> float:
        return self.median / other.median


class GcClock:
    """Adds up the time spent in the cyclic garbage collector while it is installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._tick)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._tick)

    def _tick(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def timed_each(repeat: int, works: Sequence[Callable[[], object]]) -> list[Sample]:
    """Each work run `repeat` times, the works in turns; a Sample per work."""
    runs: list[list[tuple[float, float]]] = [[] for _ in works]
    for _ in range(repeat):
        for index, work in enumerate(works):
            gc.collect()  # garbage of the work before is not this one's cost
            with GcClock() as clock:
                started = time.perf_counter()
                work()
                elapsed = time.perf_counter() - started
            runs[index].append((elapsed, clock.seconds))
    samples = []
    for found in runs:
        ordered = sorted(found)
        samples.append(Sample(tuple(s for s, _ in found), ordered[len(ordered) // 2][1]))
    return samples


def own_parse(paths: Sequence[Path], state_paths: Sequence[Path] = ()) -> None:
    """The fastest reading of the files the reconciler itself has: its own loader's parse of every site
    file (PyYAML's C parser, timestamps kept as text), and every state file's JSON read as the store reads
    a file its checksum shows unchanged (`store.read_unchanged`, pydantic-core's parser), with the
    cyclic collector paused as the reconciler pauses it. Nothing is checked."""
    with paused_collector():
        for path in paths:
            _parsed(path)
        for path in state_paths:
            store.read_unchanged(path.read_text(encoding="utf-8"))


def _parsed(path: Path) -> Any:
    """A site file as the loader's own reader builds it, the reader let go after."""
    parser = yamlread.FastLoader(path.read_text(encoding="utf-8"))
    try:
        return parser.get_single_data()
    finally:
        parser.dispose()


def least_checked(paths: Sequence[Path], state_paths: Sequence[Path] = ()) -> None:
    """What any check costs at the least, no rule run: the parse of `own_parse`, then each site file's
    pydantic models (its type check), its profiles placed on their stations and each request body
    written and hashed (what a plan sends and compares), and each state file read as the store reads it
    (checksum, records, consistency). The floor under validate and a no-op plan in this design: a
    target below it cannot be met by doing the rest faster."""
    with paused_collector():
        for path in paths:
            raw = _parsed(path)
            doc = SiteFile.model_validate(raw)
            placed, _ = place(doc, raw)
            for items in placed.values():
                for item in items:
                    if not item.profile.is_local:  # compiled per UTC offset, not sent as written
                        _ = item.body
        for path in state_paths:
            store.load(path, path.stem)


@dataclass(frozen=True)
class Process:
    """One whole CLI process: its wall time, peak resident memory and exit code."""

    wall_s: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


# `python -m reconciler ARGV`, which then reports its own peak resident memory on its way out. The peak
# of the process, not of what it forked from: `ru_maxrss` would count the pages a child shares with this
# (large) benchmark process between fork and exec, while `VmHWM` is of the program it runs.
_PEAK_MARK = "\nreconciler-peak-kib "
_REPORTING_PEAK = f"""
import atexit, sys

def _peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write({_PEAK_MARK!r} + kib)

atexit.register(_peak)
sys.argv[0] = "reconciler"
from reconciler.cli.main import main
main(sys.argv[1:])
"""


def cli_run(
    argv: Sequence[str], env: Mapping[str, str] | None = None, accept: Sequence[int] = (0,)
) -> Process:
    """`reconciler ARGV` as a user runs it, output captured; exits when its exit code is unexpected."""
    command = [sys.executable, "-c", _REPORTING_PEAK, *argv]
    root = str(Path(reconciler.__file__).resolve().parent.parent)
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (root, environment.get("PYTHONPATH"))))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603 - this interpreter, arguments of our own
            command, stdout=out, stderr=err, env=environment, text=True
        )
        _, status = os.waitpid(child.pid, 0)
        wall_s = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode not in accept:
        sys.exit(f"{' '.join(command)} exited {child.returncode}:\n{stdout[-2000:]}{stderr[-2000:]}")
    stderr, _, peak = stderr.rpartition(_PEAK_MARK)
    return Process(wall_s, int(peak) / 1024, child.returncode, stdout, stderr)


def profile_work(work: Callable[[], object], top: int = 25) -> None:
    """cProfile one run of `work` and print its top functions."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    work()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    for order in ("cumulative", "tottime"):
        print(f"\n=== top {top} by {order} ===")
        stats.sort_stats(order).print_stats(top)


def say_what_is_measured() -> None:
    """Name the reconciler being timed: an editable install elsewhere would time other code."""
    measured = Path(reconciler.__file__).resolve().parent
    print(f"measuring reconciler from {measured}")
    if measured != Path(__file__).resolve().parent.parent / "reconciler":
        print(
            "  note: that is not this checkout's reconciler (an editable install elsewhere?); "
            "run with PYTHONPATH=. to measure this one"
        )
