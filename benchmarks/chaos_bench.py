"""Chaos: does `reconciler apply` survive kill -9, eDRV's faults and hostile input without corrupting its
state, lying about what it did, hanging, or sending calls again?

Everything runs on loopback: one `reconciler sandbox` process simulating the stations of a generated
site (`--stations` x `--profiles` daily profiles, answering after `--latency-ms`), and `reconciler`
itself as a user runs it, in child processes, with the defaults a user gets (10 calls per second,
spread evenly; at most 16 in flight, or `--concurrency`). Three parts:

1. kill -9 trials (`--trials`). Each trial moves every changing limit of the site by one ampere (so
   every profile is sent again), starts `reconciler apply --auto-approve`, waits until the sandbox has
   received its first set, waits a random further moment (up to the time the whole apply takes), and
   kills it with SIGKILL. Then the state file must still load (else: corrupt); `reconciler apply` runs
   again to completion (exit 0); and the run has converged when what the sandbox's charge points hold
   (`GET /_sandbox/stations`, their ground truth) is exactly the live recorded profiles and
   `reconciler plan --detailed-exitcode` exits 0 (recorded state is desired). Repeated calls: the
   set/clear requests the sandbox received in the trial, minus the changes the trial's plan had.
2. The sandbox's fault matrix: 429 with Retry-After, 503, a request held past the client's 20 s
   timeout, a dropped connection (a few times each, then gone), an offline station, a station whose
   charge point rejects. Each: one apply under the fault, its exit code against the one expected (0
   when retries absorb it, 1 when a call could not be done), then the fault lifted, an apply, and the
   same convergence check.
3. Fuzz (`--fuzz`, in `chaos_fuzz.py`): a worker process runs that many mutated inputs (site files,
   state files, saved plans, key files, flag values; `tests/mutations.py`) through the CLI in process,
   each under a 10 s alarm, the worker under a 4 GB address-space limit, and reports exit codes,
   tracebacks and hangs. Then each named hostile input runs alone in a process of its own, for its wall
   time and peak memory beside a valid site file's.

It prints, per part, what it saw, then: trials, corrupt states, non-converged runs, repeated calls per
crash (the most and the mean), tracebacks, hangs, peak memory, and the targets (0 corrupt, 0
non-converged, 0 tracebacks, 0 hangs, at most one repeated call per crash). A measurement: it exits 0
whatever it finds, and non-zero only when it cannot run (the sandbox does not start).

The sandbox runs `--synchronous`: each answer carries the charger's outcome (`accepted` or `rejected`),
so that a charger's refusal is something apply sees. With `--asynchronous` it answers as eDRV does,
`requested`, the outcome going to webhooks that nothing receives here; the refusing station then drops
out of the fault matrix. Convergence means the same either way: what the charge points themselves hold
(polled for up to 10 s, while they answer) against the live records, and an empty next plan. The script
reports the recorded statuses it saw.

    python benchmarks/chaos_bench.py                       # 20 trials, the fault matrix, 300 fuzz cases
    python benchmarks/chaos_bench.py --trials 50 --fuzz 2000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

# Run as a script, this file's folder is on sys.path, and with it the other benchmarks' modules.
from apply_bench import SandboxProcess, station_ids, write_network
from chaos_fuzz import ROOT, RUN_TIMEOUT_S, Child, Finished, fuzz
from validate_bench import say_what_is_measured

from reconciler.sandbox.config import DEFAULT_API_KEY
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.files import temporary_files

SITE = "apply-bench"  # the site apply_bench's generator writes
TRUTH_WAIT_S = 10.0  # how long charge points may take to hold what eDRV answered for (webhook mode)


@dataclass
class Tally:
    """Everything the parts saw, for the closing figures."""

    trials: int = 0
    corrupt: list[str] = field(default_factory=list)
    non_converged: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    left_after_kill: Counter[str] = field(default_factory=Counter)
    left_after_recovery: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    peak_rss_kb: dict[str, int] = field(default_factory=dict)

    def saw(self, what: str, finished: Finished) -> None:
        """Note a command's traceback, hang and memory."""
        if "Traceback (most recent call last)" in finished.err:
            self.tracebacks.append(f"{what}: {finished.err.strip().splitlines()[-1]}")
        if finished.hung:
            self.hangs.append(what)
        kind = what.split(maxsplit=1)[0]
        self.peak_rss_kb[kind] = max(self.peak_rss_kb.get(kind, 0), finished.rss_kb)


