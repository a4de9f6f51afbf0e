"""How much does one sandbox with many simulated charge points cost?

Starts a sandbox of N two-connector stations in this process (every charge point a real OCPP 1.6J
websocket client of the sandbox's central system), and reports the time until all have booted, the
process's resident memory before and after (so the per-station cost), the time to send one profile
to every station through the real eDRV client and read every station's composite schedule, and the
time to stop. The sandbox runs synchronous (`SandboxConfig.synchronous`), so that each answer waits for
the charge point's and the times include every OCPP round trip. A measurement, not a test: it exits 0
whatever the numbers.

    python benchmarks/sandbox_bench.py
    python benchmarks/sandbox_bench.py --stations 1000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from reconciler.edrv import wire as edrv
from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.sandbox.config import DEFAULT_API_KEY, SandboxConfig, StationSpec
from reconciler.sandbox.server import Sandbox

PROFILE = {
    "chargingProfileId": 1,
    "stackLevel": 20,
    "chargingProfilePurpose": "ChargePointMaxProfile",
    "chargingProfileKind": "Recurring",
    "recurrencyKind": "Daily",
    "chargingSchedule": {
        "startSchedule": "2026-01-05T00:00:00Z",
        "duration": 86400,
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 22000},
            {"startPeriod": 57600, "limit": 8000},
            {"startPeriod": 68400, "limit": 22000},
        ],
    },
}


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _measure(count: int) -> None:
    stations = {f"SIM-{n:05d}": StationSpec(connectors=2) for n in range(count)}
    config = SandboxConfig(stations, port=0, ocpp_port=0, synchronous=True)
    before_mib = _rss_mib()
    started_s = time.perf_counter()
    async with Sandbox(config) as sandbox:
        booted_s = time.perf_counter() - started_s
        after_mib = _rss_mib()
        print(f"{count} stations booted in {booted_s:.2f} s")
        per_station_kib = (after_mib - before_mib) * 1024 / count
        print(f"RSS {before_mib:.0f} MiB, then {after_mib:.0f} MiB: {per_station_kib:.0f} KiB per station")
        # The client's own concurrency, but not eDRV's pace: the sandbox is on loopback.
        settings = EdrvSettings(
            api_key=DEFAULT_API_KEY, api_url=sandbox.api_url, rate_per_s=10_000, burst=1000
        )
        async with EdrvClient(settings) as client:
            sent_s = time.perf_counter()
            answers = await client.send_all(edrv.set_charging_profile(s, 0, PROFILE) for s in stations)
            set_s = time.perf_counter() - sent_s
            accepted = sum(
                isinstance(a, edrv.EdrvResponse) and edrv.action_outcome(a).completed for a in answers
            )
            print(f"{accepted}/{count} profiles set and accepted in {set_s:.2f} s ({count / set_s:.0f}/s)")
            sent_s = time.perf_counter()
            await client.send_all(edrv.get_composite_schedule(s, 0, 86400) for s in stations)
            print(f"{count} composite schedules in {time.perf_counter() - sent_s:.2f} s")
        print(f"RSS with profiles set {_rss_mib():.0f} MiB")
        stopping_s = time.perf_counter()
    print(f"stopped in {time.perf_counter() - stopping_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=500)
    asyncio.run(_measure(parser.parse_args().stations))


if __name__ == "__main__":
    main()
