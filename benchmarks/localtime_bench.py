"""What do local-time schedules cost `reconciler validate`, next to the same limits written in UTC?

Writes two networks of --sites site files (Europe/Berlin) x --stations stations, each station with two
profiles whose limits no other station has (so no result is shared between stations): a Weekly
TxDefaultProfile (weekday office hours) and a Daily ChargePointMaxProfile (an evening cap). In one
network they are written in local time (`chargingSchedule.local`), in the other as the OCPP profiles
an operator would write by hand for winter, in UTC. The local network compiles into twice the profiles
(one per UTC offset), which is the work being measured. Each is loaded by `loader.load`, the work of
`reconciler validate`, --repeat times in turns, each load with the caches a fresh process starts with;
the median and the spread (fastest, slowest) are shown, and the ratio of the medians. The target is
local <= 2.5 x UTC: twice the profiles, plus compiling.
A measurement, not a test: it exits 0 whatever the ratio, and 1 only if a network is not valid.

    python benchmarks/localtime_bench.py
    python benchmarks/localtime_bench.py --sites 50 --stations 40 --repeat 7
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import reconciler
from reconciler.desired import localtime, schemacache
from reconciler.desired.loader import load

TARGET_RATIO = 2.5
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
HEAD = "site: {name: Bench, timezone: Europe/Berlin}\nstations:\n"


def _station(index: int, local: bool) -> str:
    # Limits of each station's own, so no station's profiles equal another's (nothing is computed once).
    office_a, evening_w = f"{6 + index / 10:.1f}", 7400 + index
    head = f"  CS-{index:05d}:\n    connectors: 2\n    rated_power_kw: 22\n    profiles:\n"
    common = "        connectorId: 0\n        chargingProfileKind: Recurring\n"
    if local:
        office = (
            "          local:\n"
            f"            - {{at: Mon-Fri 07:00, limit: {office_a}}}\n"
            "            - {at: Mon-Fri 19:00, limit: 16}\n"
        )
        evening = (
            "          local:\n"
            f'            - {{at: "17:00", limit: {evening_w}}}\n'
            '            - {at: "20:00", limit: null}\n'
        )
    else:  # winter (UTC+01:00): 07:00 is 06:00 UTC; Monday 06:00 is 21600 s into the week
        office = (
            "          startSchedule: 2026-01-05T06:00:00Z\n          duration: 604800\n"
            "          chargingSchedulePeriod:\n"
            + "".join(
                f"            - {{startPeriod: {day * 86400 + half * 43200}, limit: {limit}}}\n"
                for day in range(5)
                for half, limit in ((0, office_a), (1, 16))
            )
        )
        evening = (
            "          startSchedule: 2026-01-01T16:00:00Z\n          duration: 10800\n"
            "          chargingSchedulePeriod:\n"
            f"            - {{startPeriod: 0, limit: {evening_w}}}\n"
        )
    return (
        head
        + "      office-hours:\n"
        + common
        + "        stackLevel: 20\n        chargingProfilePurpose: TxDefaultProfile\n"
        + "        recurrencyKind: Weekly\n        chargingSchedule:\n          chargingRateUnit: A\n"
        + office
        + "      evening-cap:\n"
        + common
        + "        stackLevel: 30\n        chargingProfilePurpose: ChargePointMaxProfile\n"
        + "        recurrencyKind: Daily\n        chargingSchedule:\n          chargingRateUnit: W\n"
        + evening
    )


def _write(folder: Path, sites: int, stations: int, local: bool) -> None:
    folder.mkdir()
    for site in range(sites):
        body = "".join(_station(site * stations + i, local) for i in range(stations))
        (folder / f"site-{site:04d}.yaml").write_text(HEAD + body, encoding="utf-8")


def _time_load(folder: Path) -> tuple[float, int]:
    # A first `reconciler validate` starts with empty caches; without this, later loads would find the
    # compiled profiles and schema answers of earlier ones (the schema's kept between runs too).
    localtime.compile_period.cache_clear()
    os.environ[schemacache.CACHE_SETTING] = tempfile.mkdtemp(prefix="localtime-bench-cache-")
    schemacache.forget()
    gc.collect()
    start = time.perf_counter()
    loaded = load([folder], NOW)
    elapsed = time.perf_counter() - start
    if loaded.has_errors:
        print(f"{folder}: not valid: {loaded.problems[0]}", file=sys.stderr)
        raise SystemExit(1)
    return elapsed, sum(len(p) for s in loaded.sites for p in s.profiles.values())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=100, help="site files per network (default 100)")
    parser.add_argument("--stations", type=int, default=20, help="stations per site (default 20)")
    parser.add_argument("--repeat", type=int, default=5, help="loads of each network (default 5)")
    options = parser.parse_args()
    print(f"measuring reconciler from {Path(reconciler.__file__).parent}")
    with tempfile.TemporaryDirectory() as scratch:
        folders = {"utc": Path(scratch) / "utc", "local": Path(scratch) / "local"}
        for name, folder in folders.items():
            _write(folder, options.sites, options.stations, local=name == "local")
        times: dict[str, list[float]] = {name: [] for name in folders}
        counts: dict[str, int] = {}
        for _ in range(options.repeat):
            for name, folder in folders.items():  # in turns, so both see the same machine load
                elapsed, counts[name] = _time_load(folder)
                times[name].append(elapsed)
    print(f"sites x stations          {options.sites} x {options.stations}, {options.repeat} loads each")
    for name in folders:
        runs = times[name]
        print(
            f"validate, {name:<5} {counts[name]:>7,} OCPP profiles   median {statistics.median(runs):6.2f} s "
            f"(fastest {min(runs):.2f} s, slowest {max(runs):.2f} s)"
        )
    ratio = statistics.median(times["local"]) / statistics.median(times["utc"])
    print(f"ratio local/utc           {ratio:.2f}")
    print(f"target: local/utc <= {TARGET_RATIO}  ({'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
