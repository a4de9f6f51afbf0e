"""A charger's smart-charging configuration keys, as OCPP 1.6's GetConfiguration reports them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from reconciler.ocpp.profile import RateUnit

_Int = Annotated[int, Strict()]


RateUnitName = Literal["Current", "Power"]


def _split_csl(value: Any) -> Any:
    # GetConfiguration reports this key as a comma-separated list; accept it pasted as is.
    return tuple(part.strip() for part in value.split(",")) if isinstance(value, str) else value


class ChargerLimits(BaseModel):
    """The charger's smart-charging configuration keys, as GetConfiguration reports them.

    Defaults are deliberately modest so that a profile set that passes here fits most chargers;
    declare the real values of your hardware to lift them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)
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
    max_profiles_installed: _Int = Field(20, alias="MaxChargingProfilesInstalled")

    def allows(self, unit: RateUnit) -> bool:
        return ("Current" if unit is RateUnit.AMPERE else "Power") in self.allowed_rate_units
