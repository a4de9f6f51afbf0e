"""The fuzz part of `chaos_bench.py`, and the child processes both its parts run commands in.

`fuzz` starts a worker (this file run with `--worker`) that puts mutated inputs (`tests/mutations.py`)
through the CLI in process, each under an alarm, the worker under an address-space limit, and reports
exit codes, tracebacks and hangs as one line of JSON. Then each named hostile input (an alias bomb,
nesting past libyaml's limit, a site file at the size bound, the most profiles a site's templates may
place, a sparse 10 GB file, templates of 96 periods on 1,000 stations, 30 connectors of 1,000 periods
(alone and behind a grid limit the grid guard sums them against, over a day or a week), first and with
every limit changed (as text and as JSON), a state file nested 100,000 deep, a valid state file at its size
bound, 5,000 records on one station, one record of a day of one-second periods cleared, 100 records of
short slots cleared, 5,000 profiles of 96 periods recorded and every limit changed, as text, as JSON and
as the GitHub action plans it) runs alone in a `reconciler` process of its own, three times, for its wall time
(median and spread) and peak memory beside a valid site file's.

`Child` runs a command in a process of its own and reads how it ended: exit code, output, wall time,
peak memory (VmHWM, read while it runs), and whether it had to be killed as hung.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder is on sys.path, and with it the other benchmarks' modules.
from plan_bench import record_everything

import reconciler
from reconciler.ocpp.profile import Purpose, format_timestamp
from reconciler.state import store
from reconciler.state.recorded import ProfileRecord, RecordedState, StationRecord, Status, payload_hash

ROOT = Path(reconciler.__file__).resolve().parent.parent
RUN_TIMEOUT_S = 180.0  # a command still running after this long has hung
FUZZ_ALARM_S = 10
FUZZ_ADDRESS_SPACE = 4 * 1024**3
NAMED_RUNS = 3
NAMED_NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)  # the moment every named input is checked at


@dataclass(frozen=True)
class Finished:
    """How a child process ended: its exit code (None if killed or hung), output, time and peak memory."""

    code: int | None
    out: str
    err: str
    wall_s: float
    rss_kb: int
    hung: bool = False


class Child:
    """A command started in a process of its own, its output going to files."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.out, self.err = log.with_suffix(".out"), log.with_suffix(".err")
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, arguments of our own
                [sys.executable, *argv], stdout=out, stderr=err, env=env, cwd=ROOT
            )

    def kill(self) -> None:
        # Not Popen.send_signal, which reaps a child that has already ended (and its resource usage).
        if self.running():
            os.kill(self.process.pid, signal.SIGKILL)

    def running(self) -> bool:
        """Whether it still runs, without reaping it (`finish` reads its resource usage when reaping)."""
        return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None

    def finish(self, timeout_s: float = RUN_TIMEOUT_S) -> Finished:
        """Wait for it (killing it after `timeout_s`: a hang); its exit, output, time and peak memory."""
        started_s = time.monotonic()
        hung = False
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _peak_kb(self.process.pid))
            pid, status, _ = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started_s > timeout_s:
                hung = True
                os.kill(self.process.pid, signal.SIGKILL)
                _, status, _ = os.wait4(self.process.pid, 0)
                break
            time.sleep(0.01)
        wall_s = time.monotonic() - started_s  # before its output is read: hundreds of MB, at times
        code = os.waitstatus_to_exitcode(status)
        self.process.returncode = code
        out, err = self.out.read_text(errors="replace"), self.err.read_text(errors="replace")
        # Gone once read, so that the disk does not write out hundreds of MB behind the next command timed.
        self.out.unlink()
        self.err.unlink()
        return Finished(None if hung or code < 0 else code, out, err, wall_s, peak_kb, hung)


