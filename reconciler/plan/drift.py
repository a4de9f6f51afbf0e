"""Drift, decided: which composite schedules to ask each station for, what each should show, how the
station stands, and what healing it writes into recorded state. Pure; `shell.drift` does the asking.

A station is checked when it has live records (sent, not retired, not being cleared): its connector 0
(the station total) and every connector a record is installed on. What it should show is the composite
of those records, by the charger's own firmware rules (`ocpp.composite` of the desired station), from the
moment its report starts: records the charger accepted, and records eDRV took that no answer has yet
confirmed (the best knowledge there is; the report says how many). A station's verdict is the worst of
its connectors' (`ocpp.drift.Verdict`).

Healing asks the next plan to send again, by id, exactly the records of the connectors whose charger
allows more than recorded (a set by the same id replaces, so this is safe); nothing is sent here. A
station healed `max_heals_per_day` times within a day is flapping: reported, and left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.validate import DesiredSite
from reconciler.ocpp.drift import SEVERITY, Comparison, Verdict
from reconciler.ocpp.firmware import CompositeOptions
from reconciler.ocpp.profile import RateUnit, format_timestamp, parse_timestamp
from reconciler.ocpp.schedule import CompositePeriod, Installed, composite_schedules, pieces_within
from reconciler.state.recorded import HELD, DriftCheck, ProfileRecord, RecordedState, Status

DEFAULT_MAX_HEALS_PER_DAY = 3
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Target:
    """One station to check: what to ask for and what it should hold."""

    site_id: str
    station_id: str
    description: str | None
    connectors: tuple[int, ...]  # the connectors to ask about, 0 first
    connector_count: int
    rated_w: Decimal
    voltage_v: Decimal
    options: CompositeOptions
    records: Mapping[str, ProfileRecord]  # the live records expected on the charger, by name
    clock: SiteClock = UTC_CLOCK  # the site's, for the report

    @property
    def unconfirmed(self) -> int:
        return sum(r.status is Status.REQUESTED for r in self.records.values())

    @property
    def has_session_caps(self) -> bool:
        return any(r.session_id is not None for r in self.records.values())

    def installed(self) -> list[Installed]:
        """The live records as the profiles installed on the charger, each payload read when first laid
        out: read once for all of a station's answers (`expected`), and let go with them."""
        return [Installed(r.connector_id, r.payload) for r in self.records.values()]


def targets(
    desired: DesiredSite | None,
    recorded: RecordedState | None,
    station: str | None = None,
    checked_since: datetime | None = None,
) -> list[Target]:
    """The stations of a site to check, by id; `station` narrows to one, and `checked_since` leaves out
    those checked since then. A station no longer desired is left out: its records are the plan's to
    clear, and its rated power is not known."""
    if desired is None or recorded is None:
        return []
    found = []
    for station_id, record in sorted(recorded.stations.items()):
        spec = desired.stations.get(station_id)
        if spec is None or (station is not None and station_id != station):
            continue
        if checked_since is not None and _checked_since(record.drift, checked_since):
            continue
        live = _live(record.profiles)
        if not live:
            continue
        connectors = tuple(sorted({0, *(r.connector_id for r in live.values())}))
        found.append(
            Target(
                desired.site_id,
                station_id,
                spec.description,
                connectors,
                spec.connectors,
                spec.rated_power_kw * 1000,
                desired.doc.site.nominal_voltage_v,
                spec.ocpp.composite.options(),
                live,
                desired.clock,
            )
        )
    return found


def _live(profiles: Mapping[str, ProfileRecord]) -> dict[str, ProfileRecord]:
    return {
        name: r
        for name, r in profiles.items()
        if not r.is_retired and r.clearing is None and r.status in HELD
    }


def _checked_since(check: DriftCheck | None, moment: datetime) -> bool:
    return check is not None and parse_timestamp(check.checked_at) >= moment


def checks_due(recorded: RecordedState | None, checked_since: datetime) -> int:
    """How many stations with live records were not checked since `checked_since` (never, or before)."""
    if recorded is None:
        return 0
    return sum(
        1
        for station in recorded.stations.values()
        if _live(station.profiles) and not _checked_since(station.drift, checked_since)
    )


def expected_pieces(target: Target, start: datetime, duration_s: int) -> int:
    """How many pieces of the records' profiles `expected` lays out at most over the window, counted
    without laying any out (`schedule.pieces_within`): what `window.check` bounds."""
    return pieces_within(target.installed(), start, duration_s, target.options)


def expected(
    target: Target,
    start: datetime,
    duration_s: int,
    sessions: Mapping[int, datetime] | None = None,
    connectors: Sequence[int] | None = None,
    *,
    installed: Sequence[Installed] | None = None,
) -> dict[int, list[CompositePeriod]]:
    """What each checked connector's composite (or each of `connectors`) should be over
    [start, start + duration_s), in W; from `installed` (`target.installed()`) when given, so that a
    station's answers, each compared over its own window, read its payloads once (a station of 30
    connectors of minute tariffs answers 31 times: 0.49 s, read for each, against 0.05 s)."""
    return composite_schedules(
        target.installed() if installed is None else installed,
        target.connectors if connectors is None else connectors,
        start,
        duration_s,
        unit=RateUnit.WATT,
        sessions=sessions,
        connectors=target.connector_count,
        voltage_v=target.voltage_v,
        options=target.options,
    )


