"""One station's part of a plan: each desired profile and each leftover record, decided. Pure.

`plan.build` calls `plan_station` for every station, then `make_room_first` on the sorted plan. The
rules are listed in `plan`'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from reconciler import edrv
from reconciler.change import Action, Change, Effect, Note, payload_expiry, slot, superseded_name
from reconciler.model import Purpose, format_timestamp
from reconciler.payload import Json, charging_profile
from reconciler.recorded import ProfileRecord, RecordedState, Status, payload_hash
from reconciler.template import PlacedProfile

# Records whose payload may not be on the charger: refused, failed, or sent without an answer recorded.
# The charger may instead hold an earlier payload under the same id, so neither the recorded payload's
# end nor its slot tells that the id is gone from the charger.
_RETRY = frozenset({Status.REJECTED, Status.FAILED, Status.PENDING})
# Sets that may or may not have reached the charger; one that did replaced whatever held its slot.
_UNSURE = frozenset({Status.FAILED, Status.PENDING})
# What a change carries until `build` rates it by the composites of its station (`_rated`).
_UNRATED = Effect.LOWERS


def plan_station(
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


def make_room_first(
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
