"""`reconciler drift`: ask each charger for its composite schedule and compare it with its records.

For every station with live records (`plan.drift.targets`), one GetCompositeSchedule per connector
checked goes out through the eDRV client (rate-limited and one call at a time per station, like every
call). eDRV answers with an Action; the schedule is in it when the Action is already final (the sandbox's
`--synchronous` mode), else it arrives as a `chargestation.get_composite_schedule.*` webhook, read here
from the inbox (a database or a receiver's URL) until `timeout_s`. Without an inbox, or past the timeout,
a connector is unreachable, as it is when eDRV refuses the request or the charger rejects it.

Every request is sent first and the answers are then collected together, so a network waits about one
answer time, not one per station. Each site's lock is held from before its state is read until its
checks (and heal marks) are written: `plan.drift.heal` decides, `state.store` writes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from reconciler.desired.clock import UTC_CLOCK
from reconciler.edrv import wire as edrv
from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.edrv.inbox import Query, Reader
from reconciler.edrv.webhook import COMPOSITE, FINAL
from reconciler.errors import EdrvError, InboxError
from reconciler.ocpp.drift import ReportError, Tolerance, Verdict, compare, read_reported
from reconciler.ocpp.schedule import Installed
from reconciler.plan import window
from reconciler.plan.drift import (
    DEFAULT_MAX_HEALS_PER_DAY,
    ConnectorResult,
    SiteDrift,
    StationResult,
    Target,
    expected_pieces,
)
from reconciler.plan.drift import expected as expected_composites
from reconciler.plan.drift import heal as heal_station
from reconciler.plan.drift import targets as targets_of
from reconciler.shell.reconcile import load_desired, locked
from reconciler.state import store

# The event types that carry a charger's answer to GetCompositeSchedule.
ANSWERS = tuple(f"chargestation.{COMPOSITE}.{outcome}" for outcome in FINAL)
_POLL_S = 0.1
# Answers are read from the inbox from a little before the first request: clocks disagree.
_CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DriftSettings:
    """What one drift run checks and does."""

    hours: float = 24.0
    timeout_s: float = 60.0
    tolerance: Tolerance = field(default_factory=Tolerance)
    heal: bool = False
    max_heals_per_day: int = DEFAULT_MAX_HEALS_PER_DAY
    station: str | None = None
    lock_timeout_s: float = 0.0
    due_after: timedelta | None = None  # check only stations not checked within this long

    @property
    def duration_s(self) -> int:
        return max(1, round(self.hours * 3600))


@dataclass(slots=True)
class _Asked:
    """One composite request on its way: what it is for, when it went, and what came back."""

    target: Target
    connector_id: int
    asked_at: datetime
    action_id: str | None = None
    answer: Mapping[str, Any] | None = None
    failure: str | None = None


def drift_sites(
    desired_dir: Path,
    sites: Sequence[str],
    now: datetime,
    client_settings: EdrvSettings,
    reader: Reader | None,
    *,
    state_dir: Path | None = None,
    settings: DriftSettings = DriftSettings(),
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[SiteDrift]:
    """Check the named sites' chargers (the caller names existing sites) and record what was found.

    Raises `window.WindowTooLongError`, before anything is asked, when the composites compared over
    `settings.hours` would lay out more pieces of the recorded profiles than the window allows."""
    desired = load_desired(desired_dir, sites, now)
    with locked(desired_dir, sites, state_dir, settings.lock_timeout_s):
        paths = {site: store.state_path(desired_dir, site, state_dir) for site in sites}
        recorded = {site: store.load(paths[site], site) for site in sites}
        since = now - settings.due_after if settings.due_after is not None else None
        targets = {
            site: targets_of(desired.get(site), recorded[site], settings.station, since) for site in sites
        }
        # Refused before anything is asked: the answers are compared with composites over the window.
        every = [target for found in targets.values() for target in found]
        pieces = sum(expected_pieces(target, now, settings.duration_s) for target in every)
        window.check(pieces, settings.duration_s, stations=len(every))
        checked = asyncio.run(_check(targets, client_settings, reader, settings, now, transport))
        out = []
        for site in sites:
            state = recorded[site]
            results = checked.get(site, [])
            site_desired = desired.get(site)
            clock = site_desired.clock if site_desired is not None else UTC_CLOCK
            if state is None or not results:
                out.append(SiteDrift(site, (), _notes(state is None, site_desired is None), clock))
                continue
            done = []
            updated = state
            for checked_station in results:
                updated, healed = heal_station(
                    updated, checked_station, now, settings.heal, settings.max_heals_per_day
                )
                done.append(healed)
            store.save(paths[site], updated, state)
            out.append(SiteDrift(site, tuple(done), clock=clock))
        return out


def _notes(no_state: bool, no_desired: bool) -> tuple[str, ...]:
    if no_state:
        return ("nothing recorded: nothing was sent to check",)
    if no_desired:
        return ("no desired file: its stations' rated power and rules are unknown; not checked",)
    return ("no station with live records is due a check",)


async def _check(  # noqa: PLR0917 - one call site, every argument named there
    targets: Mapping[str, list[Target]],
    client_settings: EdrvSettings,
    reader: Reader | None,
    settings: DriftSettings,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None,
) -> dict[str, list[StationResult]]:
    everyone = [target for found in targets.values() for target in found]
    async with EdrvClient(client_settings, transport=transport) as client:
        sessions = await asyncio.gather(*(_sessions(client, t) for t in everyone))
        asked = [
            a for group in await asyncio.gather(*(_ask(client, t, settings) for t in everyone)) for a in group
        ]
    await asyncio.to_thread(_collect, asked, reader, settings.timeout_s)
    by_station: dict[tuple[str, str], list[_Asked]] = {}
    for item in asked:
        by_station.setdefault((item.target.site_id, item.target.station_id), []).append(item)
    out: dict[str, list[StationResult]] = {}
    for target, found in zip(everyone, sessions, strict=True):
        items = by_station[target.site_id, target.station_id]
        if isinstance(found, str):
            results = tuple(ConnectorResult(i.connector_id, Verdict.UNREACHABLE, reason=found) for i in items)
        else:
            installed = target.installed()
            results = tuple(_compare(i, found, settings, installed) for i in items)
        out.setdefault(target.site_id, []).append(StationResult(target, now, results))
    return out


async def _sessions(client: EdrvClient, target: Target) -> Mapping[int, datetime] | str:
    """The sessions running on a station with session caps (their caps apply then), or why unknown."""
    if not target.has_session_caps:
        return {}
    try:
        running = await client.active_sessions(target.station_id)
    except EdrvError as err:
        return f"its sessions could not be looked up: {err}"
    return {s.connector_id: s.started_at for s in running}


async def _ask(client: EdrvClient, target: Target, settings: DriftSettings) -> list[_Asked]:
    """One composite request per connector checked, one after another (as the client sends a station's)."""
    asked = []
    for connector_id in target.connectors:
        item = _Asked(target, connector_id, _now())
        request = edrv.get_composite_schedule(target.station_id, connector_id, settings.duration_s, "W")
        try:
            response = await client.send(request)
        except EdrvError as err:
            item.failure = str(err)
        else:
            item.action_id = edrv.action_id(response)
            item.answer = _final(response.result)
            if item.answer is None and item.action_id is None:
                item.failure = "eDRV gave no Action id to find the answer by"
        asked.append(item)
    return asked


def _final(action: Any) -> Mapping[str, Any] | None:
    """The charger's GetCompositeSchedule answer an Action already holds (it is final), else None."""
    if not isinstance(action, Mapping) or str(action.get("status", "")).casefold() not in (
        "completed",
        "failed",
    ):
        return None
    answer = action.get("response_data")
    return answer if isinstance(answer, Mapping) else {"status": "Rejected"}


def _collect(asked: Sequence[_Asked], reader: Reader | None, timeout_s: float) -> None:
    """Fill in each open request's answer from the inbox, waiting up to `timeout_s` for them all."""
    waiting: dict[str, _Asked] = {
        a.action_id: a for a in asked if a.answer is None and a.failure is None and a.action_id
    }
    if not waiting:
        return
    if reader is None:
        for item in waiting.values():
            item.failure = "eDRV answers composite schedules by webhook, and no inbox was given (--inbox)"
        return
    since = min(a.asked_at for a in waiting.values()) - _CLOCK_SLACK
    stations = tuple(sorted({a.target.station_id for a in waiting.values()}))
    query = Query(types=ANSWERS, stations=stations, since=since, with_body=True)
    deadline = time.monotonic() + timeout_s
    try:
        while waiting:
            page = reader.page(query)
            for received in page.events:
                key = received.event.action_id
                if key is not None and key in waiting:
                    waiting.pop(key).answer = _answer_of(received.envelope())
            query = Query(page.next, query.limit, query.stations, query.types, since=since, with_body=True)
            if page.more:
                continue
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
    except InboxError as err:
        for item in waiting.values():
            item.failure = f"the inbox could not be read: {err}"
        return
    for item in waiting.values():
        item.failure = f"no answer within {timeout_s:g} s"


def _answer_of(envelope: Mapping[str, Any] | None) -> Mapping[str, Any]:
    data = envelope.get("data") if envelope else None
    answer = data.get("response_data") if isinstance(data, Mapping) else None
    return answer if isinstance(answer, Mapping) else {"status": "Rejected"}


def _compare(
    item: _Asked, sessions: Mapping[int, datetime], settings: DriftSettings, installed: Sequence[Installed]
) -> ConnectorResult:
    target = item.target
    if item.failure is not None or item.answer is None:
        return ConnectorResult(item.connector_id, Verdict.UNREACHABLE, reason=item.failure or "no answer")
    try:
        reported = read_reported(
            item.answer, item.asked_at, settings.duration_s, target.voltage_v, target.options.default_phases
        )
    except ReportError as err:
        return ConnectorResult(item.connector_id, Verdict.UNREACHABLE, reason=str(err))
    # Only the connector answered: a connector's composite needs its own line alone, not every one.
    start, connector_id = reported[0].start, item.connector_id
    wanted = expected_composites(
        target, start, settings.duration_s, sessions, (connector_id,), installed=installed
    )
    want = wanted[connector_id]
    comparison = compare(want, reported, target.rated_w, settings.tolerance)
    return ConnectorResult(item.connector_id, comparison.verdict, comparison, tuple(want), tuple(reported))


def _now() -> datetime:
    return datetime.now(UTC)
