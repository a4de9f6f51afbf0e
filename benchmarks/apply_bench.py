"""How close does `reconciler apply` come to the ideal pace against an eDRV that answers slowly?

Writes one site file of N stations x P new profiles (every profile one OCPP SetChargingProfile the
simulated chargers accept), starts `reconciler sandbox --stations FILE --latency-ms L` as a separate
process and waits until its charge points have booted, plans from no recorded state, and then times
the apply alone: the wall time of `apply_sites.apply_plans` (which records every intent, sends, and
returns after the last state write) through one `EdrvClient`, --repeat times, then reports the median
with its spread:

  1. with the client's default settings, those `reconciler apply` uses (10 calls per second with bursts
     of 10, 16 in flight): the ideal is the slower of what the rate limit allows ((changes - burst) /
     rate) and what concurrency and latency allow (changes / concurrency x latency), plus one answer's
     latency; the target is <= 1.3 x that ideal;
  2. the same with a raised rate (`--raised-rate`, as `apply --rate` sets it), where concurrency and
     latency bind, beside its ideal;
  3. once, the whole `reconciler apply --auto-approve` process as a user runs it, at its defaults,
     rendering included.

Per run it prints the wall time, its ratio to the ideal, the set/clear requests the sandbox counted
(target: exactly one per change; session lookups are counted apart and are zero here), and the CPU
time of this process and of the sandbox. The sandbox's latency is when each answer leaves, counted
from the request's arrival, so its own work (the OCPP round trip to a simulated charger) happens
within the 50 ms, as at a server answering after 50 ms. Each run plans against an empty state
directory of its own, so every run sends the same sets (the chargers replace each profile by its id).
A measurement, not a test: it exits 0 whatever the ratio, and non-zero only when a plan, an answer or
a request count is wrong.

    python benchmarks/apply_bench.py             # 1,000 changes: about 100 s a run at 10 calls/s
    python benchmarks/apply_bench.py --stations 200 --profiles 5 --latency-ms 50 --repeat 3
    python benchmarks/apply_bench.py --profile   # then cProfile one more apply's event loop thread
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

# Run as a script, this file's folder is on sys.path, and with it the other benchmarks' modules.
from measure import cli_run, say_what_is_measured

import reconciler
from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.plan.change import Action
from reconciler.plan.site import SitePlan
from reconciler.sandbox.config import DEFAULT_API_KEY
from reconciler.shell.apply import SiteResult
from reconciler.shell.apply_sites import apply_plans
from reconciler.shell.reconcile import plan_sites

TARGET_RATIO = 1.3
SITE = "apply-bench"
CONNECTORS = 2
FIRST_STACK_LEVEL = 11  # above eDRV's reserved 0-10
MAX_PROFILES_PER_STATION = 20  # the charger default for MaxChargingProfilesInstalled
_BOOT_TIMEOUT_S = 180.0  # hundreds of charge points boot on a busy two-core machine too
_READY_LINE = "eDRV API"  # the sandbox prints it once every charge point has booted
_DEFAULTS = EdrvSettings(api_key="-")  # what `reconciler apply` sends with unless told otherwise


@dataclass(frozen=True)
class Options:
    stations: int
    profiles: int
    latency_ms: int
    repeat: int
    raised_rate: float
    profile: bool


@dataclass(frozen=True)
class Run:
    wall_s: float
    client_cpu_s: float
    sandbox_cpu_s: float
    commands: int  # set + clear requests the sandbox counted
    sessions: int  # session lookups it counted


# --- the network ------------------------------------------------------------------------------------


def station_ids(count: int) -> list[str]:
    # Shaped like eDRV's 24-hex-digit ids; the leading letters keep YAML from reading one as a number.
    return [f"be{number:022x}" for number in range(1, count + 1)]


def _profile(index: int) -> str:
    """A daily default on connector 0, 1 or 2 in turn, each in a stack level of its own; 8-32 A."""
    return (
        f"      default-{index + 1}:\n"
        f"        description: Daily default {index + 1}\n"
        f"        connectorId: {index % (CONNECTORS + 1)}\n"
        f"        stackLevel: {FIRST_STACK_LEVEL + index}\n"
        "        chargingProfilePurpose: TxDefaultProfile\n"
        "        chargingProfileKind: Recurring\n"
        "        recurrencyKind: Daily\n"
        "        chargingSchedule:\n"
        "          startSchedule: 2026-01-01T00:00:00Z\n"
        "          duration: 86400\n"
        "          chargingRateUnit: A\n"
        "          chargingSchedulePeriod:\n"
        "            - {startPeriod: 0, limit: 32}\n"
        f"            - {{startPeriod: 25200, limit: {8 + index % 16}}}\n"
        "            - {startPeriod: 79200, limit: 32}\n"
    )


def write_network(directory: Path, stations: Sequence[str], profiles: int) -> tuple[Path, Path]:
    """The site file under `directory/desired` and the sandbox's stations file; their paths."""
    desired_dir = directory / "desired"
    desired_dir.mkdir()
    bodies = "".join(
        f"  {station_id}:\n"
        f"    connectors: {CONNECTORS}\n"
        "    rated_power_kw: 22\n"
        "    profiles:\n" + "".join(_profile(index) for index in range(profiles))
        for station_id in stations
    )
    site_text = (
        "# Generated by benchmarks/apply_bench.py\n"
        "site:\n"
        "  name: Apply benchmark depot\n"
        "  nominal_voltage_v: 230\n"
        "  timezone: UTC\n"
        "\n"
        "stations:\n" + bodies
    )
    (desired_dir / f"{SITE}.yaml").write_text(site_text, encoding="utf-8")
    stations_file = directory / "stations.yaml"
    listing = "".join(
        f"  {station_id}: {{connectors: {CONNECTORS}, rated_power_kw: 22, nominal_voltage_v: 230}}\n"
        for station_id in stations
    )
    stations_file.write_text("stations:\n" + listing, encoding="utf-8")
    return desired_dir, stations_file


