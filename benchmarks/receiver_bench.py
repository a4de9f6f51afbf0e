"""How fast does the webhook receiver take eDRV's deliveries, and how long does ingest take to fold them?

Two measurements, each repeated (--repeat, default 3) and reported as the median with the spread (the
lowest and highest run):

  a. receiver: `reconciler receive` started as an operator starts it (its own process, a fresh inbox,
     the defaults: v1 signature checks, SQLite in WAL mode with synchronous=FULL, JSON logs to a file),
     and --senders concurrent senders on loopback POSTing --posts signed action events as eDRV does
     (after --warmup first). Reported: verified events per second (all answered 200 and every one
     found in the inbox afterwards) and the p50 and p99 latency of a delivery, request sent to answer
     read. Beside it, the same senders against the fastest honest baseline: a bare aiohttp server that
     reads each body and answers 200, verifying and storing nothing. The senders share the machine
     with the server (2 cores here), as eDRV's deliveries would not, so the figures are a floor.
  b. ingest: the network of `validate_bench.py` (2,000 sites x 10 stations x 5 profiles) recorded as
     applied with every set `requested` under an eDRV-like action id, and an inbox of --events events
     (the answer to every set, 1% of them rejections, the rest `.requested` events as eDRV also
     sends); then `reconciler ingest` (shell.ingest.ingest, from the database, writing every site's
     state) beside a no-op plan of the same network (reconcile.plan_sites), the state restored before
     each ingest. It must fold every answer, and the plan must have no change.

Targets: >= 2,000 verified events/s with p99 <= 25 ms; ingest <= 1.2 x the no-op plan. A measurement,
not a test: it exits 0 whatever the figures, and non-zero only when something went wrong (a refused
delivery, an event missing from the inbox, an answer not folded, a plan with changes).

    python benchmarks/receiver_bench.py                        # both
    python benchmarks/receiver_bench.py --only receiver --posts 20000 --senders 32
    python benchmarks/receiver_bench.py --only ingest --sites 200 --keep /tmp/net
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

# Run as a script, this file's folder is on sys.path, and with it the generator's module.
from validate_bench import generate, say_what_is_measured

from reconciler.desired.loader import load
from reconciler.edrv.inbox import Inbox
from reconciler.edrv.webhook import parse_event, sign_v1
from reconciler.plan.outcome import record_change
from reconciler.plan.site import build
from reconciler.shell.ingest import ingest
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState, Status

EVENTS_PER_S_TARGET = 2000
P99_TARGET_MS = 25.0
INGEST_TARGET = 1.2
SECRET = "whsec-benchmark-0123456789abcdef"  # noqa: S105 - a made-up secret for loopback
REJECTED_EVERY = 100  # 1% of the answers are rejections
_START_S = 60.0


@dataclass(frozen=True)
class Options:
    only: str | None
    posts: int
    warmup: int
    senders: int
    repeat: int
    sites: int
    stations: int
    profiles: int
    events: int
    keep: Path | None


@dataclass(frozen=True)
class Run:
    events_per_s: float
    p50_ms: float
    p99_ms: float


def _spread(values: Sequence[float], unit: str, digits: int = 0) -> str:
    return (
        f"{statistics.median(values):,.{digits}f} {unit} "
        f"(runs {min(values):,.{digits}f} to {max(values):,.{digits}f})"
    )


# --- a. the receiver -----------------------------------------------------------------------------


def _action_event(event_id: str, action_id: str, station: str, outcome: str) -> bytes:
    """An action event shaped as eDRV sends one (the Action as `data`), some 600 bytes."""
    status = "completed" if outcome == "accepted" else "failed"
    answer = {"status": "Accepted" if outcome == "accepted" else "Rejected"}
    document = {
        "_id": event_id,
        "object": "action",
        "type": f"chargestation.set_charging_profile.{outcome}",
        "createdAt": "2026-11-23T12:00:02.000Z",
        "data": {
            "_id": action_id,
            "type": "chargestation.set_charging_profile",
            "status": status,
            "chargestation": station,
            "data": {
                "connectorId": 1,
                "csChargingProfiles": {
                    "chargingProfileId": 12,
                    "stackLevel": 20,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Recurring",
                    "recurrencyKind": "Daily",
                    "chargingSchedule": {
                        "startSchedule": "2026-01-01T00:00:00Z",
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
                    },
                },
            },
            "response_data": answer,
            "createdAt": "2026-11-23T12:00:01.000Z",
            "updatedAt": "2026-11-23T12:00:02.000Z",
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _start(command: list[str], out: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with out.open("w") as stdout, (out.with_suffix(".log")).open("w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)  # noqa: S603 - our own command
    deadline = time.monotonic() + _START_S
    while not (found := re.search(r"(http://127\.0\.0\.1:\d+)", out.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{command[2:4]} did not start: {out.read_text()}")
        time.sleep(0.05)
    return process, found.group(1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _send(url: str, deliveries: Sequence[tuple[bytes, str]], senders: int) -> Run:
    """POST every delivery with `senders` at once; refuse to report when any is not answered 200."""
    latencies: list[float] = []
    refused: list[int] = []
    queue = iter(deliveries)
    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            for body, signature in queue:
                started = time.perf_counter()
                headers = {"Content-Type": "application/json", "edrv-signature": signature}
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 200:
                        refused.append(answer.status)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(senders)))
        elapsed = time.perf_counter() - started
    if refused:
        sys.exit(f"{len(refused)} deliveries were refused, e.g. HTTP {refused[0]}")
    latencies.sort()
    return Run(
        len(deliveries) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


def _deliveries(prefix: str, count: int) -> list[tuple[bytes, str]]:
    now = int(time.time())
    out = []
    for number in range(count):
        body = _action_event(
            f"{prefix}-{number:08d}", f"{prefix}-a{number:07d}", f"CP-{number % 500}", "accepted"
        )
        out.append((body, sign_v1(SECRET, now, body)))
    return out


def measure_receiver(options: Options, root: Path) -> None:
    env = {**os.environ, "EDRV_WEBHOOK_SECRET": SECRET}
    runs: list[Run] = []
    baseline: list[Run] = []
    bytes_per_event = 0.0
    for attempt in range(options.repeat):
        db = root / f"inbox-{attempt}.sqlite3"
        command = [sys.executable, "-m", "reconciler", "receive", "--db", str(db), "--port", "0"]
        process, url = _start(command, root / f"receive-{attempt}.out", env)
        try:
            asyncio.run(
                _send(url + "/webhooks/edrv", _deliveries(f"w{attempt}", options.warmup), options.senders)
            )
            deliveries = _deliveries(f"r{attempt}", options.posts)
            runs.append(asyncio.run(_send(url + "/webhooks/edrv", deliveries, options.senders)))
        finally:
            _stop(process)
        with Inbox(db) as inbox:
            stored = inbox.count()
        if stored != options.warmup + options.posts:
            sys.exit(
                f"the inbox holds {stored} events, not the {options.warmup + options.posts} answered 200"
            )
        bytes_per_event = sum(p.stat().st_size for p in root.glob(f"inbox-{attempt}.sqlite3*")) / stored
        process, url = _start([sys.executable, __file__, "--null-server"], root / f"null-{attempt}.out", env)
        try:
            asyncio.run(_send(url + "/", _deliveries(f"nw{attempt}", options.warmup), options.senders))
            baseline.append(
                asyncio.run(_send(url + "/", _deliveries(f"n{attempt}", options.posts), options.senders))
            )
        finally:
            _stop(process)
    rows = (
        (
            "deliveries per run",
            f"{options.posts:,} after {options.warmup:,} to warm up, {options.senders} senders",
        ),
        ("receiver: events/s", _spread([r.events_per_s for r in runs], "/s")),
        ("receiver: p50 latency", _spread([r.p50_ms for r in runs], "ms", 2)),
        ("receiver: p99 latency", _spread([r.p99_ms for r in runs], "ms", 2)),
        ("bare aiohttp: events/s", _spread([r.events_per_s for r in baseline], "/s")),
        ("bare aiohttp: p99 latency", _spread([r.p99_ms for r in baseline], "ms", 2)),
        ("inbox size", f"{bytes_per_event:,.0f} bytes per event (database and WAL)"),
    )
    _table(rows)
    rate = statistics.median(r.events_per_s for r in runs)
    p99 = statistics.median(r.p99_ms for r in runs)
    _verdict(f"events/s >= {EVENTS_PER_S_TARGET:,}", rate >= EVENTS_PER_S_TARGET)
    _verdict(f"p99 <= {P99_TARGET_MS:g} ms", p99 <= P99_TARGET_MS)


def _null_server() -> None:
    """The baseline: aiohttp reading each body and answering 200; no check, no storage, no log."""

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(f"listening http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


# --- b. ingest -------------------------------------------------------------------------------------


def record_requested(desired_dir: Path, now: datetime) -> int:
    """Each site's state as if applied with eDRV's answer to every set still `requested`; the count."""
    loaded = load([desired_dir], now)
    if loaded.problems:
        sys.exit(f"the generated network has {len(loaded.problems)} problem(s), e.g. {loaded.problems[0]}")
    number = 0
    for site in loaded.sites:
        state = RecordedState.new(site.site_id)
        for change in build(site.site_id, site, None, now).changes:
            number += 1
            state = record_change(state, change, Status.REQUESTED, now, action_id=f"{number:024x}")
        path = store.state_path(desired_dir, site.site_id)
        path.unlink(missing_ok=True)
        store.save(path, state, None)
    return number


def fill_inbox(db: Path, desired_dir: Path, events: int) -> tuple[int, int]:
    """The answer to every recorded set (1% rejected), then `.requested` events up to `events`."""
    answers: list[tuple[bytes, str, str, str]] = []
    for path in sorted(store.state_path(desired_dir, "x").parent.glob("*.json")):
        state = store.load(path, path.stem)
        if state is None:
            continue
        for station_id, _, record in state.records():
            action = record.action_id or ""
            outcome = "rejected" if int(action, 16) % REJECTED_EVERY == 0 else "accepted"
            answers.append((b"", action, station_id, outcome))
    filler = max(0, events - len(answers))
    rows = [(a, s, o) for _, a, s, o in answers] + [
        (answers[i % len(answers)][1], answers[i % len(answers)][2], "requested") for i in range(filler)
    ]
    with Inbox(db, create=True) as inbox:
        for start in range(0, len(rows), 5000):
            batch = []
            for offset, (action, station, outcome) in enumerate(rows[start : start + 5000]):
                body = _action_event(f"e{start + offset:023x}", action, station, outcome)
                batch.append((parse_event(body), body))
            inbox.store(batch, time.time())
    rejected = sum(o == "rejected" for _, _, _, o in answers)
    return len(answers), rejected


def measure_ingest(options: Options, root: Path) -> None:
    now = datetime.now(UTC)
    desired_dir = root / "desired"
    desired_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generate(desired_dir, options.sites, options.stations, options.profiles)
    records = record_requested(desired_dir, now)
    state_dir = store.state_path(desired_dir, "x").parent
    pristine = root / "state-requested"
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(state_dir, pristine)
    db = root / "inbox.sqlite3"
    for stale in root.glob("inbox.sqlite3*"):
        stale.unlink()
    answers, rejected = fill_inbox(db, desired_dir, options.events)
    with Inbox(db) as inbox:
        stored = inbox.count()
    print(
        f"generated {options.sites:,} sites, {records:,} records awaiting an answer and an inbox of "
        f"{stored:,} events ({answers:,} answers, {rejected:,} of them rejections) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    sites = sorted(p.stem for p in state_dir.glob("*.json"))

    def plan() -> None:
        changes = sum(len(p.changes) for p in plan_sites(desired_dir, [], now))
        if changes:
            sys.exit(f"the no-op plan has {changes} change(s)")

    def fold() -> None:
        with Inbox(db) as inbox:
            report = ingest(inbox, desired_dir, sites, None, now=now)
        folded = sum(len(s.folded) for s in report.sites)
        if folded != answers:
            sys.exit(f"ingest folded {folded} answers, not {answers}")

    def restore() -> None:
        shutil.rmtree(state_dir)
        shutil.copytree(pristine, state_dir)

    plan_s, ingest_s = _timed_in_turns(options.repeat, plan, fold, restore)
    ratios = [i / p for i, p in zip(ingest_s, plan_s, strict=True)]
    _table(
        (
            ("no-op plan (plan_sites)", _spread(plan_s, "s", 2)),
            ("ingest (shell.ingest)", _spread(ingest_s, "s", 2)),
            ("per answer folded", f"{statistics.median(ingest_s) / answers * 1e6:.1f} µs"),
            ("ratio ingest/no-op plan", _spread(ratios, "", 2)),
        )
    )
    _verdict(f"ingest/no-op plan <= {INGEST_TARGET}", statistics.median(ratios) <= INGEST_TARGET)


def _timed_in_turns(
    repeat: int, plan: Callable[[], None], fold: Callable[[], None], restore: Callable[[], None]
) -> tuple[list[float], list[float]]:
    """Plan and ingest in turns, so that a busy spell of the machine slows both alike; each starts
    from the state as applied, every answer awaited."""
    plan_s, ingest_s = [], []
    for _ in range(repeat):
        restore()
        started = time.perf_counter()
        plan()
        plan_s.append(time.perf_counter() - started)
        restore()
        started = time.perf_counter()
        fold()
        ingest_s.append(time.perf_counter() - started)
    restore()
    return plan_s, ingest_s


# --- the command ------------------------------------------------------------------------------------


def _table(rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def _verdict(target: str, met: bool) -> None:
    print(f"target: {target}  ({'met' if met else 'NOT met'})")


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["receiver", "ingest"], default=None, help="one measurement only")
    parser.add_argument("--posts", type=int, default=20_000, help="deliveries per run (default 20000)")
    parser.add_argument("--warmup", type=int, default=1000, help="deliveries before each run (default 1000)")
    parser.add_argument("--senders", type=int, default=32, help="concurrent senders (default 32)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--sites", type=int, default=2000, help="sites of the ingest network (default 2000)")
    parser.add_argument("--stations", type=int, default=10, help="stations per site (default 10)")
    parser.add_argument("--profiles", type=int, default=5, help="profiles per station (default 5)")
    parser.add_argument("--events", type=int, default=100_000, help="events in the inbox (default 100000)")
    parser.add_argument("--keep", type=Path, default=None, help="work in DIR and leave it")
    parser.add_argument("--null-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.null_server:
        _null_server()
        sys.exit(0)
    if min(args.posts, args.senders, args.repeat, args.sites, args.stations, args.profiles) < 1:
        parser.error("counts must be at least 1")
    return Options(
        args.only,
        args.posts,
        args.warmup,
        args.senders,
        args.repeat,
        args.sites,
        args.stations,
        args.profiles,
        args.events,
        args.keep,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    say_what_is_measured()

    def work(root: Path) -> None:
        if options.only in (None, "receiver"):
            print("\n== receiver ==")
            measure_receiver(options, root)
        if options.only in (None, "ingest"):
            print("\n== ingest ==")
            measure_ingest(options, root)

    if options.keep is not None:
        options.keep.mkdir(parents=True, exist_ok=True)
        work(options.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="receiver-bench-") as tmp:
            work(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
