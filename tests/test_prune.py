"""Setting aside the parts of a site file with type errors (`desired.prune`), so the rest is checked."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.desired.prune import prune

PROFILE = {"connectorId": 1, "stackLevel": 12}


def test_a_profile_shared_through_an_alias_is_set_aside_only_where_its_error_is() -> None:
    """An error in one station's profiles drops that profile there only; the parsed input is untouched,
    though YAML aliases make two stations share one mapping."""
    shared = {"night": dict(PROFILE), "day": dict(PROFILE)}
    raw: dict[str, Any] = {
        "site": {"name": "S"},
        "stations": {"CS-1": {"profiles": shared}, "CS-2": {"profiles": shared}},
    }
    before = copy.deepcopy(raw)
    pruned = prune(raw, [(("stations", "CS-1", "profiles", "night", "limit"), "decimal_type")])
    assert pruned is not None
    assert list(pruned["stations"]["CS-1"]["profiles"]) == ["day"]
    assert list(pruned["stations"]["CS-2"]["profiles"]) == ["night", "day"]
    assert raw == before
    assert raw["stations"]["CS-1"]["profiles"] is raw["stations"]["CS-2"]["profiles"]


def test_a_dropped_station_leaves_the_templates_and_a_dropped_template_the_overrides() -> None:
    """A station set aside is taken out of the templates placed on it (all, or by name), and a template
    set aside takes every override of it along."""
    raw: dict[str, Any] = {
        "site": {"name": "S"},
        "templates": {"all": {"profile": PROFILE}, "named": {"stations": ["CS-1", "CS-2"], "profile": {}}},
        "stations": {"CS-1": {"overrides": {"named": {}, "all": {}}}, "CS-2": {"connectors": 0}},
    }
    errors = [(("stations", "CS-2", "connectors"), "greater_than_equal"), (("templates", "named"), "missing")]
    pruned = prune(raw, errors)
    assert pruned is not None
    assert list(pruned["stations"]) == ["CS-1"]
    assert pruned["stations"]["CS-1"]["overrides"] == {"all": {}}
    assert pruned["templates"] == {"all": {"profile": PROFILE, "stations": ["CS-1"]}}


def test_errors_in_what_profiles_are_checked_with_leave_nothing_to_check() -> None:
    """A wrong timezone or voltage, or a document of the wrong shape, leaves nothing that could be
    checked truthfully; a wrong site name or grid limit is set aside."""
    raw: dict[str, Any] = {"site": {"name": 5, "grid_limit_kw": -1}, "stations": {}}
    assert prune(raw, [(("site", "timezone"), "string_type")]) is None
    assert prune(raw, [(("site", "nominal_voltage_v"), "greater_than")]) is None
    assert prune(raw, [(("stations",), "dict_type")]) is None
    pruned = prune(raw, [(("site", "name"), "string_type"), (("site", "grid_limit_kw"), "greater_than")])
    assert pruned is not None
    assert "grid_limit_kw" not in pruned["site"]
    assert pruned["site"]["name"] == "(name with an error)"
