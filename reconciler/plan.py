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
- a session cap (TxProfile): shown as applying while a session is active; apply sends it.

Changes come in power-safe order: every change that only lowers a limit, then those that lower some
moments and raise others, then those that only raise one. Each change is rated by the composite
schedules of its station before and after it alone (see `power`); one that moves no limit counts as
lowering. The plan also carries what its power view is drawn from (`SitePlan.power`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any

from reconciler import edrv, ids
from reconciler.edrv import EdrvRequest
from reconciler.errors import ReconcilerError, UnsafePlanError
from reconciler.model import Purpose, Safety, format_timestamp, profile_end
from reconciler.payload import Json, charging_profile
from reconciler.power import PowerBasis, Station, StationBasis, StationRater, after_clear, after_set, store_of
from reconciler.recorded import RETIRED, ProfileRecord, RecordedState, Status, payload_hash
from reconciler.template import PlacedProfile
from reconciler.validate import DesiredSite


class Action(StrEnum):
    SET = "set"
    CLEAR = "clear"


class Effect(IntEnum):
    """What a change does to the power a connector may draw; the order changes are sent in."""

    LOWERS = 0
    MIXED = 1
    RAISES = 2


@dataclass(frozen=True, slots=True)
class Change:
    """One call to send: a set or a clear of one profile on one station."""

    site_id: str
    station_id: str
    name: str
    action: Action
    connector_id: int
    profile_id: int
    reason: str
    effect: Effect
    request: EdrvRequest
    before: Json | None = None
    after: Json | None = None
    session_id: str | None = None  # the eDRV session a session cap is sent for
    before_connector_id: int | None = None  # where an update's profile was installed until now

    @property
    def is_update(self) -> bool:
        return self.action is Action.SET and self.before is not None


@dataclass(frozen=True, slots=True)
class Note:
    """A profile the plan sends nothing for, and why (expired, replaced in its slot, session cap)."""

    site_id: str
    station_id: str
    name: str
    profile_id: int | None
    reason: str
    retire: Status | None = None  # the status the record takes when the plan is applied, if any
    # A session cap's body as written and its connector: apply sends it while a session is active.
    cap: Json | None = None
    connector_id: int | None = None


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


# Records whose payload may not be on the charger: refused, failed, or sent without an answer recorded.
# The charger may instead hold an earlier payload under the same id, so neither the recorded payload's
# end nor its slot tells that the id is gone from the charger.
_RETRY = frozenset({Status.REJECTED, Status.FAILED, Status.PENDING})
# Sets that may or may not have reached the charger; one that did replaced whatever held its slot.
_UNSURE = frozenset({Status.FAILED, Status.PENDING})
# What a change carries until `build` rates it by the composites of its station (`_rated`).
_UNRATED = Effect.LOWERS


class PlanError(ReconcilerError):
    """Desired and recorded state that cannot be planned together (e.g. a pinned id already in use)."""


def build(
    site_id: str, desired: DesiredSite | None, recorded: RecordedState | None, now: datetime
) -> SitePlan:
    """Plan one site. `desired` is None when its file is gone; `recorded` is None before the first apply."""
    changes: list[Change] = []
    notes: list[Note] = []
    allocated: dict[tuple[str, str], int] = {}
    held: dict[str, Mapping[str, ProfileRecord]] = {}  # each station's live records, for the power view
    desired_profiles: Mapping[str, tuple[PlacedProfile, ...]] = desired.profiles if desired else {}
    station_ids = sorted(set(desired_profiles) | set(recorded.stations if recorded else {}))
    for station_id in station_ids:
        station_record = recorded.stations.get(station_id) if recorded else None
        records = {
            name: record
            for name, record in (station_record.profiles.items() if station_record else ())
            if record.status not in RETIRED
        }
        high_water = station_record.high_water_id if station_record else 0
        placed = desired_profiles.get(station_id, ())
        ids_for = _assign_ids(site_id, station_id, placed, records, high_water)
        allocated.update({(station_id, n): i for n, i in ids_for.items() if n not in records})
        station_changes, station_notes = _plan_station(
            site_id, station_id=station_id, placed=placed, records=records, ids_for=ids_for, now=now
        )
        held[station_id] = records
        if station_changes:  # a no-op plan computes no composite
            station = _power_station(desired, station_id, records)
            station_changes = _rated(station_changes, StationRater(station, store_of(records.values()), now))
        changes.extend(station_changes)
        notes.extend(station_notes)
    changes.sort(key=lambda c: (c.effect, c.station_id, c.connector_id, c.name, c.action))
    if desired is not None:
        changes = _make_room_first(
            changes, recorded, {s: d.ocpp.max_profiles_installed for s, d in desired.stations.items()}
        )
    recorded_count = sum(1 for _, _, r in recorded.records() if r.status not in RETIRED) if recorded else 0
    return SitePlan(
        site_id=site_id,
        changes=tuple(changes),
        notes=tuple(notes),
        recorded_serial=recorded.serial if recorded else None,
        recorded_lineage=recorded.lineage if recorded else None,
        recorded_count=recorded_count,
        desired_count=sum(len(p) for p in desired_profiles.values()),
        safety=desired.doc.site.safety if desired else Safety(),
        allocated_ids=allocated,
        power=_power_basis(desired, held, changes, now) if changes else None,
    )


def superseded_name(name: str, profile_id: int) -> str:
    """The record name of a profile's old id once its pinned id changed, kept until that id is cleared.

    `outcome` moves the record there when it records the set of the new id; a plan clears it like a
    removed profile, unless a set pinning the old id again takes it back.
    """
    return f"{name} (superseded id {profile_id})"


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


def _plan_station(
    site_id: str,
    *,
    station_id: str,
    placed: tuple[PlacedProfile, ...],
    records: Mapping[str, ProfileRecord],
    ids_for: Mapping[str, int],
    now: datetime,
) -> tuple[list[Change], list[Note]]:
    station = _Station(site_id, station_id, records, ids_for, now)
    for item in placed:
        station.desire(item)
    station.settle_leftovers()
    return station.changes, station.notes


@dataclass
class _Station:
    """The plan of one station in the making: desired profiles first, then the records left over."""

    site_id: str
    station_id: str
    records: Mapping[str, ProfileRecord]
    ids_for: Mapping[str, int]
    now: datetime
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)  # records a desired profile accounts for
    # Records the charger still holds although their name stays desired, and why they are cleared.
    clear_reasons: dict[str, str] = field(default_factory=dict)

    def note(self, name: str, profile_id: int | None, reason: str, retire: Status | None = None) -> None:
        self.notes.append(Note(self.site_id, self.station_id, name, profile_id, reason, retire))

    def desire(self, item: PlacedProfile) -> None:
        """Plan one desired profile: nothing, a note, or one set."""
        profile, name = item.profile, item.name
        profile_id = self.ids_for[name]
        record = self.records.get(name)
        expiry = profile.expires_at()
        if expiry is not None and expiry <= self.now:
            # The recorded copy has left the charger only if it ended by itself too; one sent
            # without that end stays installed and must be cleared.
            recorded_end = payload_expiry(record.payload) if record is not None else None
            gone = (
                record is not None
                and record.status not in _RETRY
                and recorded_end is not None
                and recorded_end <= self.now
            )
            if gone:
                self.wanted.add(name)
            elif record is not None:
                self.clear_reasons[name] = "its desired version has expired"
            reason = f"expired at {format_timestamp(expiry)}; not sent"
            if gone and record is not None:
                # The retirement concerns the id sent, which differs from `profile_id` if the pin changed.
                self.note(name, record.charging_profile_id, reason, Status.EXPIRED)
            else:
                self.note(name, profile_id, reason)
            return
        if profile.is_session_cap:
            # A record of this name sent as a standing profile, before it became a cap, stays on the
            # charger until cleared; a cap's own record is apply's to manage.
            if record is None or record.purpose is Purpose.TX:
                self.wanted.add(name)
            else:
                self.clear_reasons[name] = "now a session cap: sent only while a session runs"
            cap = charging_profile(profile, profile_id)
            reason = "session cap: applies while a session is active on its connector"
            self.notes.append(
                Note(self.site_id, self.station_id, name, profile_id, reason, None, cap, profile.connector_id)
            )
            return
        # Pinned back to an id whose record was moved aside: the set below takes that id over.
        self.wanted.add(superseded_name(name, profile_id))
        body = charging_profile(profile, profile_id)
        before: Json | None = None
        reason = "new"
        if record is not None and record.charging_profile_id == profile_id:
            self.wanted.add(name)
            same = record.payload_hash == payload_hash(body) and record.connector_id == profile.connector_id
            in_doubt = self._slot_in_doubt(name, record)
            if same and record.status not in _RETRY and not in_doubt:
                return
            if not same:
                reason = "changed"
            elif record.status in _RETRY:
                reason = f"retry: the last attempt was {record.status}"
            else:
                reason = "resent: a set into its slot failed and may have replaced it"
            before = record.payload
        request = edrv.set_charging_profile(self.station_id, profile.connector_id, body)
        self.changes.append(
            Change(
                self.site_id,
                self.station_id,
                name,
                Action.SET,
                profile.connector_id,
                profile_id,
                reason,
                _UNRATED,
                request,
                before,
                body,
                before_connector_id=record.connector_id
                if before is not None and record is not None
                else None,
            )
        )

    def _slot_in_doubt(self, name: str, record: ProfileRecord) -> bool:
        """Whether a failed or unanswered set of another profile may have replaced `record` in its slot."""
        own = slot(record.connector_id, record.payload)
        return any(
            other.status in _UNSURE and slot(other.connector_id, other.payload) == own
            for other_name, other in self.records.items()
            if other_name != name
        )

    def settle_leftovers(self) -> None:
        """Plan the records no desired profile accounts for: retire (expired, replaced) or clear."""
        taken = {slot(c.connector_id, c.after): i for i, c in enumerate(self.changes) if c.after is not None}
        for name in sorted(self.records):
            if name in self.wanted:
                continue
            record = self.records[name]
            expiry = payload_expiry(record.payload)
            index = taken.get(slot(record.connector_id, record.payload))
            settled = record.status not in _RETRY
            if settled and expiry is not None and expiry <= self.now:
                reason = f"expired at {format_timestamp(expiry)}; the charger has dropped it"
                self.note(name, record.charging_profile_id, reason, Status.EXPIRED)
            elif settled and index is not None:
                reason = "replaced by the charger: a set in this plan takes its slot"
                self.note(name, record.charging_profile_id, reason, Status.REPLACED)
            else:
                reason = self.clear_reasons.get(name) or (
                    "removed" if name not in self.ids_for else "its chargingProfileId changed"
                )
                request = edrv.clear_charging_profile(
                    self.station_id, record.connector_id, record.charging_profile_id
                )
                self.changes.append(
                    Change(
                        self.site_id,
                        self.station_id,
                        name,
                        Action.CLEAR,
                        record.connector_id,
                        record.charging_profile_id,
                        reason,
                        _UNRATED,
                        request,
                        record.payload,
                    )
                )


