"""The site file's JSON Schema as an editor uses it: every property described with its unit, numeric
defaults, snippets that complete to valid YAML, and refusing what `validate` refuses wherever JSON
Schema can say it (checked with jsonschema against every named bad input)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.desired.loader import load_site
from reconciler.desired.yamlread import parse

from .conftest import NOW, ROOT
from .site_schema import SCHEMA_FILE, errors
from .test_invalid_cases import CASES, read_case

SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
# Named bad inputs no JSON Schema can refuse, and why; each must pass the schema, so the list is exact.
BEYOND_A_SCHEMA = {
    "connector-beyond-station": "a connector is compared with the station's own count",
    "duplicate-key-and-unknown-timezone": "one of two duplicate keys is kept; zones need the database",
    "duplicate-keys": "a parsed document keeps one of two duplicate keys",
    "duplicate-station-id": "a parsed document keeps one of two duplicate keys",
    "grid-limit-exceeded": "the grid guard sums composite schedules over a week",
    "grid-limit-exceeded-on-saturday": "the grid guard sums composite schedules over a week",
    "grid-limit-exceeded-station-without-limit": "the grid guard sums composite schedules over a week",
    "keys-read-as-numbers-truth-values-or-null": "JSON keys are text; a key read as a number is beyond it",
    "limit-not-finite": "JSON has no infinity, so JSON Schema has nothing to say of one",
    "local-time-expansion-over-charger-limits": "what a local-time profile compiles into is computed",
    "local-time-second-level-kept-free-without-clock-changes": "slots are compared across profiles",
    "local-time-stack-levels-taken-or-too-high": "slots across profiles, and a maximum the station declares",
    "more-periods-than-charger-allows": "the maximum is the one the station declares",
    "more-profiles-than-charger-holds": "live profiles are counted with templates and expiry",
    "override-for-template-not-applied": "an override is compared with the templates placed on its station",
    "periods-not-increasing": "each period is compared with the one before",
    "periods-repeat-start": "each period is compared with the one before",
    "profile-clashes-with-template": "a profile is compared with the templates placed on its station",
    "profile-id-pinned-twice": "ids are compared across profiles",
    "same-slot-twice": "slots are compared across profiles",
    "site id with spaces": "the site id is the file's name",
    "stack-level-above-charger-max": "the maximum is the one the station declares",
    "template-connector-beyond-one-station": "a template is placed on stations of their own counts",
    "template-periods-beyond-one-charger": "a template is placed on chargers of their own limits",
    "template-names-undefined-station": "a template's station list is compared with the stations",
    "timezone-is-a-directory": "zones need the time-zone database",
    "unknown-timezone": "zones need the time-zone database",
    "valid-to-not-after-valid-from": "two moments are compared",
}
# Inputs that are not a document at all: the problem is in the YAML text, before any JSON exists.
NOT_A_DOCUMENT = {
    "alias-bomb": "expanding its aliases is what the bound prevents",
    "alias-inside-its-anchor": "it has no finite value",
    "duplicate-key-in-aliased-mapping": "a parsed document keeps one of two duplicate keys",
    "value-its-tag-cannot-hold": "the value cannot be constructed",
    "yaml-syntax-error": "the text does not parse",
}
# What each numeric property's description must say of its unit or kind.
UNITS = {
    "grid_limit_kw": "kW",
    "rated_power_kw": "kW",
    "nominal_voltage_v": " V",
    "max_change_percent": "%",
    "min_recorded_profiles": "count",
    "connectors": "connectors",
    "connectorId": "connector",
    "chargingProfileId": "chargingProfileId",
    "stackLevel": "stack level",
    "duration": " s,",
    "startPeriod": "Seconds",
    "limit": "A per phase, or W",
    "minChargingRate": "A per phase, or W",
    "numberPhases": "Phases",
    "ChargeProfileMaxStackLevel": "count",
    "ChargingScheduleMaxPeriods": "count",
    "MaxChargingProfilesInstalled": "count",
}


def _properties() -> list[tuple[str, str, dict[str, Any]]]:
    nodes = [("(root)", SCHEMA), *SCHEMA["$defs"].items()]
    return [(name, prop, value) for name, node in nodes for prop, value in node.get("properties", {}).items()]


def _types(value: dict[str, Any]) -> set[str]:
    found = {value["type"]} if isinstance(value.get("type"), str) else set()
    return found.union(*(_types(branch) for branch in value.get("anyOf", ())))


def test_the_schema_is_a_valid_draft_07_schema() -> None:
    """The committed schema passes draft-07's meta-schema (editors reject a broken one silently)."""
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_every_property_is_described_numbers_with_their_unit() -> None:
    """Each property has a description; a numeric one names its unit (or says it is a count)."""
    for name, prop, value in _properties():
        description = value.get("description", "")
        assert len(description) > 10, f"{name}.{prop} has no description"
        assert "title" not in value, f"{name}.{prop} has a title repeating its key"
        if _types(value) & {"number", "integer"}:
            assert UNITS[prop] in description, f"{name}.{prop}: {description!r} names no unit"


def test_defaults_are_values_an_editor_can_insert() -> None:
    """No property completes to null or a whole object, and a numeric default is a number."""
    for name, prop, value in _properties():
        if "default" not in value:
            continue
        default = value["default"]
        assert default is not None, f"{name}.{prop}"
        assert not isinstance(default, dict), f"{name}.{prop}"
        if _types(value) & {"number", "integer"}:
            assert isinstance(default, int | float), f"{name}.{prop} defaults to {default!r}"
    site = SCHEMA["$defs"]["Site"]["properties"]
    assert site["nominal_voltage_v"]["default"] == 230


