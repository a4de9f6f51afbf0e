"""The committed JSON Schema of a site file, checked as an editor checks a YAML file against it.

`errors(document)` validates parsed YAML against `schema/site.schema.json` with jsonschema (draft-07,
formats asserted). YAML numbers are compared as the decimals written: jsonschema divides floats, and
8.1 / 0.1 is not a whole number in binary, so `multipleOf` is checked on decimals here, as editors'
validators do on the digits written. A number JSON cannot hold (YAML's .inf) is no multiple of anything
JSON Schema could state; it is left to the other keywords.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import jsonschema

from .conftest import ROOT

SCHEMA_FILE = ROOT / "schema" / "site.schema.json"


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "number") or isinstance(instance, bool):
        return
    if isinstance(instance, float) and not math.isfinite(instance):
        return
    if Decimal(str(instance)) % Decimal(str(step)) != 0:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {step}")


@functools.cache
def validator() -> Any:
    """A draft-07 validator of the committed schema, `multipleOf` on the decimals written."""
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    kind = jsonschema.validators.extend(jsonschema.Draft7Validator, {"multipleOf": _multiple_of})
    return kind(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")), format_checker=checker)


def errors(document: Any) -> list[str]:
    """What the committed schema refuses in `document` (parsed YAML), one line each."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]