class Network:
    """The generated site, the sandbox simulating it, and `reconciler` run against both."""

    def __init__(self, directory: Path, sandbox: SandboxProcess, concurrency: int) -> None:
        self.directory = directory
        # --force: every trial changes every profile, past the safety rail's 30%.
        self.apply = ("apply", "--auto-approve", "--force", "--concurrency", str(concurrency))
        self.desired_dir = directory / "desired"
        self.sandbox = sandbox
        self.site_file = self.desired_dir / f"{SITE}.yaml"
        self.state_file = store.state_path(self.desired_dir, SITE)
        self.env = {
            **os.environ,
            "EDRV_API_URL": sandbox.api_url,
            "EDRV_API_KEY": DEFAULT_API_KEY,
            "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
        }
        self.env.pop("GITHUB_ACTIONS", None)
        self._runs = 0

    def flip_limits(self) -> int:
        """Move every changing limit by one ampere, so every profile is sent again; the planned changes."""
        text = self.site_file.read_text()
        swap = ("limit: 32}", "limit: 31}") if "limit: 32}" in text else ("limit: 31}", "limit: 32}")
        self.site_file.write_text(text.replace(*swap))
        return sum(len(p.changes) for p in plan_sites(self.desired_dir, [], datetime.now(UTC), force=True))

    def start(self, *argv: str) -> Child:
        self._runs += 1
        log = self.directory / f"run-{self._runs:04d}"
        return Child(["-m", "reconciler", *argv, "--desired", str(self.desired_dir)], self.env, log)

    def run(self, *argv: str) -> Finished:
        return self.start(*argv).finish()

    def commands(self) -> int:
        """Set and clear requests the sandbox has received so far."""
        counts = self.sandbox.requests()
        return counts.get("set_charging_profile", 0) + counts.get("clear_charging_profile", 0)

    def faults(self, faults: dict[str, Any]) -> None:
        httpx.post(f"{self.sandbox.api_url}/_sandbox/faults", json=faults, timeout=60).raise_for_status()

    def leftovers(self) -> list[str]:
        """Lock and temporary files in the state directory."""
        lock = self.state_file.with_name(self.state_file.name + ".lock")
        return [p.name for p in temporary_files(self.state_file)] + ([lock.name] if lock.exists() else [])

    def converged(self, tally: Tally, what: str) -> str | None:
        """None when the charge points hold exactly the live records and the next plan is empty; else why."""
        deadline = time.monotonic() + TRUTH_WAIT_S
        problem = self._truth_problem()
        while problem is not None and time.monotonic() < deadline:
            time.sleep(0.2)
            problem = self._truth_problem()
        if problem is not None:
            return problem
        planned = self.run("plan", "--detailed-exitcode", "--force")
        tally.saw(f"plan after {what}", planned)
        if planned.code != 0:
            return f"the next plan exits {planned.code}"
        return None

    def _truth_problem(self) -> str | None:
        recorded = store.load(self.state_file, SITE)
        wanted = {
            (station, record.connector_id, record.charging_profile_id, _canonical(record.payload))
            for station, _, record in (recorded.records() if recorded else ())
            if not record.is_retired
        }
        truth = httpx.get(f"{self.sandbox.api_url}/_sandbox/stations", timeout=60).json()["stations"]
        held = {
            (station, int(connector), profile["chargingProfileId"], _canonical(profile))
            for station, entry in truth.items()
            for connector, profiles in entry["profiles"].items()
            for profile in profiles
        }
        if held == wanted:
            return None
        return (
            f"the charge points hold {len(held - wanted)} profile(s) not recorded, lack {len(wanted - held)}"
        )

    def statuses(self) -> Counter[str]:
        recorded = store.load(self.state_file, SITE)
        return Counter(str(record.status) for _, _, record in (recorded.records() if recorded else ()))


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


# --- 1. kill -9 trials ------------------------------------------------------------------------------