def _peak_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), 0 once it has ended.

    Read while it runs: a child's `ru_maxrss` would count the copy of this process it began as.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def fuzz_worker(cases: int, seed: int, directory: Path) -> dict[str, Any]:
    """Run in a child process: `cases` mutated inputs through the CLI in process; a summary."""
    sys.path.insert(0, str(ROOT))
    from tests import mutations  # noqa: PLC0415 - only the worker needs the test helpers

    resource.setrlimit(resource.RLIMIT_AS, (FUZZ_ADDRESS_SPACE, FUZZ_ADDRESS_SPACE))
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    stamp = "2026-11-23T12:00:00Z"
    base = mutations.prepare_network(directory / "base", ROOT / "desired", now)
    os.environ.update(EDRV_API_KEY="a-key-of-no-account", EDRV_API_URL="http://127.0.0.1:9")
    os.environ.pop("GITHUB_ACTIONS", None)
    sites = sorted(p.stem for p in (base / "desired").glob("*.yaml"))

    def alarm(*_: object) -> None:
        raise TimeoutError("hung")

    signal.signal(signal.SIGALRM, alarm)
    codes: Counter[str] = Counter()
    tracebacks: list[str] = []
    hangs: list[str] = []
    slowest = (0.0, "")
    for case in range(cases):
        rng = random.Random(seed * 1_000_003 + case)
        work = directory / "case"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(base, work)
        site = rng.choice(sites)
        kind, runs = _fuzz_case(rng, case % 5, work=work, site=site, stamp=stamp, mutations=mutations)
        for argv in runs:
            started_s = time.perf_counter()
            signal.alarm(FUZZ_ALARM_S)
            try:
                code = mutations.exit_code(argv)
                codes[str(code)] += 1
            except TimeoutError:
                hangs.append(f"{kind}: {' '.join(argv[:2])}")
            except BaseException as err:  # noqa: BLE001 - a traceback is what is counted
                frame = traceback.extract_tb(err.__traceback__)[-1]
                where = f"{Path(frame.filename).name}:{frame.lineno}"
                tracebacks.append(f"{kind} {argv[0]}: {type(err).__name__} at {where}: {str(err)[:120]}")
            finally:
                signal.alarm(0)
            took_s = time.perf_counter() - started_s
            if took_s > slowest[0]:
                slowest = (took_s, f"{kind}: {argv[0]}")
    return {
        "cases": cases,
        "codes": dict(codes),
        "tracebacks": tracebacks,
        "hangs": hangs,
        "slowest_s": slowest[0],
        "slowest": slowest[1],
    }


def _fuzz_case(
    rng: random.Random, which: int, *, work: Path, site: str, stamp: str, mutations: Any
) -> tuple[str, list[list[str]]]:
    """One case: which input is mutated (`which` of the five kinds), and the commands to run on it."""
    desired = work / "desired"
    kind = ("site file", "state file", "saved plan", "key file", "flags")[which]
    base = ["--desired", str(desired)]
    if kind == "site file":
        path = desired / f"{site}.yaml"
        path.write_text(mutations.mutate_yaml(path.read_text(), rng))
        return kind, [
            ["validate", str(path), "--now", stamp],
            ["plan", *base, "--now", stamp],
            ["payloads", site, *base],
        ]
    if kind == "state file":
        path = store.state_path(desired, site)
        path.write_text(mutations.mutate_state(path.read_text(), rng))
        return kind, [
            ["plan", *base, "--force", "--now", stamp, "--format", rng.choice(["text", "json", "markdown"])],
            ["state", "show", site, *base],
        ]
    if kind == "saved plan":
        path = work / "plan.json"
        path.write_text(mutations.mutate_plan(path.read_text(), rng))
        return kind, [["apply", *base, "--plan", str(path)]]  # no terminal, no --auto-approve: sends nothing
    if kind == "key file":
        (work / "key").write_bytes(rng.randbytes(rng.choice([0, 8, 40, 5000])))
        return kind, [["apply", *base, "--key-file", str(work / "key")]]
    flags: dict[str, tuple[str, ...]] = mutations.FLAGS
    command = rng.choice(sorted(flags))
    argv = [command, *([site] if command == "schedule" else []), *base]
    for flag in rng.sample(flags[command], rng.randint(1, len(flags[command]))):
        argv += [flag, rng.choice(mutations.FLAG_VALUES)]
    return kind, [argv]


