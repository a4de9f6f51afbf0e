"""The bounds every input is held to, reading an input file within them, and the collector paused while
what is read is built (`paused_collector`).

Site files, state files, saved plans and key files come from a repository that pull requests (forks
included) can change, so no input may cost more than its bounds allow. The desired loader, the state
store, saved-plan reading and the eDRV key file call `read_text`; the loader also calls `yaml_problem`
on each composed document, before anything is constructed from it. Sizes are settable through the
environment, since every command reads files:

- `RECONCILER_MAX_SITE_FILE_MB` (default 1): a site file. YAML is slow to parse (about 0.7 s a MB),
  and a site of 400 stations with 5 profiles each, written out without templates, is 1 MB.
- `RECONCILER_MAX_STATE_FILE_MB` (default 32): a state file or a saved plan, which hold every sent
  payload in full (a state file about 0.7 KB a record: 32 MB is some 45,000 records) and load, parsed
  and checked, at some 70 MB/s. A site whose profiles would be recorded in more than three quarters of
  it is refused when it is checked (`state_room`), before anything is sent and recorded that the next
  run could not read.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from reconciler.errors import Finding, ReconcilerError, error

MB = 1_000_000
SITE_FILE_SETTING, SITE_FILE_DEFAULT_MB = "RECONCILER_MAX_SITE_FILE_MB", 1.0
STATE_FILE_SETTING, STATE_FILE_DEFAULT_MB = "RECONCILER_MAX_STATE_FILE_MB", 32.0
KEY_FILE_MAX_BYTES = 4096  # an API key is a few dozen characters; anything larger is the wrong file

# YAML aliases may add at most this many nodes to a document, or as many as it writes out if that is
# more: anchors stay useful (a shared schedule, `<<:` defaults) while a 300-byte alias bomb, which
# expands nine-fold per level, is refused before anything walks its expansion.
ALIAS_NODES_FLOOR = 10_000
# The deepest legitimate place in a site file is about ten levels down (a period's limit); libyaml
# itself stops at 1,000, past Python's recursion limit.
MAX_DEPTH = 64
# A site's profiles are bounded too (`validate.MAX_PROFILES_PER_SITE`): templates multiply them.
# What the store writes of a record besides its payload (its hash, status, times, action id, and its
# share of its station's entry): 400-480 bytes as measured, so the estimate errs on the large side.
RECORD_BYTES = 500
# The share of a state file's bound a site's records may fill with every profile in place: records of
# profiles being replaced (a changed pinned id, a slot handed over) are kept beside the new ones a while.
STATE_SHARE = 0.75


class TooLargeError(Exception):
    """A file over its size bound; `size_bytes` is at least what was found (the file may be growing)."""

    def __init__(self, size_bytes: int, limit_bytes: int, setting: str | None) -> None:
        super().__init__(size_bytes, limit_bytes, setting)
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes
        self.setting = setting

    def __str__(self) -> str:
        return f"the file is over {_size(self.limit_bytes)} ({_size(self.size_bytes)} or more)"

    @property
    def fix(self) -> str:
        if self.setting is None:
            return "check that it is the right file"
        return f"check that it is the right file, or raise the limit with {self.setting}=<megabytes>"


def _size(size_bytes: int) -> str:
    return f"{size_bytes / MB:.3g} MB" if size_bytes >= MB // 10 else f"{size_bytes:,} bytes"


def limit_bytes(setting: str, default_mb: float) -> int:
    """The size bound a setting gives (its default when unset); a malformed setting is an error."""
    raw = os.environ.get(setting, "").strip()
    if not raw:
        return int(default_mb * MB)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1_000_000:
        raise ReconcilerError(f"{setting}={raw!r} is not a size in megabytes; set it to a number such as 4")
    return int(value * MB)


def site_file_limit() -> int:
    return limit_bytes(SITE_FILE_SETTING, SITE_FILE_DEFAULT_MB)


def state_file_limit() -> int:
    return limit_bytes(STATE_FILE_SETTING, STATE_FILE_DEFAULT_MB)


def state_room(payload_bytes: Sequence[int]) -> Finding | None:
    """An error when a site's profiles, their payloads `payload_bytes` long, would be recorded in more
    than STATE_SHARE of the state file the store reads (`state_file_limit`), else None."""
    limit, size = state_file_limit(), sum(payload_bytes) + RECORD_BYTES * len(payload_bytes)
    if size <= limit * STATE_SHARE:
        return None
    return error(
        (),
        ("stations",),
        f"the site's {len(payload_bytes):,} profiles would be recorded in about {_size(size)} of state, "
        f"more than {STATE_SHARE:.0%} of the {_size(limit)} a state file may hold (the rest is room for "
        "records being replaced), so the next run could not read what this one sent",
        f"split its stations into several sites, or use fewer periods, or raise {STATE_FILE_SETTING}="
        "<megabytes> wherever the reconciler runs",
    )


def read_text(path: Path, max_bytes: int, setting: str | None = None) -> str:
    """The UTF-8 text of `path`, read no further than one byte past `max_bytes` (see `read_bytes`);
    UnicodeDecodeError when it is not UTF-8."""
    return read_bytes(path, max_bytes, setting).decode("utf-8")


def read_bytes(path: Path, max_bytes: int, setting: str | None = None) -> bytes:
    """The bytes of `path`, read no further than one byte past `max_bytes`.

    Raises OSError (FileNotFoundError when absent) or TooLargeError. Reading stops past the bound, so a
    huge file, `/dev/zero` or a file still growing costs no more than the bound.
    """
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            # A regular file says how large it is; a pipe or a device only that it goes on.
            raise TooLargeError(max(os.fstat(handle.fileno()).st_size, len(data)), max_bytes, setting)
    return data


def yaml_problem(root: yaml.Node | None, *, shared: bool) -> tuple[yaml.Mark, str, str] | None:
    """Where and why a composed document breaks the bounds, or None.

    Without anchors (`shared` false) the node graph is a tree, and one pass measures its depth. With
    them, an alias is a second edge to one node, so the graph is walked once per node, not once per
    use, to find its expanded size and depth, and any alias inside the node it names.
    """
    if root is None:
        return None
    if not shared:
        # Level by level, looking only at collections: this runs on every site file, and is a few
        # per cent of its parse.
        level, depth = [root], 1
        while level:
            if depth > MAX_DEPTH:
                return level[0].start_mark, *too_deep()
            below: list[yaml.Node] = []
            for node in level:
                if node.__class__ is yaml.MappingNode:
                    for key, value in node.value:
                        if key.__class__ is not yaml.ScalarNode:
                            below.append(key)
                        if value.__class__ is not yaml.ScalarNode:
                            below.append(value)
                elif node.__class__ is yaml.SequenceNode:
                    below.extend(item for item in node.value if item.__class__ is not yaml.ScalarNode)
            level, depth = below, depth + 1
        return None
    return _expansion(root)


def too_deep() -> tuple[str, str]:
    """The message and fix of a document nested deeper than MAX_DEPTH."""
    return (
        f"nested more than {MAX_DEPTH} levels deep here; no site file needs that",
        "correct the indentation or brackets",
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expansion(root: yaml.Node) -> tuple[yaml.Mark, str, str] | None:
    # Depth-first, leaving each node after its children: `order` lists every distinct node after
    # everything below it, so sizes add up in one pass; reversed, it has parents before children.
    entered: set[int] = set()
    sizes: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            order.append(node)
        elif key not in sizes:
            if key in entered:  # entered and not yet left: it is its own ancestor
                return (
                    node.start_mark,
                    "a YAML alias here refers to a node that contains it, which would repeat forever",
                    "refer only to anchors defined outside the aliased node",
                )
            entered.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    written, expanded = len(order), sizes[id(root)]
    uses: dict[int, int] = {id(root): 1}
    depths: dict[int, int] = {id(root): 1}
    for node in reversed(order):
        if depths[id(node)] > MAX_DEPTH:
            return node.start_mark, *too_deep()
        for child in _children(node):
            uses[id(child)] = uses.get(id(child), 0) + uses[id(node)]
            depths[id(child)] = max(depths.get(id(child), 0), depths[id(node)] + 1)
    budget = max(ALIAS_NODES_FLOOR, written)
    if expanded - written <= budget:
        return None
    worst = max(order, key=lambda node: (uses[id(node)] - 1) * sizes[id(node)])
    return (
        worst.start_mark,
        f"YAML aliases expand this document to {expanded:,} nodes from {written:,} written, more than "
        f"the {budget:,} aliases may add; the node here is repeated {uses[id(worst)]:,} times",
        "write the repeated part out where it is needed, or place it with the site's templates",
    )


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, as every reader of a network or a state file does.

    A parse makes many objects that die young, and kept sites thousands that live, which the collector
    would walk again and again (half the time on a large network); reference counting frees the parse
    garbage (PyYAML's dispose() breaks its cycles).

    What the block made and kept is then frozen (`gc.freeze`) before the collector resumes: all of it
    is still in the youngest generation, and the first collection after the block would otherwise walk
    every object of it at once (0.3 s of a plan over a 32 MB state file) only to find nothing to free.
    Frozen objects are still freed by reference counting; a cycle among them is not collected, and the
    readers make none. Whatever else the process holds at that moment is frozen too: right for a command,
    which reads and ends (the servers read no site or state file), not for a loop that reads again and
    again while it makes cycles of its own."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