def test_enum_values_are_described() -> None:
    """Every enum value of OCPP's vocabulary (and of firmware rules) has a description an editor shows."""
    enums = [node for node in SCHEMA["$defs"].values() if "enum" in node]
    assert enums
    for node in enums:
        assert len(node["enumDescriptions"]) == len(node["enum"])


def _filled(text: str) -> str:
    """A snippet's text once completed with every placeholder's default."""
    return re.sub(r"\$\{\d+:([^}]*)\}|\$\d+", lambda m: m.group(1) or "", text)


def _yaml(body: Any) -> str:
    """A snippet body as an editor inserts it (flow style here): `^` strings raw, other strings quoted."""
    if isinstance(body, dict):
        return "{" + ", ".join(f"{_filled(k)}: {_yaml(v)}" for k, v in body.items()) + "}"
    if isinstance(body, list):
        return "[" + ", ".join(map(_yaml, body)) + "]"
    if isinstance(body, str) and body.startswith("^"):
        return _filled(body[1:])
    return json.dumps(_filled(body) if isinstance(body, str) else body)


_STATION = {"connectors": 2, "rated_power_kw": 22}
_SITE = {"name": "Snippets", "timezone": "Europe/Berlin"}
_DAILY = {"connectorId": 1, "stackLevel": 20, "chargingProfilePurpose": "TxDefaultProfile"}


def _as_site(definition: str, value: Any) -> dict[str, Any]:
    """A completed snippet of `definition` where it belongs in a site file."""
    profile = {**_DAILY, "chargingProfileKind": "Recurring", "recurrencyKind": "Daily"}
    if definition == "SiteFile":
        return dict(value)
    if definition == "Station":
        return {"site": _SITE, "stations": {"CS-1": value}}
    if definition == "Template":
        return {"site": _SITE, "templates": {"t": value}, "stations": {"CS-1": _STATION}}
    if definition == "Period":
        schedule = {"chargingRateUnit": "A", "startSchedule": "2026-01-01T00:00:00Z"}
        profile["chargingSchedule"] = {**schedule, "chargingSchedulePeriod": [value]}
    elif definition == "LocalPeriod":
        profile["chargingSchedule"] = {"chargingRateUnit": "A", "local": [value]}
    else:
        profile = value
    return {"site": _SITE, "stations": {"CS-1": {**_STATION, "profiles": {"p": profile}}}}


_SNIPPETS = [
    pytest.param(name, snippet, id=f"{name}: {snippet['label']}")
    for name, node in [("SiteFile", SCHEMA), *SCHEMA["$defs"].items()]
    for snippet in node.get("defaultSnippets", ())
]


def test_snippets_cover_what_is_written_most() -> None:
    """Editors offer snippets for a site, a station, a template, a profile and both kinds of period."""
    offered = {param.values[0] for param in _SNIPPETS}
    assert offered == {"SiteFile", "Station", "Template", "Profile", "Period", "LocalPeriod"}


@pytest.mark.parametrize(("definition", "snippet"), _SNIPPETS)
def test_each_snippet_completes_to_a_site_that_validates(
    definition: str, snippet: dict[str, Any], tmp_path: Path
) -> None:
    """A snippet completed with its placeholders' defaults is valid by the schema and by `validate`, with
    no warning either."""
    value = parse(_yaml(snippet["body"]))
    document = _as_site(definition, value)
    assert errors(document) == []
    path = tmp_path / "site.yaml"
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    site, problems = load_site(path, NOW)
    assert problems == [], "\n".join(map(str, problems))
    assert site is not None


def _cases() -> list[Any]:
    return [
        pytest.param(path, id=path.stem)
        for path in sorted((CASES / "invalid").glob("*.yaml"))
        if path.stem not in NOT_A_DOCUMENT
    ]


@pytest.mark.parametrize("path", _cases())
def test_the_schema_refuses_each_bad_input_it_can_express(path: Path) -> None:
    """Every named bad input that `validate` refuses is refused by the committed schema too, but for the
    listed ones no JSON Schema can catch; those, and the inputs `validate` only warns about, pass it."""
    case = read_case(path)
    refused = any(e.severity == "error" for e in case.expected)
    found = errors(parse(path.read_text(encoding="utf-8")))
    if refused and path.stem not in BEYOND_A_SCHEMA:
        assert found, f"the schema accepts {path.name}, which validate refuses"
    else:
        assert found == [], f"the schema refuses {path.name}, which validate does not, or it claims it cannot"


def test_the_lists_of_inputs_beyond_a_schema_name_real_cases() -> None:
    """Every case named as beyond a schema, or as no document, exists (a renamed case cannot hide)."""
    names = {path.stem for path in (CASES / "invalid").glob("*.yaml")}
    assert set(BEYOND_A_SCHEMA) | set(NOT_A_DOCUMENT) <= names


@pytest.mark.parametrize(
    "path",
    sorted([*(CASES / "valid").glob("*.yaml"), *(ROOT / "desired").glob("*.yaml")]),
    ids=lambda path: path.stem,
)
def test_the_schema_accepts_every_valid_site(path: Path) -> None:
    """The valid cases and the example network pass the schema: it refuses nothing `validate` accepts."""
    assert errors(parse(path.read_text(encoding="utf-8"))) == []
