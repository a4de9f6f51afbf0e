"""Desired-state models: what an operator writes in `desired/<site>.yaml`.

Profile fields keep OCPP 1.6's wire names (`connectorId`, `chargingSchedule`, ...) as YAML keys, so a
profile from eDRV's documentation or the OCPP specification pastes in unchanged; in Python they are
snake_case with units (`duration_s`). Site and station facts are snake_case with units in YAML too
(`grid_limit_kw`); the charger's OCPP configuration keys keep their OCPP names.

OCPP's own vocabulary (purposes, kinds, units) and the charger's configuration keys come from the
`ocpp` wing. Types only: rules that relate fields to each other live in `validate`. Every model is
frozen and forbids unknown keys, so a typo is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    Strict,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

from reconciler.errors import excerpt
from reconciler.ocpp.configuration import ChargerLimits
from reconciler.ocpp.profile import Kind, Purpose, RateUnit, Recurrency, profile_end

# eDRV reserves stack levels 0-10 for its own power management (its smart-charging page).
EDRV_RESERVED_MAX_STACK_LEVEL = 10


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,6}))?(?:Z|[+-]\d\d:\d\d)")


# The years a date-time may name. Chargers count time from 1970; the upper bound leaves room for any
# 32-bit duration and recurrence computed from it, so no date arithmetic leaves the calendar.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def normalise_timestamp(text: str) -> str:
    """Return an RFC 3339 date-time as UTC with `Z`, keeping the fraction digits as written.

    `2023-06-28T16:31:32.898+02:00` becomes `2023-06-28T14:31:32.898Z`; `.000` stays `.000`, because
    eDRV's examples are reproduced byte for byte. The year must lie within EARLIEST_YEAR-LATEST_YEAR.
    """
    return _normalised(text)


_YEAR_TEXTS = (f"{EARLIEST_YEAR:04d}", f"{LATEST_YEAR:04d}")


# The same few moments recur in every profile of a site (startSchedule, validFrom, validTo); bounded, as
# every memo of input is. A text that is refused raises, and is not remembered.
@functools.lru_cache(maxsize=10_000)
def _normalised(text: str) -> str:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise PydanticCustomError(
            "timestamp",
            "{value} is not an RFC 3339 date-time with seconds and an offset",
            {
                "value": excerpt(text),
                "fix": "write it like 2026-01-31T22:00:00Z (UTC) or 2026-01-31T23:00:00+01:00",
            },
        )
    try:
        moment = datetime.fromisoformat(text)
        # Already normal, as every timestamp in a state file is: converting and formatting it again
        # (a fifth of reading a state file) gives back the text.
        normal = text[-1] == "Z" and _YEAR_TEXTS[0] <= text[:4] <= _YEAR_TEXTS[1]
        utc = moment if normal else moment.astimezone(UTC)
    except ValueError:
        raise PydanticCustomError(
            "timestamp", "{value} is not a real date or time", {"value": repr(text), "fix": "check the date"}
        ) from None
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        utc = None
    if utc is None or not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise PydanticCustomError(
            "timestamp",
            "{value} is outside the years {earliest}-{latest} that chargers and plans compute with",
            {
                "value": repr(text),
                "earliest": EARLIEST_YEAR,
                "latest": LATEST_YEAR,
                "fix": "check the year; a profile without an end needs no validTo",
            },
        )
    if normal:
        return text
    digits = len(match.group(1) or "")
    fraction = f".{utc.microsecond:06d}"[: digits + 1] if digits else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _number_schema(_source: Any, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    # A YAML int or float, never a bool or a string (`limit: "8"` or `limit: yes` is a mistake, not a
    # number to coerce), made a Decimal from its text, finite. Declared to pydantic-core rather than
    # checked by a Python function: a site's limits are most of its numbers.
    return core_schema.chain_schema(
        [
            core_schema.union_schema(
                [core_schema.int_schema(strict=True), core_schema.float_schema(strict=True)],
                custom_error_type=NUMBER_TYPE,
                custom_error_message="expected a number",
            ),
            core_schema.decimal_schema(allow_inf_nan=False),
        ]
    )


# The error of a value that is not a number (see `typeerrors`).
NUMBER_TYPE = "number_type"

Timestamp = Annotated[
    str,
    Strict(),
    AfterValidator(normalise_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _RFC3339.pattern}),
]
# Limits are decimals so that 8.1 stays 8.1; YAML writes them as plain numbers.
Number = Annotated[Decimal, GetPydanticSchema(_number_schema), WithJsonSchema({"type": "number"})]
Int = Annotated[int, Strict()]
# OCPP-J integers are 32-bit on chargers (OCPP's own schemas say only "integer"); bounding them here also
# keeps every date computed from a duration or a period start within the calendar.
INT32_MAX = 2**31 - 1
Int32 = Annotated[int, Strict(), Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
# chargingProfileId: what OCPP allows, and at least 1, as every charger numbers its profiles.
ProfileId = Annotated[int, Strict(), Field(ge=1, le=INT32_MAX)]
# No charger has more connectors, and plans compute a composite schedule for each one.
MAX_CONNECTORS = 100

_FROZEN = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)


class Period(BaseModel):
    """One ChargingSchedulePeriod: from `startPeriod` seconds on, at most `limit` (A or W)."""

    model_config = _FROZEN
    start_period_s: Int32 = Field(alias="startPeriod")
    limit: Number
    number_phases: Int | None = Field(None, alias="numberPhases")


# Wall-clock time of day, after a weekday or a range of them for Weekly schedules: `07:00`,
# `Sat 00:00`, `Mon-Fri 07:00`.
LOCAL_DAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
LOCAL_TIME = "([01][0-9]|2[0-3]):([0-5][0-9])"
LOCAL_AT = re.compile(rf"(?:{LOCAL_DAY}(?:-{LOCAL_DAY})? )?{LOCAL_TIME}")


def _local_at(text: Any) -> str:
    # Checked before pydantic's own string check, so `at: 1900` gets the same help as `at: "7:00"`.
    if not isinstance(text, str) or LOCAL_AT.fullmatch(text) is None:
        raise PydanticCustomError(
            "local_at",
            "{value} is not a wall-clock time like 07:00, Sat 00:00 or Mon-Fri 07:00",
            {
                "value": excerpt(text),
                "fix": "write HH:MM (24-hour, two digits each), after a weekday or a range such as Mon-Fri "
                "for a Weekly profile",
            },
        )
    return text


LocalAt = Annotated[
    str,
    BeforeValidator(_local_at),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{LOCAL_AT.pattern}$",
            "description": "wall-clock time in the site's timezone: 07:00 (Daily), Sat 00:00 or "
            "Mon-Fri 07:00 (Weekly)",
        }
    ),
]


class LocalPeriod(BaseModel):
    """A period of a local-time schedule: from the wall-clock time `at` on, at most `limit`.

    `limit: null` sets no limit from then on, so lower stack levels apply (at most once per day or week).
    """

    model_config = _FROZEN
    at: LocalAt
    limit: Number | None
    number_phases: Int | None = Field(None, alias="numberPhases")


class Schedule(BaseModel):
    """OCPP ChargingSchedule, or a local-time schedule (`local`) that the reconciler compiles into one."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=False,
        json_schema_extra={"oneOf": [{"required": ["chargingSchedulePeriod"]}, {"required": ["local"]}]},
    )
    start_schedule: Timestamp | None = Field(None, alias="startSchedule")
    duration_s: Int32 | None = Field(None, alias="duration")
    rate_unit: RateUnit = Field(alias="chargingRateUnit")
    periods: tuple[Period, ...] = Field((), alias="chargingSchedulePeriod")
    min_charging_rate: Number | None = Field(None, alias="minChargingRate")
    # Wall-clock periods in the site's timezone, instead of startSchedule, duration and periods.
    local: tuple[LocalPeriod, ...] | None = None


