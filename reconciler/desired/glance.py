"""A glance at a site file without checking it: the station ids it declares and the zone it names.

For looking a station up (`--station`, shell completion) and listing recorded state in each site's
time (`state list`) without loading and validating every site of a network. Reads the file's node
tree (`loader.compose`, within the size bound) and builds nothing from it, so no alias is expanded
and a merge cycle costs no more than the nodes written. Called by `shell.reconcile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from reconciler.desired.loader import compose
from reconciler.desired.yamlread import MERGE


@dataclass(frozen=True, slots=True)
class Declared:
    """What a glance at a site file tells: its station ids and its `site.timezone` (None if it has none)."""

    stations: frozenset[str]
    timezone: str | None


def declared(path: Path) -> Declared | None:
    """The station ids under `stations` and the `site.timezone` of a site file; None when it cannot be
    read or parsed, or is not a mapping."""
    root = compose(path)
    if not isinstance(root, yaml.MappingNode):
        return None
    timezone = _value(_value(root, "site"), "timezone")
    zone_name = timezone.value if isinstance(timezone, yaml.ScalarNode) else None
    return Declared(frozenset(_keys(_value(root, "stations"))), zone_name)


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value of `key` in a mapping node (the last, as YAML keeps it), else None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in reversed(node.value) if k.value == key), None)


def _keys(node: yaml.Node | None) -> set[str]:
    """The keys of a mapping node, those a `<<:` merge brings in included; each node is visited once."""
    found: set[str] = set()
    seen: set[int] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if not isinstance(item, yaml.MappingNode) or id(item) in seen:
            continue
        seen.add(id(item))
        for key, value in item.value:
            if key.tag == MERGE:
                stack.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
            elif isinstance(key, yaml.ScalarNode):
                found.add(str(key.value))
    return found
