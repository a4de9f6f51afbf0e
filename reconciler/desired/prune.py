"""Setting aside the parts of a site file that have type errors, so the rest is still checked in full.

Pydantic reports every type error of a file at once, but nothing can be built from a file with one, and
the rules (stack levels, slots, templates, the official schema) would only run once the types were
fixed: an operator would fix a file in two rounds. `prune` returns the parsed document without the
smallest parts that hold type errors, so that `validate.check_site` reports their type errors and every
other problem of the file in one pass.

What a part is, so that what is left says nothing false:

- an unknown key is dropped on its own (it is an error already, and means nothing to the rest);
- a profile with an error is dropped, and so is a station's override with one, together with the
  template it patches on that station (placed unpatched, the template could draw findings of its own);
- a template with an error is dropped, with every station's override of it;
- a station with an error in its own fields (connectors, rated power, `ocpp`, a `profiles` or
  `overrides` that is not a mapping) is dropped, and taken out of the templates that name it;
- in `site`, `name`, `grid_limit_kw` and `safety` stand aside (a placeholder name, the others left
  out: the grid guard runs only on a file without errors anyway); an error in anything profiles are
  checked with (`nominal_voltage_v`, `timezone`), or in the document's shape, leaves nothing to check.

Pure; called by `validate.check_site`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import YamlPath

# Site fields nothing else is checked with: set aside when wrong. The name is required, so it gets a
# stand-in; the others are optional.
_SITE_NAME_STANDIN = "(name with an error)"
_SITE_FIELDS_SET_ASIDE = frozenset({"grid_limit_kw", "safety"})


class _NothingLeftError(Exception):
    """The errors leave nothing that could be checked."""


@dataclass
class _Pruning:
    """The document as it is pruned, and what was dropped that others may name."""

    doc: dict[str, Any]
    # Keys as the YAML holds them (a station id written as a number is an int until checked).
    templates: set[Any] = field(default_factory=set)
    stations: set[Any] = field(default_factory=set)
    excluded: set[tuple[Any, Any]] = field(default_factory=set)  # (template, station) no longer placed

    def set_aside(self, loc: YamlPath, kind: str) -> None:
        """Set aside the part that holds the error at `loc`; _NothingLeftError when that is everything."""
        if kind == "extra_forbidden":
            self.doc = _without(self.doc, loc)
        elif loc[:1] == ("site",):
            self.doc = _site_without(self.doc, loc)
        elif loc[:1] == ("templates",) and len(loc) >= 2:
            self.templates.add(loc[1])
        elif loc[:1] == ("stations",) and len(loc) >= 2:
            station, part = loc[1], loc[2:]
            if part[:1] == ("profiles",) and len(part) >= 2:
                self.doc = _without(self.doc, ("stations", station, "profiles", part[1]))
            elif part[:1] == ("overrides",) and len(part) >= 2:
                self.doc = _without(self.doc, ("stations", station, "overrides", part[1]))
                self.excluded.add((part[1], station))
            else:
                self.stations.add(station)
        else:
            raise _NothingLeftError


def prune(raw: Mapping[str, Any], errors: Iterable[tuple[YamlPath, str]]) -> dict[str, Any] | None:
    """`raw` without the parts holding the type errors at `errors` (each its location and pydantic's
    error type), or None when nothing could be checked without them. `raw` itself is left untouched
    (YAML aliases share objects between places, so every container changed is copied)."""
    pruning = _Pruning(dict(raw))
    try:
        for loc, kind in errors:
            pruning.set_aside(loc, kind)
    except _NothingLeftError:
        return None
    return _consistent(pruning)


def _site_without(doc: dict[str, Any], loc: YamlPath) -> dict[str, Any]:
    key = loc[1] if len(loc) >= 2 else None
    if key == "name" and isinstance(doc.get("site"), Mapping):
        return {**doc, "site": {**doc["site"], "name": _SITE_NAME_STANDIN}}
    if key in _SITE_FIELDS_SET_ASIDE:
        pruned: dict[str, Any] = _without(doc, loc[:2])
        return pruned
    raise _NothingLeftError


def _consistent(pruning: _Pruning) -> dict[str, Any]:
    """The document with the dropped templates and stations gone, and nothing left that names them."""
    doc = pruning.doc
    stations = doc.get("stations")
    if isinstance(stations, Mapping):
        doc = {
            **doc,
            "stations": {
                k: _unpatched(v, pruning.templates) for k, v in stations.items() if k not in pruning.stations
            },
        }
    templates = doc.get("templates")
    if isinstance(templates, Mapping):
        every = list(doc.get("stations", {}))
        kept = {}
        for name, template in templates.items():
            if name not in pruning.templates:
                left_out = pruning.stations | {s for t, s in pruning.excluded if t == name}
                kept[name] = _placed_on_fewer(template, every, left_out)
        doc = {**doc, "templates": kept}
    return doc


def _unpatched(station: Any, templates: set[Any]) -> Any:
    """A station without its overrides of the dropped `templates`."""
    overrides = station.get("overrides") if isinstance(station, Mapping) else None
    if not isinstance(overrides, Mapping) or not templates & set(overrides):
        return station
    return {**station, "overrides": {k: v for k, v in overrides.items() if k not in templates}}


def _placed_on_fewer(template: Any, every: list[Any], left_out: set[Any]) -> Any:
    """A template no longer placed on the stations `left_out` (`every` is all the site's stations)."""
    if not left_out or not isinstance(template, Mapping):
        return template
    named = template.get("stations", "all")
    listed = every if named == "all" else named
    if not isinstance(listed, list):
        return template
    return {**template, "stations": [s for s in listed if s not in left_out]}


def _without(doc: Any, loc: YamlPath) -> Any:
    """`doc` without the key at `loc` (mapping keys and list indexes); copies only what it changes."""
    if not loc:
        raise _NothingLeftError
    head, rest = loc[0], loc[1:]
    if isinstance(doc, Mapping):
        if not rest:
            return {k: v for k, v in doc.items() if k != head}
        if head in doc:
            return {**doc, head: _without(doc[head], rest)}
    elif isinstance(doc, list) and isinstance(head, int) and 0 <= head < len(doc) and rest:
        return [*doc[:head], _without(doc[head], rest), *doc[head + 1 :]]
    raise _NothingLeftError
