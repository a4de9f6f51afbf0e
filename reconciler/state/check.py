"""Consistency of a recorded state, checked whenever a state file is loaded. Pure.

The models of `recorded` check each field on its own. A file can still hold records that cannot all be
true, and a plan made from them would send the wrong calls: two live records under one
chargingProfileId on a station (the plan would clear the id of a live profile), a record whose id,
stack level or purpose is not its own payload's, or a payload that is no charging profile the plan can
read (a hand edit that recomputed the hash). `first_problem` names the first such record; the store
refuses the file with it, so nothing is planned or sent from it.

Checks are generic over record fields: `MIRRORED` lists each record field that repeats a payload
field, and a field added to records is checked by adding it there (format 3 files leave those fields
out and `layout` fills them in from the payload, so there they agree unless a record states them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.desired.model import INT32_MAX, normalise_timestamp
from reconciler.ocpp.configuration import MOST_PROFILES_INSTALLED, MOST_RECORDED_STATION_PERIODS
from reconciler.ocpp.profile import Json, Kind, Purpose, RateUnit, Recurrency
from reconciler.state.recorded import ProfileRecord, RecordedState

# Record field -> the payload field it repeats.
MIRRORED: Mapping[str, str] = {
    "charging_profile_id": "chargingProfileId",
    "stack_level": "stackLevel",
    "purpose": "chargingProfilePurpose",
}


@dataclass(frozen=True, slots=True)
class Inconsistency:
    """What is wrong, and the keys of the record it is wrong in (`stations`, station, `profiles`, name)."""

    where: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"{'.'.join(self.where)}: {self.message}"


def first_problem(state: RecordedState, *, payloads_sound: bool = False) -> Inconsistency | None:
    """The first inconsistency of `state`, naming its record, or None when it is consistent.

    `payloads_sound` skips reading each payload again, and comparing the fields a record repeats from its
    payload: the store passes it for a file unchanged since a reconciler wrote it, whose payloads are the
    ones its plans built and whose records leave those fields to their payloads (format 3).
    """
    checked: set[str] = set()  # payload hashes already found sound: templates repeat payloads
    for station_id in sorted(state.stations):
        live: dict[int, str] = {}
        periods = 0  # in the live records so far
        profiles = state.stations[station_id].profiles
        for name in sorted(profiles):
            record = profiles[name]
            where = ("stations", station_id, "profiles", name)
            if not payloads_sound and record.payload_hash not in checked:
                problem = payload_problem(record.payload)
                if problem is not None:
                    return Inconsistency((*where, "payload"), problem)
                checked.add(record.payload_hash)
            problem = None if payloads_sound else _mirror_problem(record)
            if problem is not None:
                return Inconsistency(where, problem)
            if record.is_retired:
                continue
            other = live.setdefault(record.charging_profile_id, name)
            if other != name:
                message = (
                    f"chargingProfileId {record.charging_profile_id} is also live under {other!r}; a "
                    "charger holds one profile per id, so one of the two records is wrong"
                )
                return Inconsistency(where, message)
            if len(live) > MOST_PROFILES_INSTALLED:
                message = (
                    f"the station has more than {MOST_PROFILES_INSTALLED} live records, more profiles "
                    "than a station may hold (MaxChargingProfilesInstalled is at most that)"
                )
                return Inconsistency(where, message)
            periods += _period_count(record.payload)
            if periods > MOST_RECORDED_STATION_PERIODS:
                message = (
                    f"the station's live records hold more than {MOST_RECORDED_STATION_PERIODS:,} schedule "
                    "periods in all, more than a reconciler records for one station (a plan works out its "
                    "power from every one)"
                )
                return Inconsistency(where, message)
    return None


def _period_count(payload: Json) -> int:
    # Read with care, as a file whose checksum holds is not read field by field (`payloads_sound`); and
    # cheaply, as a 32 MB file has 50,000 records.
    try:
        return len(payload["chargingSchedule"]["chargingSchedulePeriod"])
    except (KeyError, TypeError):
        return 0


def _mirror_problem(record: ProfileRecord) -> str | None:
    for field, key in MIRRORED.items():
        mine, sent = getattr(record, field), record.payload[key]
        if mine != sent:
            return f"{field} is {mine!r} but the payload sent has {key} {sent!r}"
    return None


def _is_int(value: Any, low: int = 0, high: int = INT32_MAX) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_timestamp(value: Any) -> bool:
    # As the reconciler writes them: RFC 3339 in UTC with `Z`, within the years plans compute with.
    if not isinstance(value, str):
        return False
    try:
        return normalise_timestamp(value) == value
    except ValueError:
        return False


def _one_of(*allowed: str) -> Callable[[Any], bool]:
    return lambda value: value in allowed


_PROFILE: Mapping[str, tuple[bool, Callable[[Any], bool], str]] = {
    # key: (required, check, what it must be)
    "chargingProfileId": (True, lambda v: _is_int(v, 1), "an id from 1 to 2147483647"),
    "stackLevel": (True, _is_int, "a stack level from 0 to 2147483647"),
    "chargingProfilePurpose": (True, _one_of(*Purpose), "a purpose of OCPP 1.6"),
    "chargingProfileKind": (True, _one_of(*Kind), "a kind of OCPP 1.6"),
    "recurrencyKind": (False, _one_of(*Recurrency), "Daily or Weekly"),
    "validFrom": (False, _is_timestamp, "an RFC 3339 UTC date-time"),
    "validTo": (False, _is_timestamp, "an RFC 3339 UTC date-time"),
    "transactionId": (False, lambda v: _is_int(v, -INT32_MAX - 1), "an integer"),
    "chargingSchedule": (True, lambda v: isinstance(v, dict), "an object"),
}
_SCHEDULE: Mapping[str, tuple[bool, Callable[[Any], bool], str]] = {
    "startSchedule": (False, _is_timestamp, "an RFC 3339 UTC date-time"),
    "duration": (False, _is_int, "seconds from 0 to 2147483647"),
    "chargingRateUnit": (True, _one_of(*RateUnit), "A or W"),
    "chargingSchedulePeriod": (True, lambda v: isinstance(v, list) and bool(v), "a list of periods"),
    "minChargingRate": (False, _is_number, "a number"),
}
_PERIOD: Mapping[str, tuple[bool, Callable[[Any], bool], str]] = {
    "startPeriod": (True, _is_int, "seconds from 0 to 2147483647"),
    "limit": (True, _is_number, "a number"),
    "numberPhases": (False, lambda v: _is_int(v, 1, 3), "1, 2 or 3"),
}


def payload_problem(payload: Any) -> str | None:
    """What makes `payload` no OCPP 1.6 charging profile the reconciler can plan with, or None."""
    problem = _fields(payload, _PROFILE, "")
    if problem is None:
        schedule = payload["chargingSchedule"]
        problem = _fields(schedule, _SCHEDULE, "chargingSchedule.")
        for index, period in enumerate(schedule["chargingSchedulePeriod"] if problem is None else ()):
            problem = problem or _fields(
                period, _PERIOD, f"chargingSchedule.chargingSchedulePeriod[{index}]."
            )
    return problem


def _fields(
    value: Any, shape: Mapping[str, tuple[bool, Callable[[Any], bool], str]], prefix: str
) -> str | None:
    if not isinstance(value, dict):
        return f"{prefix.rstrip('.') or 'the payload'} is not an object"
    for key, (required, check, what) in shape.items():
        if key not in value:
            if required:
                return f"{prefix}{key} is missing"
        elif not check(value[key]):
            return f"{prefix}{key} must be {what}"
    return None
