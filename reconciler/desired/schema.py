"""The JSON Schema of a site file, for editors and other tools: what `reconciler schema` prints and
`schema/site.schema.json` holds.

Generated from the models (`model.SiteFile`), then made to help a person writing YAML:

- every property has a description with its unit, OCPP's range and its default, and every enum value
  one of its own (`schemadocs`); property titles, which would only repeat the key, are left out;
- numbers keep the bounds validation applies, which pydantic's schema of a decimal loses (limits at
  least 0 with one decimal, phases 1-3, stack levels from 11, a positive duration and grid limit);
- defaults are numbers, optional fields offer no `null` to complete (an editor inserted
  `duration: null`), and objects show their defaults in the description instead of being inserted whole;
- the rules between fields that JSON Schema can state are written as if/then: a ChargePointMaxProfile on
  connector 0, a TxProfile off it, `recurrencyKind` exactly on Recurring profiles, `startSchedule` where
  the kind needs it and nowhere on a session cap, what a local-time schedule must leave out and how its
  times are written, and, on a station that declares no charger limits, the default ones (stack level,
  periods, allowed unit). What it cannot state (a connector within the station's count, a limit the
  station declares, slots, ids, templates, the time-zone database) `validate` checks alone;
- snippets complete to YAML that validates.

Pure; called by `cli.inspect.schema`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reconciler.desired.localtime import EXTRA_LEVELS
from reconciler.desired.model import (
    EARLIEST_YEAR,
    EDRV_RESERVED_MAX_STACK_LEVEL,
    LATEST_YEAR,
    LOCAL_DAY,
    LOCAL_TIME,
    MAX_CONNECTORS,
    SiteFile,
)
from reconciler.desired.schemadocs import DESCRIPTIONS, ENUM_DESCRIPTIONS, SNIPPETS
from reconciler.ocpp.configuration import ChargerLimits

ROOT = "SiteFile"  # the root schema's name among the definitions it describes
_LIMIT = {"minimum": 0, "multipleOf": 0.1}
_PHASES = {"minimum": 1, "maximum": 3}
# Bounds validation applies that the generated schema lacks, merged into each property's value schema.
_BOUNDS: dict[str, dict[str, dict[str, Any]]] = {
    "Period": {"startPeriod": {"minimum": 0}, "limit": _LIMIT, "numberPhases": _PHASES},
    "LocalPeriod": {"limit": _LIMIT, "numberPhases": _PHASES},
    "Schedule": {"duration": {"minimum": 1}, "minChargingRate": _LIMIT, "local": {"minItems": 1}},
    "Profile": {
        "connectorId": {"minimum": 0, "maximum": MAX_CONNECTORS},
        "stackLevel": {"minimum": EDRV_RESERVED_MAX_STACK_LEVEL + 1},
    },
    "Station": {"rated_power_kw": {"exclusiveMinimum": 0}},
    "Site": {"grid_limit_kw": {"exclusiveMinimum": 0}, "nominal_voltage_v": {"exclusiveMinimum": 0}},
    "Safety": {"max_change_percent": {"minimum": 0, "maximum": 100}},
}
_YEAR = "(19[7-9][0-9]|[2-8][0-9]{3}|9000)"
assert (EARLIEST_YEAR, LATEST_YEAR) == (1970, 9000), "the year pattern spells these bounds out"
_DATE_TIME = (
    rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]{{1,6}})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)


def site_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a site file."""
    schema = SiteFile.model_json_schema(by_alias=True)
    defs: dict[str, dict[str, Any]] = schema["$defs"]
    for name, node in [(ROOT, schema), *defs.items()]:
        for prop, value in node.get("properties", {}).items():
            _tidy(value)
            _bound(value, _BOUNDS.get(name, {}).get(prop, {}))
            if prop in DESCRIPTIONS.get(name, {}):
                value["description"] = DESCRIPTIONS[name][prop]
        if name in ENUM_DESCRIPTIONS:
            node["enumDescriptions"] = [ENUM_DESCRIPTIONS[name][value] for value in node["enum"]]
        if name in SNIPPETS:
            node["defaultSnippets"] = SNIPPETS[name]
    _date_times(schema)
    schedule = defs["Schedule"]["properties"]
    schedule["chargingSchedulePeriod"].update(
        {
            "minItems": 1,
            "items": [{"allOf": [{"$ref": "#/$defs/Period"}], "properties": {"startPeriod": {"const": 0}}}],
            "additionalItems": {"$ref": "#/$defs/Period"},
        }
    )
    defs["Profile"]["properties"]["transactionId"] = {
        "not": {},
        "description": DESCRIPTIONS["Profile"]["transactionId"],
    }
    # An override patches a template's profile: any of its keys, null removing one.
    defs["SchedulePatch"] = _patch(defs["Schedule"], "A patch of a template's chargingSchedule.", {})
    defs["ProfilePatch"] = _patch(
        defs["Profile"],
        "A patch of a template's profile for one station: mappings merge key by key, lists and values "
        "replace, null removes a key.",
        {"chargingSchedule": {"$ref": "#/$defs/SchedulePatch"}},
    )
    defs["Station"]["properties"]["overrides"]["additionalProperties"] = {"$ref": "#/$defs/ProfilePatch"}
    defs["Profile"]["allOf"] = _profile_rules()
    defs["Station"]["allOf"] = _station_rules()
    return schema


