"""A model of an OCPP 1.6 charge point's charging-profile store. Pure.

It holds what a conforming charger holds after SetChargingProfile, ClearChargingProfile, expiry and
transaction ends, and refuses what such a charger refuses. The plan's property tests replay plans
against it; the sandbox's simulated charge points keep their profiles in it.

Rules, and the readings of OCPP 1.6 chosen where the specification is loose:
- profiles are keyed by `chargingProfileId`, unique across the whole charger;
- a set replaces any profile with the same id (on any connector) and the profile in the same
  (connectorId, purpose, stackLevel) slot on the same connector (as libocpp and MicroOcpp scope it);
- a set is refused, changing nothing, for a ChargePointMaxProfile off connector 0, a TxProfile on
  connector 0 or without a matching transaction on its connector, an unknown connector, a stack level
  outside 0..ChargeProfileMaxStackLevel, a unit the charger does not list, more periods than
  ChargingScheduleMaxPeriods, or more than MaxChargingProfilesInstalled profiles after the set
  (counted after replacement: a full store still takes a replacement);
- a clear by id ignores the other criteria; a clear by criteria removes every profile matching all
  criteria given (none given: everything); either answers Unknown when nothing matched;
- profiles past their end (`profile.payload_expiry`) are dropped by `purge_expired`, and a transaction's
  end drops the TxProfiles of its connector.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reconciler.ocpp.configuration import ChargerLimits
from reconciler.ocpp.profile import Json, Purpose, RateUnit, payload_expiry, slot


class SetStatus(StrEnum):
    """SetChargingProfile.conf status (NotSupported is not modelled: this charger does smart charging)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


class ClearStatus(StrEnum):
    """ClearChargingProfile.conf status."""

    ACCEPTED = "Accepted"
    UNKNOWN = "Unknown"


class Refusal(StrEnum):
    """Why a set was rejected."""

    CHARGE_POINT_MAX_OFF_CONNECTOR_0 = "charge-point-max-off-connector-0"
    TX_PROFILE_ON_CONNECTOR_0 = "tx-profile-on-connector-0"
    NO_TRANSACTION = "no-transaction"
    UNKNOWN_CONNECTOR = "unknown-connector"
    STACK_LEVEL = "stack-level"
    RATE_UNIT = "rate-unit"
    TOO_MANY_PERIODS = "too-many-periods"
    STORE_FULL = "store-full"


@dataclass(frozen=True, slots=True)
class SetAnswer:
    """The charger's answer to a set: Accepted, or Rejected with the reason and the numbers."""

    status: SetStatus
    refusal: Refusal | None = None
    message: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is SetStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class Installed:
    """One installed profile: the connector it was set on and the ChargingProfile as received."""

    connector_id: int
    profile: Json

    @property
    def slot(self) -> tuple[int, str, int]:
        return slot(self.connector_id, self.profile)


_UNIT_NAMES = {RateUnit.AMPERE.value: "Current", RateUnit.WATT.value: "Power"}