def named_inputs(directory: Path) -> list[tuple[str, list[str]]]:
    """Hostile inputs written out, each with the `reconciler` command that reads it; a valid file first."""
    made = directory / "named"
    made.mkdir()
    profile = (
        "{connectorId: 0, stackLevel: %d, chargingProfilePurpose: TxDefaultProfile, "
        "chargingProfileKind: Relative, "
        "chargingSchedule: {chargingRateUnit: A, chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]}}"
    )

    def site(name: str, text: str) -> Path:
        path = made / name / f"{name}.yaml"
        path.parent.mkdir()
        path.write_text(text)
        return path

    bomb = 'l0: &l0 ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)
    )
    written = "site: {name: Written out}\nstations:\n" + "".join(
        f"  S{i}:\n    connectors: 1\n    rated_power_kw: 22\n    profiles:\n"
        + "".join(f"      p{j}: {profile % (11 + j)}\n" for j in range(5))
        for i in range(10_000)
    )
    written = written[: written.rfind("\n  S", 0, 999_000)] + "\n"
    amplified = (
        "site: {name: Amplified}\ntemplates:\n"
        + "".join(f"  t{j}:\n    profile: {profile % (11 + j)}\n" for j in range(5))
        + "stations:\n"
        + "".join(f"  S{i}: {{connectors: 1, rated_power_kw: 22}}\n" for i in range(1000))
    )
    daily = (
        "{connectorId: %d, stackLevel: %d, chargingProfilePurpose: TxDefaultProfile, chargingProfileKind: "
        "Recurring, recurrencyKind: Daily, chargingSchedule: {startSchedule: 2026-01-01T00:00:%02dZ, "
        "duration: 86400, chargingRateUnit: A, chargingSchedulePeriod: [%s]}}"
    )

    def periods(count: int, step_s: int, lowest: int = 6, shift: int = 0) -> str:
        return ", ".join(
            f"{{startPeriod: {n * step_s}, limit: {lowest + (n + shift) % 20}}}" for n in range(count)
        )

    def tariffs_over(templates: int, lowest: int = 6) -> str:
        """`templates` daily tariffs of 96 quarter hours placed on each of 1,000 stations."""
        return (
            "site: {name: Tariffs}\ntemplates:\n"
            + "".join(
                f"  t{j}:\n    profile: {daily % (1, 20 + j, j, periods(96, 900, lowest))}\n"
                for j in range(templates)
            )
            + "stations:\n"
            + "".join(
                f"  S{i}: {{connectors: 1, rated_power_kw: 22, ocpp: {{ChargingScheduleMaxPeriods: 96}}}}\n"
                for i in range(1000)
            )
        )

    tariffs = tariffs_over(2)

    def spread_over(lowest: int) -> str:
        return (
            "site: {name: Spread}\nstations:\n  S1:\n    connectors: 30\n    rated_power_kw: 500\n"
            "    ocpp: {ChargingScheduleMaxPeriods: 1000, MaxChargingProfilesInstalled: 100}\n    profiles:\n"
            + "".join(f"      p{j}: {daily % (j + 1, 20, j, periods(1000, 60, lowest))}\n" for j in range(30))
        )

    spread = spread_over(6)

    def behind_grid(weekly: bool) -> str:
        """30 connectors of minute tariffs in turns (each its own phase), within a grid limit their peaks
        together exceed: the grid guard sums the station's total, over a day, or a week when one of the
        profiles recurs weekly (with no duration: its last period holds until the next week)."""
        profiles = [daily % (j + 1, 20, j, periods(1000, 60, shift=7 * j)) for j in range(30)]
        if weekly:
            profiles[0] = profiles[0].replace("Daily", "Weekly").replace("duration: 86400, ", "")
        return (
            "site: {name: Grid, grid_limit_kw: 400}\nstations:\n  S1:\n    connectors: 30\n"
            "    rated_power_kw: 600\n"
            "    ocpp: {ChargingScheduleMaxPeriods: 1000, MaxChargingProfilesInstalled: 100}\n    profiles:\n"
            + "".join(f"      p{j}: {profile}\n" for j, profile in enumerate(profiles))
        )

    sparse = made / "sparse" / "sparse.yaml"
    sparse.parent.mkdir()
    with sparse.open("wb") as handle:
        handle.truncate(10 * 1024**3)
    cases = [
        (
            "a valid site file (harbour-depot)",
            site("valid", (ROOT / "desired" / "harbour-depot.yaml").read_text()),
        ),
        (
            "alias bomb: 9 levels, 9^9 nodes, 400 bytes",
            site("bomb", bomb + "site: {name: *l8}\nstations: {}\n"),
        ),
        ("nesting 10,000 deep, 20 KB", site("deep", "site: {name: " + "[" * 10_000 + "]" * 10_000 + "}\n")),
        ("profiles written out, just under 1 MB", site("written", written)),
        ("templates placing 5,000 profiles, 30 KB", site("amplified", amplified)),
        ("a sparse 10 GB site file", sparse),
        ("templates of 96 periods on 1,000 stations", site("tariffs", tariffs)),
        ("30 connectors of 1,000 periods each, just under 1 MB", site("spread", spread)),
        ("the same in turns, behind a grid limit: a day", site("grid-day", behind_grid(weekly=False))),
        ("the same, one profile weekly: the week summed", site("grid-week", behind_grid(weekly=True))),
    ]
    now = ["--now", format_timestamp(NAMED_NOW)]
    runs = [(name, ["validate", str(path), *now]) for name, path in cases]
    for name, index in (
        ("profiles written out, just under 1 MB: plan", 3),
        ("templates placing 5,000 profiles: plan", 4),
        ("templates of 96 periods on 1,000 stations: plan", 6),
        ("30 connectors of 1,000 periods each: plan", 7),
    ):
        runs.append((name, ["plan", "--desired", str(cases[index][1].parent), *now]))
    schedule = ["schedule", "spread", "S1", "--desired", str(cases[7][1].parent), *now]
    runs.append(("the same: its station total over a day", schedule))
    runs.append(("the same over a year (refused: 11 M pieces)", [*schedule, "--hours", "8784"]))
    runs += _recorded_inputs(made, spread_over, functools.partial(tariffs_over, 5))
    return runs


