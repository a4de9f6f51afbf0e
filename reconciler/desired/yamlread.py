"""The YAML that site files are written in, read by PyYAML's C parser into plain values.

Two differences from PyYAML's safe loader, both so that what an operator writes is what is read:
date-times stay text as written (PyYAML would turn them into datetimes and lose the fraction digits),
and YAML 1.1's base-60 numbers are not numbers (`19:00` is text, as `07:00` is; editors and YAML 1.2
read both so). `FastLoader` also gives up on the first duplicate key (`DuplicateKeyError`), which
PyYAML would silently resolve by keeping the last; the loader then reads the file again carefully, to
say where each duplicate is.

Most of a parse is PyYAML building values in Python from the C parser's nodes; the readers take
shorter ways where the generic path gives the very same value: a string is its node's text, a plain
decimal integer or number is `int` or `float` of it, and a mapping without merge keys, tags or `=`
keys is built from its pairs directly. Hostile input is bounded by the caller (`bounds`): its size
before it is parsed, and its depth and alias expansion before it is built, or (`FastLoader` on a text
without anchors) its depth while it is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from reconciler.desired.bounds import MAX_DEPTH
from reconciler.errors import excerpt

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MERGE = "tag:yaml.org,2002:merge"  # the tag of a `<<` key
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
# Texts whose YAML 1.1 value is Python's reading of them: no `_`, no leading zero (octal), no base.
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]+")
_MAX_REMEMBERED_TAGS = 20_000


class DuplicateKeyError(Exception):
    """Raised by the fast loader so the file is re-read by the careful one."""


def _without_base_60(tag: str, regexp: re.Pattern[str]) -> tuple[str, re.Pattern[str]]:
    # YAML 1.1 reads `19:00` as the number 1140 (base 60), yet `07:00` as text; YAML 1.2, and editors,
    # read both as text, which a wall-clock time is.
    if tag in (_INT, _FLOAT):
        return tag, re.compile(rf"(?!.*:)(?:{regexp.pattern})", regexp.flags)
    return tag, regexp


class PlainLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The C safe loader without timestamp resolution (date-times stay as written) and without YAML
    1.1's base-60 numbers (`19:00` stays text)."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [
            _without_base_60(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"
        ]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }
    # Plain scalar -> tag. Matching every plain scalar against the resolvers' regular expressions took
    # a tenth of the parse, yet the same keys and values recur in every profile, and without path
    # resolvers the tag of a plain scalar depends on its text alone. Shared with subclasses, which keep
    # these resolvers; bounded: once full, it only reads.
    _plain_tags: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._plain_tags) < _MAX_REMEMBERED_TAGS:
                    self._plain_tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Most nodes of a site file are strings and small numbers, for which the generic path
        # (constructor lookup, recursion bookkeeping, memo, PyYAML's own number parsing) cost a third
        # of the parse, for what is Python's reading of the node's text in the end.
        scalar = node.__class__ is yaml.ScalarNode
        if scalar and node.tag == _STR:
            return node.value
        try:
            if scalar and node.tag == _INT and _PLAIN_INT.fullmatch(node.value):
                return int(node.value)  # ValueError past Python's 4,300 digits, as PyYAML's own
            if scalar and node.tag == _FLOAT and _PLAIN_FLOAT.fullmatch(node.value):
                return float(node.value)
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:
            # PyYAML's constructors raise these for values their tag cannot hold (`!!int 1e3`,
            # `!!timestamp 2026-13-45`, an integer of 5,000 digits); say where.
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {excerpt(node.value)} as {node.tag}: {err}", node.start_mark
            ) from None


class TooDeepError(Exception):
    """Raised by the fast loader for a document nested deeper than `bounds.MAX_DEPTH`; the caller
    walks the nodes to say where (`bounds.yaml_problem`)."""


class FastLoader(PlainLoader):
    """`PlainLoader` that gives up on the first duplicate key instead of keeping the last.

    `counts_depth`: the text has no anchors, merge keys, tags or `=` keys, so that building it visits
    the document level by level, and `construct_document` bounds its depth as it goes (raising
    `TooDeepError`), where any other text is walked by `bounds.yaml_problem` before it is built.
    `keeps_nodes`: the text has no merge keys, tags or `=` keys, so its mappings are built from their pairs
    directly and the composed nodes are left as they were, their marks fit to place findings.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        # A merge key is a plain `<<` or carries a tag (`!!merge`), and PyYAML gives a plain `=` key
        # a tag of its own: a text with none of these has only keys built as they are written.
        # Flattening merge keys rewrites the nodes; without them the nodes stay as composed, marks and all.
        self.keeps_nodes = isinstance(stream, str) and not any(mark in stream for mark in ("<<", "!", "="))
        self.counts_depth = self.keeps_nodes and "&" not in stream

    def construct_document(self, node: yaml.Node) -> Any:
        if not self.counts_depth:
            return super().construct_document(node)
        # PyYAML builds a collection's contents in a later round than the collection itself (its
        # `state_generators`), and without tags or aliases nothing is built out of turn: round n
        # fills the collections n levels down. Counting rounds bounds the depth at no cost.
        data = self.construct_object(node)
        depth = 1
        pending: list[Iterator[Any]] = self.state_generators
        while pending:
            if depth > MAX_DEPTH:
                raise TooDeepError
            self.state_generators: list[Iterator[Any]] = []
            for generator in pending:
                for _ in generator:
                    pass
            pending = self.state_generators
            depth += 1
        # As PyYAML's own `construct_document` leaves the loader.
        self.constructed_objects: dict[Any, Any] = {}
        self.recursive_objects: dict[Any, Any] = {}
        self.deep_construct = False
        return data

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if self.keeps_nodes and node.__class__ is yaml.MappingNode:
            return self._plain_mapping(node, deep)
        # A `<<:` merge legitimately yields keys that explicit ones override; count only explicit keys,
        # and before the constructor flattens the merge into the node.
        merges = any(key.tag == MERGE for key, _ in node.value)
        if merges:
            explicit = [key.value for key, _ in node.value if key.tag != MERGE]
            if len(set(explicit)) != len(explicit):
                raise DuplicateKeyError
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if not merges and len(mapping) != len(node.value):
            raise DuplicateKeyError
        return mapping

    def _plain_mapping(self, node: yaml.MappingNode, deep: bool) -> dict[Any, Any]:
        # PyYAML's own path, less the search for merges there cannot be.
        construct = self.construct_object
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = construct(key_node, deep)
            try:
                mapping[key] = construct(value_node, deep)
            except TypeError:  # a list or mapping as a key: `? [a, b]`
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
        if len(mapping) != len(node.value):
            raise DuplicateKeyError
        return mapping


def parse(text: str) -> Any:
    """Parse YAML as site files are parsed: safe, date-times kept as text, last duplicate key wins."""
    return yaml.load(text, Loader=PlainLoader)  # noqa: S506 - a safe loader without timestamps
