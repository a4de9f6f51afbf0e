"""The YAML dialect of site files: the readers' short ways give exactly what PyYAML's own path gives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.desired.loader import load_site
from reconciler.desired.yamlread import DuplicateKeyError, FastLoader, PlainLoader

_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Reference(_BASE):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader with the site files' resolvers and none of the readers' short ways."""

    yaml_implicit_resolvers = PlainLoader.yaml_implicit_resolvers


# Scalars whose YAML 1.1 reading is not Python's reading of the text, beside ones where it is.
_SCALARS = st.one_of(
    st.sampled_from(
        [
            *("010", "0x1F", "0b101", "1_000", "+5", "-0", "0", "1.5e3", ".5", "1.", "19:00", "07:00", "1e3"),
            *(
                ".inf",
                "-.inf",
                ".nan",
                "yes",
                "no",
                "on",
                "~",
                "null",
                "2026-01-01T00:00:00Z",
                "+1.5",
                "-2.25",
            ),
            *("00", "08", "1__0", "3.", "0.0", "12345678901234567890", "- x", "'7'", '"8.5"'),
        ]
    ),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"[a-z]{1,6}", fullmatch=True),
)


def _document(values: list[str]) -> str:
    """A site-like document: plain keys, values in a mapping, in a flow mapping and in a list."""
    lines = ["top:"]
    for index, value in enumerate(values):
        lines.append(f"  k{index}: {value}")
    lines.append(
        "  flow: {" + ", ".join(f"f{i}: {v}" for i, v in enumerate(values) if not v.startswith("-")) + "}"
    )
    lines.append("  items:")
    lines.extend(f"    - {value}" for value in values)
    return "\n".join(lines) + "\n"


def _read(loader: type[yaml.SafeLoader], text: str) -> Any:
    reader = loader(text)
    try:
        return reader.get_single_data()
    finally:
        reader.dispose()


@given(values=st.lists(_SCALARS, min_size=1, max_size=12))
def test_the_fast_reader_gives_the_values_and_types_pyyaml_gives(values: list[str]) -> None:
    """Every value the readers build by a short way (strings, plain integers and numbers, mappings
    without merges) equals PyYAML's own reading of it, type included (1 is not 1.0 nor True)."""
    text = _document(values)
    try:
        expected = _read(_Reference, text)
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            _read(FastLoader, text)
        return
    assert repr(_read(FastLoader, text)) == repr(expected)
    assert repr(_read(PlainLoader, text)) == repr(expected)


def test_a_duplicate_key_stops_the_fast_reader_with_or_without_merge_keys() -> None:
    """A repeated key is never silently resolved by the fast reader, whichever way it builds the mapping."""
    for text in ("a: 1\nb: 2\na: 3\n", "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n  y: 3\n"):
        with pytest.raises(DuplicateKeyError):
            _read(FastLoader, text)
    assert _read(FastLoader, "base: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n") == {"base": {"x": 1}, "m": {"x": 2}}


def test_a_list_as_a_key_is_a_problem_at_its_line_not_a_traceback(tmp_path: Path) -> None:
    """A mapping key that is a list cannot be a key: the file gets a YAML problem where it is written."""
    with pytest.raises(yaml.constructor.ConstructorError, match="unhashable"):
        _read(FastLoader, "site:\n  ? [a, b]\n  : c\n")
    path = tmp_path / "depot.yaml"
    path.write_text("site:\n  name: Depot\nstations:\n  ? [a, b]\n  : c\n")
    site, problems = load_site(path, datetime(2026, 1, 1, tzinfo=UTC))
    assert site is None
    (problem,) = problems
    assert (problem.line, "unhashable" in problem.message) == (4, True), problem


@pytest.mark.parametrize("anchor", ["", "anchor: &a 1\n"], ids=["bounded while built", "walked first"])
def test_depth_is_bounded_at_the_same_level_whether_walked_first_or_counted_while_built(
    tmp_path: Path, anchor: str
) -> None:
    """A document nested 64 collections deep is read; one more level is refused, at the collection that
    goes too deep, whether its depth is counted while it is built (no anchors) or walked beforehand."""
    path = tmp_path / "depot.yaml"

    def problems(levels: int) -> list[str]:
        # The top-level mapping is the first level, `x` the second.
        nested = "[" * (levels - 1) + "]" * (levels - 1)
        path.write_text(f"{anchor}site:\n  name: Depot\nx: {nested}\n")
        return [
            f"{p.line}:{p.column} {p.message}" for p in load_site(path, datetime(2026, 1, 1, tzinfo=UTC))[1]
        ]

    assert not any("levels deep" in p for p in problems(64))
    line = 4 if anchor else 3
    # The 64th bracket opens the 65th level; `x: ` takes columns 1-3.
    message = "nested more than 64 levels deep here; no site file needs that"
    assert f"{line}:{3 + 64} {message}" in problems(65)


def test_an_integer_python_will_not_read_is_a_yaml_problem_like_any_unreadable_value() -> None:
    """An integer past Python's digit limit, read by the short way, fails as PyYAML's own path does:
    a constructor error at its node, which the loader reports at its line."""
    with pytest.raises(yaml.constructor.ConstructorError, match="cannot read"):
        _read(FastLoader, "site:\n  limit: " + "7" * 5000 + "\n")


_STATION_FIELDS = {
    "written": "    connectors: 1\n    rated_power_kw: 22\n",
    "merged": "    <<: {connectors: 1}\n    rated_power_kw: 22\n",
}


@pytest.mark.parametrize("fields", sorted(_STATION_FIELDS))
def test_a_finding_is_placed_on_its_line_whether_the_nodes_were_kept_or_composed_again(
    tmp_path: Path, fields: str
) -> None:
    """A file without merge keys is located on the nodes it was read from; one with a merge key, whose
    nodes building rewrote, is composed again: either way the finding lands on the key it is about."""
    path = tmp_path / "depot.yaml"
    path.write_text(
        "site:\n  name: Depot\nstations:\n  CP-1:\n"
        + _STATION_FIELDS[fields]
        + "    profiles:\n      night:\n        connectorId: 5\n        stackLevel: 20\n"
        "        chargingProfilePurpose: TxDefaultProfile\n        chargingProfileKind: Relative\n"
        "        chargingSchedule:\n          chargingRateUnit: A\n"
        "          chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]\n"
    )
    assert FastLoader(path.read_text()).keeps_nodes is (fields == "written")
    site, problems = load_site(path, datetime(2026, 1, 1, tzinfo=UTC))
    assert site is None
    assert [(p.line, p.column, p.message.split(":")[0]) for p in problems] == [
        (9, 9, "connector 5 does not exist")
    ]