def _patch(model: dict[str, Any], description: str, replaced: dict[str, Any]) -> dict[str, Any]:
    """A definition whose every property is optional and may be null, for a patch merged over it."""
    properties = {}
    for name, value in model["properties"].items():
        kept = replaced.get(name, {k: v for k, v in value.items() if k not in ("description", "default")})
        properties[name] = {"anyOf": [kept, {"type": "null"}], "description": value.get("description", "")}
    return {
        "type": "object",
        "additionalProperties": False,
        "description": description,
        "properties": properties,
    }


def _tidy(value: dict[str, Any]) -> None:
    """A property's schema as an editor should offer it: no title repeating the key, no null or object
    to complete as a default, a number's default as a number."""
    value.pop("title", None)
    default = value.get("default", ...)
    if default is None or isinstance(default, dict) or default == []:
        del value["default"]
    elif isinstance(default, str) and _value(value).get("type") == "number":
        number = Decimal(default)
        value["default"] = int(number) if number == number.to_integral_value() else float(number)


def _value(value: dict[str, Any]) -> dict[str, Any]:
    """The schema a value must meet, past an `anyOf` that only adds `null`."""
    branches = [b for b in value.get("anyOf", ()) if b.get("type") != "null"]
    return branches[0] if len(branches) == 1 and "anyOf" in value else value


def _bound(value: dict[str, Any], bounds: dict[str, Any]) -> None:
    target = _value(value)
    target.pop("gt", None)  # pydantic writes its own keyword for a decimal's bound; JSON Schema has none
    target.update(bounds)


def _date_times(node: Any) -> None:
    """Every date-time anchored, and bounded to the years validation accepts (as written)."""
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            node["pattern"] = _DATE_TIME
        for child in node.values():
            _date_times(child)
    elif isinstance(node, list):
        for child in node:
            _date_times(child)


def _when(**conditions: Any) -> dict[str, Any]:
    """An `if` on a profile's own fields, each present (a rule of a missing field would only add noise)."""
    return {"properties": dict(conditions), "required": list(conditions)}


_LOCAL = {"properties": {"local": {"type": "array"}}, "required": ["local"]}
_NULL = {"type": "null"}
_START_REQUIRED = {
    "properties": {
        "chargingSchedule": {
            "required": ["startSchedule"],
            "properties": {"startSchedule": {"type": "string"}},
        }
    }
}


