"""Turning pydantic's type errors into findings an operator can act on.

Pydantic reports `extra_forbidden` at `('stations', 'CS-1', 'profils')`; an operator wants
"unknown key 'profils' (fix: did you mean 'profiles'?)". This module knows the models' shapes, so
it can name the keys allowed at any place in the document.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler.desired.model import NUMBER_TYPE
from reconciler.errors import EXCERPT_CHARS, Finding, Severity, YamlPath, excerpt


def findings_from(
    err: ValidationError, root: type[BaseModel], origins: tuple[YamlPath, ...]
) -> list[Finding]:
    """One finding per pydantic error; `root` is the model that was validated at `origins`."""
    return [_finding(detail, root, origins) for detail in err.errors(include_url=False)]


def _finding(detail: ErrorDetails, root: type[BaseModel], origins: tuple[YamlPath, ...]) -> Finding:
    loc: YamlPath = tuple(detail["loc"])
    kind = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    name = _name(loc)
    value = detail.get("input")
    if kind == "missing":
        return Finding(
            origins, loc[:-1], Severity.ERROR, f"missing required key {excerpt(name)}", f"add {excerpt(name)}"
        )
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1])[:100], allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "remove it."
        fix = f"{hint} Allowed here: {', '.join(allowed)}" if allowed else hint
        return Finding(origins, loc, Severity.ERROR, f"unknown key {excerpt(loc[-1])}", fix)
    if loc and loc[-1] == _KEY and kind == "string_type":
        return _key_not_text(origins, loc, value)
    if "fix" in ctx:
        return Finding(origins, loc, Severity.ERROR, f"{name}: {detail['msg']}", str(ctx["fix"]))
    message = detail["msg"]
    message = message[:1].lower() + message[1:]
    if kind.startswith(_SHOWS_INPUT):
        message = f"{message}, got {excerpt(value)}"
    return Finding(origins, loc, Severity.ERROR, f"{name}: {message}", _fix_for(kind))


# Where pydantic places the error of a mapping's key rather than its value.
_KEY = "[key]"


def _key_not_text(origins: tuple[YamlPath, ...], loc: YamlPath, value: Any) -> Finding:
    # Station ids, profile and template names are text; YAML reads an unquoted key of digits as a
    # number (`000123` as 123), `true` or `no` as a truth value and `null` or `~` as nothing.
    if isinstance(value, bool):
        read_as = f"the truth value {str(value).lower()}"
    else:
        read_as = "null" if value is None else f"the number {excerpt(value)}"
    return Finding(
        origins,
        loc,
        Severity.ERROR,
        f"{_name(loc[:-2])}: YAML reads this key as {read_as}, not as a name",
        "quote it as written, for example '000123' or 'yes'",
    )


# Errors whose message is worth the value that was written beside it.
_SHOWS_INPUT = (
    "int_",
    "decimal_",
    "float_",
    "finite_",
    "string_",
    "bool_",
    "enum",
    "literal_",
    "less_",
    "greater_",
    NUMBER_TYPE,
)


def _fix_for(kind: str) -> str:
    if kind == NUMBER_TYPE:
        return "write a bare number"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "write a mapping of keys to values here"
    if kind in ("tuple_type", "list_type"):
        return "write a list here"
    return ""


def _name(loc: YamlPath) -> str:
    # The nearest key that is a name, not a list index: 'limit' rather than '1'.
    for part in reversed(loc):
        if isinstance(part, str):
            return part if len(part) <= EXCERPT_CHARS else part[:EXCERPT_CHARS] + "…"
    return "document"


def allowed_keys(root: type[BaseModel], loc: YamlPath) -> list[str]:
    """The YAML keys a mapping at `loc` below `root` may hold, in declaration order."""
    shape: Any = root
    for part in loc:
        shape = _step(shape, part)
        if shape is None:
            return []
    model = _model_in(shape)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step(shape: Any, part: str | int) -> Any:
    model = _model_in(shape)
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if (field.alias or name) == part:
                return field.annotation
        return None
    for arg in _args(shape):
        origin = typing.get_origin(arg)
        if origin is dict:
            return typing.get_args(arg)[1]
        if origin is tuple:
            return typing.get_args(arg)[0]
    return None


def _model_in(shape: Any) -> type[BaseModel] | None:
    for arg in _args(shape):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _args(shape: Any) -> list[Any]:
    # Unwrap Optional / unions / Annotated into the plain types they may hold.
    origin = typing.get_origin(shape)
    if origin is typing.Union or origin is types.UnionType:
        return [a for arg in typing.get_args(shape) for a in _args(arg)]
    if origin is typing.Annotated:
        return _args(typing.get_args(shape)[0])
    return [shape]