def _make_room_first(
    changes: list[Change], recorded: RecordedState | None, max_installed: Mapping[str, int]
) -> list[Change]:
    """`changes` with a station's clears moved first where its sets would overflow the charger.

    Power-safe order usually sends clears late, since removing a limit mostly raises one. On a
    charger already holding `MaxChargingProfilesInstalled` profiles that would get a new profile
    refused, and the later clear would then leave the station with neither the old limit nor the new
    one. So where, in plan order, a station would hold more than it can, its clears go first:
    capacity before a transient raise.
    """
    installed: dict[str, dict[int, tuple[int, str, int]]] = {}
    for station_id, _, record in recorded.records() if recorded else ():
        if not record.is_retired:
            installed.setdefault(station_id, {})[record.charging_profile_id] = slot(
                record.connector_id, record.payload
            )
    crowded: set[str] = set()
    for change in changes:
        held = installed.setdefault(change.station_id, {})
        if change.action is Action.CLEAR:
            held.pop(change.profile_id, None)
            continue
        if change.after is None:
            continue
        taken = slot(change.connector_id, change.after)
        for profile_id in [i for i, s in held.items() if i == change.profile_id or s == taken]:
            del held[profile_id]
        held[change.profile_id] = taken
        if len(held) > max_installed.get(change.station_id, len(held)):
            crowded.add(change.station_id)
    if not crowded:
        return changes
    first = [
        replace(c, reason=f"{c.reason}; sent first to make room (MaxChargingProfilesInstalled)")
        for c in changes
        if c.action is Action.CLEAR and c.station_id in crowded
    ]
    return first + [c for c in changes if not (c.action is Action.CLEAR and c.station_id in crowded)]


