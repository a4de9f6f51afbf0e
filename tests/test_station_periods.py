"""A station's profiles may hold at most MOST_STATION_PERIODS schedule periods in all: a plan works out
its power from every one, and its recorded state, which may hold twice as many, must stay readable."""

from __future__ import annotations

from typing import Any

from reconciler.desired.validate import check_site
from reconciler.errors import Severity
from reconciler.ocpp.configuration import MOST_STATION_PERIODS

from .conftest import NOW

PERIODS_EACH = 1000


def _site(profiles: int) -> dict[str, Any]:
    """One station of `profiles` daily profiles of PERIODS_EACH minute-long periods, one per connector."""
    periods = [{"startPeriod": 60 * n, "limit": 6 + n % 20} for n in range(PERIODS_EACH)]
    return {
        "site": {"name": "Depot"},
        "stations": {
            "CS-1": {
                "connectors": profiles,
                "rated_power_kw": 500,
                "ocpp": {"ChargingScheduleMaxPeriods": PERIODS_EACH, "MaxChargingProfilesInstalled": 100},
                "profiles": {
                    f"p{n}": {
                        "connectorId": n + 1,
                        "stackLevel": 20,
                        "chargingProfilePurpose": "TxDefaultProfile",
                        "chargingProfileKind": "Recurring",
                        "recurrencyKind": "Daily",
                        "chargingSchedule": {
                            "startSchedule": "2026-01-01T00:00:00Z",
                            "duration": 86400,
                            "chargingRateUnit": "A",
                            "chargingSchedulePeriod": periods,
                        },
                    }
                    for n in range(profiles)
                },
            }
        },
    }


def _period_errors(profiles: int) -> list[str]:
    _, findings = check_site("depot", "depot.yaml", _site(profiles), NOW)
    return [f.message for f in findings if f.severity is Severity.ERROR and "schedule periods" in f.message]


def test_a_station_over_the_periods_bound_is_refused_and_one_at_it_is_not() -> None:
    """51 profiles of 1,000 periods on a station are refused, naming the count and the bound; 50 pass."""
    assert MOST_STATION_PERIODS == 50 * PERIODS_EACH
    assert _period_errors(50) == []
    assert _period_errors(51) == [
        "the station's profiles hold 51,000 schedule periods in all, more than the 50,000 a station may "
        "(a plan works out its power from every one)"
    ]