def kill_trials(network: Network, trials: int, rng: random.Random, tally: Tally) -> None:
    print(f"kill -9 trials: {trials}")
    print(f"{'trial':>5}  {'changes':>7}  {'killed after':>12}  {'sent':>5}  {'repeated':>8}  outcome")
    for number in range(1, trials + 1):
        planned = network.flip_limits()
        before = network.commands()
        child = network.start(*network.apply)
        started_s = time.monotonic()
        # Kill only once sending has begun, at a random moment up to the apply's whole length (10/s).
        while network.commands() == before and child.running():
            if time.monotonic() - started_s > RUN_TIMEOUT_S:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0, planned / 10))
        child.kill()
        killed = child.finish()
        killed_s = time.monotonic() - started_s
        sent = network.commands() - before
        tally.saw(f"apply (killed) trial {number}", killed)
        tally.left_after_kill.update(_kinds(network.leftovers()))
        outcome = "converged"
        try:
            store.load(network.state_file, SITE)
        except Exception as err:  # noqa: BLE001 - whatever it is, the state is corrupt
            tally.corrupt.append(f"trial {number}: {err}")
            outcome = "CORRUPT"
        recovered = network.run(*network.apply)
        tally.saw(f"apply (recovery) trial {number}", recovered)
        tally.left_after_recovery.update(_kinds(network.leftovers()))
        problem = "the recovery apply exits " + str(recovered.code) if recovered.code != 0 else None
        problem = problem or network.converged(tally, f"trial {number}")
        if problem is not None:
            tally.non_converged.append(f"trial {number}: {problem}")
            outcome = f"NOT converged: {problem}"
        repeated = network.commands() - before - planned
        tally.repeated.append(repeated)
        tally.trials += 1
        print(f"{number:>5}  {planned:>7}  {killed_s:>10.2f} s  {sent:>5}  {repeated:>8}  {outcome}")
    tally.statuses.update(network.statuses())


def _kinds(names: Sequence[str]) -> list[str]:
    return ["lock file" if name.endswith(".lock") else "temporary file" for name in names]


# --- 2. the fault matrix ----------------------------------------------------------------------------


def fault_matrix(network: Network, stations: Sequence[str], tally: Tally, *, asynchronous: bool) -> None:
    station = stations[0]
    matrix: list[tuple[str, dict[str, Any], int]] = [
        ("429, Retry-After 1 s, 3 times", {"errors": [{"kind": 429, "times": 3, "retry_after_s": 1}]}, 0),
        ("503, 3 times", {"errors": [{"kind": 503, "times": 3}]}, 0),
        ("held past the timeout, once", {"errors": [{"kind": "timeout", "times": 1}], "hold_s": 25}, 0),
        ("connection dropped, twice", {"errors": [{"kind": "drop", "times": 2}]}, 1),
        ("station offline", {"offline": [station]}, 1),
        ("station rejects", {"reject": [station]}, 1),
    ]
    if asynchronous:
        # The refusal reaches the reconciler only by webhook, through a receiver and `--inbox`; apply
        # itself sees `requested`, and the records stay live while the charger holds nothing.
        matrix.pop()
        print("(station rejects: left out; without --synchronous only a webhook would carry the refusal)")
    print(f"\nfault matrix (station faults on {station})")
    print(f"{'fault':<32}  {'exit':>4}  {'expected':>8}  {'took':>7}  after lifting it")
    for name, faults, expected in matrix:
        network.flip_limits()
        network.faults(faults)
        under = network.run(*network.apply)
        tally.saw(f"apply (fault) {name}", under)
        network.faults({})
        if under.code != expected:
            tally.unexpected_exits.append(f"{name}: exit {under.code}, expected {expected}")
        # As an operator who has seen to the charger: its rejected sets now, not after the 1 h back-off.
        recovered = network.run(*network.apply, "--retry-rejected-after", "0s")
        tally.saw(f"apply (after fault) {name}", recovered)
        problem = f"the apply after exits {recovered.code}" if recovered.code != 0 else None
        problem = problem or network.converged(tally, name)
        if problem is not None:
            tally.non_converged.append(f"{name}: {problem}")
        verdict = "converged" if problem is None else f"NOT converged: {problem}"
        print(f"{name:<32}  {under.code!s:>4}  {expected:>8}  {under.wall_s:>5.1f} s  {verdict}")


