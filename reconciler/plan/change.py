"""What a plan is made of: the calls it sends (`Change`) and the profiles it sends nothing for (`Note`).

Pure values, shared by the plan, its renderings, saved plans, apply and the charger model; with the
two readings of a sent payload they all need (`slot`, `payload_expiry`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Literal

from reconciler.edrv.wire import EdrvRequest
from reconciler.ocpp.profile import Json
from reconciler.state.recorded import Status, payload_hash


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
    # A set that only moves a local-time profile on to its next UTC-offset period (see `localtime`):
    # the clock moved, not desired state, so the safety rails do not count it.
    rolls_forward: bool = False
    # The `payload_hash` of `before` and of `after` where known without writing them out again (a record's,
    # a desired body's): what telling payloads apart costs, rather than their JSON (see `payload_key`).
    # Derived from the payloads, so not compared: a change read back from a saved plan is the same change.
    # Each must be the hash of the payload beside it (`dataclasses.replace` of a payload keeps the old one).
    before_hash: str | None = field(default=None, compare=False)
    after_hash: str | None = field(default=None, compare=False)

    @property
    def is_update(self) -> bool:
        return self.action is Action.SET and self.before is not None

    def payload_key(self, side: Literal["before", "after"]) -> str | None:
        """The `payload_hash` of one side's payload (None when there is none): equal payloads, equal key."""
        before = side == "before"
        payload, known = (self.before, self.before_hash) if before else (self.after, self.after_hash)
        if payload is None:
            return None
        return known if known is not None else payload_hash(payload)

    def likeness(self) -> Hashable:
        """All of the change but its station (and the session a cap is sent for): changes alike are the
        same call with the same payloads to different stations, as a template's change placed on many is."""
        before, after = self.payload_key("before"), self.payload_key("after")
        connectors = (self.connector_id, self.before_connector_id)
        return (
            self.action,
            self.name,
            self.profile_id,
            connectors,
            self.reason,
            self.effect,
            before,
            after,
            self.rolls_forward,
        )


def alike_together(changes: Iterable[Change]) -> list[Change]:
    """`changes`, in the order they are sent, with every change alike an earlier one (`Change.likeness`)
    moved up to follow it, so that one profile's change on many stations is sent and read as one run.

    Alike changes have the same effect, so lowering still goes before raising; what moves is the order of
    changes of one effect, which power safety leaves free (each is rated alone against the station as
    recorded). Otherwise the order is kept.
    """
    runs: dict[Hashable, list[Change]] = {}
    for change in changes:
        runs.setdefault(change.likeness(), []).append(change)
    return [change for run in runs.values() for change in run]


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


def superseded_name(name: str, profile_id: int) -> str:
    """The record name of a profile's old id once its pinned id changed, kept until that id is cleared.

    `outcome` moves the record there when it records the set of the new id; a plan clears it like a
    removed profile, unless a set pinning the old id again takes it back.
    """
    return f"{name} (superseded id {profile_id})"