def _recorded_inputs(
    made: Path, spread_over: Callable[[int], str], tariffs_over: Callable[[int], str]
) -> list[tuple[str, list[str]]]:
    """The named inputs with recorded state, written under `made`, each with the `reconciler` command;
    `spread_over` and `tariffs_over` write a site whose limits start at the ampere given."""
    state_dir = made / "deep-state"
    (state_dir / ".state").mkdir(parents=True)
    (state_dir / ".state" / "deep-state.json").write_text("[" * 100_000 + "]" * 100_000)
    full_dir = made / "full-state"
    full_state = store.state_path(full_dir, "full-state")
    full_state.parent.mkdir(parents=True)
    _write_full_state(full_state, "full-state", limit_bytes=31_900_000)
    crowded_dir = _one_station(made, "crowded-state", _station_of(5_000))
    # One record holding a day of one-second periods (2.8 MB), which desired state no longer has.
    long_dir = _one_station(made, "long-schedule", _station_of(1, periods=86_400), desired="Long schedule")
    # 100 records of 800-second slots on one connector (2.5 MB), which desired state no longer has.
    slots_dir = _one_station(made, "slots", _station_of(100, periods=800, slotted=True), desired="Slots")
    # 30 connectors of 1,000 periods recorded as applied, then every limit raised by one ampere.
    changed_dir = _changed(made / "spread-changed", spread_over)
    # 5,000 profiles of 96 periods (templates on 1,000 stations) the same: the largest plan a site within
    # the bounds makes (its JSON 200 MB, its saved plan 68 MB).
    tariffs_dir = _changed(made / "tariffs-changed", tariffs_over)
    action = ["--format", "markdown", "--out", str(made / "saved-plan.json"), "--chart", str(made / "charts")]

    def plan(directory: Path, *flags: str) -> list[str]:
        return ["plan", "--desired", str(directory), *flags, "--now", format_timestamp(NAMED_NOW)]

    return [
        ("a state file nested 100,000 deep: plan", plan(state_dir)),
        ("a valid state file just under 32 MB: plan", plan(full_dir)),
        (
            "the same: state show --format json (71 MB)",
            ["state", "show", "full-state", "--desired", str(full_dir), "--format", "json"],
        ),
        ("5,000 records on one station: plan", plan(crowded_dir)),
        ("86,400 recorded periods cleared: plan --force", plan(long_dir, "--force")),
        ("100 slots of 800 periods cleared: plan --force", plan(slots_dir, "--force")),
        ("30 x 1,000 periods, every limit: plan --force", plan(changed_dir, "--force")),
        # The JSON plan of it carries every period of the power view and of each payload: 28 MB.
        ("the same as JSON", plan(changed_dir, "--force", "--format", "json")),
        ("5,000 x 96 periods on 1,000 stations, every limit: plan --force", plan(tariffs_dir, "--force")),
        ("the same as JSON (200 MB)", plan(tariffs_dir, "--force", "--format", "json")),
        (
            "the same as the action plans it (Markdown, saved plan, charts)",
            plan(tariffs_dir, "--force", *action),
        ),
    ]


