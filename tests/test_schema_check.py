"""Every request body is checked against the official OCPP 1.6 SetChargingProfile.json in `ocpp`."""

from __future__ import annotations

import copy
import importlib.resources
import json
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from reconciler.desired.validate import schema_problem

from .conftest import ROOT

PAGE = json.loads((ROOT / "tests/golden/edrv_page_examples.json").read_text())["bodies"]


def _reference_validator() -> jsonschema.Draft4Validator:
    text = (importlib.resources.files("ocpp.v16") / "schemas" / "SetChargingProfile.json").read_text()
    schema = json.loads(text, parse_float=Decimal)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def _mutations() -> list[tuple[str, dict[str, Any]]]:
    def mutate(path: list[str | int], value: Any) -> dict[str, Any]:
        body: dict[str, Any] = copy.deepcopy(PAGE[0])
        target: Any = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        return body

    period: list[str | int] = ["csChargingProfiles", "chargingSchedule", "chargingSchedulePeriod", 0]
    return [
        ("valid", copy.deepcopy(PAGE[0])),
        ("one-decimal", mutate([*period, "limit"], 8.1)),
        ("tricky-float", mutate([*period, "limit"], 0.3)),
        ("two-decimals", mutate([*period, "limit"], 8.15)),
        ("string-limit", mutate([*period, "limit"], "8")),
        ("unknown-purpose", mutate(["csChargingProfiles", "chargingProfilePurpose"], "Nope")),
        (
            "no-seconds",
            mutate(["csChargingProfiles", "chargingSchedule", "startSchedule"], "2023-06-27T10:46Z"),
        ),
        (
            "no-offset",
            mutate(["csChargingProfiles", "chargingSchedule", "startSchedule"], "2023-06-27T10:46:13"),
        ),
        ("extra-key", mutate(["csChargingProfiles", "colour"], "red")),
        ("float-id", mutate(["csChargingProfiles", "chargingProfileId"], 1.5)),
    ]


@pytest.mark.parametrize(("name", "body"), _mutations(), ids=[m[0] for m in _mutations()])
def test_compiled_schema_agrees_with_decimal_jsonschema(name: str, body: dict[str, Any]) -> None:
    """The fast compiled check accepts and refuses exactly what jsonschema does on Decimal-parsed input."""
    reference_ok = _reference_validator().is_valid(json.loads(json.dumps(body), parse_float=Decimal))
    assert (schema_problem(body) is None) == reference_ok
    assert reference_ok == (name in {"valid", "one-decimal", "tricky-float"})


@pytest.mark.parametrize("body", PAGE, ids=lambda b: str(b["csChargingProfiles"]["chargingProfileId"]))
def test_every_page_example_passes_the_official_schema(body: dict[str, Any]) -> None:
    """eDRV's documented bodies are valid OCPP SetChargingProfile requests."""
    assert schema_problem(body) is None


def test_schema_problem_names_the_field() -> None:
    """A refused body's message says which field is wrong."""
    body = dict(_mutations())["two-decimals"]
    assert "chargingSchedulePeriod[0].limit" in str(schema_problem(body))
