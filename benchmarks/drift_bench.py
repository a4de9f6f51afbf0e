"""How close does `reconciler drift` come to the ideal pace against an eDRV that answers slowly?

Writes one site of N stations, each with a station cap and a default on connector 0 (so one composite
request per station is checked), starts `reconciler receive` and `reconciler sandbox --latency-ms L`
(webhooks to the receiver, eDRV-like: every answer `requested`, the schedule by webhook) as separate
processes, applies the site through the real client and folds the answers in (not timed), then times
`shell.drift.drift_sites` with the client's default settings (what `reconciler drift` uses: 10 calls per
second, 16 in flight), reading the answers from the receiver's inbox. Per run, then as a median with
the spread:

  requests sent (target: exactly one per station and connector checked), the wall time, the ideal
  ((requests - the client's burst) / rate, or requests / concurrency x latency, whichever binds, plus
  one answer's latency), and their ratio (target <= 1.3); every station must be found in sync.

Once more it runs the whole CLI process as a user does (`reconciler drift --inbox DB`), rendering
included. A measurement, not a test: it exits 0 whatever the ratio, and non-zero only when a count or a
verdict is wrong.

    python benchmarks/drift_bench.py                   # 500 stations, 50 ms, 3 runs
    python benchmarks/drift_bench.py --stations 100 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder is on sys.path, and with it the other benchmarks' modules.
from apply_bench import SandboxProcess, _free_port, station_ids
from validate_bench import say_what_is_measured

from reconciler.edrv.client import EdrvSettings
from reconciler.edrv.inbox import Inbox
from reconciler.ocpp.drift import Verdict
from reconciler.sandbox.config import DEFAULT_API_KEY
from reconciler.shell.apply_sites import apply_with_client
from reconciler.shell.drift import DriftSettings, drift_sites
from reconciler.shell.ingest import ingest
from reconciler.shell.reconcile import plan_sites

TARGET_RATIO = 1.3
SITE = "drift-bench"
SECRET = "drift-bench-secret"  # noqa: S105 - a loopback benchmark's own webhook secret
_SETUP_RATE_PER_S = 10_000.0

SITE_FILE = """\
site: {{name: Drift benchmark, nominal_voltage_v: 230}}
templates:
  cap:
    profile:
      connectorId: 0
      stackLevel: 20
      chargingProfilePurpose: ChargePointMaxProfile
      chargingProfileKind: Recurring
      recurrencyKind: Daily
      chargingSchedule:
        startSchedule: 2026-01-01T00:00:00Z
        chargingRateUnit: W
        chargingSchedulePeriod: [{{startPeriod: 0, limit: 22000}}, {{startPeriod: 25200, limit: 11000}}]
  share:
    profile:
      connectorId: 0
      stackLevel: 30
      chargingProfilePurpose: TxDefaultProfile
      chargingProfileKind: Absolute
      chargingSchedule:
        startSchedule: 2026-01-01T00:00:00Z
        chargingRateUnit: A
        chargingSchedulePeriod: [{{startPeriod: 0, limit: 16}}]
stations:
{stations}"""


@dataclass(frozen=True)
class Options:
    stations: int
    latency_ms: int
    repeat: int


@dataclass(frozen=True)
class Run:
    wall_s: float
    requests: int


class ReceiverProcess:
    """`reconciler receive` in a child process, writing the inbox at `db`."""

    def __init__(self, db: Path, log_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/edrv"
        self._db, self._log = db, log_dir / "receiver.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ReceiverProcess:
        command = [
            sys.executable,
            "-m",
            "reconciler",
            "receive",
            "--db",
            str(self._db),
            "--port",
            str(self.port),
        ]
        env = {**os.environ, "EDRV_WEBHOOK_SECRET": SECRET}
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=log, env=env)  # noqa: S603
        deadline = time.monotonic() + 30
        while b"Health " not in self._log.read_bytes():
            if self._process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the receiver did not start:\n{self._log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)


def write_site(directory: Path, stations: Sequence[str]) -> Path:
    desired = directory / "desired"
    desired.mkdir()
    body = "".join(f"  {s}: {{connectors: 2, rated_power_kw: 22}}\n" for s in stations)
    (desired / f"{SITE}.yaml").write_text(SITE_FILE.format(stations=body), encoding="utf-8")
    stations_file = directory / "stations.yaml"
    stations_file.write_text(
        "stations:\n" + "".join(f"  {s}: {{connectors: 2, rated_power_kw: 22}}\n" for s in stations),
        encoding="utf-8",
    )
    return desired


def setup(desired: Path, api_url: str, db: Path, now: datetime) -> None:
    """Apply the site fast (not timed) and fold the chargers' answers in."""
    settings = EdrvSettings(
        api_key=DEFAULT_API_KEY, api_url=api_url, rate_per_s=_SETUP_RATE_PER_S, burst=1000
    )
    plans = plan_sites(desired, [SITE], now)
    apply_with_client(plans, settings, desired_dir=desired, state_dir=None, now=now, source="the plan")
    time.sleep(2)  # the webhooks of the last answers
    with Inbox(db) as reader:
        ingest(reader, desired, [SITE], None, now=now)


