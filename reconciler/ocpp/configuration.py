"""A charger's smart-charging configuration keys, as OCPP 1.6's GetConfiguration reports them, and how
its firmware computes its composite schedule (the station's `ocpp:` mapping in desired state)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from reconciler.ocpp.firmware import (
    DEFAULT_OPTIONS,
    CompositeOptions,
    NoLimit,
    Precedence,
    RelativeStart,
    StationTotal,
)
from reconciler.ocpp.profile import RateUnit

_Int = Annotated[int, Strict()]

# The most profiles a station may hold as far as the reconciler goes, declared or recorded. Far above the
# chargers seen in the field (8 to 64), and a bound on the work a plan does: each change of a station is
# rated by its composite with all the station's other profiles, so a station's changes cost the square of
# its profiles.
MOST_PROFILES_INSTALLED = 100
# The most schedule periods a station's profiles may hold in all, once compiled, as far as the reconciler
# goes: a plan works out the station's power from every one of them (a day of minute-long periods is
# 1,440). Its recorded state may hold twice as many: records of profiles being replaced stay a while.
MOST_STATION_PERIODS = 50_000
MOST_RECORDED_STATION_PERIODS = 2 * MOST_STATION_PERIODS
_Bool = Annotated[bool, Strict()]
_FROZEN = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)


class CompositeRules(BaseModel):
    """How this charger's firmware computes and reports GetCompositeSchedule (see `ocpp.firmware`).

    Defaults are the composite engine's documented choices; declare what your firmware does so that
    drift compares its report with what its own rules make of the recorded profiles.
    """

    model_config = _FROZEN
    station_total: StationTotal = DEFAULT_OPTIONS.station_total
    tx_default_precedence: Precedence = DEFAULT_OPTIONS.precedence
    tx_default_without_session: _Bool = DEFAULT_OPTIONS.tx_default_without_session
    relative_without_session: RelativeStart = DEFAULT_OPTIONS.relative_without_session
    recur_before_start: _Bool = DEFAULT_OPTIONS.recur_before_start
    min_charging_rate_raises: _Bool = DEFAULT_OPTIONS.min_rate_raises
    # How the charger reports "no limit": drift takes every form alike, the sandbox answers in this one.
    no_limit: NoLimit = NoLimit.RATED

    def options(self) -> CompositeOptions:
        return CompositeOptions(
            precedence=self.tx_default_precedence,
            tx_default_without_session=self.tx_default_without_session,
            relative_without_session=self.relative_without_session,
            recur_before_start=self.recur_before_start,
            station_total=self.station_total,
            min_rate_raises=self.min_charging_rate_raises,
        )


RateUnitName = Literal["Current", "Power"]


def _split_csl(value: Any) -> Any:
    # GetConfiguration reports this key as a comma-separated list; accept it pasted as is.
    return tuple(part.strip() for part in value.split(",")) if isinstance(value, str) else value


class ChargerLimits(BaseModel):
    """The charger's smart-charging configuration keys, as GetConfiguration reports them.

    Defaults are deliberately modest so that a profile set that passes here fits most chargers;
    declare the real values of your hardware to lift them.
    """

    model_config = _FROZEN
    max_stack_level: _Int = Field(50, alias="ChargeProfileMaxStackLevel")
    allowed_rate_units: Annotated[
        tuple[RateUnitName, ...],
        BeforeValidator(_split_csl),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "array", "items": {"enum": ["Current", "Power"]}},
                    {"type": "string", "pattern": "^(Current|Power)(, ?(Current|Power))?$"},
                ]
            }
        ),
    ] = Field(("Current", "Power"), alias="ChargingScheduleAllowedChargingRateUnit")
    max_periods: _Int = Field(24, alias="ChargingScheduleMaxPeriods")
    max_profiles_installed: _Int = Field(
        20, ge=1, le=MOST_PROFILES_INSTALLED, alias="MaxChargingProfilesInstalled"
    )
    composite: CompositeRules = CompositeRules()

    def allows(self, unit: RateUnit) -> bool:
        return ("Current" if unit is RateUnit.AMPERE else "Power") in self.allowed_rate_units