class Charger:
    """One charge point's profile store. Mutable: every message changes it in place, as on a charger."""

    def __init__(self, connectors: int, limits: ChargerLimits | None = None) -> None:
        self.connectors = connectors
        self.limits = limits or ChargerLimits()
        self._installed: dict[int, Installed] = {}
        self._transactions: dict[int, int] = {}  # connector -> its active transaction's id

    @property
    def installed(self) -> Mapping[int, Installed]:
        """Every installed profile by chargingProfileId, in a new mapping each time."""
        return dict(self._installed)

    def start_transaction(self, connector_id: int, transaction_id: int) -> None:
        self._transactions[connector_id] = transaction_id

    def stop_transaction(self, connector_id: int) -> list[int]:
        """End the connector's transaction; its TxProfiles cease to be valid. Returns the dropped ids."""
        self._transactions.pop(connector_id, None)
        return self._drop(
            lambda p: p.connector_id == connector_id and p.profile["chargingProfilePurpose"] == Purpose.TX
        )

    def set_profile(self, connector_id: int, profile: Json) -> SetAnswer:
        """SetChargingProfile.req: install `profile` on `connector_id` with OCPP's replacement rules."""
        refusal = self._refusal(connector_id, profile)
        if refusal is not None:
            return SetAnswer(SetStatus.REJECTED, *refusal)
        # A copy, so that the sender changing its dict later cannot change what the charger holds.
        new = Installed(connector_id, copy.deepcopy(profile))
        kept = {
            pid: p
            for pid, p in self._installed.items()
            if pid != profile["chargingProfileId"] and p.slot != new.slot
        }
        # Counted after replacement: the key bounds what is installed at a time, and a replacement
        # does not add to it (libocpp counts before, refusing a replacement on a full store).
        most = self.limits.max_profiles_installed
        if len(kept) + 1 > most:
            return SetAnswer(
                SetStatus.REJECTED,
                Refusal.STORE_FULL,
                f"{len(kept) + 1} profiles after the set, MaxChargingProfilesInstalled is {most}",
            )
        kept[int(profile["chargingProfileId"])] = new
        self._installed = kept
        return SetAnswer(SetStatus.ACCEPTED)

    def _refusal(self, connector_id: int, profile: Json) -> tuple[Refusal, str] | None:
        purpose = profile["chargingProfilePurpose"]
        schedule: Json = profile["chargingSchedule"]
        if not 0 <= connector_id <= self.connectors:
            return Refusal.UNKNOWN_CONNECTOR, f"connector {connector_id}; the charger has {self.connectors}"
        if purpose == Purpose.CHARGE_POINT_MAX and connector_id != 0:
            return (
                Refusal.CHARGE_POINT_MAX_OFF_CONNECTOR_0,
                f"ChargePointMaxProfile on connector {connector_id}",
            )
        if purpose == Purpose.TX:
            if connector_id == 0:
                return Refusal.TX_PROFILE_ON_CONNECTOR_0, "TxProfile on connector 0"
            active = self._transactions.get(connector_id)
            if active is None:
                return Refusal.NO_TRANSACTION, f"no transaction on connector {connector_id}"
            wanted = profile.get("transactionId")
            if wanted is not None and wanted != active:
                return (
                    Refusal.NO_TRANSACTION,
                    f"transactionId {wanted}, but connector {connector_id} runs transaction {active}",
                )
        highest = self.limits.max_stack_level
        if not 0 <= profile["stackLevel"] <= highest:
            return (
                Refusal.STACK_LEVEL,
                f"stackLevel {profile['stackLevel']}, ChargeProfileMaxStackLevel {highest}",
            )
        unit = schedule["chargingRateUnit"]
        if _UNIT_NAMES.get(unit) not in self.limits.allowed_rate_units:
            allowed = ",".join(self.limits.allowed_rate_units)
            return Refusal.RATE_UNIT, f"unit {unit}, ChargingScheduleAllowedChargingRateUnit {allowed}"
        periods = len(schedule["chargingSchedulePeriod"])
        if periods > self.limits.max_periods:
            return (
                Refusal.TOO_MANY_PERIODS,
                f"{periods} periods, ChargingScheduleMaxPeriods {self.limits.max_periods}",
            )
        return None

    def clear(
        self,
        profile_id: int | None = None,
        *,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> ClearStatus:
        """ClearChargingProfile.req: by id (other criteria ignored), else every profile matching all given."""
        if profile_id is not None:
            dropped = self._drop(lambda p: p.profile["chargingProfileId"] == profile_id)
        else:
            dropped = self._drop(
                lambda p: (
                    (connector_id is None or p.connector_id == connector_id)
                    and (purpose is None or p.profile["chargingProfilePurpose"] == purpose)
                    and (stack_level is None or p.profile["stackLevel"] == stack_level)
                )
            )
        return ClearStatus.ACCEPTED if dropped else ClearStatus.UNKNOWN

    def purge_expired(self, now: datetime) -> list[int]:
        """Drop every profile that has ended for good by `now`, as chargers do; returns the dropped ids."""

        def ended(p: Installed) -> bool:
            end = payload_expiry(p.profile)
            return end is not None and end <= now

        return self._drop(ended)

    def _drop(self, matches: Callable[[Installed], bool]) -> list[int]:
        dropped = sorted(pid for pid, p in self._installed.items() if matches(p))
        for pid in dropped:
            del self._installed[pid]
        return dropped
