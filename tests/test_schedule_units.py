"""Composite schedules worked by hand: purposes, connectors, A and W, and the station total."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from reconciler.desired.model import Profile
from reconciler.desired.payload import installed
from reconciler.ocpp.firmware import CompositeOptions, Precedence, StationTotal
from reconciler.ocpp.recurrence import read_number
from reconciler.ocpp.schedule import Installed

from .schedule_builders import at, on, profile, rows, run

ALL_DAY = profile(periods=((0, 11000),))
# A cap of 4 kW for the first hour of a session.
SESSION_CAP = profile("TxProfile", kind="Relative", start=None, duration=3600, periods=((0, 4000),))


def test_tx_profile_overrides_tx_default_during_a_session() -> None:
    """With a session from 09:00 the one-hour TxProfile replaces the 11 kW default for its hour."""
    profiles = on(0, ALL_DAY) + on(1, SESSION_CAP)
    assert run(profiles, hours=4, sessions={1: at("09:00")}) == rows(
        ("08:00", "09:00", 11000), ("09:00", "10:00", 4000), ("10:00", "12:00", 11000)
    )


def test_tx_profile_is_ignored_without_a_session() -> None:
    """The same TxProfile with no session on its connector changes nothing."""
    assert run(on(0, ALL_DAY) + on(1, SESSION_CAP), hours=4) == rows(("08:00", "12:00", 11000))


def test_tx_default_without_a_session_can_be_left_out() -> None:
    """With tx_default_without_session off, no session means no limit; a session brings it back."""
    options = CompositeOptions(tx_default_without_session=False)
    assert run(on(0, ALL_DAY), hours=4, options=options) == rows(("08:00", "12:00", None))
    assert run(on(0, ALL_DAY), hours=4, options=options, sessions={1: at("10:00")}) == rows(
        ("08:00", "12:00", 11000)
    )


def test_connector_specific_tx_default_beats_connector_zero_at_the_same_level() -> None:
    """At stack level 3, connector 1's own 5 kW replaces connector 0's 8 kW there; connector 2 keeps 8 kW."""
    profiles = on(0, profile(level=3, periods=((0, 8000),))) + on(1, profile(level=3, periods=((0, 5000),)))
    assert run(profiles, connector_id=1) == rows(("08:00", "14:00", 5000))
    assert run(profiles, connector_id=2) == rows(("08:00", "14:00", 8000))


HIGHER_ON_ZERO = on(0, profile(level=5, start="10:00", duration=7200, periods=((0, 8000),)))
LOWER_ON_ONE = on(1, profile(level=3, periods=((0, 5000),)))


def test_by_default_connector_zero_wins_with_a_higher_stack_level() -> None:
    """STACK_LEVEL: connector 0's level 5 (10:00-12:00) outranks connector 1's level 3."""
    assert run(HIGHER_ON_ZERO + LOWER_ON_ONE) == rows(
        ("08:00", "10:00", 5000), ("10:00", "12:00", 8000), ("12:00", "14:00", 5000)
    )


def test_connector_first_keeps_the_connectors_own_profile() -> None:
    """CONNECTOR_FIRST: connector 1's own level 3 holds all day despite connector 0's level 5."""
    options = CompositeOptions(precedence=Precedence.CONNECTOR_FIRST)
    assert run(HIGHER_ON_ZERO + LOWER_ON_ONE, options=options) == rows(("08:00", "14:00", 5000))


def test_connector_first_falls_back_to_connector_zero_where_its_own_is_inactive() -> None:
    """CONNECTOR_FIRST: connector 1's 10:00-12:00 profile holds then; connector 0's 8 kW around it."""
    options = CompositeOptions(precedence=Precedence.CONNECTOR_FIRST)
    profiles = on(0, profile(level=1, periods=((0, 8000),))) + on(
        1, profile(level=3, start="10:00", duration=7200, periods=((0, 5000),))
    )
    assert run(profiles, options=options) == rows(
        ("08:00", "10:00", 8000), ("10:00", "12:00", 5000), ("12:00", "14:00", 8000)
    )


def test_charge_point_max_caps_the_connector() -> None:
    """ChargePointMax 20 kW, 6 kW from 10:00 to 12:00: the 11 kW default is capped in those hours."""
    cap = profile("ChargePointMaxProfile", start="08:00", periods=((0, 20000), (7200, 6000), (14400, 20000)))
    assert run(on(0, ALL_DAY, cap)) == rows(
        ("08:00", "10:00", 11000), ("10:00", "12:00", 6000), ("12:00", "14:00", 11000)
    )


def test_amps_and_watts_meet_in_the_requested_unit() -> None:
    """16 A on 3 phases at 230 V is 16 * 230 * 3 = 11,040 W; a 10 kW cap from 10:00 is lower."""
    amps = profile(unit="A", periods=((0, 16),))
    cap = profile("ChargePointMaxProfile", start="10:00", periods=((0, 10000),))
    assert run(on(0, amps, cap)) == rows(("08:00", "10:00", 11040), ("10:00", "14:00", 10000))


def test_amps_convert_with_the_periods_own_phases() -> None:
    """16 A on one phase is 16 * 230 = 3,680 W."""
    assert run(on(1, profile(unit="A", periods=((0, 16, 1),)))) == rows(("08:00", "14:00", 3680))


def test_watts_in_amps_round_down_to_a_tenth() -> None:
    """11,000 W is 15.94 A on 3 phases and 47.83 A on one: reported as 15.9 A and 47.8 A."""
    three = on(1, profile(periods=((0, 11000),)))
    one = on(1, profile(periods=((0, 11000, 1),)))
    assert run(three, unit="A") == rows(("08:00", "14:00", "15.9"))
    assert run(one, unit="A") == rows(("08:00", "14:00", "47.8"))


def test_nominal_voltage_is_a_parameter() -> None:
    """At 120 V, 16 A on 3 phases is 16 * 120 * 3 = 5,760 W."""
    assert run(on(1, profile(unit="A", periods=((0, 16),))), voltage_v=120) == rows(("08:00", "14:00", 5760))


def test_default_phases_is_a_setting() -> None:
    """With two phases assumed, 16 A without numberPhases is 16 * 230 * 2 = 7,360 W."""
    options = CompositeOptions(default_phases=2)
    assert run(on(1, profile(unit="A", periods=((0, 16),))), options=options) == rows(
        ("08:00", "14:00", 7360)
    )


def test_station_total_sums_connectors_under_the_cap() -> None:
    """Two connectors at 16 A (11,040 W each) add to 22,080 W; the 20 kW cap from 10:00 holds it."""
    cap = profile("ChargePointMaxProfile", start="10:00", periods=((0, 20000),))
    profiles = on(0, profile(unit="A", periods=((0, 16),)), cap)
    assert run(profiles, connector_id=0, connectors=2) == rows(
        ("08:00", "10:00", 22080), ("10:00", "14:00", 20000)
    )


def test_station_total_adds_each_connectors_own_limit() -> None:
    """Connector 1 in a session capped at 6 A (4,140 W), connector 2 at its own 10 A (6,900 W): 11,040 W."""
    profiles = (
        on(0, profile(unit="A", periods=((0, 16),)))
        + on(1, profile("TxProfile", kind="Relative", start=None, unit="A", periods=((0, 6),)))
        + on(2, profile(unit="A", periods=((0, 10),)))
    )
    assert run(profiles, connector_id=0, connectors=2, sessions={1: at("06:00")}) == rows(
        ("08:00", "14:00", 11040)
    )


def test_station_total_is_unlimited_when_a_connector_is() -> None:
    """Only connector 1 has a default: the total of two is unlimited, until a 20 kW cap bounds it."""
    profiles = on(1, profile(periods=((0, 8000),)))
    assert run(profiles, connector_id=0, connectors=2) == rows(("08:00", "14:00", None))
    cap = on(0, profile("ChargePointMaxProfile", periods=((0, 20000),)))
    assert run(profiles + cap, connector_id=0, connectors=2) == rows(("08:00", "14:00", 20000))


def test_station_total_may_be_the_charge_point_max_alone() -> None:
    """CHARGE_POINT_MAX: the station total is the 20 kW cap from 10:00 alone, whatever connectors add to."""
    options = CompositeOptions(station_total=StationTotal.CHARGE_POINT_MAX)
    cap = profile("ChargePointMaxProfile", start="10:00", periods=((0, 20000),))
    profiles = on(0, profile(unit="A", periods=((0, 6),)), cap)
    assert run(profiles, connector_id=0, connectors=2, options=options) == rows(
        ("08:00", "10:00", None), ("10:00", "14:00", 20000)
    )
    assert run(profiles, connector_id=1, options=options) == rows(("08:00", "14:00", 4140))


def test_min_charging_rate_lifts_lower_limits_only_when_the_firmware_applies_it() -> None:
    """A 6 A minimum over 4 A then 10 A: informative by default; with min_rate_raises the 4 A becomes 6 A."""
    lifted = profile(unit="A", start="08:00", periods=((0, 4), (7200, 10)))
    lifted["chargingSchedule"]["minChargingRate"] = 6
    assert run(on(1, lifted), unit="A") == rows(("08:00", "10:00", 4), ("10:00", "14:00", 10))
    options = CompositeOptions(min_rate_raises=True)
    assert run(on(1, lifted), unit="A", options=options) == rows(
        ("08:00", "10:00", 6), ("10:00", "14:00", 10)
    )


def test_station_total_counts_to_the_highest_connector_named() -> None:
    """Without `connectors`, a profile on connector 3 makes the station three connectors: 3 * 4 kW."""
    profiles = on(0, profile(periods=((0, 4000),))) + on(3, profile(periods=((0, 4000),)))
    assert run(profiles, connector_id=0) == rows(("08:00", "14:00", 12000))


def test_profiles_where_ocpp_forbids_them_are_ignored() -> None:
    """A ChargePointMaxProfile on connector 1 and a TxProfile on connector 0 limit nothing."""
    profiles = on(1, profile("ChargePointMaxProfile", periods=((0, 1000),))) + on(
        0, profile("TxProfile", periods=((0, 2000),))
    )
    assert run(profiles, sessions={1: at("06:00")}) == rows(("08:00", "14:00", None))


def test_desired_profile_adapter_gives_the_same_composite_as_its_payload() -> None:
    """`installed` turns a model Profile into the payload the charger would hold, on its connector."""
    model = Profile.model_validate(
        {
            "connectorId": 1,
            "stackLevel": 12,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": "2026-03-02T09:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": Decimal("10.5"), "numberPhases": 1}],
            },
        }
    )
    item = installed(model, 4)
    assert item == Installed(1, item.payload)
    assert item.payload["chargingProfileId"] == 4
    # 10.5 A * 230 V * 1 phase = 2,415 W from 09:00.
    assert run([item]) == rows(("08:00", "09:00", None), ("09:00", "14:00", 2415))


def test_a_limit_read_is_remembered_by_type_so_true_is_never_one() -> None:
    """Reading limit 1 (or 1.0) first does not make a JSON `true` pass for it; 16 and 16.0 read alike."""
    assert read_number(1) == read_number(1.0) == 1
    with pytest.raises(TypeError):
        read_number(True)
    assert read_number(16.0) == read_number(16) == Fraction(16)
    assert read_number(8.1) == Fraction(81, 10)
