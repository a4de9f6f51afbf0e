"""The plan: the smallest set of eDRV calls that makes the chargers hold what is desired. Pure.

`build(desired, recorded, now)` compares one site's desired profiles with its recorded state:

- unchanged (same payload, connector and id, not rejected or failed): no call;
- new: one set under a fresh id; changed in any field: one set under the recorded id, which the
  charger replaces by id (never clear-then-set);
- removed: one clear by id, unless a set in this plan takes the same (connector, purpose, stack
  level) slot (the charger replaces it by itself) or it has expired: then no call, and the record
  is retired with the reason;
- after a set that was refused, failed or got no answer, the charger may hold an earlier payload
  under that id: removed, it is cleared by id even when expired or its slot is taken; and a set
  that failed may have reached the charger and replaced another profile in its slot, which is
  therefore sent again;
- desired but expired: no call, shown as skipped;
- a session cap (TxProfile): shown as applying while a session is active; apply sends it;
- a set the charger rejected, or a call still unanswered: as `confirm.Confirmations` says (a
  back-off; one more send once overdue, only when an inbox is read). A clear on its way counts as
  done meanwhile, as a requested set counts as installed.

Changes come in power-safe order: every change that only lowers a limit, then those that lower some
moments and raise others, then those that only raise one; within each by station, connector and name,
except that a change alike an earlier one but for its station follows it (`change.alike_together`: a
template's change reads as one run). Each change is rated by the composite schedules of its station
before and after it alone (see `power`); one that moves no limit counts as lowering. The plan also
carries what its power view is drawn from (`SitePlan.power`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from reconciler.desired import ids
from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.model import Safety
from reconciler.desired.template import PlacedProfile
from reconciler.desired.validate import DesiredSite
from reconciler.errors import ReconcilerError
from reconciler.plan.change import Action, Change, Effect, Note, alike_together, superseded_name
from reconciler.plan.confirm import Confirmations, Standing, standing
from reconciler.plan.drift import Verified, last_verified
from reconciler.plan.power import (
    PowerBasis,
    Station,
    StationBasis,
    StationRater,
    after_clear,
    after_set,
    store_of,
)
from reconciler.plan.station import make_room_first, plan_station
from reconciler.state.recorded import ProfileRecord, RecordedState


@dataclass(frozen=True, slots=True)
class SitePlan:
    """Everything planned for one site, bound to the recorded state it was computed from."""

    site_id: str
    changes: tuple[Change, ...]
    notes: tuple[Note, ...]
    recorded_serial: int | None
    recorded_lineage: str | None
    recorded_count: int
    desired_count: int
    safety: Safety = field(default_factory=Safety)
    allocated_ids: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # Each station's profiles before and after, when the plan changes anything (not read back from JSON).
    power: PowerBasis | None = None
    # What the records say of the charger's answers, and whether answers arrive (not read back either).
    standing: Standing | None = None
    # The site's time zone and its stations' descriptions, for people reading the plan.
    clock: SiteClock = UTC_CLOCK
    descriptions: Mapping[str, str] = field(default_factory=dict)
    planned_at: datetime | None = None
    # When `reconciler drift` last verified every charger of the site (recorded state), if it did.
    verified: Verified | None = None

    @property
    def sets(self) -> int:
        return sum(c.action is Action.SET for c in self.changes)

    @property
    def clears(self) -> int:
        return sum(c.action is Action.CLEAR for c in self.changes)

    @property
    def has_session_caps(self) -> bool:
        """Whether apply must look up sessions, even when nothing else is to be sent."""
        return any(n.cap is not None for n in self.notes)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or any(n.retire is not None for n in self.notes)


class PlanError(ReconcilerError):
    """Desired and recorded state that cannot be planned together (e.g. a pinned id already in use)."""


def build(
    site_id: str,
    desired: DesiredSite | None,
    recorded: RecordedState | None,
    now: datetime,
    confirmations: Confirmations | None = None,
    *,
    station: str | None = None,
    refuse: Callable[[SitePlan], None] | None = None,
) -> SitePlan:
    """Plan one site. `desired` is None when its file is gone; `recorded` is None before the first apply.

    `refuse` (the safety rails) is handed the plan before its changes are rated and may raise: the
    rails judge what is sent, not its effect on power, so an unsafe plan costs no composite.

    `confirmations` says where the charger's answers are read from and how long to wait for them
    (by default: nowhere, so nothing is sent again for want of an answer). With `station`, only that
    station's calls and entries are planned; the site's counts (and so its safety rails) and its
    combined power view still take in every station.
    """
    confirmations = confirmations or Confirmations()
    changes: list[Change] = []
    notes: list[Note] = []
    allocated: dict[tuple[str, str], int] = {}
    held: dict[str, Mapping[str, ProfileRecord]] = {}  # each station's live records, for the power view
    expiries: dict[str, datetime | None] = {}  # recorded payloads' ends, by hash (see `plan_station`)
    desired_profiles: Mapping[str, tuple[PlacedProfile, ...]] = desired.profiles if desired else {}
    station_ids = sorted(set(desired_profiles) | set(recorded.stations if recorded else {}))
    for station_id in station_ids:
        station_record = recorded.stations.get(station_id) if recorded else None
        records = {
            name: record
            for name, record in (station_record.profiles.items() if station_record else ())
            if not record.is_retired
        }
        high_water = station_record.high_water_id if station_record else 0
        placed = desired_profiles.get(station_id, ())
        # A clear on its way counts as done, as a requested set counts as installed.
        held[station_id] = {n: r for n, r in records.items() if r.clearing is None}
        if station is not None and station_id != station:
            continue  # not targeted: its records still count, and still add to the combined limit
        ids_for = _assign_ids(site_id, station_id, placed, records, high_water)
        allocated.update({(station_id, n): i for n, i in ids_for.items() if n not in records})
        station_changes, station_notes = plan_station(
            site_id,
            station_id=station_id,
            placed=placed,
            records=records,
            ids_for=ids_for,
            now=now,
            confirmations=confirmations,
            clock=desired.clock if desired else UTC_CLOCK,
            expiries=expiries,
        )
        changes.extend(station_changes)
        notes.extend(station_notes)
    unrated = SitePlan(
        site_id=site_id,
        changes=tuple(changes),
        notes=tuple(notes),
        recorded_serial=recorded.serial if recorded else None,
        recorded_lineage=recorded.lineage if recorded else None,
        recorded_count=sum(len(records) for records in held.values()),
        desired_count=sum(len(p) for p in desired_profiles.values()),
        safety=desired.doc.site.safety if desired else Safety(),
        allocated_ids=allocated,
        standing=standing(recorded, confirmations, now),
        clock=desired.clock if desired else UTC_CLOCK,
        descriptions=descriptions(desired),
        planned_at=now,
        verified=last_verified(recorded),
    )
    if refuse is not None:
        refuse(unrated)  # before any composite: what the rails judge does not depend on the rating
    if not changes:
        return unrated  # a no-op plan computes no composite
    by_station: dict[str, list[Change]] = {}
    for change in changes:
        by_station.setdefault(change.station_id, []).append(change)
    effects: dict[Hashable, Effect] = {}  # shared by the stations, see `_rated`
    rated = [
        change
        for station_id, station_changes in by_station.items()
        for change in _rated(
            station_changes,
            StationRater(
                _power_station(desired, station_id, held[station_id]),
                store_of(held[station_id].values()),
                now,
            ),
            held[station_id],
            effects,
        )
    ]
    rated.sort(key=lambda c: (c.effect, c.station_id, c.connector_id, c.name, c.action))
    rated = alike_together(rated)
    if desired is not None:
        rated = make_room_first(
            rated, held, {s: d.ocpp.max_profiles_installed for s, d in desired.stations.items()}
        )
    return replace(unrated, changes=tuple(rated), power=_power_basis(desired, held, rated, now))


def descriptions(desired: DesiredSite | None) -> dict[str, str]:
    """Each described station's description, by id."""
    if desired is None:
        return {}
    return {station_id: s.description for station_id, s in desired.stations.items() if s.description}


