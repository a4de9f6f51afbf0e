"""The rules of one schedule period's numbers, shared by OCPP periods (`rules`) and wall-clock ones
(`localrules`): the unit the charger takes, a limit's sign and decimals, `numberPhases`, and limits
too low for a car to follow. Pure.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from reconciler.desired.model import Site, Station
from reconciler.desired.template import PlacedProfile
from reconciler.errors import Finding, Severity, YamlPath
from reconciler.ocpp.profile import RateUnit, exponent

# IEC 61851 PWM signalling starts at 6 A: many chargers and cars cannot follow a lower non-zero limit.
MIN_FOLLOWABLE_CURRENT_A = Decimal(6)
DEFAULT_PHASES = 3  # OCPP 1.6: numberPhases absent means 3

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def check_unit(placed: PlacedProfile, station: Station) -> list[Finding]:
    """An error when the charger does not list the profile's unit."""
    unit = placed.profile.schedule.rate_unit
    if station.ocpp.allows(unit):
        return []
    allowed = ",".join(station.ocpp.allowed_rate_units)
    return [
        Finding(
            placed.origins,
            ("chargingSchedule", "chargingRateUnit"),
            ERROR,
            f"the charger does not accept unit {unit}: its "
            f"ChargingScheduleAllowedChargingRateUnit is {allowed}",
            "use a unit the charger accepts, or declare "
            "its real ChargingScheduleAllowedChargingRateUnit under the station's 'ocpp'",
        )
    ]


def check_limit(
    placed: PlacedProfile, here: YamlPath, limit: Decimal, phases: int | None, site: Site
) -> list[Finding]:
    """The rules of one period's `limit` and `numberPhases`, the period being at `here`."""
    unit = placed.profile.schedule.rate_unit
    phases_known = phases is None or 1 <= phases <= 3
    on_phases = (phases if phases_known else None) or DEFAULT_PHASES
    # OCPP 1.6: current per phase = power / (nominal voltage x phases); compared as a product, exactly.
    floor = _followable(unit, on_phases, str(site.nominal_voltage_v))
    too_low = 0 < limit < floor
    if phases_known and not too_low and limit >= 0 and exponent(limit) >= -1:
        return []  # most limits: nothing to say, and no place of a finding built
    out = check_rate(placed, (*here, "limit"), limit, "limit")
    if not phases_known:
        out.append(
            Finding(
                placed.origins,
                (*here, "numberPhases"),
                ERROR,
                f"numberPhases must be 1, 2 or 3, got {phases}",
                "set numberPhases to the phases the car may use, or leave it out (3)",
            )
        )
    if too_low:
        shown = (
            f"{floor} A"
            if unit is RateUnit.AMPERE
            else f"{floor} W at {on_phases} phase(s) and {site.nominal_voltage_v} V"
        )
        out.append(
            Finding(
                placed.origins,
                (*here, "limit"),
                WARNING,
                f"limit {limit} {unit} is below {shown}: most chargers and cars "
                "cannot follow a non-zero limit under 6 A",
                "use 0 to pause charging, or at least 6 A",
            )
        )
    return out


def check_rate(placed: PlacedProfile, field: YamlPath, value: Decimal, name: str) -> list[Finding]:
    if value < 0:
        return [Finding(placed.origins, field, ERROR, f"{name} {value} is negative", "use 0 or more")]
    if exponent(value) < -1:
        rounded = value.quantize(Decimal("0.1"), rounding="ROUND_DOWN")
        return [
            Finding(
                placed.origins,
                field,
                ERROR,
                f"{name} {value} has more than one decimal; OCPP accepts at most one",
                f"write {rounded} (rounded down, so the limit is not raised)",
            )
        ]
    return []


# Keyed by the voltage's text: 230 and 230.0 are equal decimals, but the floor a message shows differs.
@functools.lru_cache(maxsize=64)
def _followable(unit: RateUnit, phases: int, voltage_v: str) -> Decimal:
    """The lowest limit in `unit` a car can follow, on `phases` phases at `voltage_v` volts."""
    if unit is RateUnit.AMPERE:
        return MIN_FOLLOWABLE_CURRENT_A
    return MIN_FOLLOWABLE_CURRENT_A * Decimal(voltage_v) * phases
