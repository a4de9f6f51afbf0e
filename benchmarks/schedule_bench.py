"""Does the composite schedule scale linearly with the size of a site?

Generates a site of two-connector stations with five profiles each (a daily ChargePointMaxProfile, a
weekly station-wide TxDefaultProfile, a daily and a fixed TxDefaultProfile on the connectors, and a
Relative soft start), then times the 7-day station-total composite (in W) of every station for a
50-station site and for a 500-station one, --repeat runs of each, the two sites' runs interleaved so
both see the same machine load, and compares their medians (the spread printed beside). The target is
500 stations in at most 10.5 x the time of 50. A measurement, not a test: it exits 0 whatever the
ratio.

    python benchmarks/schedule_bench.py
    python benchmarks/schedule_bench.py --small 50 --large 500 --repeat 7
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from datetime import UTC, datetime
from typing import Any

from measure import Sample

from reconciler.ocpp.schedule import Installed, composite_schedule

TARGET_RATIO = 10.5
WEEK_S = 7 * 86400
RECURRENCE_S = {"Daily": 86400, "Weekly": WEEK_S}
WINDOW_START = datetime(2026, 3, 4, 13, 30, tzinfo=UTC)  # a Wednesday afternoon, off every boundary
AMPS = (6, 8, 10, 10.5, 13, 16, 20, 24.5, 32)
WATTS = (7400, 11000, 16500, 22000, 30000)


def _profile(head: tuple[int, str, int, str], unit: str, periods: list[Any], **extra: Any) -> dict[str, Any]:
    """A payload from (id, purpose, stackLevel, kind), a unit, (startPeriod, limit) pairs and extras."""
    profile_id, purpose, level, kind = head
    schedule: dict[str, Any] = {k: v for k, v in extra.items() if k in ("startSchedule", "duration")}
    schedule["chargingRateUnit"] = unit
    schedule["chargingSchedulePeriod"] = [{"startPeriod": s, "limit": limit} for s, limit in periods]
    body = {
        "chargingProfileId": profile_id,
        "stackLevel": level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
    }
    body.update({k: v for k, v in extra.items() if k in ("recurrencyKind", "validFrom", "validTo")})
    return body


def _recurring(
    head: tuple[int, str, int],
    unit: str,
    periods: list[Any],
    recurrency: str,
    *,
    start: str = "2026-01-01T00:00:00Z",
    duration: int | None = None,
) -> dict[str, Any]:
    """A Recurring payload from (id, purpose, stackLevel); it runs its whole day or week unless cut."""
    length = duration if duration is not None else RECURRENCE_S[recurrency]
    return _profile(
        (*head, "Recurring"),
        unit,
        periods,
        recurrencyKind=recurrency,
        startSchedule=start,
        duration=length,
    )


def station(rng: random.Random) -> list[Installed]:
    """Five profiles of one two-connector station."""
    day, night = rng.choice(WATTS), rng.choice(WATTS)
    weekdays = [(start, rng.choice(WATTS)) for start in (0, 86400, 172800, 302400, 432000, 518400)]
    shifts = [(0, rng.choice(AMPS)), (21600, rng.choice(AMPS))]
    cap = _recurring(
        (1, "ChargePointMaxProfile", 20), "W", [(0, night), (25200, day), (79200, night)], "Daily"
    )
    weekly = _recurring((2, "TxDefaultProfile", 15), "W", weekdays, "Weekly", start="2026-01-05T00:00:00Z")
    daily = _recurring(
        (3, "TxDefaultProfile", 20), "A", shifts, "Daily", start="2026-01-01T06:00:00Z", duration=43200
    )
    fixed = _profile(
        (4, "TxDefaultProfile", 25, "Absolute"),
        "A",
        [(0, rng.choice(AMPS))],
        startSchedule="2026-01-01T00:00:00Z",
        validFrom="2026-01-01T00:00:00Z",
        validTo="2026-03-07T12:00:00Z",
    )
    soft_start = _profile(
        (5, "TxDefaultProfile", 30, "Relative"), "A", [(0, 6), (3600, rng.choice(AMPS))], duration=7200
    )
    on_connector = ((0, cap), (0, weekly), (1, daily), (2, fixed), (0, soft_start))
    return [Installed(connector, payload) for connector, payload in on_connector]


def site_seconds(stations: list[list[Installed]]) -> float:
    """Seconds for the 7-day station total of every station, once."""
    gc.collect()  # garbage left by the previous run is not this run's cost
    began = time.perf_counter()
    for profiles in stations:
        composite_schedule(profiles, 0, WINDOW_START, WEEK_S, connectors=2)
    return time.perf_counter() - began


def timed(small: list[list[Installed]], large: list[list[Installed]], repeat: int) -> tuple[Sample, Sample]:
    """`repeat` runs of each site, interleaved so both see the same machine load."""
    small_runs, large_runs = [], []
    for _ in range(repeat):
        small_runs.append(site_seconds(small))
        large_runs.append(site_seconds(large))
    return Sample(tuple(small_runs)), Sample(tuple(large_runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=50, help="stations of the small site")
    parser.add_argument("--large", type=int, default=500, help="stations of the large site")
    parser.add_argument("--repeat", type=int, default=7, help="runs per site; the median counts")
    args = parser.parse_args()
    rng = random.Random(1)
    large = [station(rng) for _ in range(args.large)]
    small = large[: args.small]
    periods = sum(
        len(r) for r in (composite_schedule(p, 0, WINDOW_START, WEEK_S, connectors=2) for p in small)
    )
    small_s, large_s = timed(small, large, args.repeat)
    ratio = large_s.ratio(small_s)
    small_text = small_s.text(args.small, "station")
    print(f"{args.small} stations x 5 profiles, 7 days: {small_text} ({periods} periods)")
    print(f"{args.large} stations x 5 profiles, 7 days: {large_s.text(args.large, 'station')}")
    # The target scales with the sizes asked for: 10.5 x for the default 10 x the stations.
    target = TARGET_RATIO * args.large / args.small / 10
    verdict = "within" if ratio <= target else "above"
    scale = args.large / args.small
    print(
        f"ratio of the medians {ratio:.2f} x for {scale:g} x the stations ({verdict} the target {target:g} x)"
    )


if __name__ == "__main__":
    main()