# --- the sandbox process ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SandboxProcess:
    """`reconciler sandbox` in a child process; started on entry once booted, stopped on exit."""

    def __init__(
        self, stations_file: Path, latency_ms: int, log_dir: Path, flags: Sequence[str] = ()
    ) -> None:
        self.port, self.ocpp_port = _free_port(), _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self._out = log_dir / "sandbox.out"
        self._err = log_dir / "sandbox.err"
        self._command = [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "--stations",
            str(stations_file),
            "--port",
            str(self.port),
            "--ocpp-port",
            str(self.ocpp_port),
            "--latency-ms",
            str(latency_ms),
            *flags,
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SandboxProcess:
        # The child runs the reconciler this benchmark measures: `-m` looks in the working directory
        # first, then on PYTHONPATH.
        root = str(Path(reconciler.__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))),
        }
        with self._out.open("wb") as out, self._err.open("wb") as err:
            # Its log (one line per command) goes to a file: a pipe nobody reads would fill and stall it.
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, arguments of our own
                self._command, stdout=out, stderr=err, env=env, cwd=root
            )
        try:
            self._until_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is None:
            return
        self._process.terminate()  # SIGTERM: the sandbox stops its charge points and servers cleanly
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _until_ready(self) -> None:
        deadline = time.monotonic() + _BOOT_TIMEOUT_S
        assert self._process is not None
        while _READY_LINE not in self._out.read_text(encoding="utf-8", errors="replace"):
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = self._err.read_text(encoding="utf-8", errors="replace")[-2000:]
                sys.exit(f"the sandbox did not start ({' '.join(self._command)}):\n{tail}")
            time.sleep(0.1)

    def cpu_s(self) -> float:
        """User and system CPU seconds the sandbox process has used so far (Linux /proc)."""
        assert self._process is not None
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = httpx.get(f"{self.api_url}/_sandbox/stats").json()["requests"]
        return counts


# --- measuring --------------------------------------------------------------------------------------


def client_settings(api_url: str, rate_per_s: float | None = None) -> EdrvSettings:
    """The client's default settings (those of `reconciler apply`), with the rate raised if given."""
    if rate_per_s is None:
        return EdrvSettings(api_key=DEFAULT_API_KEY, api_url=api_url)
    # `apply --rate R` raises the rate alone; the burst stays the default.
    return EdrvSettings(api_key=DEFAULT_API_KEY, api_url=api_url, rate_per_s=rate_per_s)


