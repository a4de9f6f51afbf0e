"""The model charge point's profile store: OCPP 1.6 replacement, refusals, clears, expiry, transaction end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reconciler.ocpp.charger import Charger, ClearStatus, Refusal, SetStatus
from reconciler.ocpp.configuration import ChargerLimits
from reconciler.ocpp.profile import Json, format_timestamp

from .conftest import NOW

TX_DEFAULT, TX, MAX = "TxDefaultProfile", "TxProfile", "ChargePointMaxProfile"


def _profile(profile_id: int, purpose: str = TX_DEFAULT, stack_level: int = 11, **extra: Any) -> Json:
    """A Recurring daily profile in amps; `extra` replaces top-level or (`schedule`) schedule fields."""
    schedule: Json = {
        "startSchedule": "2026-01-01T00:00:00Z",
        "duration": 86400,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        **extra.pop("schedule", {}),
    }
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "chargingSchedule": schedule,
        **extra,
    }


def _charger(connectors: int = 2, **limits: Any) -> Charger:
    return Charger(connectors, ChargerLimits.model_validate(limits))


def _held(charger: Charger) -> dict[int, int]:
    """chargingProfileId -> connector of every installed profile."""
    return {pid: p.connector_id for pid, p in charger.installed.items()}


def test_a_set_installs_the_profile_as_sent() -> None:
    """An accepted set leaves the profile installed on its connector under its id, payload unchanged."""
    charger = _charger()
    answer = charger.set_profile(1, _profile(7))
    assert answer.accepted
    assert charger.installed[7].connector_id == 1
    assert charger.installed[7].profile == _profile(7)


def test_a_set_with_an_installed_id_replaces_it_on_any_connector() -> None:
    """Sending an id again moves it: the copy on the other connector is gone."""
    charger = _charger()
    charger.set_profile(1, _profile(7, stack_level=11))
    charger.set_profile(2, _profile(7, stack_level=12))
    assert _held(charger) == {7: 2}
    assert charger.installed[7].profile["stackLevel"] == 12


def test_a_set_into_a_taken_slot_replaces_the_profile_there() -> None:
    """Same connector, purpose and stack level under another id: the older profile is replaced."""
    charger = _charger()
    charger.set_profile(1, _profile(7))
    charger.set_profile(1, _profile(8))
    assert _held(charger) == {8: 1}


def test_the_same_purpose_and_stack_level_on_another_connector_stands_beside() -> None:
    """Slots are per connector: a profile on connector 2 does not replace one on connector 1."""
    charger = _charger()
    charger.set_profile(1, _profile(7))
    charger.set_profile(2, _profile(8))
    charger.set_profile(0, _profile(9))
    assert _held(charger) == {7: 1, 8: 2, 9: 0}


def test_another_purpose_at_the_same_stack_level_stands_beside() -> None:
    """A TxProfile and a TxDefaultProfile at one stack level on one connector are different slots."""
    charger = _charger()
    charger.start_transaction(1, 42)
    charger.set_profile(1, _profile(7))
    charger.set_profile(1, _profile(8, purpose=TX))
    assert _held(charger) == {7: 1, 8: 1}


@pytest.mark.parametrize(
    ("connector_id", "profile", "refusal"),
    [
        (1, _profile(7, purpose=MAX), Refusal.CHARGE_POINT_MAX_OFF_CONNECTOR_0),
        (0, _profile(7, purpose=TX), Refusal.TX_PROFILE_ON_CONNECTOR_0),
        (2, _profile(7, purpose=TX), Refusal.NO_TRANSACTION),
        (1, _profile(7, purpose=TX, transactionId=41), Refusal.NO_TRANSACTION),
        (3, _profile(7), Refusal.UNKNOWN_CONNECTOR),
        (1, _profile(7, stack_level=51), Refusal.STACK_LEVEL),
        (1, _profile(7, stack_level=-1), Refusal.STACK_LEVEL),
        (1, _profile(7, schedule={"chargingRateUnit": "W"}), Refusal.RATE_UNIT),
        (
            1,
            _profile(
                7,
                schedule={"chargingSchedulePeriod": [{"startPeriod": s, "limit": 16} for s in (0, 60, 120)]},
            ),
            Refusal.TOO_MANY_PERIODS,
        ),
    ],
    ids=[
        "charge-point-max-on-connector-1",
        "tx-profile-on-connector-0",
        "tx-profile-without-transaction",
        "tx-profile-for-another-transaction",
        "connector-beyond-station",
        "stack-level-above-max",
        "stack-level-negative",
        "unit-not-allowed",
        "more-periods-than-allowed",
    ],
)
def test_a_set_the_charger_cannot_take_is_rejected_and_changes_nothing(
    connector_id: int, profile: Json, refusal: Refusal
) -> None:
    """Each OCPP refusal answers Rejected with its reason and leaves the installed profiles as they were."""
    charger = _charger(
        connectors=2,
        ChargeProfileMaxStackLevel=50,
        ChargingScheduleAllowedChargingRateUnit="Current",
        ChargingScheduleMaxPeriods=2,
    )
    charger.start_transaction(1, 42)
    charger.set_profile(1, _profile(7, stack_level=20))
    answer = charger.set_profile(connector_id, profile)
    assert (answer.status, answer.refusal) == (SetStatus.REJECTED, refusal)
    assert answer.message
    assert charger.installed[7].profile == _profile(7, stack_level=20)
    assert _held(charger) == {7: 1}


def test_a_tx_profile_for_the_running_transaction_is_accepted() -> None:
    """A TxProfile on a connector with a transaction, naming it or naming none, is installed."""
    charger = _charger()
    charger.start_transaction(1, 42)
    assert charger.set_profile(1, _profile(7, purpose=TX, transactionId=42)).accepted
    assert charger.set_profile(1, _profile(8, purpose=TX, stack_level=12)).accepted
    assert _held(charger) == {7: 1, 8: 1}


def test_a_set_beyond_max_profiles_installed_is_rejected() -> None:
    """A new profile that would make one more than MaxChargingProfilesInstalled is refused."""
    charger = _charger(MaxChargingProfilesInstalled=2)
    charger.set_profile(1, _profile(1))
    charger.set_profile(2, _profile(2))
    answer = charger.set_profile(0, _profile(3))
    assert (answer.status, answer.refusal) == (SetStatus.REJECTED, Refusal.STORE_FULL)
    assert _held(charger) == {1: 1, 2: 2}


def test_a_full_store_still_takes_a_replacement() -> None:
    """At capacity, a set that replaces by id or by slot leaves the count unchanged and is accepted."""
    charger = _charger(MaxChargingProfilesInstalled=2)
    charger.set_profile(1, _profile(1))
    charger.set_profile(2, _profile(2))
    assert charger.set_profile(1, _profile(1, stack_level=13)).accepted
    assert charger.set_profile(2, _profile(3)).accepted
    assert _held(charger) == {1: 1, 3: 2}


def test_clear_by_id_removes_that_profile_and_answers_accepted() -> None:
    """Clearing an installed id removes only it."""
    charger = _charger()
    charger.set_profile(1, _profile(7))
    charger.set_profile(2, _profile(8))
    assert charger.clear(7) is ClearStatus.ACCEPTED
    assert _held(charger) == {8: 2}


def test_clear_of_an_id_not_installed_answers_unknown() -> None:
    """Clearing an id the charger does not hold answers Unknown and removes nothing."""
    charger = _charger()
    charger.set_profile(1, _profile(7))
    assert charger.clear(8) is ClearStatus.UNKNOWN
    assert _held(charger) == {7: 1}


def test_clear_by_id_ignores_the_other_criteria() -> None:
    """With an id given, a connector, purpose or stack level that do not match it are ignored."""
    charger = _charger()
    charger.set_profile(1, _profile(7))
    assert charger.clear(7, connector_id=2, purpose=MAX, stack_level=30) is ClearStatus.ACCEPTED
    assert _held(charger) == {}


def test_clear_by_criteria_removes_the_profiles_matching_all_of_them() -> None:
    """Connector, purpose and stack level are ANDed; profiles differing in any one stay."""
    charger = _charger()
    charger.set_profile(1, _profile(1, stack_level=11))
    charger.set_profile(1, _profile(2, stack_level=12))
    charger.set_profile(2, _profile(3, stack_level=11))
    charger.set_profile(0, _profile(4, purpose=MAX, stack_level=11))
    assert charger.clear(connector_id=1, purpose=TX_DEFAULT, stack_level=11) is ClearStatus.ACCEPTED
    assert _held(charger) == {2: 1, 3: 2, 4: 0}
    assert charger.clear(purpose=TX_DEFAULT) is ClearStatus.ACCEPTED
    assert _held(charger) == {4: 0}


def test_clear_by_connector_0_matches_only_profiles_set_on_connector_0() -> None:
    """Connector 0 names the station-wide profiles, not every connector."""
    charger = _charger()
    charger.set_profile(0, _profile(1))
    charger.set_profile(1, _profile(2))
    assert charger.clear(connector_id=0) is ClearStatus.ACCEPTED
    assert _held(charger) == {2: 1}


def test_clear_with_no_criteria_removes_everything() -> None:
    """A ClearChargingProfile with no fields empties the store."""
    charger = _charger()
    charger.set_profile(0, _profile(1, purpose=MAX))
    charger.set_profile(1, _profile(2))
    assert charger.clear() is ClearStatus.ACCEPTED
    assert _held(charger) == {}


def test_clear_by_criteria_matching_nothing_answers_unknown() -> None:
    """Criteria that match no installed profile answer Unknown and remove nothing."""
    charger = _charger()
    charger.set_profile(1, _profile(1))
    assert charger.clear(connector_id=2) is ClearStatus.UNKNOWN
    assert charger.clear(connector_id=1, stack_level=12) is ClearStatus.UNKNOWN
    assert _held(charger) == {1: 1}


def test_purge_drops_profiles_past_valid_to_from_that_moment_on() -> None:
    """A profile stays until its validTo and is dropped from then on."""
    charger = _charger()
    charger.set_profile(1, _profile(1, validTo=format_timestamp(NOW)))
    charger.set_profile(2, _profile(2))
    assert charger.purge_expired(NOW - timedelta(seconds=1)) == []
    assert charger.purge_expired(NOW) == [1]
    assert _held(charger) == {2: 2}


def test_purge_drops_absolute_profiles_past_start_plus_duration() -> None:
    """An Absolute schedule ends at startSchedule + duration; a Recurring one with those fields does not."""
    charger = _charger()
    start = format_timestamp(NOW - timedelta(hours=2))
    absolute = _profile(
        1, chargingProfileKind="Absolute", schedule={"startSchedule": start, "duration": 3600}
    )
    del absolute["recurrencyKind"]
    charger.set_profile(1, absolute)
    charger.set_profile(2, _profile(2, schedule={"startSchedule": start, "duration": 3600}))
    assert charger.purge_expired(NOW) == [1]
    assert _held(charger) == {2: 2}


def test_the_end_of_a_transaction_drops_the_tx_profiles_of_its_connector_only() -> None:
    """Stopping connector 1's transaction removes its TxProfiles; other connectors and purposes keep all."""
    charger = _charger()
    charger.start_transaction(1, 41)
    charger.start_transaction(2, 42)
    charger.set_profile(1, _profile(1, purpose=TX))
    charger.set_profile(1, _profile(2))
    charger.set_profile(2, _profile(3, purpose=TX))
    assert charger.stop_transaction(1) == [1]
    assert _held(charger) == {2: 1, 3: 2}
    assert not charger.set_profile(1, _profile(4, purpose=TX)).accepted, "no transaction after the stop"


def test_the_installed_view_is_a_copy() -> None:
    """Changing the dict a profile was sent in, or the view returned, leaves the charger's store as it was."""
    charger = _charger()
    sent = _profile(1)
    charger.set_profile(1, sent)
    sent["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 32
    view = charger.installed
    assert isinstance(view, dict)
    view.clear()
    assert charger.installed[1].profile == _profile(1)
