"""One station's part of a plan: each desired profile and each leftover record, decided. Pure.

`site.build` calls `plan_station` for every station, then `make_room_first` on the sorted plan. The
rules are listed in `site`'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.desired.localtime import same_wall_schedule
from reconciler.desired.template import PlacedProfile
from reconciler.edrv import wire as edrv
from reconciler.ocpp.profile import Json, Purpose, parse_timestamp, payload_expiry, slot
from reconciler.plan.change import Action, Change, Effect, Note, superseded_name
from reconciler.plan.confirm import Confirmations
from reconciler.state.recorded import HELD, ProfileRecord, Status

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
    confirmations: Confirmations | None = None,
    clock: SiteClock = UTC_CLOCK,
    expiries: dict[str, datetime | None] | None = None,
) -> tuple[list[Change], list[Note]]:
    """One station's changes and notes. `expiries`, shared by the stations of a site, keeps each recorded
    payload's end by its hash: a site's stations hold the same few payloads (templates) many times."""
    station = _Station(
        site_id,
        station_id,
        records,
        ids_for,
        now,
        confirmations or Confirmations(),
        clock,
        {} if expiries is None else expiries,
    )
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
    confirmations: Confirmations
    clock: SiteClock = UTC_CLOCK
    expiries: dict[str, datetime | None] = field(default_factory=dict)  # see `plan_station`
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)  # records a desired profile accounts for
    # Records the charger still holds although their name stays desired, and why they are cleared.
    clear_reasons: dict[str, str] = field(default_factory=dict)

    def ends(self, record: ProfileRecord) -> datetime | None:
        """When the payload `record` sent ends for good (`payload_expiry`), looked up by its hash."""
        if record.payload_hash not in self.expiries:
            self.expiries[record.payload_hash] = payload_expiry(record.payload)
        return self.expiries[record.payload_hash]

    def note(self, name: str, profile_id: int | None, reason: str, retire: Status | None = None) -> None:
        self.notes.append(Note(self.site_id, self.station_id, name, profile_id, reason, retire))

    def desire(self, item: PlacedProfile) -> None:
        """Plan one desired profile: nothing, a note, or one set."""
        profile, name = item.profile, item.name
        profile_id = self.ids_for[name]
        record = self.records.get(name)
        expiry = item.expires_at
        if expiry is not None and expiry <= self.now:
            # The recorded copy has left the charger only if it ended by itself too; one sent
            # without that end stays installed and must be cleared.
            recorded_end = self.ends(record) if record is not None else None
            gone = (
                record is not None
                and record.status not in _RETRY
                and recorded_end is not None
                and recorded_end <= self.now
            )
            reason = f"expired at {self.clock.mention(expiry)}; not sent"
            if gone and record is not None:
                self.wanted.add(name)
                # The retirement concerns the id sent, which differs from `profile_id` if the pin changed.
                self.note(name, record.charging_profile_id, reason, Status.EXPIRED)
                return
            if record is not None:
                self.clear_reasons[name] = "its desired version has expired"
            self.note(name, profile_id, reason)
            return
        if profile.is_session_cap:
            # A record of this name sent as a standing profile, before it became a cap, stays on the
            # charger until cleared; a cap's own record is apply's to manage.
            if record is None or record.purpose is Purpose.TX:
                self.wanted.add(name)
            else:
                self.clear_reasons[name] = "now a session cap: sent only while a session runs"
            cap = item.body.under(profile_id)
            reason = "session cap: applies while a session is active on its connector"
            self.notes.append(
                Note(self.site_id, self.station_id, name, profile_id, reason, None, cap, profile.connector_id)
            )
            return
        # Pinned back to an id whose record was moved aside: the set below takes that id over.
        self.wanted.add(superseded_name(name, profile_id))
        before: Json | None = None
        before_connector_id: int | None = None
        reason = "new"
        after_hash = item.body.hash_under(profile_id)
        if record is not None and record.charging_profile_id == profile_id:
            self.wanted.add(name)
            same = record.payload_hash == after_hash and record.connector_id == profile.connector_id
            if same:
                resend = self._again(name, profile_id, record)
                if resend is None:
                    return
                reason = resend
            else:
                reason = "changed"
            before, before_connector_id = record.payload, record.connector_id
        body = item.body.under(profile_id)
        rolls = False
        if item.local is not None and reason in ("new", "changed"):
            reason, rolls = _local_reason(item, reason, before, body, clock=self.clock, now=self.now)
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
                before_connector_id=before_connector_id,
                rolls_forward=rolls,
                before_hash=None if record is None or before is None else record.payload_hash,
                after_hash=after_hash,
            )
        )

    def at(self, text: str) -> str:
        """A recorded moment as the site's reasons name it (see `SiteClock.mention`)."""
        return self.clock.mention(parse_timestamp(text))

    def _again(self, name: str, profile_id: int, record: ProfileRecord) -> str | None:
        """Why a profile recorded as desired is sent again, or None (with a note where one helps)."""
        if record.clearing is not None:
            return "desired again while a clear of it is on its way"
        # A heal resends what the charger had taken; the others are retried anyway.
        if record.heal_requested_at is not None and record.status in HELD:
            found = self.at(record.heal_requested_at)
            return f"heal: drift found at {found} that the charger no longer enforces it"
        if record.status in (Status.PENDING, Status.FAILED):
            return f"retry: the last attempt was {record.status}"
        if record.status is Status.REJECTED:
            return self._rejected(name, profile_id, record)
        if record.status is Status.REQUESTED and self.confirmations.overdue(record.requested_at, self.now):
            if record.attempts > 1:
                self.note(name, profile_id, _unanswered(self.at(record.requested_at), record.attempts))
                return None
            return f"sent once more: no answer from the charger since {self.at(record.requested_at)}"
        if self._slot_in_doubt(name, record):
            return "resent: a set into its slot failed and may have replaced it"
        if record.status is Status.REQUESTED and self.confirmations.inbox is not None:
            self.note(
                name, profile_id, f"sent at {self.at(record.requested_at)}; awaiting the charger's answer"
            )
        return None

    def _rejected(self, name: str, profile_id: int, record: ProfileRecord) -> str | None:
        """The reason to send a rejected payload again once its back-off has passed; else a note."""
        said = record.last_error or "rejected by the charger"
        rejected = f"{said} at {self.at(record.confirmed_at or record.updated_at)}"
        due = self.confirmations.retry_due(record)
        if due is not None and self.now >= due:
            return f"retry: {rejected}; its back-off ended at {self.clock.mention(due)}"
        when = f"after {self.clock.mention(due)} or " if due is not None else ""
        self.note(name, profile_id, f"{rejected}; sent again {when}when desired changes")
        return None

    def _slot_in_doubt(self, name: str, record: ProfileRecord) -> bool:
        """Whether a failed or unanswered set of another profile may have replaced `record` in its slot."""
        unsure = self.unsure_slots
        if not unsure:
            return False  # as on almost every station: no slot to work out
        own = slot(record.connector_id, record.payload)
        return any(s == own for other, s in unsure.items() if other != name)

    @cached_property
    def unsure_slots(self) -> dict[str, tuple[int, str, int]]:
        """The slot of every record whose set may or may not have reached the charger, by name."""
        return {
            name: slot(r.connector_id, r.payload) for name, r in self.records.items() if r.status in _UNSURE
        }

    def settle_leftovers(self) -> None:
        """Plan the records no desired profile accounts for: retire (expired, replaced) or clear."""
        taken = {slot(c.connector_id, c.after) for c in self.changes if c.after is not None}
        for name in sorted(self.records):
            if name in self.wanted:
                continue
            record = self.records[name]
            expiry = self.ends(record)
            settled = record.status not in _RETRY
            clearing = record.clearing
            if settled and expiry is not None and expiry <= self.now:
                reason = f"expired at {self.clock.mention(expiry)}; the charger has dropped it"
                self.note(name, record.charging_profile_id, reason, Status.EXPIRED)
            elif clearing is not None and not self.confirmations.overdue(clearing.requested_at, self.now):
                if self.confirmations.inbox is not None:
                    reason = f"clear sent at {self.at(clearing.requested_at)}; awaiting the charger's answer"
                    self.note(name, record.charging_profile_id, reason)
            elif clearing is not None and clearing.attempts > 1:
                reason = f"clear {_unanswered(self.at(clearing.requested_at), clearing.attempts)}"
                self.note(name, record.charging_profile_id, reason)
            elif settled and taken and slot(record.connector_id, record.payload) in taken:
                reason = "replaced by the charger: a set in this plan takes its slot"
                self.note(name, record.charging_profile_id, reason, Status.REPLACED)
            else:
                reason = self.clear_reasons.get(name) or (
                    "removed" if name not in self.ids_for else "its chargingProfileId changed"
                )
                if clearing is not None:
                    since = self.at(clearing.requested_at)
                    reason = f"clear sent once more: no answer from the charger since {since}"
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
                        before_hash=record.payload_hash,
                    )
                )


