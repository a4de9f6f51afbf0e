"""`reconciler demo`: the whole loop against a sandbox, in one command and without an eDRV account.

It copies the site files of `desired/` to a temporary directory and starts, on free loopback ports, a
webhook receiver with its inbox and a sandbox that behaves like eDRV: every call is answered at once
as `requested`, and the charger's answer travels only as a signed webhook to the receiver. One charge
point is simulated as holding one profile fewer than its site's plan sends it (its
MaxChargingProfilesInstalled lowered), so that one set is rejected, as a charger whose real
configuration differs from its site file would. The demo then plans and applies (auto-approved)
through the real eDRV client, shows the records `requested`, waits for the webhooks, ingests them
(requested → accepted, and the one rejection with the charger's answer), shows what every station
holds and the composite schedule of the station with the most varied one (asked through the API,
its answer read back from the inbox), and plans once more: nothing left to send, the rejection
waiting for its back-off. Last, that station reboots losing the profiles at its top stack level: drift
finds it allowing more than recorded, heals it (the next apply sends them again) and then finds every
charger in sync. The user's files, recorded state included, are never touched.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from reconciler.desired.loader import YAML_SUFFIXES
from reconciler.edrv import wire as edrv
from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.edrv.inbox import Inbox
from reconciler.edrv.webhook import COMPOSITE, Verification
from reconciler.ocpp.drift import Verdict
from reconciler.ocpp.profile import Json, RateUnit, parse_timestamp
from reconciler.ocpp.schedule import CompositePeriod
from reconciler.plan.site import SitePlan
from reconciler.plan.siteschedule import StationSchedule
from reconciler.render.confirm import ingest_text
from reconciler.render.drift import render_text as render_drift
from reconciler.render.drift import summary as drift_summary
from reconciler.render.schedule import render_text as render_schedule
from reconciler.render.state import render_text as render_state
from reconciler.render.text import render_text
from reconciler.sandbox.background import BackgroundSandbox
from reconciler.sandbox.config import SandboxConfig, StationSpec, stations_from_desired
from reconciler.shell.apply import summary
from reconciler.shell.apply_sites import apply_with_client
from reconciler.shell.drift import DriftSettings, drift_sites
from reconciler.shell.ingest import ingest
from reconciler.shell.network import site_ids
from reconciler.shell.receiver import ReceiverConfig
from reconciler.shell.reconcile import locked, plan_sites
from reconciler.state import store

Echo = Callable[[str], None]
_WINDOW_S = 86400
_ANSWER_WAIT_S = 10.0


def run_demo(desired_dir: Path, echo: Echo) -> int:
    """Run the demo on the site files in `desired_dir`; 0 when every call went through, else 1."""
    now = datetime.now(UTC)
    stations = stations_from_desired(desired_dir, now)
    with tempfile.TemporaryDirectory(prefix="reconciler-demo-") as scratch:
        work = _copy_sites(desired_dir, Path(scratch) / "desired")
        sites = site_ids(work)
        picked, sets = _refusing_station(plan_sites(work, sites, now))
        if picked is not None:
            stations[picked] = _holding_fewer(stations[picked], sets - 1)
        hooks = ReceiverConfig(
            Path(scratch) / "inbox.sqlite3", Verification((secrets.token_hex(16),)), port=0
        )
        log: list[str] = []
        config = SandboxConfig(stations, port=0, ocpp_port=0)
        with BackgroundSandbox(config, log.append, receiver=hooks) as sandbox:
            receiver = sandbox.receiver
            if receiver is None:  # started with a receiver's configuration, so it is there
                raise RuntimeError("the demo's receiver did not start")
            echo(
                f"Sandbox up: eDRV API {sandbox.api_url}, OCPP {sandbox.ocpp_url}/<station>, "
                f"{len(stations)} simulated charge point(s); it answers every call with `requested` and "
                f"sends the charger's answer as a signed webhook to the receiver at {receiver.url}"
                f"{hooks.path}."
            )
            if picked is not None:
                echo(
                    f"Charge point {picked} is simulated with MaxChargingProfilesInstalled {sets - 1}, "
                    f"one fewer than the {sets} profiles its site sends it: one set will be rejected."
                )
            echo(f"Applying {desired_dir}/ (copied to a temporary directory) through the eDRV client:\n")
            # The client's default pace (10 calls/s) is for eDRV; the sandbox on loopback takes more.
            settings = EdrvSettings(
                api_key=config.api_key, api_url=sandbox.api_url, rate_per_s=500, burst=100
            )
            with locked(work, sites, None, 0):
                plans = plan_sites(work, sites, now)
                echo(render_text(plans, colour=False))
                results = apply_with_client(
                    plans, settings, desired_dir=work, state_dir=None, now=now, source="the plan"
                )
            echo(summary(results))
            echo(f"Recorded now: {_statuses(work, sites)}: eDRV took the calls; the answers come by webhook.")
            sandbox.settle()
            with Inbox(hooks.db_path) as inbox:
                _ingest(inbox, work, plans, echo)
                if picked is not None:
                    echo(_refusal(work, plans, picked, log))
                truth = httpx.get(f"{sandbox.api_url}/_sandbox/stations").json()["stations"]
                echo("What each charge point holds now (GET /_sandbox/stations):")
                echo(_holdings(truth, plans))
                schedules = _composites(settings, sorted(truth), inbox)
            echo("\nThe charge point's own composite schedule (GetCompositeSchedule via the eDRV API; its")
            echo("answer came back by webhook, read from the inbox by its action id):")
            shown = _most_varied(schedules, _site_of(plans))
            echo(render_schedule([shown]))
            again = plan_sites(work, sites, now)
            pending = sum(len(p.changes) for p in again)
            waiting = [n for p in again for n in p.notes if "rejected" in n.reason]
            echo(f"A second plan now finds {pending} change(s) to make.")
            for note in waiting:
                echo(f"  {note.station_id}/{note.name}: {note.reason}")
            healed = _drift(work, sites, settings, sandbox, hooks.db_path, shown.station_id, echo)
    echo(f"Sandbox and receiver stopped; nothing under {desired_dir}/ was changed.")
    return 1 if any(r.failed for r in results) or not healed else 0


def _drift(  # noqa: PLR0917 - one call site, in the order the demo has them
    work: Path, sites: list[str], settings: EdrvSettings, sandbox: BackgroundSandbox, db: Path, station: str,
    echo: Echo,
) -> bool:  # fmt: skip
    """A charger loses profiles in a reboot; drift finds it, heals it, and finds it in sync again."""
    lost = httpx.post(
        f"{sandbox.api_url}/_sandbox/stations/{station}/reboot", json={"lose": "top_stack_level"}
    )
    echo(
        f"\nDrift. Charge point {station} reboots and loses the profiles at its top stack level "
        f"({lost.json()['lost']}), as some firmware does. `reconciler drift --heal` asks every charger for "
        "its composite schedule (answers by webhook) and compares it with what its records give:"
    )
    with Inbox(db) as inbox:
        found = drift_sites(
            work, sites, datetime.now(UTC), settings, inbox, settings=DriftSettings(heal=True)
        )
        echo(render_drift(found))
        with locked(work, sites, None, 0):
            now = datetime.now(UTC)
            plans = plan_sites(work, sites, now)
            echo(render_text([p for p in plans if p.changes], colour=False))
            apply_with_client(plans, settings, desired_dir=work, state_dir=None, now=now, source="the plan")
        sandbox.settle()
        ingest(inbox, work, sites, None, now=datetime.now(UTC))
        again = drift_sites(work, sites, datetime.now(UTC), settings, inbox)
    echo(f"After the heal, drift again: {drift_summary(again)}")
    return all(s.verdict is Verdict.IN_SYNC for site in again for s in site.stations)


def _copy_sites(desired_dir: Path, work: Path) -> Path:
    work.mkdir()
    for path in desired_dir.iterdir():
        if path.suffix in YAML_SUFFIXES and not path.name.startswith(".") and path.is_file():
            shutil.copy2(path, work / path.name)
    return work


def _ingest(inbox: Inbox, work: Path, plans: Sequence[SitePlan], echo: Echo) -> None:
    sites = [p.site_id for p in plans]
    echo(f"The receiver stored {inbox.count()} signed webhook event(s) in its inbox. Ingest:\n")
    report = ingest(inbox, work, sites, None, now=datetime.now(UTC))
    echo(ingest_text(report, {p.site_id: p.clock for p in plans}))
    echo(f"Recorded now: {_statuses(work, sites)}.")


def _refusing_station(plans: Sequence[SitePlan]) -> tuple[str | None, int]:
    """The station the plan sends the most sets to (at least two), and how many."""
    counts = Counter(c.station_id for p in plans for c in p.changes if c.after is not None)
    if not counts:
        return None, 0
    station_id, sets = max(sorted(counts.items()), key=lambda item: item[1])
    return (station_id, sets) if sets >= 2 else (None, 0)


def _holding_fewer(spec: StationSpec, profiles: int) -> StationSpec:
    limits = spec.ocpp.model_copy(update={"max_profiles_installed": profiles})
    return spec.model_copy(update={"ocpp": limits})


def _statuses(work: Path, sites: Sequence[str]) -> str:
    counts: Counter[str] = Counter()
    for site in sites:
        recorded = store.load(store.state_path(work, site), site)
        if recorded is not None:
            counts.update(r.status.value for _, _, r in recorded.records())
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


def _refusal(work: Path, plans: Sequence[SitePlan], station_id: str, log: Sequence[str]) -> str:
    plan = next(p for p in plans for c in p.changes if c.station_id == station_id)
    site = plan.site_id
    recorded = store.load(store.state_path(work, site), site)
    if recorded is None:
        return ""
    only = recorded.model_copy(update={"stations": {station_id: recorded.stations[station_id]}})
    shown = "\n".join(render_state(only, plan.clock, plan.descriptions).splitlines()[3:])
    said = [line for line in log if f"charge point {station_id} rejects" in line]
    why = (
        f"\nOCPP's answer is a bare Rejected; the simulated charge point's log says why:\n  {said[0]}"
        if said
        else ""
    )
    return f"\nThe refusing station's records (reconciler state show {site}):\n{shown}{why}\n"


def _holdings(truth: dict[str, Json], plans: Sequence[SitePlan]) -> str:
    described = {station: d for plan in plans for station, d in plan.descriptions.items()}
    lines = []
    for station_id, entry in sorted(truth.items()):
        held = [
            f"#{p['chargingProfileId']} {p['chargingProfilePurpose']} stack {p['stackLevel']} connector {c}"
            for c, profiles in entry["profiles"].items()
            for p in profiles
        ]
        name = f"{station_id} ({described[station_id]})" if station_id in described else station_id
        lines.append(f"  {name}: " + ("; ".join(held) if held else "no profiles"))
    return "\n".join(lines)


def _composites(settings: EdrvSettings, station_ids: Sequence[str], inbox: Inbox) -> dict[str, Json]:
    """Ask every station for its composite schedule, then read each answer from the inbox."""
    requests = [edrv.get_composite_schedule(s, 0, _WINDOW_S, "W") for s in station_ids]

    async def ask() -> list[Any]:
        async with EdrvClient(settings) as client:
            return await client.send_all(requests)

    answers = asyncio.run(ask())
    out: dict[str, Json] = {}
    for station_id, answer in zip(station_ids, answers, strict=True):
        action_id = edrv.action_id(answer) if isinstance(answer, edrv.EdrvResponse) else None
        if action_id is None:
            continue
        found = inbox.wait_for(action_id, [f"chargestation.{COMPOSITE}.accepted"], _ANSWER_WAIT_S)
        envelope = found.envelope() if found is not None else None
        data = envelope.get("data", {}).get("response_data") if envelope else None
        if isinstance(data, dict) and data.get("status") == "Accepted":
            out[station_id] = data
    return out


def _site_of(plans: Sequence[SitePlan]) -> dict[str, SitePlan]:
    return {change.station_id: plan for plan in plans for change in plan.changes}


def _most_varied(schedules: dict[str, Json], sites: dict[str, SitePlan]) -> StationSchedule:
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
    plan = sites.get(station_id)
    if plan is None:
        return StationSchedule("sandbox", station_id, None, 0, RateUnit.WATT, composite)
    description = plan.descriptions.get(station_id)
    return StationSchedule(plan.site_id, station_id, description, 0, RateUnit.WATT, composite, plan.clock)
