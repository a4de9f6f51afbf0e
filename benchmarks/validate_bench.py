"""How much slower is `reconciler validate` than merely parsing the same YAML?

Writes a synthetic network (by default 2,000 site files x 10 stations x 5 profiles = 100,000
explicitly written, valid, warning-free profiles), then times, best of --repeat runs taken in turns:

  a. bare parse: every file through `yaml.load(..., Loader=yaml.CSafeLoader)`;
  b. the same bare parse with the cyclic garbage collector paused, as `loader.load` runs;
  c. validate:   `reconciler.desired.loader.load([dir], now)`, the work of `reconciler validate dir`.

The target is validate <= 1.5 x bare parse, against both baselines: (a) is what a plain script would
take, (b) is the fair comparison for a loader that pauses the collector. A measurement, not a test: it
exits 0 whatever the ratios, and non-zero only when the generated network is not valid (a bug in this
generator).

    python benchmarks/validate_bench.py                  # the full network
    python benchmarks/validate_bench.py --profile        # cProfile of validate on the first 200 sites
    python benchmarks/validate_bench.py --keep /tmp/net  # write the network there and leave it
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

import reconciler
from reconciler.desired.loader import load, load_site

TARGET_RATIO = 1.5
MAX_PROFILES_PER_STATION = 20  # the charger default for MaxChargingProfilesInstalled
FIRST_STACK_LEVEL, LAST_STACK_LEVEL = 11, 40  # above eDRV's reserved 0-10

TIMEZONES = ("Europe/Berlin", "Europe/Amsterdam", "Europe/London", "America/New_York", "UTC")
START_SCHEDULES = ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z", "2026-01-01T06:00:00+01:00")
VALID_FROM = "2026-01-01T00:00:00Z"
VALID_TO = ("2030-12-31T23:59:59Z", "2030-06-30T22:00:00.000Z")
# Every limit stays at or above 6 A (4,140 W on three phases at 230 V), so no low-limit warnings.
AMPS = ("6", "8", "10", "10.5", "13", "16", "16.5", "20", "24.5", "25", "32")
WATTS = ("7400", "11000", "13800", "16500", "22000")
STATION_WATTS = ("22000", "30000", "40000")  # at most the rated power below
WEEKLY_STARTS = (0, 86400, 172800, 302400, 432000, 518400)  # six periods inside one week
DAILY_STARTS = (0, 25200, 79200)  # midnight, 07:00, 22:00


@dataclass(frozen=True)
class Options:
    sites: int
    stations: int
    profiles: int
    repeat: int
    keep: Path | None
    profile: bool
    profile_sites: int


@dataclass(frozen=True)
class Timing:
    files: int
    profiles: int
    total_bytes: int
    parse_s: float
    parse_gc_s: float
    parse_paused_s: float
    validate_s: float
    validate_gc_s: float


# --- generating the network -------------------------------------------------------------------------


def _period(start: int, limit: str, phases: int | None = None) -> str:
    extra = f", numberPhases: {phases}" if phases is not None else ""
    return f"            - {{startPeriod: {start}, limit: {limit}{extra}}}\n"


@dataclass(frozen=True)
class Slot:
    """Where a profile goes on its station, and under which name and (optional) pinned id."""

    name: str
    purpose: str
    connector: int
    stack_level: int
    pinned_id: int | None


def _head(slot: Slot, description: str) -> str:
    pinned = f"        chargingProfileId: {slot.pinned_id}\n" if slot.pinned_id is not None else ""
    return (
        f"      {slot.name}:\n"
        f"        description: {description}\n"
        f"{pinned}"
        f"        connectorId: {slot.connector}\n"
        f"        stackLevel: {slot.stack_level}\n"
        f"        chargingProfilePurpose: {slot.purpose}\n"
    )


def _station_max(rng: random.Random, slot: Slot) -> str:
    day, night = rng.choice(STATION_WATTS), rng.choice(STATION_WATTS)
    return (
        _head(slot, "Station-wide limit, lower by day") + "        chargingProfileKind: Recurring\n"
        "        recurrencyKind: Daily\n"
        "        chargingSchedule:\n"
        f"          startSchedule: {rng.choice(START_SCHEDULES)}\n"
        "          duration: 86400\n"
        "          chargingRateUnit: W\n"
        "          chargingSchedulePeriod:\n"
        + _period(0, night)
        + _period(25200, day)
        + _period(79200, night)
    )


def _default_daily(rng: random.Random, slot: Slot) -> str:
    periods = "".join(_period(start, rng.choice(AMPS)) for start in DAILY_STARTS)
    return (
        _head(slot, "Daily default in three tariff bands") + "        chargingProfileKind: Recurring\n"
        "        recurrencyKind: Daily\n"
        "        chargingSchedule:\n"
        f"          startSchedule: {rng.choice(START_SCHEDULES)}\n"
        "          duration: 86400\n"
        "          chargingRateUnit: A\n"
        "          chargingSchedulePeriod:\n" + periods
    )


def _default_weekly(rng: random.Random, slot: Slot) -> str:
    phases = rng.choice((None, 3))
    periods = "".join(_period(start, rng.choice(WATTS), phases) for start in WEEKLY_STARTS)
    return (
        _head(slot, "Weekly default, weekdays and weekend") + "        chargingProfileKind: Recurring\n"
        "        recurrencyKind: Weekly\n"
        "        chargingSchedule:\n"
        f"          startSchedule: {rng.choice(START_SCHEDULES)}\n"
        "          duration: 604800\n"
        "          chargingRateUnit: W\n"
        "          chargingSchedulePeriod:\n" + periods
    )


def _default_absolute(rng: random.Random, slot: Slot) -> str:
    return (
        _head(slot, "Fixed default until the lease ends") + "        chargingProfileKind: Absolute\n"
        f"        validFrom: {VALID_FROM}\n"
        f"        validTo: {rng.choice(VALID_TO)}\n"
        "        chargingSchedule:\n"
        f"          startSchedule: {rng.choice(START_SCHEDULES)}\n"
        "          chargingRateUnit: A\n"
        "          chargingSchedulePeriod:\n" + _period(0, rng.choice(AMPS), rng.choice((None, 1, 3)))
    )


def _default_relative(rng: random.Random, slot: Slot) -> str:
    return (
        _head(slot, "Soft start for the first hour of a session") + "        chargingProfileKind: Relative\n"
        "        chargingSchedule:\n"
        "          duration: 7200\n"
        "          chargingRateUnit: A\n"
        "          chargingSchedulePeriod:\n"
        + _period(0, rng.choice(AMPS[:5]))
        + _period(3600, rng.choice(AMPS[5:]))
    )


def _session_cap(rng: random.Random, slot: Slot) -> str:
    return (
        _head(slot, "Session cap for half an hour") + "        chargingProfileKind: Absolute\n"
        "        chargingSchedule:\n"
        "          duration: 1800\n"
        "          chargingRateUnit: A\n"
        "          chargingSchedulePeriod:\n" + _period(0, rng.choice(AMPS), rng.choice((None, 1)))
    )


ProfileWriter = Callable[[random.Random, Slot], str]

# (short name, purpose, connectors it may go on, writer)
SHAPES: tuple[tuple[str, str, tuple[int, ...], ProfileWriter], ...] = (
    ("station-max-daily", "ChargePointMaxProfile", (0,), _station_max),
    ("default-daily", "TxDefaultProfile", (0, 1, 2), _default_daily),
    ("default-weekly", "TxDefaultProfile", (0, 1, 2), _default_weekly),
    ("default-absolute", "TxDefaultProfile", (0, 1, 2), _default_absolute),
    ("default-relative", "TxDefaultProfile", (0, 1, 2), _default_relative),
    ("session-cap", "TxProfile", (1, 2), _session_cap),
)


def _station_id(rng: random.Random, taken: set[str]) -> str:
    # eDRV ids are 24 hex digits; an all-digit one would be read by YAML as an integer.
    while True:
        candidate = f"{rng.getrandbits(96):024x}"
        if not candidate.isdigit() and candidate not in taken:
            taken.add(candidate)
            return candidate


def _station(rng: random.Random, station_id: str, profiles: int) -> str:
    declare_ocpp = rng.random() < 0.5
    text = (
        f"  {station_id}:\n"
        f"    description: Bay {rng.randint(1, 40)}\n"
        f"    connectors: {rng.choice((2, 2, 2, 4))}\n"
        f"    rated_power_kw: {rng.choice(('44', '50', '43.5'))}\n"
    )
    if declare_ocpp:
        text += (
            "    ocpp:\n"
            "      ChargeProfileMaxStackLevel: 50\n"
            "      ChargingScheduleAllowedChargingRateUnit: Current,Power\n"
            "      ChargingScheduleMaxPeriods: 24\n"
            f"      MaxChargingProfilesInstalled: {MAX_PROFILES_PER_STATION}\n"
        )
    text += "    profiles:\n"
    free: dict[tuple[int, str], list[int]] = {}  # unused stack levels per (connector, purpose)
    shapes = rng.sample(SHAPES, k=min(profiles, len(SHAPES)))
    shapes += [rng.choice(SHAPES) for _ in range(profiles - len(shapes))]
    for index, (short, purpose, connectors, writer) in enumerate(shapes):
        connector = rng.choice(connectors)
        levels = free.setdefault(
            (connector, purpose), rng.sample(range(FIRST_STACK_LEVEL, LAST_STACK_LEVEL + 1), 30)
        )
        stack = levels.pop()
        pinned = 100 + index if rng.random() < 0.5 else None
        text += writer(rng, Slot(f"{short}-c{connector}-s{stack}", purpose, connector, stack, pinned))
    return text


def _ceiling_kw(station_text: str) -> Decimal:
    """The most a generated station may draw: its highest station-wide limit, or else its rating."""
    (station,) = yaml.load(station_text, Loader=yaml.CSafeLoader).values()
    rated_kw = Decimal(str(station["rated_power_kw"]))
    caps_w = [
        Decimal(str(period["limit"]))
        for profile in station["profiles"].values()
        if profile["chargingProfilePurpose"] == "ChargePointMaxProfile"
        for period in profile["chargingSchedule"]["chargingSchedulePeriod"]
    ]
    return min(rated_kw, max(caps_w) / 1000) if caps_w else rated_kw


def _site(rng: random.Random, number: int, stations: int, profiles: int, taken: set[str]) -> str:
    # Sized as an operator sizes it, to the stations' own ceilings plus some headroom, so that the grid
    # guard passes; the draws keep the random sequence of the rest of the network as it was.
    headroom_kw = rng.choice((0, 10, 50)) if rng.random() < 0.5 else None
    bodies = [_station(rng, _station_id(rng, taken), profiles) for _ in range(stations)]
    grid = ""
    if headroom_kw is not None:
        grid = f"  grid_limit_kw: {math.ceil(sum(map(_ceiling_kw, bodies))) + headroom_kw}\n"
    text = (
        f"# Site {number}: generated by benchmarks/validate_bench.py\n"
        "site:\n"
        f"  name: Depot {number}\n"
        f"{grid}"
        "  nominal_voltage_v: 230\n"
        f"  timezone: {rng.choice(TIMEZONES)}\n"
        "\n"
        "stations:\n"
    )
    return text + "".join(bodies)


def generate(directory: Path, sites: int, stations: int, profiles: int) -> list[Path]:
    """Write `sites` site files into `directory`; the same arguments always give the same files."""
    rng = random.Random(1)
    taken: set[str] = set()
    width = max(4, len(str(sites)))
    paths = []
    for number in range(1, sites + 1):
        path = directory / f"site-{number:0{width}d}.yaml"
        path.write_text(_site(rng, number, stations, profiles, taken), encoding="utf-8")
        paths.append(path)
    return paths


# --- measuring --------------------------------------------------------------------------------------


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


def best_of(repeat: int, work: Callable[[], None]) -> tuple[float, float]:
    """The fastest of `repeat` runs, and the cyclic-GC seconds inside that run."""
    best, best_gc = float("inf"), 0.0
    for _ in range(repeat):
        gc.collect()
        with GcClock() as clock:
            started = time.perf_counter()
            work()
            elapsed = time.perf_counter() - started
        if elapsed < best:
            best, best_gc = elapsed, clock.seconds
    return best, best_gc


def best_of_each(repeat: int, works: Sequence[Callable[[], None]]) -> list[tuple[float, float]]:
    """`best_of` for several works, run in turns so that a busy spell of the machine slows them alike."""
    best = [(float("inf"), 0.0)] * len(works)
    for _ in range(repeat):
        for index, work in enumerate(works):
            best[index] = min(best[index], best_of(1, work))
    return best


def bare_parse(paths: Sequence[Path]) -> None:
    """Every file through PyYAML's C safe loader, nothing more."""
    for path in paths:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def bare_parse_paused(paths: Sequence[Path]) -> None:
    """`bare_parse` with the cyclic collector paused, as `loader.load` pauses it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        bare_parse(paths)
    finally:
        if collecting:
            gc.enable()


def _validate(directory: Path, now: datetime) -> None:
    problems = load([directory], now).problems
    if problems:
        sys.exit(f"validate found {len(problems)} problem(s) in the generated network, e.g. {problems[0]}")


def measure(directory: Path, paths: Sequence[Path], profiles: int, repeat: int, now: datetime) -> Timing:
    (parse_s, parse_gc_s), (parse_paused_s, _), (validate_s, validate_gc_s) = best_of_each(
        repeat,
        (lambda: bare_parse(paths), lambda: bare_parse_paused(paths), lambda: _validate(directory, now)),
    )
    total_bytes = sum(path.stat().st_size for path in paths)
    return Timing(
        len(paths),
        profiles,
        total_bytes,
        parse_s,
        parse_gc_s,
        parse_paused_s,
        validate_s,
        validate_gc_s,
    )


def report(timing: Timing) -> None:
    ratio = timing.validate_s / timing.parse_s
    ratio_paused = timing.validate_s / timing.parse_paused_s
    per_profile = 1e6 / timing.profiles
    rows = (
        ("files", f"{timing.files:,}"),
        ("profiles", f"{timing.profiles:,}"),
        ("total YAML", f"{timing.total_bytes / 1e6:.1f} MB"),
        (
            "bare parse (CSafeLoader)",
            f"{timing.parse_s:.2f} s  ({timing.parse_s * per_profile:.1f} µs/profile)",
        ),
        (
            "bare parse, GC paused",
            f"{timing.parse_paused_s:.2f} s  ({timing.parse_paused_s * per_profile:.1f} µs/profile)",
        ),
        (
            "validate (loader.load)",
            f"{timing.validate_s:.2f} s  ({timing.validate_s * per_profile:.1f} µs/profile)",
        ),
        ("ratio validate/parse", f"{ratio:.2f}"),
        ("ratio validate/parse paused", f"{ratio_paused:.2f}"),
        (
            "of which cyclic GC",
            f"parse {timing.parse_gc_s:.2f} s, validate {timing.validate_gc_s:.2f} s",
        ),
    )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for name, measured in (("parse", ratio), ("parse paused", ratio_paused)):
        verdict = "met" if measured <= TARGET_RATIO else "NOT met"
        print(f"target: validate/{name} <= {TARGET_RATIO}  ({verdict})")


def profile_work(work: Callable[[], None], top: int = 25, gc_note: str = "") -> None:
    """cProfile one run of `work` and print its top functions; the plan benchmark shares this."""
    profiler = cProfile.Profile()
    gc.collect()
    with GcClock() as clock:
        profiler.enable()
        work()
        profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    for order in ("cumulative", "tottime"):
        print(f"\n=== top {top} by {order} ===")
        stats.sort_stats(order).print_stats(top)
    print(f"cyclic GC ran for {clock.seconds:.2f} s of the profiled run{gc_note}")


def profile_validate(directory: Path, now: datetime, top: int = 25) -> None:
    def work() -> None:
        loaded = load([directory], now)
        if loaded.problems:
            sys.exit(f"validate found {len(loaded.problems)} problem(s), e.g. {loaded.problems[0]}")

    profile_work(
        work,
        top,
        "; cProfile charges those pauses to whichever function was running (mostly PyYAML's "
        "get_single_data and construct_*).",
    )


# --- the command ------------------------------------------------------------------------------------


def parse_options(
    argv: Sequence[str] | None = None, description: str | None = __doc__, profiled: str = "the validate step"
) -> Options:
    """The network's size and how to measure it; the plan benchmark shares these flags."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=2000, help="site files to write (default 2000)")
    parser.add_argument("--stations", type=int, default=10, help="stations per site (default 10)")
    parser.add_argument("--profiles", type=int, default=5, help="profiles per station (default 5)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the best counts (default 3)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="write the network(s) to DIR and leave them")
    parser.add_argument("--profile", action="store_true", help=f"cProfile {profiled} on a subset of sites")
    parser.add_argument(
        "--profile-sites", type=int, default=200, help="sites in the --profile subset (default 200)"
    )
    args = parser.parse_args(argv)
    if min(args.sites, args.stations, args.repeat, args.profile_sites) < 1:
        parser.error("--sites, --stations, --repeat and --profile-sites must be at least 1")
    if not 1 <= args.profiles <= MAX_PROFILES_PER_STATION:
        parser.error(
            f"--profiles must be 1-{MAX_PROFILES_PER_STATION} (the charger's MaxChargingProfilesInstalled)"
        )
    return Options(
        sites=int(args.sites),
        stations=int(args.stations),
        profiles=int(args.profiles),
        repeat=int(args.repeat),
        keep=args.keep,
        profile=bool(args.profile),
        profile_sites=int(args.profile_sites),
    )


def say_what_is_measured() -> None:
    """Name the reconciler being timed: an editable install elsewhere would time other code."""
    measured = Path(reconciler.__file__).resolve().parent
    print(f"measuring reconciler from {measured}")
    if measured != Path(__file__).resolve().parent.parent / "reconciler":
        print(
            "  note: that is not this checkout's reconciler (an editable install elsewhere?); "
            "run with PYTHONPATH=. to measure this one"
        )


def run(options: Options, directory: Path) -> None:
    now = datetime.now(UTC)
    say_what_is_measured()
    # The profile subset is the first sites of the full network: generation is sequential and seeded.
    sites = min(options.sites, options.profile_sites) if options.profile else options.sites
    started = time.perf_counter()
    paths = generate(directory, sites, options.stations, options.profiles)
    print(f"generated {len(paths):,} site files in {directory} ({time.perf_counter() - started:.1f} s)")

    _, problems = load_site(paths[0], now)
    if problems:
        listing = "\n  ".join(str(p) for p in problems[:10])
        sys.exit(f"the generator wrote an invalid site file ({len(problems)} problem(s)):\n  {listing}")

    profiles = sites * options.stations * options.profiles
    print(f"timing best of {options.repeat} at {now.isoformat(timespec='seconds')} ...\n")
    report(measure(directory, paths, profiles, options.repeat, now))
    if options.profile:
        profile_validate(directory, now)


def run_in_directory(options: Options, work: Callable[[Options, Path], None], prefix: str) -> int:
    """Run `work` in `--keep DIR`, or else in a temporary directory removed afterwards."""
    if options.keep is not None:
        options.keep.mkdir(parents=True, exist_ok=True)
        work(options, options.keep)
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            work(options, Path(tmp))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_in_directory(parse_options(argv), run, "validate-bench-")


if __name__ == "__main__":
    sys.exit(main())
