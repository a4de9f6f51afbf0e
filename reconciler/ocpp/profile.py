"""The OCPP 1.6 ChargingProfile vocabulary, and the facts every wing reads off a profile payload.

A payload is a `csChargingProfiles` object with OCPP's field names (`Json`), as sent to a charger
and recorded. Date-times in payloads are RFC 3339 UTC with `Z`. Pure.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

Json = dict[str, Any]
DAY_S = 86_400
WEEK_S = 7 * DAY_S


# One encoder for every payload: `json.dumps` with these options builds a new one per call, a fifth of
# the cost of a payload's text.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(payload: Json) -> str:
    """A payload's canonical JSON: sorted keys, no spaces; what its hash is taken of."""
    return _CANONICAL.encode(payload)


def text_hash(canonical: str) -> str:
    """`sha256:<hex>` of a canonical JSON text (`canonical_json`)."""
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class Purpose(StrEnum):
    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(StrEnum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(StrEnum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


class RateUnit(StrEnum):
    AMPERE = "A"
    WATT = "W"


def json_number(value: Decimal) -> int | float:
    """A decimal as the JSON number it was written as: `20000` stays an int, `8.1` a float.

    One-decimal values survive the float exactly: Python prints the shortest repr that round-trips.
    """
    return int(value) if exponent(value) >= 0 else float(value)


def json_number_text(value: Decimal) -> str:
    """`json_number(value)` as canonical JSON writes it: an int's digits, or a float's shortest repr."""
    return _number_text(str(value))


def exponent(value: Decimal) -> int:
    """The power of ten of the last digit of a finite decimal as written: `8.1` -1, `16` 0, `1E+3` 3."""
    return _exponent(str(value))


# `as_tuple` builds a tuple of every digit (half a microsecond), and the same few limits recur in every
# profile of a network: remembered by the decimal's text, which writes its digits and exponent exactly
# (16 and 16.0 are equal decimals, but not the same JSON). Bounded, as every memo of input is.
_REMEMBERED = 10_000


@functools.lru_cache(maxsize=_REMEMBERED)
def _exponent(text: str) -> int:
    return int(Decimal(text).as_tuple().exponent)


@functools.lru_cache(maxsize=_REMEMBERED)
def _number_text(text: str) -> str:
    value = Decimal(text)
    return str(int(value)) if _exponent(text) >= 0 else repr(float(value))


def parse_timestamp(text: str) -> datetime:
    """Turn a normalised timestamp back into an aware UTC datetime."""
    return datetime.fromisoformat(text)


def profile_end(
    purpose: str, kind: str, valid_to: str | None, start_schedule: str | None, duration_s: int | None
) -> datetime | None:
    """When a profile ends for good: `validTo`, or for a fixed Absolute schedule `startSchedule +
    duration`, whichever is first; None if it never ends by itself. A session cap's schedule is
    anchored to its session, which ends it, so only its validTo counts here."""
    fixed = kind == Kind.ABSOLUTE and purpose != Purpose.TX
    return _end(valid_to, start_schedule if fixed else None, duration_s if fixed else None)


# Every profile of a site asks, and most with the same few moments: remembered by what decides.
@functools.lru_cache(maxsize=_REMEMBERED)
def _end(valid_to: str | None, fixed_start: str | None, duration_s: int | None) -> datetime | None:
    ends: list[datetime] = []
    if valid_to is not None:
        ends.append(parse_timestamp(valid_to))
    if fixed_start is not None and duration_s is not None:
        ends.append(parse_timestamp(fixed_start) + timedelta(seconds=duration_s))
    return min(ends, default=None)


def format_timestamp(moment: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with `Z`, as the reconciler writes moments in output."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def slot(connector_id: int, payload: Mapping[str, Any]) -> tuple[int, str, int]:
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
