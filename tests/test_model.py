"""Timestamps, numbers, template merging and id allocation: the small rules the rest stands on."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.desired.ids import allocate
from reconciler.desired.model import Period, SiteFile, normalise_timestamp
from reconciler.desired.template import deep_merge
from reconciler.desired.typeerrors import allowed_keys
from reconciler.ocpp.profile import json_number


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("2023-06-28T15:36:25.000Z", "2023-06-28T15:36:25.000Z"),
        ("2023-06-27T10:46:13.857Z", "2023-06-27T10:46:13.857Z"),
        ("2023-06-28T16:31:32.898+02:00", "2023-06-28T14:31:32.898Z"),
        ("2026-01-01T00:30:00-01:00", "2026-01-01T01:30:00Z"),
        ("2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.5Z"),
    ],
)
def test_timestamps_become_utc_z_keeping_fraction_digits(written: str, normalised: str) -> None:
    """Offsets are folded into UTC and written with Z; the number of fraction digits is kept as written."""
    assert normalise_timestamp(written) == normalised


@pytest.mark.parametrize(
    "bad", ["2026-01-01", "2026-01-01T00:00Z", "2026-01-01T00:00:00", "2026-02-30T00:00:00Z"]
)
def test_timestamps_without_seconds_offset_or_real_date_are_refused(bad: str) -> None:
    """Date-only, minute-only, offset-less and impossible date-times are errors, as OCPP's schema demands."""
    with pytest.raises(ValueError, match=r"RFC 3339|real date"):
        normalise_timestamp(bad)


@pytest.mark.parametrize(
    ("written", "json_value"), [(20000, 20000), (8.1, 8.1), (0.3, 0.3), (20000.0, 20000.0)]
)
def test_limits_serialise_as_written(written: float, json_value: float) -> None:
    """A limit comes out as the JSON number it was written as: ints stay ints, one decimal stays exact."""
    value = json_number(Period.model_validate({"startPeriod": 0, "limit": written}).limit)
    assert value == json_value
    assert type(value) is type(json_value)


@given(st.integers(min_value=0, max_value=10**7))
def test_one_decimal_limits_round_trip_exactly(tenths: int) -> None:
    """Every one-decimal limit survives YAML float -> Decimal -> JSON number with its digits intact."""
    written = tenths / 10
    limit = Period.model_validate({"startPeriod": 0, "limit": written}).limit
    assert limit == Decimal(tenths) / 10
    assert repr(json_number(limit)) == repr(written)


@pytest.mark.parametrize("bad", ["8", True, float("inf"), float("nan")])
def test_limits_must_be_finite_bare_numbers(bad: object) -> None:
    """A quoted number, a boolean, infinity or NaN is not a limit."""
    with pytest.raises(ValidationError):
        Period.model_validate({"startPeriod": 0, "limit": bad})


def test_deep_merge_merges_mappings_replaces_lists_and_deletes_on_null() -> None:
    """Overrides merge mappings key by key, replace lists whole, and remove keys set to null."""
    base = {"a": 1, "s": {"x": 1, "y": 2, "p": [1, 2]}, "gone": 3}
    patch = {"s": {"y": 20, "p": [9]}, "gone": None, "new": 4}
    assert deep_merge(base, patch) == {"a": 1, "s": {"x": 1, "y": 20, "p": [9]}, "new": 4}
    assert base["s"] == {"x": 1, "y": 2, "p": [1, 2]}


def test_allocated_ids_start_above_every_taken_id_and_the_high_water_mark() -> None:
    """New ids are fresh: above every id in use and above every id ever handed out."""
    assert allocate(["a", "b"], [3, 7], high_water=5) == {"a": 8, "b": 9}
    assert allocate(["a"], [], high_water=12) == {"a": 13}
    assert allocate(["a"], []) == {"a": 1}


def test_allowed_keys_are_the_yaml_names_at_a_path() -> None:
    """Unknown-key messages can list the keys allowed at any depth, under their YAML spellings."""
    keys = allowed_keys(SiteFile, ("stations", "CS-1", "profiles", "p", "chargingSchedule"))
    assert keys == [
        "startSchedule",
        "duration",
        "chargingRateUnit",
        "chargingSchedulePeriod",
        "minChargingRate",
        "local",
    ]
    assert "ChargeProfileMaxStackLevel" in allowed_keys(SiteFile, ("stations", "CS-1", "ocpp"))
