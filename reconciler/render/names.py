"""Names as a reader gets them: every character visible, and many stations on a few lines. Pure.

Station ids, profile and template names and descriptions come from YAML and may hold any character; a
line break or a bidi override in one would move or hide what a plan says, so `visible` writes such
characters as escapes (`\\n`, `\\u202e`) in every output a person reads, and Markdown (the pull-request
comment, the drift summary) writes its syntax characters as entities on top (`literal`). A template
changed on a whole depot touches every station of it alike; the plan's text and its power lines then
name those stations once, as a list (`render.text.runs`), not one block each; the pull-request comment
names the first few dozen and counts the rest (`shown`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

# Control and format characters (line breaks, bidi overrides, zero-width) and line/paragraph separators.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def visible(text: str) -> str:
    """`text` with every invisible or line-breaking character written as its escape: `a\\nb` for a, a line
    break and b. Printable text is returned as it is."""
    if text.isprintable():
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES
        else char
        for char in text
    )


# Markdown's syntax characters as entities, which show as the characters themselves.
_ENTITIES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#39;",
        "`": "&#96;",
        "|": "&#124;",
        "\\": "&#92;",
        "*": "&#42;",
        "_": "&#95;",
        "~": "&#126;",
        "[": "&#91;",
        "]": "&#93;",
        "#": "&#35;",
    }
)


def literal(text: str) -> str:
    """`text` as Markdown that shows it literally, in running text, table cells and HTML elements alike:
    invisible characters as their escapes (`visible`), whose backslash becomes an entity too."""
    return visible(text).translate(_ENTITIES)


def named(station_id: str, description: str | None) -> str:
    """A station as people read it: its id, then its description in brackets if it has one, visibly."""
    return visible(f"{station_id} ({description})" if description else station_id)


def listed(names: Sequence[str], first: str, indent: str, width: int = 100) -> list[str]:
    """`names` joined by commas in lines of at most `width` characters (a longer name has one of its
    own): the first line after `first`, the others after `indent`."""
    lines: list[str] = []
    items = [f"{name}," for name in names[:-1]] + list(names[-1:])
    line, started = first, False
    for item in items:
        if started and len(line) + 1 + len(item) > width:
            lines.append(line)
            line, started = indent, False
        line += f" {item}" if started else item
        started = True
    return [*lines, line]


# Stations a Markdown row or fold names (the pull-request comment, the drift summary); the rest are
# counted, and the text and JSON outputs name every one: a depot of thousands still fits.
LISTED_STATIONS = 50


def shown(names: Sequence[str], most: int) -> list[str]:
    """`names`, or when there are more than `most` the first `most - 1` of them and how many more: a
    list that has to fit somewhere (a pull-request comment) keeps room for the rest of what it says."""
    if len(names) <= most:
        return list(names)
    return [*names[: most - 1], f"and {len(names) - most + 1} more"]
