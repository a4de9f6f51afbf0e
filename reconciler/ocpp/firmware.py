"""How a charger's firmware computes and reports its composite schedule: the points where chargers differ.

OCPP 1.6 leaves these open and real stacks answer GetCompositeSchedule differently (libocpp, MicroOcpp,
vendor firmware). `CompositeOptions` holds one charger's answers; the composite engine
(`schedule.composite_schedule`) computes with them, a station of desired state declares them under
`ocpp.composite`, the sandbox's simulated charge points answer with them, and drift compares a charger's
report with what its own rules make of the recorded profiles, so a charger that reports correctly what it
holds never shows as drifted. Defaults follow libocpp, except where OCPP's own wording decides. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Precedence(StrEnum):
    """How a connector's own TxDefaultProfiles rank against those installed on connector 0."""

    STACK_LEVEL = "stack_level"  # by stack level, the connector's own winning a tie (libocpp)
    CONNECTOR_FIRST = "connector_first"  # the connector's own at every level, then connector 0 (MicroOcpp)


class RelativeStart(StrEnum):
    """Where a Relative schedule starts when there is no session to start it."""

    WINDOW_START = "window_start"  # at the start of the window asked about (libocpp)
    INACTIVE = "inactive"  # nowhere: it waits for a session (MicroOcpp)


class StationTotal(StrEnum):
    """What the composite of connector 0 (the whole station) is."""

    SUM = "sum"  # each connector's transaction limit added up, capped by the ChargePointMaxProfile
    CHARGE_POINT_MAX = "charge_point_max"  # the ChargePointMaxProfile alone (MicroOcpp)


class NoLimit(StrEnum):
    """How the charger writes a stretch of its composite schedule that has no limit."""

    RATED = "rated"  # a period at the station's rated power (libocpp fills in a maximum)
    MINUS_ONE = "minus_one"  # a period with limit -1 (MicroOcpp)
    OMITTED = "omitted"  # no period covers it (only possible before the first limit)


@dataclass(frozen=True, slots=True)
class CompositeOptions:
    """One charger's answers to the open points; see each enum. `min_rate_raises`: a period's
    `minChargingRate` lifts a lower limit up to it (MicroOcpp) rather than being informative only.
    `default_phases` is what a period without `numberPhases` counts as (OCPP says 3)."""

    precedence: Precedence = Precedence.STACK_LEVEL
    tx_default_without_session: bool = True
    relative_without_session: RelativeStart = RelativeStart.WINDOW_START
    recur_before_start: bool = False
    default_phases: int = 3
    station_total: StationTotal = StationTotal.SUM
    min_rate_raises: bool = False


DEFAULT_OPTIONS = CompositeOptions()