def ideal_s(changes: int, latency_ms: int, settings: EdrvSettings) -> float:
    """The least time `changes` calls can take: the token bucket lets a burst go at once and the rest at
    its rate, at most `max_concurrent` are in flight at `latency_ms` each; the last answer adds one."""
    by_rate = max(0, changes - settings.burst) / settings.rate_per_s
    by_concurrency = changes / settings.max_concurrent * latency_ms / 1000
    return max(by_rate, by_concurrency) + latency_ms / 1000


def plan(
    options: Options, directory: Path, desired_dir: Path, number: int, now: datetime
) -> tuple[list[SitePlan], Path]:
    """Plans from an empty state directory of this run's own, checked to set every profile once."""
    state_dir = directory / f"state-{number}"
    plans = plan_sites(desired_dir, [], now, state_dir)
    changes = [c for p in plans for c in p.changes]
    expected = options.stations * options.profiles
    if len(changes) != expected or any(c.action is not Action.SET for c in changes):
        sys.exit(f"expected a plan of {expected} sets, got {len(changes)} change(s)")
    return plans, state_dir


async def _apply(
    plans: Sequence[SitePlan], settings: EdrvSettings, desired_dir: Path, state_dir: Path, now: datetime
) -> tuple[list[SiteResult], float, float]:
    async with EdrvClient(settings) as client:
        cpu_started_s, started_s = time.process_time(), time.perf_counter()
        results = await apply_plans(
            plans, client, desired_dir=desired_dir, state_dir=state_dir, now=now, source="the benchmark"
        )
        return results, time.perf_counter() - started_s, time.process_time() - cpu_started_s


def apply_once(
    options: Options,
    sandbox: SandboxProcess,
    directory: Path,
    desired_dir: Path,
    number: int,
    *,
    settings: EdrvSettings,
    profiler: cProfile.Profile | None = None,
) -> Run:
    """Plan from a fresh state directory, then apply through a new client; exits if anything went wrong."""
    now = datetime.now(UTC)
    plans, state_dir = plan(options, directory, desired_dir, number, now)
    changes = sum(len(p.changes) for p in plans)
    before, sandbox_before_s = sandbox.requests(), sandbox.cpu_s()
    if profiler is not None:
        profiler.enable()
    results, wall_s, client_cpu_s = asyncio.run(_apply(plans, settings, desired_dir, state_dir, now))
    if profiler is not None:
        profiler.disable()
    sandbox_cpu_s = sandbox.cpu_s() - sandbox_before_s
    after = sandbox.requests()
    sent = [s for r in results for s in r.sent]
    failed = [s for s in sent if not s.ok]
    if len(sent) != changes or failed:
        first = failed[0].error if failed else "none failed"
        sys.exit(f"sent {len(sent)} of {changes} change(s), {len(failed)} failed; first: {first}")

    def delta(*routes: str) -> int:
        return sum(after.get(r, 0) - before.get(r, 0) for r in routes)

    return Run(
        wall_s,
        client_cpu_s,
        sandbox_cpu_s,
        delta("set_charging_profile", "clear_charging_profile"),
        delta("sessions"),
    )


def cli_apply(sandbox: SandboxProcess, desired_dir: Path, directory: Path, changes: int) -> float:
    """The whole `reconciler apply --auto-approve` process at its defaults; its wall time."""
    before = sandbox.requests()
    env = {"EDRV_API_URL": sandbox.api_url, "EDRV_API_KEY": DEFAULT_API_KEY}
    state_dir = directory / "state-cli"
    process = cli_run(
        ["apply", "--auto-approve", "--desired", str(desired_dir), "--state-dir", str(state_dir)], env
    )
    after = sandbox.requests()
    sent = sum(after.get(r, 0) - before.get(r, 0) for r in ("set_charging_profile", "clear_charging_profile"))
    if sent != changes:
        sys.exit(f"`reconciler apply` sent {sent} calls for {changes} changes")
    return process.wall_s


