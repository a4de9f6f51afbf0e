"""Indented JSON output (`render.jsontext`) is json's own, character for character."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from reconciler.render import jsontext
from reconciler.render.jsontext import Members, compact_json, indented, indented_ascii, indented_pieces

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),  # every code point, lone surrogates and line breaks among them
)
_keys = st.one_of(
    st.text(max_size=8), st.text(max_size=8), st.integers(), st.booleans(), st.none(), st.floats()
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(_keys, inner, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(_documents)
def test_indented_is_json_dumps_with_indent_2(document: Any) -> None:
    """Any document of JSON's types (non-string keys, tuples, NaN and odd text among them) is written
    exactly as `json.dumps(document, indent=2)` writes it."""
    assert indented(document) == json.dumps(document, indent=2)


@settings(max_examples=200, deadline=None)
@given(_documents)
def test_the_bytes_written_are_the_text_in_ascii(document: Any) -> None:
    """`indented_ascii`, for output to a binary stream, is `json.dumps(document, indent=2)` encoded as
    ASCII, whichever writer wrote it."""
    assert indented_ascii(document) == json.dumps(document, indent=2).encode("ascii")


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_compact_json_is_json_dumps_without_spaces(document: Any) -> None:
    """Any document of JSON's types (non-string keys, tuples, NaN and odd text among them) is written
    compact exactly as `json.dumps(document, separators=(",", ":"))` writes it, in ASCII bytes."""
    assert compact_json(document).decode("ascii") == json.dumps(document, separators=(",", ":"))


def test_a_plan_shaped_document_is_json_dumps_with_indent_2() -> None:
    """Objects of scalars nested under arrays under objects, as the plan's power periods sit, with
    empty ones beside them, come out as json writes them."""
    period = {"start": "2026-11-23T12:00:00Z", "end": "2026-11-23T12:01:00Z", "limit": 1380.5}
    sites: list[Any] = [{"power": {"stations": [{"before": [period] * 3, "after": [], "rated_w": None}]}}]
    sites.append({"empty": {}, "list": [1, [2, [3, {}]]], "text": "naïve ✓"})
    document = {"format_version": 1, "sites": sites}
    assert indented(document) == json.dumps(document, indent=2)


def test_the_installed_pydantic_core_agrees_with_json_on_the_sample() -> None:
    """pydantic-core as installed writes every kind of value in the sample as json does, so it is taken
    as the faster writer (a version that parts from json would leave every document to the walk)."""
    assert jsontext._fast_writer(2) is not None
    assert jsontext._fast_writer(None) is not None


@pytest.mark.parametrize(
    "value",
    [
        1e-05,
        9.99e-05,
        1.5e-07,
        -2e-9,
        "a\x7fb",
        "naïve",
        "Süd ✓ 😀 €",
        {"Bucht Süd": 1},
        {None: 1},
        [{"limit": 1e-06}],
    ],
)
def test_what_pydantic_core_spells_otherwise_is_written_as_json_does(value: Any) -> None:
    """Among arrays of periods that the faster writer takes, a value it would spell otherwise than json
    (a float below 1e-4, DEL, text outside ASCII in a value or a key, astral text among it, a null key)
    comes out in json's spelling, indented or compact."""
    period = {"start": "2026-11-23T12:00:00Z", "end": "2026-11-23T12:01:00Z", "limit": 1380.5}
    document = {"periods": [period] * 3, "odd": [value]}
    expected = json.dumps(document, indent=2)
    assert to_json(document, indent=2).decode() != expected  # the case is one where the two part
    assert indented(document) == expected
    assert compact_json(document).decode("ascii") == json.dumps(document, separators=(",", ":"))


@pytest.mark.parametrize(
    "value", [Decimal("1.5"), {1, 2}, {"a": [object()]}, {(1, 2): "tuple key"}, {"limit": Decimal("1.5")}]
)
def test_what_json_cannot_write_it_refuses_as_json_does(value: Any) -> None:
    """A value or key outside JSON's types raises json's TypeError, whatever its depth, indented or
    compact."""
    with pytest.raises(TypeError) as ours:
        indented({"deep": [value]})
    with pytest.raises(TypeError) as theirs:
        json.dumps({"deep": [value]}, indent=2)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError) as ours_compact:
        compact_json({"deep": [value]})
    assert str(ours_compact.value) == str(theirs.value)


_json_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_json_documents)
def test_a_document_vouched_for_is_json_dumps_with_indent_2(document: Any) -> None:
    """A document of JSON's own types with string keys, written unchecked as the caller vouches for it
    (odd text, NaN and floats below 1e-4 among it), is written exactly as `json.dumps(document,
    indent=2)` writes it."""
    assert indented(document, json_types=True) == json.dumps(document, indent=2)


@settings(max_examples=300, deadline=None)
@given(_documents, st.integers(min_value=0, max_value=5))
def test_a_document_written_in_pieces_is_json_dumps_with_indent_2(document: Any, depth: int) -> None:
    """A document of JSON's types (non-string keys, tuples, NaN and odd text among them) written in
    pieces, opened down to any depth, is together what `json.dumps(document, indent=2)` writes."""
    pieces = indented_pieces(document, depth=depth)
    assert b"".join(pieces).decode("ascii") == json.dumps(document, indent=2)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8), _json_documents, max_size=4),
    st.text(max_size=8),
    st.dictionaries(st.text(max_size=8), _json_documents, max_size=4),
    st.integers(min_value=1, max_value=3),  # the object holding the members is opened
)
def test_an_object_written_a_member_at_a_time_is_json_dumps_with_indent_2(
    head: dict[str, Any], last: str, members: dict[str, Any], depth: int
) -> None:
    """An object whose last member's members come one at a time (as a recorded state's stations do),
    vouched for as JSON's own types, is together what `json.dumps(indent=2)` writes of the whole, empty
    parts and all, however deep the rest is opened."""
    first = {k: v for k, v in head.items() if k != last}
    pieces = indented_pieces({**first, last: Members(iter(members.items()))}, depth=depth, json_types=True)
    assert b"".join(pieces).decode("ascii") == json.dumps({**first, last: members}, indent=2)
