"""Indented JSON, character for character as `json.dumps(document, indent=2)` writes it, some 6
times faster, and compact JSON as `json.dumps(document, separators=(",", ":"))`, nearly twice as fast.
Pure.

The standard library writes indented JSON with its Python encoder (its C encoder knows no
indentation): a microsecond or more per value, 0.9 s for the 28 MB a plan's power steps can reach.
Its C encoder, which writes compact JSON, still makes a Python string of each key and value. Faster
writers take their place, each only where it writes what json does (compact JSON is otherwise left to
json's C encoder):

- pydantic-core's (`to_json`, in Rust), for a document of JSON's own types alone (exact types, string
  keys, checked first). Its text is json's but in three things, each seen in the text it writes: a
  character outside ASCII, which json escapes and is escaped here as json does; DEL, which json
  escapes too; and a float below 1e-4 (json writes `1e-05`, it `0.00001` or `1e-5`). Where one of
  the last two shows, or it refuses the document (a cycle, a lone surrogate), the walk below writes
  it. It is used only where it writes a sample of every other kind of value as json does (`_AGREED`),
  so that another version of it costs speed, not sameness. It writes one thing json refuses: an
  integer of more digits than Python turns into text (`sys.get_int_max_str_digits`, 4,300), which no
  document of the reconciler holds.
- The walk: each innermost object or array (one holding no object or array: a period, a request's
  field) is written by json's C encoder in one call, with an item separator that starts each member
  on its own indented line, and only the levels above it are walked in Python. A key of an outer
  object that is not a string, or a value of no JSON type, is left to `json.dumps`, which writes or
  refuses it as it always does.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

_INDENT = "  "
# Plain scalars by exact type: checked in one C call (`issuperset(map(type, ...))`), a subclass (an enum)
# is walked instead, which writes it alike; `_SCALARS` for `isinstance`, which takes subclasses too.
_SCALAR_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_SCALARS: tuple[type, ...] = tuple(_SCALAR_TYPES)
_STRING = frozenset({str})
_CONTAINERS = (dict, list, tuple)
_PLAIN_TYPES = _SCALAR_TYPES.union(_CONTAINERS)
_OBJECTS = frozenset({dict})
# Where pydantic-core spells a value otherwise than json: DEL (json escapes it), and a float below 1e-4,
# `0.0000...` or a one-digit negative exponent (json writes `1e-05`). The exponent is looked for as
# `e-<digit>` after a digit, found by its literal start; any such text in a string only costs time.
_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9]")


def indented(document: Any, *, json_types: bool = False) -> str:
    """`json.dumps(document, indent=2)`.

    `json_types`: the caller vouches that the document holds JSON's own types alone, exactly, and only
    string keys, as a pydantic `model_dump(mode="json")` does, so that they are not checked first (a
    recorded state of 54,000 records is 300,000 containers to check, a third of a second)."""
    written = _written(document, json_types)
    return written if isinstance(written, str) else written.decode("ascii")


def indented_ascii(document: Any, *, json_types: bool = False) -> bytes:
    """`indented(document)` as the ASCII bytes it is (json escapes everything else), `json_types` as
    there: for output written to a binary stream, which as text would be decoded here and encoded again
    on its way out, two more copies of what can be tens of megabytes (a plan at the bounds is 28 MB)."""
    written = _written(document, json_types)
    return written if isinstance(written, bytes) else written.encode("ascii")


class Members:
    """An object whose members come one at a time, each as it is needed (its keys strings, unique, as a
    mapping's are): `indented_pieces` writes it a member at a time, so that a document too large to hold
    as objects is never made whole (a recorded state of 54,000 records is 71 MB of text)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.pairs = pairs


def indented_pieces(document: Any, *, depth: int, json_types: bool = False) -> Iterator[bytes]:
    """`indented_ascii(document)` in pieces, each yielded as soon as it is written: the objects and arrays
    fewer than `depth` levels down are opened here (each `Members` among them), and each value `depth`
    levels down, a scalar, or an empty or odd-keyed object is written whole. Never held whole as text, a
    document of a hundred megabytes (a plan changing every profile of a site at the bounds is 200 MB)
    costs memory for its largest piece alone; `json_types` as for `indented`, of every piece."""
    yield from _pieces(document, 0, depth, json_types)


def _pieces(value: Any, level: int, depth: int, json_types: bool) -> Iterator[bytes]:
    kind = type(value)
    if kind is Members:
        yield from _object_pieces(value.pairs, level, depth, json_types)
    elif level >= depth or not value or (kind is not dict and kind is not list):
        yield _nested(value, level, json_types)
    elif kind is dict and _STRING.issuperset(map(type, value)):
        yield from _object_pieces(value.items(), level, depth, json_types)
    elif kind is dict:  # a key json turns into text its own way: json's to write
        yield _nested(value, level, json_types)
    else:
        inner = _newline(level + 1).encode()
        yield b"["
        for index, member in enumerate(value):
            yield b"," + inner if index else inner
            yield from _pieces(member, level + 1, depth, json_types)
        yield _newline(level).encode() + b"]"


def _object_pieces(
    pairs: Iterable[tuple[str, Any]], level: int, depth: int, json_types: bool
) -> Iterator[bytes]:
    yield b"{"
    written = False
    for key, member in pairs:
        yield _member(written, key, level + 1)
        yield from _pieces(member, level + 1, depth, json_types)
        written = True
    yield _newline(level).encode() + b"}" if written else b"}"


def _member(following: bool, key: str, depth: int) -> bytes:
    """What comes before a member's value `depth` levels down: the comma after the one before, the
    member's line and its key."""
    return f"{',' if following else ''}{_newline(depth)}{encode_basestring_ascii(key)}: ".encode()


def _nested(value: Any, depth: int, json_types: bool) -> bytes:
    """A value written `depth` levels down: its lines after the first indented as deep."""
    written = indented_ascii(value, json_types=json_types)
    return written.replace(b"\n", _newline(depth).encode()) if depth else written


def compact_json(document: Any) -> bytes:
    """`json.dumps(document, separators=(",", ":"))` as the ASCII bytes it is: by pydantic-core where it
    writes what json does (as for `indented`), its type check included, in 60% of the time of json's C
    encoder (a saved plan at the bounds is 65 MB of periods: 0.6 s, not 1.0 s)."""
    fast = _by_pydantic_core(document, None, json_types=False)
    return json.dumps(document, separators=_COMPACT).encode("ascii") if fast is None else fast


def _written(document: Any, json_types: bool) -> bytes | str:
    """json's indented text of the document: pydantic-core's ASCII bytes where it writes what json does
    (see the module's docstring), else the walk's text."""
    fast = _by_pydantic_core(document, 2, json_types=json_types)
    if fast is not None:
        return fast
    out: list[str] = []
    _write(document, 0, out)
    return "".join(out)


def _by_pydantic_core(document: Any, indent: int | None, *, json_types: bool) -> bytes | None:
    """pydantic-core's ASCII text of the document, indented by `indent` spaces (None: compact), where it
    is json's (see the module's docstring); None where it may not be."""
    fast = _fast_writer(indent)
    if fast is None or not (json_types or _plain(document)):
        return None
    try:
        written = fast(document)
    except PydanticSerializationError:  # a cycle, a lone surrogate, nesting too deep: json's to say
        return None
    if not written.isascii():
        written = written.decode("utf-8").encode("ascii", _AS_JSON_ESCAPES)
    return None if _spelt_otherwise(written) else written


# pydantic-core writes text outside ASCII as it is, json as `\\u` escapes (a surrogate pair past U+FFFF).
# Outside ASCII is only ever inside a string, so escaping each such run of the whole text as json escapes
# a string gives json's text. An error handler of the ASCII codec, so that the text is walked in C and
# only the runs are handed to Python.
_AS_JSON_ESCAPES = "reconciler-json-escapes"


def _json_escapes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    run = error.object[error.start : error.end]
    return encode_basestring_ascii(run)[1:-1], error.end


codecs.register_error(_AS_JSON_ESCAPES, _json_escapes)

# A value of every kind where the two writers agree, to check that the pydantic-core at hand still does.
_AGREED = {
    "text": 'a"\\/\n\t\x00\x1f ~',
    "numbers": [0, -5, 2**70, 0.5, -0.0, 0.0001, 123456789.125, 1e16, 1.2345e22, 1e308],
    "special": [float("nan"), float("inf"), float("-inf"), True, False, None],
    "empty": [[], {}, [[{}]]],
}


_COMPACT = (",", ":")


@functools.cache
def _fast_writer(indent: int | None) -> Callable[[Any], bytes] | None:
    """pydantic-core's JSON indented by `indent` spaces (None: compact, no space after a separator), if
    it writes `_AGREED` as json does; None where it does not (or knows no `inf_nan_mode`, an older one),
    and every document is left to json (the walk, for indented text)."""

    def write(document: Any) -> bytes:
        return to_json(document, indent=indent, inf_nan_mode="constants")

    expected = json.dumps(_AGREED, indent=indent, separators=None if indent else _COMPACT)
    try:
        agrees = write(_AGREED).decode() == expected
    except (TypeError, PydanticSerializationError):
        agrees = False
    return write if agrees else None


def _spelt_otherwise(written: bytes) -> bool:
    """Whether pydantic-core's text may differ from json's (see `_NEGATIVE_EXPONENT`)."""
    if b"\x7f" in written or b"0.0000" in written:
        return True
    return any(written[m.start() - 1 : m.start()].isdigit() for m in _NEGATIVE_EXPONENT.finditer(written))


def _plain(document: Any) -> bool:
    """Whether the document holds only JSON's own types, exactly (no subclass, no Decimal, no set), and
    objects only string keys: what pydantic-core writes as json does, and would not refuse as it does.

    Checked by C calls over each container's members; an array of objects of scalars (a schedule's
    periods) in two, over all their keys and all their values."""
    waiting = [document]
    seen: set[int] = set()  # each container checked once, so a cycle ends the walk (pydantic-core refuses it)
    while waiting:
        value = waiting.pop()
        kind = type(value)
        if kind is dict:
            if not _STRING.issuperset(map(type, value)):
                return False
            members: Iterable[Any] = value.values()
        elif kind is list or kind is tuple:
            members = value
        else:  # the document itself, a scalar: only containers are put in waiting
            return kind in _SCALAR_TYPES
        types = set(map(type, members))
        if _SCALAR_TYPES.issuperset(types):
            continue
        if not _PLAIN_TYPES.issuperset(types):
            return False
        if types == _OBJECTS and _objects_of_scalars(members):
            continue
        for member in members:
            if type(member) in _CONTAINERS and id(member) not in seen:
                seen.add(id(member))
                waiting.append(member)
    return True


def _objects_of_scalars(objects: Iterable[dict[Any, Any]]) -> bool:
    """Whether every key of these objects is a string and every value a plain scalar."""
    keys = chain.from_iterable(objects)
    values = chain.from_iterable(map(dict.values, objects))
    return _STRING.issuperset(map(type, keys)) and _innermost(values)


def _write(value: Any, depth: int, out: list[str]) -> None:
    if isinstance(value, _SCALARS):
        out.append(_encoder(depth)(value))
    elif isinstance(value, dict):
        if _innermost(value.values()):  # json's C encoder writes any key as json does
            out.append(_members(value, depth, "{}"))
        elif not _STRING.issuperset(map(type, value)):
            out.append(_by_json(value, depth))
        else:
            inner = _newline(depth + 1)
            out.append("{")
            for index, (key, member) in enumerate(value.items()):
                out.append(f"{',' if index else ''}{inner}{encode_basestring_ascii(key)}: ")
                _write(member, depth + 1, out)
            out.append(_newline(depth) + "}")
    elif isinstance(value, list | tuple):
        if _innermost(value):
            out.append(_members(value, depth, "[]"))
        else:
            inner = _newline(depth + 1)
            out.append("[")
            for index, member in enumerate(value):
                out.append("," + inner if index else inner)
                if type(member) is dict and _innermost(member.values()):  # a period of a schedule, inline
                    out.append(_members(member, depth + 1, "{}"))
                else:
                    _write(member, depth + 1, out)
            out.append(_newline(depth) + "]")
    else:
        out.append(_by_json(value, depth))


def _innermost(members: Iterable[Any]) -> bool:
    """Whether every member is a plain scalar."""
    return _SCALAR_TYPES.issuperset(map(type, members))


def _members(value: dict[str, Any] | list[Any] | tuple[Any, ...], depth: int, empty: str) -> str:
    """An object or array of scalars: the C encoder writes its members, each on its own line."""
    if not value:
        return empty
    text = _encoder(depth)(value)
    return f"{text[0]}{_newline(depth + 1)}{text[1:-1]}{_newline(depth)}{text[-1]}"


@functools.cache
def _newline(depth: int) -> str:
    return "\n" + _INDENT * depth


@functools.cache
def _encoder(depth: int) -> Callable[[Any], str]:
    """json's encoding of a value in one call to its C encoder, members parted by a comma and a line
    indented one level deeper than `depth` (json's own separators otherwise)."""
    options = json.JSONEncoder(separators=("," + _newline(depth + 1), ": "))
    if c_make_encoder is None:  # a Python without json's C part
        return options.encode
    # What `JSONEncoder.encode` builds anew on every call (json's own arguments, in its order), once;
    # kept only where it writes what `encode` does, should a Python change those arguments.
    try:
        chunks = c_make_encoder(
            {},  # json's record of the containers open, to refuse a document that holds itself
            options.default,
            encode_basestring_ascii,
            None,
            options.key_separator,
            options.item_separator,
            False,  # sort_keys
            False,  # skipkeys
            True,  # allow_nan
        )
    except TypeError:
        return options.encode

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    sample = {"text": "é\n", "numbers": [1, 2.5, float("nan")], "flags": [True, None]}
    return encode if encode(sample) == options.encode(sample) else options.encode


def _by_json(value: Any, depth: int) -> str:
    # json's own output, indented as deep as it sits: no JSON string holds a raw line break.
    return json.dumps(value, indent=2).replace("\n", _newline(depth))
