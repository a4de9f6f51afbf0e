"""Recorded state as values: what the reconciler has sent to each station of one site. Pure.

The models of `.state/<site>.json` (format in the README): per station the highest chargingProfileId
ever used and, per profile name, the payload sent, its hash, and what became of it. The plan reads
them; `store` reads and writes them as files; `render.state` shows them for `reconciler state show`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from reconciler.desired.model import INT32_MAX, MAX_CONNECTORS, Int, ProfileId, Timestamp
from reconciler.ocpp.profile import Json, Purpose, canonical_json, text_hash

# Version 2 added what confirmations need (`confirmed_at`, `attempts` and `clearing` per record) and what
# drift needs (`heal_requested_at` per record, `drift` per station). Version 3 holds the same records,
# written one line each without their default values and the fields that repeat the payload's, under a
# checksum of the file (see `store`).
STATE_VERSION = 3
# Versions `load` understands (a version 1 file reads as version 2 with those fields unset); a newer
# file came from a newer reconciler and must not be rewritten.
READABLE_VERSIONS = frozenset({1, 2, STATE_VERSION})
# Validation context under which a record's payload_hash is taken as stored, not computed again: the
# store passes it for a file whose checksum shows it unchanged since a reconciler wrote it.
HASHES_VERIFIED = "hashes_verified"


class Status(StrEnum):
    """What became of a recorded profile (see `outcome` for when each is written)."""

    PENDING = "pending"  # about to be sent; no answer recorded yet (a crash leaves it: plans resend)
    REQUESTED = "requested"  # eDRV took the call; the charger's answer comes by webhook (ingest)
    ACCEPTED = "accepted"  # the charger accepted it (the webhook, or eDRV's answer, said so)
    REJECTED = "rejected"  # the charger refused it; `last_error` holds its answer
    FAILED = "failed"
    EXPIRED = "expired"
    REPLACED = "replaced"
    CLEARED = "cleared"


# Records that describe profiles no longer on the charger; plans treat them as absent.
RETIRED = frozenset({Status.EXPIRED, Status.REPLACED, Status.CLEARED})
# Records whose payload the charger holds as far as recorded state knows (a requested set counts as
# taken until its answer says otherwise): what drift expects it to enforce, and what a heal resends.
HELD = frozenset({Status.ACCEPTED, Status.REQUESTED})

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def payload_hash(payload: Json) -> str:
    """`sha256:<hex>` of the payload's canonical JSON (sorted keys, no spaces): equal payloads, equal hash."""
    return text_hash(canonical_json(payload))


class ClearRequest(BaseModel):
    """A clear of a recorded profile that eDRV took and the charger has not yet answered.

    `attempts` counts the clears sent for it so far; a confirmed clear retires the record (`cleared`).
    """

    model_config = _FROZEN
    action_id: str | None
    requested_at: Timestamp
    attempts: Int = Field(1, ge=1)


class ProfileRecord(BaseModel):
    """One profile as sent to one connector, and what became of it.

    `confirmed_at` is when the charger's answer to the set (accepted or rejected) was reported, None
    while none is; `attempts` counts the sends of this same payload under this id that the charger has
    not accepted (a changed payload starts again at 1); `clearing` is a clear awaiting its answer.
    Timestamps are normalised to RFC 3339 UTC with `Z`, so an aware `datetime.isoformat()` may be passed.
    """

    model_config = _FROZEN
    connector_id: Int = Field(ge=0, le=MAX_CONNECTORS)
    # Before the fields that repeat it, which format 3 leaves to it: a missing payload is named first.
    payload: Json
    payload_hash: str
    charging_profile_id: ProfileId
    purpose: Purpose
    stack_level: Int = Field(ge=0, le=INT32_MAX)
    status: Status
    action_id: str | None = None
    session_id: str | None = None
    requested_at: Timestamp
    updated_at: Timestamp
    last_error: str | None = None
    confirmed_at: Timestamp | None = None
    attempts: Int = Field(1, ge=1)
    clearing: ClearRequest | None = None
    # Set by `reconciler drift --heal` when the charger no longer enforces this profile: the next plan
    # sends it again under its id (which replaces, so it is safe), and that set's record drops the mark.
    heal_requested_at: Timestamp | None = None

    @model_validator(mode="after")
    def _hash_matches_payload(self, info: ValidationInfo) -> Self:
        # The plan compares hashes; a payload edited by hand would otherwise pass for what was sent.
        # A file the store found unchanged since it was written holds the hashes computed then.
        if info.context is not None and info.context.get(HASHES_VERIFIED):
            return self
        if self.payload_hash != payload_hash(self.payload):
            raise ValueError("payload_hash does not match payload")
        return self

    @property
    def is_retired(self) -> bool:
        return self.status in RETIRED

    @property
    def awaits_answer(self) -> bool:
        """Whether a call of this record waits for the charger's answer: a requested set, or a clear."""
        return self.clearing is not None or self.status is Status.REQUESTED


