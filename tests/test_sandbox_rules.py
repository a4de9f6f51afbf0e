"""The simulated charge points follow OCPP 1.6's smart-charging rules, seen through the eDRV API.

Every profile here goes straight to the sandbox's API, past the reconciler's own validation, so it is
the charge point that judges it; the Action in the answer reports what it said.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.ocpp.charger import Refusal
from reconciler.ocpp.profile import format_timestamp

from .sandbox_harness import STATION, Clock, action, config, profile, running, station


def _rejected_set(connector_id: int, body: dict[str, Any], refusal: Refusal, **limits: Any) -> None:
    async def scenario() -> None:
        async with running(config({STATION: station(**limits)})) as (sandbox, api):
            answered = action(await api.set(connector_id, body))
            assert answered["status"] == "failed"
            assert answered["response_data"] == {"status": "Rejected"}
            assert sandbox.stations[STATION].last_refusal is refusal
            assert all(not held for held in (await api.installed()).values())

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("connector_id", "body", "refusal", "limits"),
    [
        (
            1,
            profile(chargingProfilePurpose="ChargePointMaxProfile"),
            Refusal.CHARGE_POINT_MAX_OFF_CONNECTOR_0,
            {},
        ),
        (1, profile(chargingProfilePurpose="TxProfile"), Refusal.NO_TRANSACTION, {}),
        (0, profile(chargingProfilePurpose="TxProfile"), Refusal.TX_PROFILE_ON_CONNECTOR_0, {}),
        (0, profile(stackLevel=6), Refusal.STACK_LEVEL, {"ChargeProfileMaxStackLevel": 5}),
        (3, profile(), Refusal.UNKNOWN_CONNECTOR, {}),
        (
            0,
            profile(
                chargingSchedule={
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
                }
            ),
            Refusal.RATE_UNIT,
            {"ChargingScheduleAllowedChargingRateUnit": "Current"},
        ),
        (
            0,
            profile(
                chargingSchedule={
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": s, "limit": 16} for s in (0, 60, 120)],
                }
            ),
            Refusal.TOO_MANY_PERIODS,
            {"ChargingScheduleMaxPeriods": 2},
        ),
    ],
    ids=[
        "cp-max-off-connector-0",
        "tx-without-transaction",
        "tx-on-connector-0",
        "stack-level",
        "connector",
        "unit",
        "periods",
    ],
)
def test_charge_point_rejects_a_profile_ocpp_forbids(
    connector_id: int, body: dict[str, Any], refusal: Refusal, limits: dict[str, Any]
) -> None:
    """A profile breaking an OCPP rule or a configuration key is answered Rejected and not installed."""
    _rejected_set(connector_id, body, refusal, **limits)


def test_store_full_rejects_a_new_profile_but_takes_a_replacement() -> None:
    """Past MaxChargingProfilesInstalled a new profile is rejected, while a replacement by id still fits."""

    async def scenario() -> None:
        async with running(config({STATION: station(MaxChargingProfilesInstalled=2)})) as (sandbox, api):
            assert action(await api.set(1, profile(1)))["status"] == "completed"
            assert action(await api.set(2, profile(2)))["status"] == "completed"
            assert action(await api.set(0, profile(3)))["response_data"] == {"status": "Rejected"}
            assert sandbox.stations[STATION].last_refusal is Refusal.STORE_FULL
            replaced = action(await api.set(2, profile(2, stackLevel=13)))
            assert replaced["response_data"] == {"status": "Accepted"}
            installed = await api.installed()
            assert [p["chargingProfileId"] for p in installed["1"] + installed["2"]] == [1, 2]
            assert installed["2"][0]["stackLevel"] == 13

    asyncio.run(scenario())


def test_same_id_replaces_the_profile_wherever_it_was() -> None:
    """A set reusing a chargingProfileId replaces that profile, even on another connector."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            action(await api.set(1, profile(7)))
            action(await api.set(2, profile(7, stackLevel=20)))
            assert await api.installed() == {"0": [], "1": [], "2": [profile(7, stackLevel=20)]}

    asyncio.run(scenario())


def test_same_slot_replaces_the_profile_with_another_id() -> None:
    """A set into an occupied (connector, purpose, stackLevel) slot replaces the profile there."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            action(await api.set(1, profile(1)))
            action(await api.set(1, profile(2)))
            action(await api.set(2, profile(3)))
            installed = await api.installed()
            assert [p["chargingProfileId"] for p in installed["1"]] == [2]
            assert [p["chargingProfileId"] for p in installed["2"]] == [3]

    asyncio.run(scenario())


def test_tx_profile_lives_as_long_as_its_transaction() -> None:
    """A TxProfile is taken during a session (eDRV fills in the transactionId) and dropped when it ends."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            session = await api.start_session(1)
            cap = profile(5, chargingProfilePurpose="TxProfile", stackLevel=30)
            answered = action(await api.set(1, cap))
            assert answered["response_data"] == {"status": "Accepted"}
            held = (await api.installed())["1"]
            assert held == [{**cap, "transactionId": session["transactionId"]}]
            ended = await api.stop_session(session["_id"])
            assert ended.json()["result"]["status"] == "Ended"
            assert (await api.installed())["1"] == []

    asyncio.run(scenario())


def test_expired_profiles_are_purged() -> None:
    """A profile past its validTo is gone from the charge point, and its limit from the composite."""

    async def scenario() -> None:
        clock = Clock()
        async with running(config(clock=clock)) as (_sandbox, api):
            ends = format_timestamp(clock.now.replace(hour=13))
            action(await api.set(0, profile(1, chargingProfilePurpose="ChargePointMaxProfile", validTo=ends)))
            before = action(await api.composite(0, 600))["response_data"]["chargingSchedule"]
            assert before["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16}]
            clock.advance(2 * 3600)
            assert (await api.installed())["0"] == []
            after = action(await api.composite(0, 600))["response_data"]["chargingSchedule"]
            # Rated 22 kW in A at 230 V on 3 phases: what the charger allows without a profile.
            assert after["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 31.8}]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("body", "error_code"),
    [
        (
            profile(
                chargingSchedule={
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8.15}],
                }
            ),
            "FormatViolation",
        ),
        (profile(colour="blue"), "FormatViolation"),
        (profile(validTo="tomorrow"), "PropertyConstraintViolation"),
    ],
    ids=["limit-two-decimals", "unknown-field", "bad-date-time"],
)
def test_charge_point_answers_a_malformed_profile_with_a_callerror(
    body: dict[str, Any], error_code: str
) -> None:
    """A profile the OCPP schema or date-time format refuses draws a CALLERROR, reported in the Action."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            answered = action(await api.set(0, body))
            assert answered["status"] == "failed"
            assert answered["response_data"]["errorCode"] == error_code
            assert (await api.installed())["0"] == []

    asyncio.run(scenario())


def test_clear_by_id_and_clear_of_nothing() -> None:
    """A clear by id removes that profile (Accepted); clearing it again matches nothing (Unknown)."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            action(await api.set(1, profile(4)))
            first = action(await api.clear({"id": 4, "connectorId": 1}))
            assert (first["status"], first["response_data"]) == ("completed", {"status": "Accepted"})
            again = action(await api.clear({"id": 4, "connectorId": 1}))
            assert (again["status"], again["response_data"]) == ("failed", {"status": "Unknown"})
            assert (await api.installed())["1"] == []

    asyncio.run(scenario())
