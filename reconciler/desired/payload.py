"""Desired profile -> the OCPP 1.6 ChargingProfile object eDRV forwards to the charger.

Field names are OCPP's; date-times are RFC 3339 UTC with `Z` and the fraction digits as written;
limits come from decimals with at most one decimal place and are emitted as JSON numbers (an int
when written as one). Pure; used by validation, plans and apply.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reconciler.desired.model import Profile
from reconciler.ocpp.profile import Json, Kind, json_number, json_number_text, parse_timestamp, text_hash
from reconciler.ocpp.schedule import Installed

_ID = "chargingProfileId"


class Body:
    """A desired profile's `csChargingProfiles`, its canonical JSON written once, the object on demand.

    Validation checks it and the plan compares it with what was recorded, under an id only the plan
    knows, so it is held without its chargingProfileId: `under` gives the payload for an id, and
    `hash_under` its `payload_hash`, without serialising it again. Canonical JSON sorts keys, and
    `chargingProfileId` sorts before every other field of a profile, so the whole payload's canonical
    text is the id's member followed by the rest. `digest` identifies the body whatever its id.

    The text is written straight from the profile (`canonical_rest`), not by building the object and
    serialising it: a plan over recorded state that already holds it needs only the text, and the
    object is built the first time `fields` is asked for (a schema check, a send, a composite).
    A plain class with slots, not a frozen dataclass: one is made per profile of every site read, and
    a frozen dataclass sets each field through `object.__setattr__`. Only `fields` assigns to it after,
    the object it builds on first use.
    """

    __slots__ = ("_fields", "digest", "profile", "rest")

    def __init__(self, profile: Profile, rest: str) -> None:
        self.profile = profile
        self.rest = rest  # canonical JSON of `fields`, without its opening brace
        self.digest = hashlib.sha256(rest.encode()).digest()
        self._fields: Json | None = None

    @classmethod
    def of(cls, profile: Profile) -> Body:
        return cls(profile, canonical_rest(profile))

    @property
    def fields(self) -> Json:
        """The payload without chargingProfileId, in the order payloads are written."""
        if self._fields is None:
            fields = charging_profile(self.profile, 0)
            del fields[_ID]
            self._fields = fields
        return self._fields

    def under(self, profile_id: int) -> Json:
        """The payload under OCPP id `profile_id`."""
        return {_ID: profile_id, **self.fields}

    def hash_under(self, profile_id: int) -> str:
        """`payload_hash(self.under(profile_id))`, from the text serialised once."""
        return text_hash(f'{{"{_ID}":{int(profile_id)},{self.rest}')


def canonical_rest(profile: Profile) -> str:
    """`canonical_json(charging_profile(profile, 0))` after its `{"chargingProfileId":0,`, written directly.

    The members are written in canonical (sorted) order by hand, numbers as `json_number_text` writes them and
    strings as the canonical encoder quotes them; `tests/test_work_once.py` holds it to
    `canonical_json` over generated profiles. Half the cost of building the object and serialising it.
    """
    schedule = profile.schedule
    out = [
        # An OCPP enum formats as its value (a StrEnum), without the Python call `.value` costs.
        f'"chargingProfileKind":"{profile.kind}",'
        f'"chargingProfilePurpose":"{profile.purpose}",'
        f'"chargingSchedule":{{"chargingRateUnit":"{schedule.rate_unit}","chargingSchedulePeriod":['
    ]
    periods = []
    for period in schedule.periods:
        text = f'{{"limit":{json_number_text(period.limit)}'
        if period.number_phases is not None:
            text += f',"numberPhases":{period.number_phases}'
        periods.append(f'{text},"startPeriod":{period.start_period_s}}}')
    out.append(",".join(periods))
    out.append("]")
    _members(
        out,
        ("duration", schedule.duration_s, str),
        ("minChargingRate", schedule.min_charging_rate, json_number_text),
        ("startSchedule", schedule.start_schedule, _string),
    )
    out.append("}")
    _members(
        out,
        ("recurrencyKind", profile.recurrency, _string),
        ("stackLevel", profile.stack_level, str),
        ("transactionId", profile.transaction_id, str),
        ("validFrom", profile.valid_from, _string),
        ("validTo", profile.valid_to, _string),
    )
    out.append("}")
    return "".join(out)


def _members(out: list[str], *members: tuple[str, Any, Callable[[Any], str]]) -> None:
    """Each member whose value is not None, written `,"key":<text>`, in the order given (sorted)."""
    for key, value, write in members:
        if value is not None:
            out.append(f',"{key}":{write(value)}')


def _string(text: str) -> str:
    # A checked date-time is ASCII digits and punctuation, which JSON quotes as they are; anything else
    # is escaped as the canonical encoder escapes it (ASCII only).
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def charging_profile(profile: Profile, profile_id: int) -> Json:
    """The `csChargingProfiles` object for `profile` under OCPP id `profile_id`."""
    body: Json = {
        "chargingProfileId": profile_id,
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": profile.purpose.value,
        "chargingProfileKind": profile.kind.value,
    }
    if profile.recurrency is not None:
        body["recurrencyKind"] = profile.recurrency.value
    if profile.valid_from is not None:
        body["validFrom"] = profile.valid_from
    if profile.valid_to is not None:
        body["validTo"] = profile.valid_to
    if profile.transaction_id is not None:
        body["transactionId"] = profile.transaction_id
    schedule = profile.schedule
    sched: Json = {}
    if schedule.start_schedule is not None:
        sched["startSchedule"] = schedule.start_schedule
    if schedule.duration_s is not None:
        sched["duration"] = schedule.duration_s
    sched["chargingRateUnit"] = schedule.rate_unit.value
    periods = []
    for period in schedule.periods:
        item: Json = {"startPeriod": period.start_period_s, "limit": json_number(period.limit)}
        if period.number_phases is not None:
            item["numberPhases"] = period.number_phases
        periods.append(item)
    sched["chargingSchedulePeriod"] = periods
    if schedule.min_charging_rate is not None:
        sched["minChargingRate"] = json_number(schedule.min_charging_rate)
    body["chargingSchedule"] = sched
    return body


def cap_for_session(template: Json, session_start: str, now: datetime) -> Json:
    """A session cap's body as written (`template`) turned into what is sent for a session begun then.

    For kind Absolute, eDRV's rule: `startSchedule` = session start and `duration` = seconds elapsed
    since then + the desired duration, so the cap runs for the desired time from `now`. Elapsed time is
    rounded up so the cap never ends early. Other kinds are sent as written. eDRV adds the transactionId.
    """
    if template["chargingProfileKind"] != Kind.ABSOLUTE.value:
        return template
    written: Json = template["chargingSchedule"]
    schedule: Json = {"startSchedule": session_start}
    schedule.update(written)
    if "duration" in written:
        elapsed_s = math.ceil((now - parse_timestamp(session_start)).total_seconds())
        schedule["duration"] = max(elapsed_s, 0) + written["duration"]
    return {**template, "chargingSchedule": schedule}


def installed(profile: Profile, profile_id: int = 0) -> Installed:
    """A desired profile as it would be installed: its payload under `profile_id`, on its connector."""
    return Installed(profile.connector_id, charging_profile(profile, profile_id))