def _assign_ids(
    site_id: str,
    station_id: str,
    placed: Iterable[PlacedProfile],
    records: Mapping[str, ProfileRecord],
    high_water: int,
) -> dict[str, int]:
    """Pinned ids as written, recorded ids kept, fresh ids above everything the station ever used."""
    assigned: dict[str, int] = {}
    holders = {record.charging_profile_id: name for name, record in records.items()}
    needing: list[str] = []
    for item in placed:
        pinned = item.profile.charging_profile_id
        if pinned is not None:
            holder = holders.get(pinned)
            if holder is not None and holder not in (item.name, superseded_name(item.name, pinned)):
                raise PlanError(
                    f"site {site_id}, station {station_id}: pinned chargingProfileId {pinned} of "
                    f"{item.name!r} "
                    f"is recorded for {holder!r}, which the charger may still hold; pin another id, or "
                    f"remove the pin so one is allocated"
                )
            assigned[item.name] = pinned
        elif item.name in records:
            assigned[item.name] = records[item.name].charging_profile_id
        else:
            needing.append(item.name)
    taken = set(assigned.values()) | set(holders)
    assigned.update(ids.allocate(needing, taken, high_water))
    return assigned


def _rated(
    changes: list[Change],
    rater: StationRater,
    held: Mapping[str, ProfileRecord],
    effects: dict[Hashable, Effect],
) -> list[Change]:
    """Each change of one station with the effect its station's composites give it alone (see `power`).

    A change's effect follows from the station's facts, what it holds and the change alone, so `effects`
    keeps each one worked out, for every station alike: bays placed from the same templates hold the
    same records and get the same changes, and a site-wide change computes one station's composites,
    not every station's. What a station holds is known by its records' ids, connectors and payload hashes.
    """
    holds = (
        rater.station,
        tuple(sorted((r.charging_profile_id, r.connector_id, r.payload_hash) for r in held.values())),
    )
    rated = []
    for change in changes:
        if change.action is Action.SET and change.after is not None:
            if rater.never_raises(change.connector_id, change.after):
                # Lowers, or moves nothing: it goes with the lowering changes either way.
                rated.append(replace(change, effect=Effect.LOWERS))
                continue
            key: Hashable = (holds, change.connector_id, change.payload_key("after"))
        else:
            key = (holds, change.profile_id)
        effect = effects.get(key)
        if effect is None:
            effect = effects[key] = _effect(rater, change)
        rated.append(replace(change, effect=effect))
    return rated