def _changed(directory: Path, site_over: Callable[[int], str]) -> Path:
    """`directory` holding a site file of `site_over(6)`, recorded as applied, then rewritten as
    `site_over(7)`: every limit raised by one ampere."""
    site = directory / f"{directory.name}.yaml"
    directory.mkdir()
    site.write_text(site_over(6))
    record_everything(directory, NAMED_NOW)
    site.write_text(site_over(7))
    return directory


def _one_station(made: Path, site: str, station: StationRecord, *, desired: str | None = None) -> Path:
    """The directory `made/site`, its state file holding `station` as the site's one station (each record
    sound on its own), and with `desired` a site file of that station alone under that name."""
    directory = made / site
    path = store.state_path(directory, site)
    path.parent.mkdir(parents=True)
    state = RecordedState.new(site).model_copy(update={"stations": {"CS-00000": station}})
    store.StateWriter(path).save(state, None)
    if desired is not None:
        (directory / f"{site}.yaml").write_text(
            f"site: {{name: {desired}}}\nstations:\n  CS-00000: {{connectors: 1, rated_power_kw: 22}}\n"
        )
    return directory


def _write_full_state(path: Path, site: str, limit_bytes: int) -> None:
    """A consistent state file at `path`: as many stations of 20 records as fit under `limit_bytes`.

    Every station is one object, so the store's writer encodes it once and repeats its text.
    """
    station = _station_of(20)
    per_station = len(
        store.to_json(RecordedState(site=site, serial=1, lineage="0" * 32, stations={"CS-00000": station}))
    )
    count = limit_bytes // per_station
    while True:
        state = RecordedState.new(site).model_copy(
            update={"stations": {f"CS-{number:05d}": station for number in range(count)}}
        )
        path.unlink(missing_ok=True)
        store.StateWriter(path).save(state, None)
        if path.stat().st_size <= limit_bytes:
            return
        count -= 1 + (path.stat().st_size - limit_bytes) // per_station


