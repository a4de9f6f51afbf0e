"""`reconciler demo`: the whole loop against a sandbox, in one command and without an eDRV account.

It copies the site files of `desired/` to a temporary directory, starts a sandbox with one simulated
charge point per station on free ports, plans and applies (auto-approved) through the real eDRV client,
shows what every station now holds and the composite schedule of the station with the most varied
one, plans once more to show that nothing is left to do, and stops the sandbox. The user's files,
recorded state included, are never touched: the demo's state lives and dies in the temporary directory.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from reconciler.desired.loader import YAML_SUFFIXES
from reconciler.edrv import wire as edrv
from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.ocpp.profile import Json, RateUnit, parse_timestamp
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.siteschedule import StationSchedule
from reconciler.render.schedule import render_text as render_schedule
from reconciler.render.text import render_text
from reconciler.sandbox.background import BackgroundSandbox
from reconciler.sandbox.config import SandboxConfig, stations_from_desired
from reconciler.shell.apply import summary
from reconciler.shell.reconcile import apply_with_client, locked, plan_sites, site_ids

Echo = Callable[[str], None]
_WINDOW_S = 86400


def run_demo(desired_dir: Path, echo: Echo) -> int:
    """Run the demo on the site files in `desired_dir`; 0 when every call went through, else 1."""
    now = datetime.now(UTC)
    stations = stations_from_desired(desired_dir, now)
    with tempfile.TemporaryDirectory(prefix="reconciler-demo-") as scratch:
        work = Path(scratch) / "desired"
        work.mkdir()
        for path in desired_dir.iterdir():
            if path.suffix in YAML_SUFFIXES and not path.name.startswith(".") and path.is_file():
                shutil.copy2(path, work / path.name)
        config = SandboxConfig(stations, port=0, ocpp_port=0)
        with BackgroundSandbox(config) as sandbox:
            echo(
                f"Sandbox up: eDRV API {sandbox.api_url}, OCPP {sandbox.ocpp_url}/<station>, "
                f"{len(stations)} simulated charge point(s)."
            )
            echo(f"Applying {desired_dir}/ (copied to a temporary directory) through the eDRV client:\n")
            # The client's default pace (10 calls/s) is for eDRV; the sandbox on loopback takes more.
            settings = EdrvSettings(
                api_key=config.api_key, api_url=sandbox.api_url, rate_per_s=500, burst=100
            )
            sites = site_ids(work)
            with locked(work, sites, None, 0):
                plans = plan_sites(work, sites, now)
                echo(render_text(plans, colour=False))
                results = apply_with_client(
                    plans, settings, desired_dir=work, state_dir=None, now=now, source="the plan"
                )
            echo(summary(results))
            truth = httpx.get(f"{sandbox.api_url}/_sandbox/stations").json()["stations"]
            echo("What each charge point holds now (GET /_sandbox/stations):")
            echo(_holdings(truth))
            schedules = asyncio.run(_composites(settings, sorted(truth)))
            echo("\nThe charge point's own composite schedule (GetCompositeSchedule via the eDRV API):")
            echo(render_schedule([_most_varied(schedules, _site_of(plans))]))
            again = plan_sites(work, sites, now)
            pending = sum(len(p.changes) for p in again)
            echo(f"A second plan now finds {pending} change(s) to make.")
    echo(f"Sandbox stopped; nothing under {desired_dir}/ was changed.")
    return 1 if any(r.failed for r in results) else 0


def _holdings(truth: dict[str, Json]) -> str:
    lines = []
    for station_id, entry in sorted(truth.items()):
        held = [
            f"#{p['chargingProfileId']} {p['chargingProfilePurpose']} stack {p['stackLevel']} connector {c}"
            for c, profiles in entry["profiles"].items()
            for p in profiles
        ]
        lines.append(f"  {station_id}: " + ("; ".join(held) if held else "no profiles"))
    return "\n".join(lines)


async def _composites(settings: EdrvSettings, station_ids: Sequence[str]) -> dict[str, Json]:
    requests = [edrv.get_composite_schedule(s, 0, _WINDOW_S, "W") for s in station_ids]
    async with EdrvClient(settings) as client:
        answers = await client.send_all(requests)
    out: dict[str, Json] = {}
    for station_id, answer in zip(station_ids, answers, strict=True):
        if isinstance(answer, edrv.EdrvResponse) and isinstance(answer.result, dict):
            data = answer.result.get("response_data")
            if isinstance(data, dict) and data.get("status") == "Accepted":
                out[station_id] = data
    return out


def _site_of(plans: Sequence[Any]) -> dict[str, str]:
    return {change.station_id: plan.site_id for plan in plans for change in plan.changes}


def _most_varied(schedules: dict[str, Json], sites: dict[str, str]) -> StationSchedule:
    def periods(data: Json) -> list[Json]:
        found: list[Json] = data["chargingSchedule"]["chargingSchedulePeriod"]
        return found

    station_id = max(sorted(schedules), key=lambda s: len(periods(schedules[s])))
    data = schedules[station_id]
    start = parse_timestamp(data["scheduleStart"])
    raw = periods(data)
    ends = [item["startPeriod"] for item in raw[1:]] + [data["chargingSchedule"]["duration"]]
    composite = tuple(
        CompositePeriod(
            start + timedelta(seconds=item["startPeriod"]),
            start + timedelta(seconds=end_s),
            Decimal(str(item["limit"])),
        )
        for item, end_s in zip(raw, ends, strict=True)
    )
    return StationSchedule(sites.get(station_id, "sandbox"), station_id, None, 0, RateUnit.WATT, composite)