def slot(connector_id: int, payload: Json) -> tuple[int, str, int]:
    # OCPP replaces an installed profile with the same purpose and stack level on the same connector.
    return connector_id, str(payload["chargingProfilePurpose"]), int(payload["stackLevel"])


def payload_expiry(payload: Json) -> datetime | None:
    """When a sent profile ends for good, read from the payload that was sent (see `profile_end`)."""
    schedule: Mapping[str, Any] = payload["chargingSchedule"]
    return profile_end(
        payload["chargingProfilePurpose"],
        payload["chargingProfileKind"],
        payload.get("validTo"),
        schedule.get("startSchedule"),
        schedule.get("duration"),
    )


def _rated(changes: list[Change], rater: StationRater) -> list[Change]:
    """Each change of one station with the effect its station's composites give it alone (see `power`)."""
    rated = []
    for change in changes:
        if change.action is Action.SET and change.after is not None:
            moved = rater.rate_set(change.connector_id, change.after)
        else:
            moved = rater.rate_clear(change.profile_id)
        if moved.lower and moved.higher:
            effect = Effect.MIXED
        else:
            effect = Effect.RAISES if moved.higher else Effect.LOWERS
        rated.append(replace(change, effect=effect))
    return rated


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
    stations = []
    for station_id, records in held.items():
        before = store_of(records.values())
        after = dict(before)
        own = [c for c in changes if c.station_id == station_id]
        for change in own:
            if change.action is Action.SET and change.after is not None:
                after = after_set(after, change.connector_id, change.after)
            else:
                after = after_clear(after, change.profile_id)
        declared = desired.stations.get(station_id) if desired else None
        rated_w = declared.rated_power_kw * 1000 if declared is not None else None
        station = _power_station(desired, station_id, records)
        held_before, held_after = tuple(before.values()), tuple(after.values())
        stations.append(StationBasis(station_id, station, rated_w, held_before, held_after, bool(own)))
    return PowerBasis(now, tuple(stations))