def _station_of(records: int, periods: int = 0, *, slotted: bool = False) -> StationRecord:
    """A station of `records` daily TxDefaultProfiles on connector 1, one per stack level from 11: each
    32 A, then 16 A from 07:00; or, given `periods`, that many one-second periods of 6 to 25 A; `slotted`,
    each Absolute instead and in force for its periods alone, one after the other from NAMED_NOW."""
    schedule = [{"limit": 32, "startPeriod": 0}, {"limit": 16, "startPeriod": 25200}]
    if periods:
        schedule = [{"limit": 6 + n % 20, "startPeriod": n} for n in range(periods)]
    payload: dict[str, Any] = {
        "chargingProfileKind": "Recurring",
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": schedule,
            "duration": 86400,
            "startSchedule": "2026-01-01T00:00:00Z",
        },
        "recurrencyKind": "Daily",
    }
    profiles = {}
    for number in range(1, records + 1):
        body = {**payload, "chargingProfileId": number, "stackLevel": 10 + number}
        if slotted:
            start = format_timestamp(NAMED_NOW + timedelta(seconds=(number - 1) * periods))
            in_slot = payload["chargingSchedule"] | {"duration": periods, "startSchedule": start}
            body |= {"chargingProfileKind": "Absolute", "chargingSchedule": in_slot}
            del body["recurrencyKind"]
        profiles[f"p{number}"] = ProfileRecord(
            connector_id=1,
            charging_profile_id=number,
            purpose=Purpose.TX_DEFAULT,
            stack_level=10 + number,
            payload=body,
            payload_hash=payload_hash(body),
            status=Status.ACCEPTED,
            requested_at="2026-11-23T12:00:00Z",
            updated_at="2026-11-23T12:00:00Z",
        )
    return StationRecord(high_water_id=records, profiles=profiles)


def fuzz(
    cases: int, seed: int, directory: Path, saw: Callable[[str, Finished], None]
) -> tuple[list[str], list[str]]:
    """Part 3: the worker's cases, then the named inputs; the tracebacks and hangs found (printed too)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
    }
    tracebacks: list[str] = []
    hangs: list[str] = []
    (directory / "fuzz").mkdir()
    argv = [__file__, "--worker", str(cases), "--seed", str(seed), "--work", str(directory / "fuzz")]
    finished = Child(argv, env, directory / "fuzz-worker").finish(timeout_s=cases * 3 + 120)
    saw("fuzz worker", finished)
    print(f"\nfuzz: {cases} cases, each a mutated site file, state file, saved plan, key file or flag values")
    if finished.code == 0:
        summary = json.loads(finished.out.strip().splitlines()[-1])
        tracebacks += summary["tracebacks"]
        hangs += summary["hangs"]
        codes = ", ".join(f"{count} exit {code}" for code, count in sorted(summary["codes"].items()))
        print(f"  commands: {codes}; tracebacks {len(summary['tracebacks'])}, hangs {len(summary['hangs'])}")
        for line in summary["tracebacks"][:5]:
            print(f"    {line}")
        print(
            f"  slowest command {summary['slowest_s']:.2f} s ({summary['slowest']}); "
            f"worker peak {finished.rss_kb / 1024:.0f} MB"
        )
    else:
        print(f"  the worker failed (exit {finished.code}): {finished.err[-500:]}")
        tracebacks.append(f"fuzz worker: exit {finished.code}")
    print(f"\nnamed hostile inputs, each in a `reconciler` process of its own, median of {NAMED_RUNS} runs")
    print(f"  {'input':<42}  {'exit':>4}  {'wall (spread)':>19}  {'peak memory':>11}  first line of output")
    named = named_inputs(directory)
    Child(["-m", "reconciler", *named[0][1]], env, directory / "named-warm-up").finish(60)  # a warm cache
    for number, (name, command) in enumerate(named):
        runs = [
            Child(["-m", "reconciler", *command], env, directory / f"named-{number}-{run}").finish(60)
            for run in range(NAMED_RUNS)
        ]
        for one in runs:
            saw(f"named {name}", one)
        walls = sorted(one.wall_s for one in runs)
        one = runs[0]
        said = (one.err.strip().splitlines() or one.out.strip().splitlines() or [""])[0]
        spread = f"{statistics.median(walls):.2f} s ({walls[0]:.2f}-{walls[-1]:.2f})"
        peak_mb = max(one.rss_kb for one in runs) / 1024
        print(f"  {name:<42}  {one.code!s:>4}  {spread:>19}  {peak_mb:>8.0f} MB  {said[:80]}")
    return tracebacks, hangs


def main(argv: Sequence[str] | None = None) -> int:
    """The worker's entry: `chaos_fuzz.py --worker CASES --seed S --work DIR` prints its summary."""
    parser = argparse.ArgumentParser(description="the fuzz worker of chaos_bench.py")
    parser.add_argument("--worker", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(fuzz_worker(args.worker, args.seed, args.work)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