class DriftCheck(BaseModel):
    """The last time `reconciler drift` compared the station's composite schedule with its records.

    `verdict` is one of `ocpp.drift.Verdict`'s values; `first_difference` when the charger's report
    first departed from what was expected; `heals` the moments heals were asked for in the last day
    (past a limit the station is flapping and left alone).
    """

    model_config = _FROZEN
    checked_at: Timestamp
    verdict: str
    first_difference: Timestamp | None = None
    detail: str | None = None
    heals: tuple[Timestamp, ...] = ()


class StationRecord(BaseModel):
    """The profiles recorded on one eDRV station, the highest chargingProfileId it ever got, and its
    last drift check."""

    model_config = _FROZEN
    # Kept even when every record is gone: ids are never reused on a charger (see `ids`).
    high_water_id: Int = Field(0, ge=0, le=INT32_MAX)
    profiles: dict[str, ProfileRecord] = {}
    drift: DriftCheck | None = None

    @model_validator(mode="after")
    def _high_water_covers_every_id(self) -> Self:
        highest = max(self.profiles.items(), key=lambda item: item[1].charging_profile_id, default=None)
        if highest is not None and self.high_water_id < highest[1].charging_profile_id:
            # Ids are allocated above the high water: this one could be given to a second profile.
            raise ValueError(
                f"high_water_id {self.high_water_id} is below chargingProfileId "
                f"{highest[1].charging_profile_id} of record {highest[0]!r}"
            )
        return self


class RecordedState(BaseModel):
    """Everything recorded for one site. Immutable: the `with…` methods return new states."""

    model_config = _FROZEN
    site: str = Field(min_length=1)
    serial: Int = Field(ge=0)
    lineage: str = Field(pattern=r"^[0-9a-f]{32}$")
    stations: dict[str, StationRecord] = {}

    @classmethod
    def new(cls, site: str) -> RecordedState:
        """An empty state for a site that has none yet: serial 0, a fresh lineage."""
        return cls(site=site, serial=0, lineage=uuid.uuid4().hex)

    def record(self, station_id: str, name: str) -> ProfileRecord | None:
        station = self.stations.get(station_id)
        return station.profiles.get(name) if station else None

    def records(self) -> Iterator[tuple[str, str, ProfileRecord]]:
        """Every (station id, profile name, record), retired ones included, sorted by station then name."""
        for station_id in sorted(self.stations):
            profiles = self.stations[station_id].profiles
            for name in sorted(profiles):
                yield station_id, name, profiles[name]

    def high_water_id(self, station_id: str) -> int:
        station = self.stations.get(station_id)
        return station.high_water_id if station else 0

    def with_record(self, station_id: str, name: str, record: ProfileRecord) -> RecordedState:
        """This state with `record` stored under station and name; the station's high water rises to it."""
        station = self.stations.get(station_id, StationRecord())
        # Built from records already validated, with the high water raised to cover the new one:
        # validating again would hash every payload of the station once more, on every answer folded.
        updated = StationRecord.model_construct(
            high_water_id=max(station.high_water_id, record.charging_profile_id),
            profiles={**station.profiles, name: record},
            drift=station.drift,
        )
        return self.model_copy(update={"stations": {**self.stations, station_id: updated}})

    def without_record(self, station_id: str, name: str) -> RecordedState:
        """This state without the record; the station and its high water stay. KeyError if absent."""
        station = self.stations[station_id]
        profiles = dict(station.profiles)
        del profiles[name]
        updated = StationRecord.model_construct(
            high_water_id=station.high_water_id, profiles=profiles, drift=station.drift
        )
        return self.model_copy(update={"stations": {**self.stations, station_id: updated}})

    def with_drift(self, station_id: str, check: DriftCheck) -> RecordedState:
        """This state with the station's last drift check replaced by `check`."""
        station = self.stations.get(station_id, StationRecord())
        updated = StationRecord.model_construct(
            high_water_id=station.high_water_id, profiles=station.profiles, drift=check
        )
        return self.model_copy(update={"stations": {**self.stations, station_id: updated}})
