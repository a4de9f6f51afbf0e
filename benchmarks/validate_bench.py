"""How much longer does `reconciler validate` take than merely reading the same YAML?

Writes a synthetic network (by default 2,000 site files x 10 stations x 5 profiles = 100,000
explicitly written, valid, warning-free profiles), then times, --repeat runs of each taken in turns,
each figure the median with the spread:

  a. parse:    the fastest reading of the files the reconciler itself could use: its own loader's
               parse (PyYAML's C parser) of every file, the cyclic collector paused as the loader
               pauses it, in this process;
  b. least:    the least any check costs, no rule run: that parse, the pydantic models and each
               request body written and hashed (`measure.least_checked`), the floor under validate;
  c. validate: `loader.load(..., keep=False)`, the work of `reconciler validate DIR`, in this process,
               with the schema cache a later run finds (warm) and, once, a first run's (cold: every
               body checked against OCPP's schema, as a CI job without a kept cache);
  d. the whole `reconciler validate DIR` process as a user runs it, output included (warm cache),
               with its peak resident memory.

The target is validate (warm, in process) <= 1.2 x the parse. A measurement, not a test: it exits 0
whatever the ratio, and non-zero only when the generated network is not valid (a bug in this
generator). The schema cache lives in a directory of the benchmark's own.

    python benchmarks/validate_bench.py                  # the full network
    python benchmarks/validate_bench.py --profile        # cProfile of validate on the first 200 sites
    python benchmarks/validate_bench.py --keep /tmp/net  # write the network there and leave it
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

# Run as a script, this file's folder is on sys.path, and with it the shared helpers.
from measure import (
    Sample,
    cli_run,
    least_checked,
    own_parse,
    profile_work,
    say_what_is_measured,
    timed_each,
)

from reconciler.desired import schemacache
from reconciler.desired.loader import load, load_site

__all__ = ["generate", "say_what_is_measured"]  # the other benchmarks take these from here

TARGET_RATIO = 1.2
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


def fresh_cache() -> Path:
    """A new, empty schema cache directory for this process, as a first run (or a CI job) has."""
    directory = Path(tempfile.mkdtemp(prefix="reconciler-bench-cache-"))
    os.environ[schemacache.CACHE_SETTING] = str(directory)
    schemacache.forget()
    return directory


def validate_in_process(directory: Path, now: datetime) -> None:
    """The work of `reconciler validate DIR`; exits if the generated network has a problem."""
    loaded = load([directory], now, keep=False)
    if loaded.problems:
        sys.exit(f"validate found {len(loaded.problems)} problem(s), e.g. {loaded.problems[0]}")


@dataclass(frozen=True)
class Figures:
    profiles: int
    yaml_bytes: int
    parse: Sample
    floor: Sample
    validate: Sample
    validate_cold: Sample
    cli_s: float
    cli_rss_mib: float


def measure(directory: Path, paths: Sequence[Path], profiles: int, repeat: int, now: datetime) -> Figures:
    fresh_cache()
    cold = timed_each(1, [lambda: validate_in_process(directory, now)])[0]  # fills the cache
    parse, floor, warm = timed_each(
        repeat,
        [lambda: own_parse(paths), lambda: least_checked(paths), lambda: validate_in_process(directory, now)],
    )
    process = cli_run(["validate", str(directory), "--now", now.isoformat()])
    return Figures(
        profiles,
        sum(path.stat().st_size for path in paths),
        parse,
        floor,
        warm,
        cold,
        process.wall_s,
        process.peak_rss_mib,
    )


def report(figures: Figures) -> None:
    per = figures.profiles
    ratio = figures.validate.ratio(figures.parse)
    rows = (
        ("profiles", f"{per:,} in {figures.yaml_bytes / 1e6:.1f} MB of YAML"),
        ("parse (own loader, GC paused)", figures.parse.text(per)),
        ("least any check costs", figures.floor.text(per) + "  models and bodies, no rule"),
        ("validate, in process (warm)", figures.validate.text(per)),
        ("validate, in process (cold)", figures.validate_cold.text(per) + "  first run: every body checked"),
        ("`reconciler validate` process", f"{figures.cli_s:.2f} s, peak {figures.cli_rss_mib:.0f} MiB"),
        ("ratio validate/parse (warm)", f"{ratio:.2f}"),
        ("ratio least/parse", f"{figures.floor.ratio(figures.parse):.2f}  (what no rule could go below)"),
        ("ratio validate/parse (cold)", f"{figures.validate_cold.ratio(figures.parse):.2f}"),
        ("of which cyclic GC", f"validate {figures.validate.gc_s:.2f} s (the loader pauses it)"),
    )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target: validate/parse <= {TARGET_RATIO} (medians, warm cache)  ({verdict})")


# --- the command ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    sites: int
    stations: int
    profiles: int
    repeat: int
    keep: Path | None
    profile: bool
    profile_sites: int


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
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
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


def run(options: Options, directory: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    say_what_is_measured()
    # The profile subset is the first sites of the full network: generation is sequential and seeded.
    sites = min(options.sites, options.profile_sites) if options.profile else options.sites
    paths = generate(directory, sites, options.stations, options.profiles)
    print(f"generated {len(paths):,} site files in {directory}")
    _, problems = load_site(paths[0], now)
    if problems:
        listing = "\n  ".join(str(p) for p in problems[:10])
        sys.exit(f"the generator wrote an invalid site file ({len(problems)} problem(s)):\n  {listing}")
    if options.profile:
        fresh_cache()
        validate_in_process(directory, now)  # warm, as measured
        profile_work(lambda: validate_in_process(directory, now))
        return
    profiles = sites * options.stations * options.profiles
    print(f"timing {options.repeat} runs of each at {now.isoformat()} ...\n")
    report(measure(directory, paths, profiles, options.repeat, now))


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
