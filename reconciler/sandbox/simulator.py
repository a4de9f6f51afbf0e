"""A simulated OCPP 1.6J charge point: the charger side of one station in the sandbox.

`SimulatedStation` holds what outlives a connection: the profile store (`reconciler.ocpp.charger.Charger`,
which enforces replacement by id and by slot, TxProfiles only during a transaction and dropped at its
end, ChargePointMaxProfile only on connector 0, ChargeProfileMaxStackLevel, MaxChargingProfilesInstalled,
the allowed units and ChargingScheduleMaxPeriods), the running transactions, and whether a fault tells
it to reject. `fleet.StationPeer` is one OCPP connection's message handlers, delegating to it.

Where OCPP leaves room, this charge point:
- purges profiles past their end before it handles a message and before the sandbox reads its store
  (real chargers purge on a timer);
- answers a set whose date-times are not ISO 8601 with an offset with a CALLERROR
  PropertyConstraintViolation (the OCPP schema does not check formats);
- answers GetCompositeSchedule (`reconciler.ocpp.schedule.composite_schedule`, the station's nominal voltage)
  in the requested unit, else the first unit it allows, by the rules its station declares under
  `ocpp.composite` (`reconciler.ocpp.firmware`): by default with "no limit" filled in as the station's
  rated power, as a charger reports what it would allow; an unknown connector is Rejected;
- takes RemoteStartTransaction only for a free connector it names, then starts the transaction at
  once (StartTransaction, meterStart 0); RemoteStopTransaction ends it (StopTransaction, reason Remote)
  and the store drops the connector's TxProfiles;
- under a `reject` fault answers SetChargingProfile and GetCompositeSchedule with Rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ocpp import exceptions
from ocpp.v16 import call, call_result

from reconciler.ocpp.charger import Charger, Refusal
from reconciler.ocpp.firmware import NoLimit
from reconciler.ocpp.profile import Json, RateUnit, format_timestamp, json_number
from reconciler.ocpp.schedule import Installed, composite_schedule
from reconciler.sandbox.config import SandboxError, StationSpec
from reconciler.sandbox.link import Peer

_CONFIGURATION_KEYS = (
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit",
    "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled",
    "NumberOfConnectors",
    "SupportedFeatureProfiles",
)


def _check_times(profile: Json) -> None:
    schedule = profile.get("chargingSchedule", {})
    for name, text in (
        ("validFrom", profile.get("validFrom")),
        ("validTo", profile.get("validTo")),
        ("startSchedule", schedule.get("startSchedule")),
    ):
        if text is None:
            continue
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise exceptions.PropertyConstraintViolationError(
                details={"cause": f"{name} {text!r} is not an ISO 8601 date-time with an offset"}
            )


class SimulatedStation:
    """One simulated charge point's lasting state; see the module docstring."""

    def __init__(
        self,
        station_id: str,
        spec: StationSpec,
        clock: Callable[[], datetime],
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.station_id = station_id
        self.spec = spec
        self.clock = clock
        self.charger = Charger(spec.connectors, spec.ocpp)
        self.reject = False
        # OCPP's answer is a bare Rejected; why, the sandbox tells its log and tests read here.
        self.last_refusal: Refusal | None = None
        self._log = log or (lambda _line: None)
        self._started_at: dict[int, datetime] = {}  # connector -> its transaction's start
        self._transaction_ids: dict[int, int] = {}
        self._starting: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> datetime:
        moment = self.clock()
        self.charger.purge_expired(moment)
        return moment

    def installed(self) -> dict[int, list[Json]]:
        """The profiles installed now, per connector (every connector listed), by chargingProfileId."""
        self.now()
        by_connector: dict[int, list[Json]] = {c: [] for c in range(self.spec.connectors + 1)}
        for _, item in sorted(self.charger.installed.items()):
            by_connector.setdefault(item.connector_id, []).append(item.profile)
        return by_connector

    async def set_profile(self, connector_id: int, profile: Json) -> str:
        """SetChargingProfile: the status to answer (a malformed date-time raises a CALLERROR)."""
        _check_times(profile)
        await self.settled(connector_id)
        self.now()
        if self.reject:
            return "Rejected"
        answer = self.charger.set_profile(connector_id, profile)
        if not answer.accepted:
            self.last_refusal = answer.refusal
            self._log(f"charge point {self.station_id} rejects: {answer.message}")
        return answer.status.value

    def clear(
        self, profile_id: int | None, connector_id: int | None, purpose: str | None, stack_level: int | None
    ) -> str:
        """ClearChargingProfile: the status to answer."""
        self.now()
        status = self.charger.clear(
            profile_id, connector_id=connector_id, purpose=purpose, stack_level=stack_level
        )
        return status.value

    def reboot(self, lose: str) -> list[int]:
        """Restart losing profiles, as chargers in the field do: `all` of them, or `top_stack_level`,
        those at the highest stack level it holds (MicroOcpp reloads only the levels below its maximum).
        Returns the ids lost."""
        self.now()
        held = self.charger.installed
        if lose == "all":
            doomed = sorted(held)
        elif lose == "top_stack_level":
            top = max((int(item.profile["stackLevel"]) for item in held.values()), default=None)
            doomed = sorted(pid for pid, item in held.items() if int(item.profile["stackLevel"]) == top)
        else:
            raise SandboxError(f"lose must be 'all' or 'top_stack_level', not {lose!r}")
        for profile_id in doomed:
            self.charger.clear(profile_id, connector_id=None, purpose=None, stack_level=None)
        self._log(f"charge point {self.station_id} rebooted and lost profiles {doomed}")
        return doomed

    def install_behind_the_back(self, connector_id: int, profile: Json) -> str:
        """Install a profile no API call sent (as eDRV's own power management does): the status."""
        self.now()
        return self.charger.set_profile(connector_id, profile).status.value

    def connector_of(self, transaction_id: int) -> int | None:
        """The connector running `transaction_id`, if any."""
        running = {t: c for c, t in self._transaction_ids.items()}
        return running.get(transaction_id)

    def transactions(self) -> dict[int, int]:
        return dict(self._transaction_ids)

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settled(self, connector_id: int) -> None:
        """Wait until a transaction being started on the connector has its id (or failed to start)."""
        starting = self._starting.get(connector_id)
        if starting is not None:
            await asyncio.wait({starting})

    async def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)

    def free_connector(self, connector_id: int | None) -> int | None:
        if connector_id is None or not 1 <= connector_id <= self.spec.connectors:
            return None
        busy = connector_id in self._transaction_ids or connector_id in self._starting
        return None if busy else connector_id

    def start_soon(self, peer: Peer, connector_id: int, id_tag: str) -> None:
        """Start a transaction once the answer to RemoteStartTransaction has gone out."""
        self._starting[connector_id] = self.spawn(self._begin(peer, connector_id, id_tag))

    async def _begin(self, peer: Peer, connector_id: int, id_tag: str) -> None:
        """Start a transaction on a free connector: StartTransaction, then record the id it was given."""
        started = self.now().replace(microsecond=0)
        request = call.StartTransaction(
            connector_id=connector_id, id_tag=id_tag, meter_start=0, timestamp=format_timestamp(started)
        )
        try:
            answer = await peer.call(request)
        finally:
            self._starting.pop(connector_id, None)
        if answer is not None:
            self._transaction_ids[connector_id] = int(answer.transaction_id)
            self._started_at[connector_id] = started
            self.charger.start_transaction(connector_id, int(answer.transaction_id))

    async def end(self, peer: Peer, connector_id: int) -> None:
        """Stop a connector's transaction: the store drops its TxProfiles, then StopTransaction."""
        transaction_id = self._transaction_ids.pop(connector_id)
        started = self._started_at.pop(connector_id)
        self.charger.stop_transaction(connector_id)
        stopped = self.now()
        # A steady 7.4 kW while it ran, so that sessions show some energy.
        meter_stop_wh = int((stopped - started).total_seconds() * 7400 / 3600)
        request = call.StopTransaction(
            meter_stop=max(meter_stop_wh, 0),
            timestamp=format_timestamp(stopped.replace(microsecond=0)),
            transaction_id=transaction_id,
            reason="Remote",
        )
        await peer.call(request)

    def composite(
        self, connector_id: int, duration_s: int, unit: str | None
    ) -> call_result.GetCompositeSchedule:
        if self.reject or not 0 <= connector_id <= self.spec.connectors or duration_s <= 0:
            return call_result.GetCompositeSchedule(status="Rejected")
        allowed = [
            RateUnit.AMPERE if name == "Current" else RateUnit.WATT
            for name in self.spec.ocpp.allowed_rate_units
        ]
        chosen = RateUnit(unit) if unit is not None else allowed[0]
        start = self.now().replace(microsecond=0)
        rules = self.spec.ocpp.composite
        periods = composite_schedule(
            [Installed(item.connector_id, item.profile) for item in self.charger.installed.values()],
            connector_id,
            start,
            duration_s,
            unit=chosen,
            sessions=dict(self._started_at),
            connectors=self.spec.connectors,
            voltage_v=self.spec.nominal_voltage_v,
            options=rules.options(),
        )
        rated = self._rated(chosen)
        if rules.no_limit is NoLimit.OMITTED:
            # Only a leading stretch without a limit can be left out; a later one needs a number.
            while periods and periods[0].limit is None:
                periods = periods[1:]
        unlimited = Decimal(-1) if rules.no_limit is NoLimit.MINUS_ONE else rated
        schedule = {
            "duration": duration_s,
            "charging_rate_unit": chosen.value,
            "charging_schedule_period": [
                {
                    "start_period": int((p.start - start).total_seconds()),
                    "limit": json_number(unlimited if p.limit is None else p.limit),
                }
                for p in periods
            ],
        }
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=format_timestamp(start),
            charging_schedule=schedule,
        )

    def _rated(self, unit: RateUnit) -> Decimal:
        watts = self.spec.rated_power_w
        if unit is RateUnit.WATT:
            return watts.quantize(Decimal(1))
        amps = watts / (self.spec.nominal_voltage_v * 3)
        return amps.quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    def configuration(self, keys: list[str] | None) -> list[Json]:
        limits = self.spec.ocpp
        values = {
            "ChargeProfileMaxStackLevel": str(limits.max_stack_level),
            "ChargingScheduleAllowedChargingRateUnit": ",".join(limits.allowed_rate_units),
            "ChargingScheduleMaxPeriods": str(limits.max_periods),
            "MaxChargingProfilesInstalled": str(limits.max_profiles_installed),
            "NumberOfConnectors": str(self.spec.connectors),
            "SupportedFeatureProfiles": "Core,SmartCharging,RemoteTrigger",
        }
        wanted = keys or list(_CONFIGURATION_KEYS)
        return [{"key": key, "readonly": True, "value": values[key]} for key in wanted if key in values]