def _unanswered(sent_at: str, attempts: int) -> str:
    return (
        f"unconfirmed: no answer from the charger since {sent_at}, after {attempts} sends; "
        "not sent again (check that the inbox receives eDRV's webhooks)"
    )


def _local_reason(
    item: PlacedProfile, reason: str, before: Json | None, body: Json, *, clock: SiteClock, now: datetime
) -> tuple[str, bool]:
    """Why a profile compiled from a local-time profile is sent, in the terms of its UTC-offset period,
    and whether the set only rolls the periods forward (the clock moved on, not the schedule).

    A set into a level whose record holds another period "prepares" a period still to come, or hands
    the level to the period now in force; it is a roll-forward when the record held the same
    wall-clock schedule (`localtime.same_wall_schedule`), else an edit as well. A set that only moves
    the end of the period in force closes it at the next change. Anything else changes the schedule,
    and says which period it is for.
    """
    turn = item.local
    if turn is None:
        return reason, False
    other_period = before is not None and before.get("validFrom") != body.get("validFrom")
    # The clock moved the window, not an edit, when the level held the same wall-clock schedule.
    rolls = before is not None and same_wall_schedule(before, body, clock)
    if turn.start is not None and turn.start > now:
        period = f"the {clock.season(turn.start)} profile for {clock.date(turn.start)}"
        if reason == "changed" and not other_period:
            return f"changed: {period}", False
        return f"prepares {period}", other_period and rolls
    in_force = f"the {clock.season(now)} profile in force now"
    until = "" if turn.end is None else f", until the change on {clock.date(turn.end)}"
    if other_period:
        return f"hands the level to {in_force}{until}", rolls
    if before is not None and _without_end(before) == _without_end(body):
        if turn.end is None:
            return f"{in_force} no longer ends: no change of UTC offset is due", True
        return f"{in_force} ends at the change on {clock.date(turn.end)}", True
    return f"{reason}: {in_force}{until}", False