# --- the report -------------------------------------------------------------------------------------


def report(tally: Tally) -> None:
    repeated = tally.repeated or [0]
    rows = (
        ("trials", f"{tally.trials}"),
        ("corrupt states", f"{len(tally.corrupt)}"),
        ("non-converged runs", f"{len(tally.non_converged)}"),
        (
            "repeated calls per crash",
            f"most {max(repeated)}, mean {statistics.mean(repeated):.2f}, "
            f"each: {' '.join(map(str, tally.repeated))}",
        ),
        ("tracebacks", f"{len(tally.tracebacks)}"),
        ("hangs", f"{len(tally.hangs)}"),
        ("unexpected exit codes", f"{len(tally.unexpected_exits)}"),
        ("left in .state after a kill", _counted(tally.left_after_kill, tally.trials)),
        ("left in .state after recovery", _counted(tally.left_after_recovery, tally.trials)),
        ("recorded statuses seen", ", ".join(f"{n} {s}" for s, n in sorted(tally.statuses.items())) or "-"),
        ("peak memory", ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in sorted(tally.peak_rss_kb.items()))),
    )
    print()
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for what in (
        *tally.corrupt,
        *tally.non_converged,
        *tally.tracebacks,
        *tally.hangs,
        *tally.unexpected_exits,
    ):
        print(f"  - {what}")
    targets = (
        ("0 corrupt states", not tally.corrupt),
        ("0 non-converged runs", not tally.non_converged),
        ("0 tracebacks", not tally.tracebacks),
        ("0 hangs", not tally.hangs),
        ("<= 1 repeated call per crash", max(repeated) <= 1),
    )
    for target, met in targets:
        print(f"target: {target}  ({'met' if met else 'NOT met'})")


def _counted(found: Counter[str], trials: int) -> str:
    return ", ".join(f"{n} {kind}(s) in {trials} trials" for kind, n in sorted(found.items())) or "nothing"


# --- the command ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20, help="kill -9 trials (default 20)")
    parser.add_argument("--fuzz", type=int, default=300, help="fuzz cases (default 300)")
    parser.add_argument("--stations", type=int, default=8, help="stations of the site (default 8)")
    parser.add_argument("--profiles", type=int, default=3, help="profiles per station (default 3)")
    parser.add_argument(
        "--latency-ms", type=int, default=50, help="the sandbox's answer time (default 50, as apply_bench)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="apply's --concurrency (default 16, its own default)"
    )
    parser.add_argument("--seed", type=int, default=1, help="for the kill moments and the fuzz (default 1)")
    parser.add_argument("--no-faults", action="store_true", help="skip the fault matrix")
    parser.add_argument(
        "--asynchronous",
        action="store_true",
        help="the sandbox answers as eDRV does, `requested`, the outcome going to webhooks (none here)",
    )
    args = parser.parse_args(argv)
    say_what_is_measured()
    tally = Tally()
    started_s = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
        directory = Path(tmp)
        stations = station_ids(args.stations)
        _, stations_file = write_network(directory, stations, args.profiles)
        flags = () if args.asynchronous else ("--synchronous",)
        with SandboxProcess(stations_file, args.latency_ms, directory, flags) as sandbox:
            answers = (
                "requested, the outcome later" if args.asynchronous else "with the outcome: --synchronous"
            )
            print(
                f"sandbox of {args.stations} stations x {args.profiles} profiles at {sandbox.api_url}, "
                f"answering after {args.latency_ms} ms ({answers}); "
                "apply at its default 10 calls/s, "
                f"--concurrency {args.concurrency}\n"
            )
            network = Network(directory, sandbox, args.concurrency)
            first = network.run(*network.apply)
            tally.saw("apply (first)", first)
            kill_trials(network, args.trials, random.Random(args.seed), tally)
            if not args.no_faults:
                fault_matrix(network, stations, tally, asynchronous=args.asynchronous)
        if args.fuzz:
            tracebacks, hangs = fuzz(args.fuzz, args.seed, directory, tally.saw)
            tally.tracebacks += tracebacks
            tally.hangs += hangs
    report(tally)
    print(f"\ntook {time.monotonic() - started_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