class Profile(BaseModel):
    """A named charging profile as desired on one station: an OCPP ChargingProfile plus its connector.

    `chargingProfileId` is optional: left out, the reconciler allocates one and records it.
    For a TxProfile (a session cap) with kind Absolute, `startSchedule` is left out and `duration` is
    the cap's length from when it is sent; both are filled in from the session (see `payload`).
    """

    model_config = _FROZEN
    description: str | None = None
    connector_id: Int32 = Field(alias="connectorId")
    charging_profile_id: ProfileId | None = Field(None, alias="chargingProfileId")
    stack_level: Int32 = Field(alias="stackLevel")
    purpose: Purpose = Field(alias="chargingProfilePurpose")
    kind: Kind = Field(alias="chargingProfileKind")
    recurrency: Recurrency | None = Field(None, alias="recurrencyKind")
    valid_from: Timestamp | None = Field(None, alias="validFrom")
    valid_to: Timestamp | None = Field(None, alias="validTo")
    # Accepted only so that validation can say why it must go: eDRV inserts it from the session.
    transaction_id: Int32 | None = Field(None, alias="transactionId")
    schedule: Schedule = Field(alias="chargingSchedule")

    @property
    def is_session_cap(self) -> bool:
        return self.purpose is Purpose.TX

    @property
    def is_local(self) -> bool:
        """Written in wall-clock time (`chargingSchedule.local`), compiled per UTC offset by `localtime`."""
        return self.schedule.local is not None

    def expires_at(self) -> datetime | None:
        """When chargers drop this profile for good (see `profile_end`)."""
        schedule = self.schedule
        return profile_end(
            self.purpose, self.kind, self.valid_to, schedule.start_schedule, schedule.duration_s
        )


class Station(BaseModel):
    """An eDRV chargestation, keyed in YAML by its eDRV id."""

    model_config = _FROZEN
    description: str | None = None
    connectors: Int = Field(ge=1, le=MAX_CONNECTORS)
    rated_power_kw: Number = Field(gt=0)
    ocpp: ChargerLimits = ChargerLimits()
    profiles: dict[str, Profile] = {}
    # Per-template patches for this station, deep-merged over the template's profile.
    overrides: dict[str, dict[str, Any]] = {}


class Template(BaseModel):
    """A profile defined once per site and placed on many stations under the template's name."""

    model_config = _FROZEN
    stations: Literal["all"] | tuple[str, ...] = "all"
    profile: Profile


class Safety(BaseModel):
    """Safety rails for plans of this site (see the plan's safety check)."""

    model_config = _FROZEN
    max_change_percent: Number = Field(Decimal(30), ge=0, le=100)
    min_recorded_profiles: Int = Field(10, ge=0)


class Site(BaseModel):
    model_config = _FROZEN
    name: str
    grid_limit_kw: Number | None = Field(None, gt=0)
    nominal_voltage_v: Number = Field(Decimal(230), gt=0)
    timezone: str = "UTC"
    safety: Safety = Safety()


class SiteFile(BaseModel):
    """The whole of one `desired/<site>.yaml`; the file stem is the site id."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "title": "reconciler desired site",
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    )
    site: Site
    templates: dict[str, Template] = {}
    stations: dict[str, Station] = {}