def _without_end(payload: Json) -> Json:
    return {key: value for key, value in payload.items() if key != "validTo"}


def make_room_first(
    changes: list[Change],
    held: Mapping[str, Mapping[str, ProfileRecord]],
    max_installed: Mapping[str, int],
) -> list[Change]:
    """`changes` with a station's clears moved first where its sets would overflow the charger.

    Power-safe order usually sends clears late, since removing a limit mostly raises one. On a
    charger already holding `MaxChargingProfilesInstalled` profiles that would get a new profile
    refused, and the later clear would then leave the station with neither the old limit nor the new
    one. So where, in plan order, a station would hold more than it can, its clears go first:
    capacity before a transient raise. `held` is each station's live records, as `site.build` has them.
    """
    installed = {
        station_id: {r.charging_profile_id: slot(r.connector_id, r.payload) for r in records.values()}
        for station_id, records in held.items()
    }
    crowded: set[str] = set()
    for change in changes:
        store = installed.setdefault(change.station_id, {})
        if change.action is Action.CLEAR:
            store.pop(change.profile_id, None)
            continue
        if change.after is None:
            continue
        taken = slot(change.connector_id, change.after)
        for profile_id in [i for i, s in store.items() if i == change.profile_id or s == taken]:
            del store[profile_id]
        store[change.profile_id] = taken
        if len(store) > max_installed.get(change.station_id, len(store)):
            crowded.add(change.station_id)
    if not crowded:
        return changes
    first = [
        replace(c, reason=f"{c.reason}; sent first to make room (MaxChargingProfilesInstalled)")
        for c in changes
        if c.action is Action.CLEAR and c.station_id in crowded
    ]
    return first + [c for c in changes if not (c.action is Action.CLEAR and c.station_id in crowded)]