def drift_once(desired: Path, api_url: str, db: Path, sandbox: SandboxProcess, stations: int) -> Run:
    settings = EdrvSettings(api_key=DEFAULT_API_KEY, api_url=api_url)  # the defaults `reconciler drift` uses
    before = sandbox.requests().get("get_composite_schedule", 0)
    with Inbox(db) as reader:
        started = time.perf_counter()
        found = drift_sites(desired, [SITE], datetime.now(UTC), settings, reader, settings=DriftSettings())
        wall_s = time.perf_counter() - started
    results = [s for site in found for s in site.stations]
    if len(results) != stations or {s.verdict for s in results} != {Verdict.IN_SYNC}:
        sys.exit(
            f"expected {stations} stations in sync, got "
            f"{[(s.target.station_id, s.verdict) for s in results][:5]}"
        )
    return Run(wall_s, sandbox.requests()["get_composite_schedule"] - before)


def cli_once(desired: Path, api_url: str, db: Path) -> float:
    env = {**os.environ, "EDRV_API_URL": api_url, "EDRV_API_KEY": DEFAULT_API_KEY}
    command = [sys.executable, "-m", "reconciler", "drift", "--desired", str(desired), "--inbox", str(db)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"reconciler drift exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall_s


def ideal_s(requests: int, latency_ms: int) -> float:
    defaults = EdrvSettings(api_key="-")
    # The token bucket lets a burst go at once; the rest leave at the rate.
    by_rate = max(0, requests - defaults.burst) / defaults.rate_per_s
    by_concurrency = requests / defaults.max_concurrent * latency_ms / 1000
    return max(by_rate, by_concurrency) + latency_ms / 1000


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    found = parser.parse_args(argv)
    return Options(found.stations, found.latency_ms, found.repeat)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    say_what_is_measured()
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as scratch:
        directory = Path(scratch)
        stations = station_ids(options.stations)
        desired = write_site(directory, stations)
        db = directory / "inbox.sqlite3"
        with (
            ReceiverProcess(db, directory) as receiver,
            SandboxProcess(
                directory / "stations.yaml",
                options.latency_ms,
                directory,
                ("--webhook-url", receiver.url, "--webhook-secret", SECRET),
            ) as sandbox,
        ):
            setup(desired, sandbox.api_url, db, datetime.now(UTC))
            runs = [
                drift_once(desired, sandbox.api_url, db, sandbox, options.stations)
                for _ in range(options.repeat)
            ]
            cli_s = cli_once(desired, sandbox.api_url, db)
    defaults = EdrvSettings(api_key="-")
    requests = runs[0].requests
    ideal = ideal_s(requests, options.latency_ms)
    walls = [r.wall_s for r in runs]
    print(
        f"{options.stations} stations, latency {options.latency_ms} ms, client defaults: "
        f"{defaults.rate_per_s:g} calls/s, {defaults.max_concurrent} in flight"
    )
    for number, run in enumerate(runs, 1):
        print(f"  run {number}: {run.wall_s:.2f} s, {run.requests} composite requests")
    median = statistics.median(walls)
    print(
        f"drift: median {median:.2f} s (spread {min(walls):.2f}-{max(walls):.2f} s) against an ideal of "
        f"{ideal:.2f} s: {median / ideal:.2f}x (target <= {TARGET_RATIO})"
    )
    per_station = {r.requests for r in runs}
    print(
        f"composite requests per run: {sorted(per_station)} for {options.stations} stations with one "
        "connector checked each (target: exactly one per station and connector)"
    )
    print(f"the whole CLI process (`reconciler drift --inbox DB`, rendering included): {cli_s:.2f} s")
    if per_station != {options.stations}:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