@dataclass(frozen=True, slots=True)
class ConnectorResult:
    """How one connector's report compares; `reason` says why there is none (unreachable)."""

    connector_id: int
    verdict: Verdict
    comparison: Comparison | None = None
    expected: tuple[CompositePeriod, ...] = ()
    reported: tuple[CompositePeriod, ...] = ()
    reason: str | None = None


class Heal(StrEnum):
    """What checking a station did about it."""

    NONE = "none"  # in sync, allows less, unreachable, or not asked to heal
    REQUESTED = "requested"  # the next apply sends its drifted connectors' records again
    FLAPPING = "flapping"  # healed too often within a day: left alone


@dataclass(frozen=True, slots=True)
class StationResult:
    """One station checked: each connector's result, and what healing did."""

    target: Target
    checked_at: datetime
    connectors: tuple[ConnectorResult, ...]
    heal: Heal = Heal.NONE
    healed: tuple[str, ...] = ()  # the records the next apply re-sends
    heals_today: int = 0

    @property
    def verdict(self) -> Verdict:
        return max((c.verdict for c in self.connectors), key=SEVERITY.__getitem__, default=Verdict.IN_SYNC)

    @property
    def first_difference(self) -> datetime | None:
        moments = [c.comparison.first_difference for c in self.connectors if c.comparison is not None]
        return min((m for m in moments if m is not None), default=None)

    @property
    def reason(self) -> str | None:
        """Why the station could not be checked, when it could not."""
        return next((c.reason for c in self.connectors if c.reason), None)


@dataclass(frozen=True, slots=True)
class SiteDrift:
    """One site's drift check."""

    site_id: str
    stations: tuple[StationResult, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    clock: SiteClock = UTC_CLOCK

    @property
    def verdict(self) -> Verdict:
        return max((s.verdict for s in self.stations), key=SEVERITY.__getitem__, default=Verdict.IN_SYNC)


def heal(
    recorded: RecordedState, result: StationResult, now: datetime, heal_requested: bool, max_per_day: int
) -> tuple[RecordedState, StationResult]:
    """`recorded` with the station's check written, and its drifted records marked for sending again when
    asked to heal and it is not flapping; the result says what was done."""
    station_id = result.target.station_id
    earlier = recorded.stations[station_id].drift
    recent = tuple(h for h in (earlier.heals if earlier else ()) if now - parse_timestamp(h) < _DAY)
    outcome: Heal = Heal.NONE
    marked: tuple[str, ...] = ()
    if heal_requested and result.verdict is Verdict.ALLOWS_MORE:
        if len(recent) >= max_per_day:
            outcome = Heal.FLAPPING
        else:
            drifted = {c.connector_id for c in result.connectors if c.verdict is Verdict.ALLOWS_MORE}
            marked = tuple(sorted(n for n, r in result.target.records.items() if r.connector_id in drifted))
            stamp = format_timestamp(now.replace(microsecond=0))  # a moment people read in plans
            for name in marked:
                record = result.target.records[name]
                recorded = recorded.with_record(
                    station_id, name, record.model_copy(update={"heal_requested_at": stamp})
                )
            recent = (*recent, stamp)
            outcome = Heal.REQUESTED
    first = result.first_difference
    check = DriftCheck(
        checked_at=format_timestamp(result.checked_at),
        verdict=result.verdict.value,
        first_difference=format_timestamp(first) if first is not None else None,
        detail=result.reason,
        heals=recent,
    )
    done = StationResult(result.target, result.checked_at, result.connectors, outcome, marked, len(recent))
    return recorded.with_drift(station_id, check), done


@dataclass(frozen=True, slots=True)
class Verified:
    """When a site's chargers were last all checked for drift, and the worst they were found then."""

    at: datetime
    verdict: Verdict


def last_verified(recorded: RecordedState | None) -> Verified | None:
    """When the site's chargers were last all checked, and the worst verdict then: the oldest of the
    stations' last checks; None when a station with live records was never checked."""
    if recorded is None:
        return None
    checks = []
    for station in recorded.stations.values():
        if not _live(station.profiles):
            continue  # nothing a check would ask about, as `targets` and `checks_due` see it
        if station.drift is None:
            return None
        checks.append(station.drift)
    if not checks:
        return None
    oldest = min(parse_timestamp(c.checked_at) for c in checks)
    worst = max((Verdict(c.verdict) for c in checks), key=SEVERITY.__getitem__)
    return Verified(oldest, worst)


def station_verdicts(results: Sequence[StationResult]) -> dict[Verdict, int]:
    """How many stations stand in each verdict, for summaries."""
    counts: dict[Verdict, int] = {}
    for result in results:
        counts[result.verdict] = counts.get(result.verdict, 0) + 1
    return counts