def _effect(rater: StationRater, change: Change) -> Effect:
    if change.action is Action.SET and change.after is not None:
        moved = rater.rate_set(change.connector_id, change.after)
    else:
        moved = rater.rate_clear(change.profile_id)
    if moved.lower and moved.higher:
        return Effect.MIXED
    return Effect.RAISES if moved.higher else Effect.LOWERS


def _power_station(
    desired: DesiredSite | None, station_id: str, records: Mapping[str, ProfileRecord]
) -> Station:
    """A station's connectors (as desired, else as far as its records reach) and the site's voltage."""
    declared = desired.stations.get(station_id) if desired else None
    if declared is not None:
        connectors = declared.connectors
    else:
        connectors = max((r.connector_id for r in records.values()), default=1)
    voltage_v = desired.doc.site.nominal_voltage_v if desired else Decimal(230)
    return Station(max(connectors, 1), voltage_v)


def _power_basis(
    desired: DesiredSite | None,
    held: Mapping[str, Mapping[str, ProfileRecord]],
    changes: list[Change],
    now: datetime,
) -> PowerBasis:
    """Every station's profiles before the plan and after all of its changes, in send order."""
    # Grouped once: a site of hundreds of stations would otherwise scan every change per station.
    by_station: dict[str, list[Change]] = {}
    for change in changes:
        by_station.setdefault(change.station_id, []).append(change)
    stations = []
    for station_id, records in held.items():
        before = store_of(records.values())
        after = dict(before)
        own = by_station.get(station_id, [])
        for change in own:
            if change.action is Action.SET and change.after is not None:
                after = after_set(after, change.connector_id, change.after, change.payload_key("after"))
            else:
                after = after_clear(after, change.profile_id)
        declared = desired.stations.get(station_id) if desired else None
        rated_w = declared.rated_power_kw * 1000 if declared is not None else None
        station = _power_station(desired, station_id, records)
        held_before, held_after = tuple(before.values()), tuple(after.values())
        stations.append(StationBasis(station_id, station, rated_w, held_before, held_after, bool(own)))
    grid_limit_kw = desired.doc.site.grid_limit_kw if desired is not None else None
    return PowerBasis(now, tuple(stations), None if grid_limit_kw is None else grid_limit_kw * 1000)