def _profile_rules() -> list[dict[str, Any]]:
    """The rules between a profile's fields, as `rules` and `localrules` check them."""
    kind, purpose = "chargingProfileKind", "chargingProfilePurpose"
    not_local = {"not": _LOCAL}
    return [
        {
            "if": _when(**{purpose: {"const": "ChargePointMaxProfile"}}),
            "then": {"properties": {"connectorId": {"const": 0}}},
        },
        {
            "if": _when(**{purpose: {"const": "TxProfile"}}),
            "then": {
                "properties": {
                    "connectorId": {"minimum": 1},
                    "chargingSchedule": {"properties": {"local": _NULL}},
                }
            },
        },
        {
            "if": _when(**{kind: {"const": "Recurring"}}),
            "then": {"required": ["recurrencyKind"], "properties": {"recurrencyKind": {"type": "string"}}},
        },
        {
            "if": _when(**{kind: {"enum": ["Absolute", "Relative"]}}),
            "then": {"properties": {"recurrencyKind": _NULL}},
        },
        {
            "if": _when(**{kind: {"const": "Recurring"}, "chargingSchedule": not_local}),
            "then": _START_REQUIRED,
        },
        {
            "if": _when(
                **{
                    kind: {"const": "Absolute"},
                    purpose: {"enum": ["ChargePointMaxProfile", "TxDefaultProfile"]},
                    "chargingSchedule": not_local,
                }
            ),
            "then": _START_REQUIRED,
        },
        {
            "if": _when(**{kind: {"const": "Absolute"}, purpose: {"const": "TxProfile"}}),
            "then": {"properties": {"chargingSchedule": {"properties": {"startSchedule": _NULL}}}},
        },
        {
            "if": _when(chargingSchedule=_LOCAL),
            "then": {
                "properties": {
                    kind: {"const": "Recurring"},
                    purpose: {"enum": ["ChargePointMaxProfile", "TxDefaultProfile"]},
                    "chargingProfileId": _NULL,
                    "validFrom": _NULL,
                    "validTo": _NULL,
                    "chargingSchedule": {"properties": {"startSchedule": _NULL, "duration": _NULL}},
                }
            },
        },
        _local_times("Daily", f"^{LOCAL_TIME}$"),
        _local_times("Weekly", f"^{LOCAL_DAY}(-{LOCAL_DAY})? {LOCAL_TIME}$"),
    ]


def _local_times(recurrency: str, pattern: str) -> dict[str, Any]:
    return {
        "if": _when(recurrencyKind={"const": recurrency}, chargingSchedule=_LOCAL),
        "then": {
            "properties": {
                "chargingSchedule": {
                    "properties": {"local": {"items": {"properties": {"at": {"pattern": pattern}}}}}
                }
            }
        },
    }


def _station_rules() -> list[dict[str, Any]]:
    """A station that declares none of the charger's limits is held to their defaults."""
    defaults = ChargerLimits()

    def undeclared(key: str) -> dict[str, Any]:
        return {"not": {"properties": {"ocpp": {"required": [key]}}, "required": ["ocpp"]}}

    def each_profile(rule: dict[str, Any]) -> dict[str, Any]:
        return {"properties": {"profiles": {"additionalProperties": rule}}}

    def only_unit(name: str, unit: str) -> dict[str, Any]:
        key = "ChargingScheduleAllowedChargingRateUnit"
        declared = {
            "properties": {
                "ocpp": {"type": "object", "properties": {key: {"enum": [name, [name]]}}, "required": [key]}
            }
        }
        return {
            "if": {**declared, "required": ["ocpp"]},
            "then": each_profile(
                {"properties": {"chargingSchedule": {"properties": {"chargingRateUnit": {"const": unit}}}}}
            ),
        }

    highest = defaults.max_stack_level
    return [
        {
            "if": undeclared("ChargeProfileMaxStackLevel"),
            "then": each_profile(
                {
                    "properties": {"stackLevel": {"maximum": highest}},
                    "if": {"properties": {"chargingSchedule": _LOCAL}, "required": ["chargingSchedule"]},
                    "then": {"properties": {"stackLevel": {"maximum": highest - EXTRA_LEVELS}}},
                }
            ),
        },
        {
            "if": undeclared("ChargingScheduleMaxPeriods"),
            "then": each_profile(
                {
                    "properties": {
                        "chargingSchedule": {
                            "properties": {"chargingSchedulePeriod": {"maxItems": defaults.max_periods}}
                        }
                    }
                }
            ),
        },
        only_unit("Current", "A"),
        only_unit("Power", "W"),
    ]