def report(label: str, changes: int, ideal: float, runs: Sequence[Run]) -> float:
    """Print the runs of one setting and their median; the median's ratio to the ideal."""
    print(f"\n{label}: ideal {ideal:.2f} s")
    print(
        f"{'run':>6}  {'wall s':>7}  {'ratio':>6}  {'set+clear':>9}  {'sessions':>8}  "
        f"{'client CPU s':>12}  {'sandbox CPU s':>13}"
    )
    for number, run in enumerate(runs, start=1):
        print(
            f"{number:>6}  {run.wall_s:7.2f}  {run.wall_s / ideal:6.2f}  {run.commands:9d}  "
            f"{run.sessions:8d}  {run.client_cpu_s:12.2f}  {run.sandbox_cpu_s:13.2f}"
        )
    walls = [run.wall_s for run in runs]
    median_s = statistics.median(walls)
    ratio = median_s / ideal
    print(
        f"median {median_s:.2f} s (spread {min(walls):.2f}-{max(walls):.2f} s, {len(runs)} runs): "
        f"{ratio:.2f} x the ideal (target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    exact = all(run.commands == changes for run in runs)
    print(f"one set/clear request per change in every run: {'yes' if exact else 'NO'}")
    return ratio


def profile_apply(options: Options, sandbox: SandboxProcess, directory: Path, desired_dir: Path) -> None:
    profiler = cProfile.Profile()
    settings = client_settings(sandbox.api_url, options.raised_rate)
    apply_once(options, sandbox, directory, desired_dir, 0, settings=settings, profiler=profiler)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    for order in ("cumulative", "tottime"):
        # The state writer's thread is not profiled; its CPU shows in the runs' client CPU column.
        print(f"\n=== the client's event loop thread, top 25 by {order} ===")
        stats.sort_stats(order).print_stats(25)


# --- the command ------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=200, help="stations (default 200)")
    parser.add_argument("--profiles", type=int, default=5, help="new profiles per station (default 5)")
    parser.add_argument(
        "--latency-ms", type=int, default=50, help="the sandbox's delay of every answer (default 50)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="applies to time per setting (default 3)")
    parser.add_argument(
        "--raised-rate",
        type=float,
        default=1000.0,
        help="the second setting's rate, calls per s (default 1000: concurrency and latency bind)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="only cProfile the client's event loop thread in one apply"
    )
    args = parser.parse_args(argv)
    if min(args.stations, args.repeat) < 1 or args.latency_ms < 0 or args.raised_rate <= 0:
        parser.error("--stations and --repeat must be at least 1, --latency-ms at least 0, the rate above 0")
    if not 1 <= args.profiles <= MAX_PROFILES_PER_STATION:
        parser.error(
            f"--profiles must be 1-{MAX_PROFILES_PER_STATION} (the charger's MaxChargingProfilesInstalled)"
        )
    return Options(
        stations=int(args.stations),
        profiles=int(args.profiles),
        latency_ms=int(args.latency_ms),
        repeat=int(args.repeat),
        raised_rate=float(args.raised_rate),
        profile=bool(args.profile),
    )


def run(options: Options, directory: Path) -> None:
    say_what_is_measured()
    desired_dir, stations_file = write_network(directory, station_ids(options.stations), options.profiles)
    changes = options.stations * options.profiles
    started_s = time.perf_counter()
    with SandboxProcess(stations_file, options.latency_ms, directory) as sandbox:
        print(
            f"sandbox of {options.stations} stations at {sandbox.api_url}, {options.latency_ms} ms latency, "
            f"ready in {time.perf_counter() - started_s:.1f} s; {changes:,} changes per apply"
        )
        if options.profile:
            profile_apply(options, sandbox, directory, desired_dir)
            return
        number = 0
        for label, rate in (
            (f"client defaults: {_DEFAULTS.rate_per_s:g} calls/s, bursts of {_DEFAULTS.burst}", None),
            (f"raised rate: {options.raised_rate:g} calls/s (`apply --rate`)", options.raised_rate),
        ):
            settings = client_settings(sandbox.api_url, rate)
            runs = []
            for _ in range(options.repeat):
                number += 1
                runs.append(apply_once(options, sandbox, directory, desired_dir, number, settings=settings))
            report(
                f"{label}, {settings.max_concurrent} in flight",
                changes,
                ideal_s(changes, options.latency_ms, settings),
                runs,
            )
        cli_s = cli_apply(sandbox, desired_dir, directory, changes)
        ideal = ideal_s(changes, options.latency_ms, client_settings(sandbox.api_url))
        print(
            f"\nthe whole `reconciler apply --auto-approve` process at its defaults (rendering included): "
            f"{cli_s:.2f} s, {cli_s / ideal:.2f} x the ideal"
        )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    with tempfile.TemporaryDirectory(prefix="apply-bench-") as tmp:
        run(options, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