def check_safety(plan: SitePlan, force: bool) -> None:
    """Refuse a plan that clears every profile of a site, or changes too large a share of it.

    The share counts what the plan does to installed profiles (updates, clears, and profiles a new
    one replaces in their slot; not retries of an unchanged payload) against the recorded profiles,
    only for sites holding at least `min_recorded_profiles`. Clearing every profile is judged on
    what the chargers still hold, so records that expired by themselves do not hide it. `--force`
    overrides both rails for one run.
    """
    if force or plan.recorded_count == 0:
        return
    touched = sum(
        (c.is_update and c.before != c.after) or c.action is Action.CLEAR for c in plan.changes
    ) + sum(n.retire is Status.REPLACED for n in plan.notes)
    if plan.desired_count == 0 and plan.clears > 0:
        raise UnsafePlanError(
            f"site {plan.site_id}: the plan clears all {plan.clears} recorded profiles still installed (its "
            f"desired file is empty or gone); check that this is intended and rerun with --force"
        )
    limit = plan.safety.max_change_percent
    if plan.recorded_count >= plan.safety.min_recorded_profiles:
        share = Decimal(100 * touched) / plan.recorded_count
        if share > limit:
            raise UnsafePlanError(
                f"site {plan.site_id}: the plan changes or clears {touched} of {plan.recorded_count} "
                f"recorded profiles ({share:.0f}% > {limit}% allowed); review it and rerun with --force, "
                f"or raise site.safety.max_change_percent"
            )
