"""Reading `desired/*.yaml` into checked sites, and placing every problem at file:line:column.

Two speeds. Each file is first parsed by PyYAML's C loader into plain values and checked; nothing
else happens when it is clean. Only a file with findings (or a duplicate key, which PyYAML would
silently resolve by keeping the last) is composed again as a node tree, whose marks give each
finding its line and column. So the line-number machinery costs nothing on a valid network.

The YAML is read as `yamlread` says (date-times as written, no base-60 numbers); site ids are file
stems.

Hostile input is bounded before anything walks it (see `bounds`): the file's size before it is
parsed; its nesting depth, and how far YAML aliases expand it, on the composed node graph, where an
alias is one shared node, before construction (a text without anchors is bounded in depth while it is
built, see `yamlread.FastLoader`); a value a constructor cannot read (`!!int 1e3`) is a
problem at its line, never a traceback.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml

from reconciler.desired import bounds
from reconciler.desired.bounds import paused_collector
from reconciler.desired.schemacache import schema_passes
from reconciler.desired.validate import DesiredSite, check_site, schema_identity
from reconciler.desired.yamlread import MERGE, DuplicateKeyError, FastLoader, PlainLoader, TooDeepError
from reconciler.errors import Finding, Problem, Severity, YamlPath, excerpt

SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
YAML_SUFFIXES = (".yaml", ".yml")


def compose(path: Path) -> yaml.Node | None:
    """The node tree of a site file, composed as site files are (nothing is built from it, so no alias
    is expanded), read within the size bound; None when it cannot be read or parsed."""
    try:
        return yaml.compose(_read(path), Loader=PlainLoader)
    except (bounds.TooLargeError, OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError):
        return None


@dataclass
class Loaded:
    """Every site that could be checked (kept unless `load` was asked not to), how many there were, and
    every problem found, in file order."""

    sites: list[DesiredSite] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    valid: int = 0

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)


def discover(paths: Sequence[Path]) -> list[Path]:
    """The site files named by `paths`: files as given, directories' visible *.yaml, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and not p.name.startswith("."))
            )
        else:
            found.append(path)
    return found


def load(paths: Sequence[Path], now: datetime, *, keep: bool = True) -> Loaded:
    """Load and check every site file under `paths`; problems are collected, never raised.

    With `keep` false the sites are counted but not kept, so that memory is bounded by the largest
    site (`reconciler validate`); `each_site` goes through them one at a time.
    """
    result = Loaded()
    with paused_collector():
        for _, site, problems in each_site(paths, now):
            result.problems.extend(problems)
            if site is not None:
                result.valid += 1
                if keep:
                    result.sites.append(site)
    return result


def each_site(
    paths: Sequence[Path], now: datetime
) -> Iterator[tuple[Path, DesiredSite | None, list[Problem]]]:
    """Each site file under `paths` in turn, checked: its site (None when it cannot be planned from) and
    its problems, a station an earlier file holds too among them. Only stations' owners are kept from one
    file to the next, so memory is bounded by the largest site, not the network."""
    owners: dict[str, str] = {}
    for path in discover(paths):
        site, problems = load_site(path, now)
        if site is not None:
            shared = [
                _shared_station(station_id, owner)
                for station_id in site.stations
                if (owner := owners.setdefault(station_id, site.site_id)) != site.site_id
            ]
            if shared:  # located in one reading of the file, however many there are
                problems.extend(locate(path, _read(path), shared))
        yield path, site, problems


def _shared_station(station_id: str, owner: str) -> Finding:
    return Finding(
        ((),),
        ("stations", station_id),
        Severity.ERROR,
        f"station {station_id!r} is also in site {owner!r}; two sites would fight over it",
        "keep the station in one site file",
    )


def load_site(path: Path, now: datetime) -> tuple[DesiredSite | None, list[Problem]]:
    """One site file, checked; the site is None when it cannot be planned from."""
    name = str(path)
    if not SITE_ID.fullmatch(path.stem):
        return None, [
            Problem(
                name,
                0,
                0,
                Severity.ERROR,
                f"{excerpt(path.stem)} is not a usable site id",
                "name the file with letters, digits, '.', '_' or '-' (the stem is the site id)",
            )
        ]
    try:
        text = _read(path)
    except bounds.TooLargeError as err:
        return None, [Problem(name, 0, 0, Severity.ERROR, str(err), err.fix)]
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(name, 0, 0, Severity.ERROR, f"cannot read the file: {err}", "check the path")]
    loader = FastLoader(text)
    try:
        root = loader.get_single_node()
        # Checked before anything is built, or (a text without anchors) while it is built.
        beyond = None if loader.counts_depth else bounds.yaml_problem(root, shared="&" in text)
        if beyond is None:
            try:
                raw = loader.construct_document(root) if root is not None else None
            except TooDeepError:
                # The walk says where; were it ever to disagree with the count, the file is refused still.
                beyond = bounds.yaml_problem(root, shared=False) or (root.start_mark, *bounds.too_deep())
        if beyond is not None:
            mark, message, fix = beyond
            return None, [Problem(name, mark.line + 1, mark.column + 1, Severity.ERROR, message, fix)]
    except DuplicateKeyError:
        return _load_carefully(path, text, now)
    except yaml.YAMLError as err:
        return None, [_syntax_problem(name, err)]
    finally:
        loader.dispose()
    site, findings = _check(path, raw, now)
    if not findings:
        return site, []
    # Built without merge keys, the nodes are as they were composed, and their marks place the findings.
    located = _place(name, root, findings) if loader.keeps_nodes else locate(path, text, findings)
    problems = sorted(located, key=_position)
    return (None if any(p.is_error for p in problems) else site), problems


def _load_carefully(path: Path, text: str, now: datetime) -> tuple[DesiredSite | None, list[Problem]]:
    # Only reached for a file with a duplicate key, within bounds: report each, then every other
    # problem too.
    loader = PlainLoader(text)
    try:
        root = loader.get_single_node()
        # Before construction, which flattens `<<:` merges into the nodes.
        problems = [
            Problem(str(path), m.line + 1, m.column + 1, Severity.ERROR, message, fix)
            for m, message, fix in _duplicates(root)
        ]
        raw = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as err:
        return None, [_syntax_problem(str(path), err)]
    finally:
        loader.dispose()
    # Located on a fresh node tree, as `load_site` locates them: construction changed this one.
    problems.extend(locate(path, text, _check(path, raw, now)[1]))
    return None, sorted(problems, key=_position)


def _check(path: Path, raw: Any, now: datetime) -> tuple[DesiredSite | None, list[Finding]]:
    passes = schema_passes(schema_identity())
    site, findings = check_site(path.stem, str(path), raw, now, zone, passes=passes)
    passes.save()
    if site is not None and not any(f.is_error for f in findings):
        sizes = [len(item.body.rest) for items in site.profiles.values() for item in items]
        too_large = bounds.state_room(sizes)
        findings.extend([] if too_large is None else [too_large])
    return site, findings


def _duplicates(root: yaml.Node | None) -> Iterable[tuple[yaml.Mark, str, str]]:
    # An aliased node appears wherever it is used; report its duplicates once, where it is written.
    visited: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != MERGE:
                    first = seen.setdefault(key.value, key)
                    if first is not key:
                        yield (
                            key.start_mark,
                            f"duplicate key {excerpt(key.value)} (first at line "
                            f"{first.start_mark.line + 1}); YAML would silently keep only this one",
                            "remove one of them, or rename it",
                        )
            stack.extend(value for _, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))


@functools.lru_cache(maxsize=256)
def zone(name: str) -> tzinfo | None:
    """The time zone of an IANA name from the system's database (which is why it lives here), or None."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name that is a directory of the database (`Europe`) or too long for a path.
        return None


def locate(path: Path, text: str, findings: Sequence[Finding]) -> list[Problem]:
    """Give each finding the line and column of the YAML it is about."""
    try:
        root = yaml.compose(text, Loader=PlainLoader)
    except yaml.YAMLError:
        root = None
    return _place(str(path), root, findings)


def _place(name: str, root: yaml.Node | None, findings: Sequence[Finding]) -> list[Problem]:
    problems = []
    keys: _KeyIndex = {}
    for finding in findings:
        mark = _best_mark(root, finding, keys)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problems.append(Problem(name, line, column, finding.severity, finding.message, finding.fix))
    return problems


# A mapping node's pairs by key text, made the first time a finding's path goes through it (by the
# node's id): a finding under one of a thousand stations need not compare every station's key. The last
# of repeated keys wins, as it does in the document read.
_KeyIndex = dict[int, dict[str, tuple[yaml.Node, yaml.Node]]]


def _best_mark(root: yaml.Node | None, finding: Finding, keys: _KeyIndex) -> yaml.Mark | None:
    best: tuple[int, yaml.Mark | None] = (-1, None)
    for origin in finding.origins:
        path = (*origin, *finding.field)
        depth, mark = _walk(root, path, keys)
        if depth == len(path):
            return mark
        if depth > best[0]:
            best = (depth, mark)
    return best[1]


def _pairs(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping's pairs by key text, and a key YAML reads as something else (`007` as 7, `yes` as True)
    also by that value's text, which is how a finding names it (pydantic names True 1)."""
    pairs = {str(k.value): (k, v) for k, v in node.value}
    read_otherwise = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.tag != _STR_TAG]
    if not read_otherwise:
        return pairs  # almost every mapping: its keys are all text, and no reader need be made
    reader = PlainLoader("")
    for key, value in read_otherwise:
        try:
            read = reader.construct_object(key)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            continue  # a key that cannot be read is reported as such, at its mapping
        for text in {str(read), str(int(read))} if isinstance(read, bool) else {str(read)}:
            pairs.setdefault(text, (key, value))
    return pairs


_STR_TAG = "tag:yaml.org,2002:str"


def _walk(node: yaml.Node | None, path: YamlPath, keys: _KeyIndex) -> tuple[int, yaml.Mark | None]:
    """How deep `path` goes into the node tree, and the mark of the deepest node reached.

    A path ending on a mapping key points at the key, as editors underline it.
    """
    if node is None:
        return 0, None
    mark = node.start_mark
    for depth, part in enumerate(path):
        if isinstance(node, yaml.MappingNode):
            pairs = keys.get(id(node))
            if pairs is None:
                pairs = keys[id(node)] = _pairs(node)
            pair = pairs.get(str(part))
            if pair is None:
                return depth, mark
            mark, node = pair[0].start_mark, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            return depth, mark
    return len(path), mark


def _syntax_problem(name: str, err: yaml.YAMLError) -> Problem:
    mark = getattr(err, "problem_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    what = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    if isinstance(err, yaml.constructor.ConstructorError):
        # The text parsed, but a value cannot be made of it (a tag it cannot hold, an unknown tag).
        message = "YAML value: " + what.replace("tag:yaml.org,2002:", "!!")
        return Problem(name, line, column, Severity.ERROR, message, "correct the value, or remove its tag")
    message = f"YAML syntax: {what}" + (f" ({context})" if context else "")
    return Problem(name, line, column, Severity.ERROR, message, "correct the YAML at this spot")


def _position(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.column


def _read(path: Path) -> str:
    return bounds.read_text(path, bounds.site_file_limit(), bounds.SITE_FILE_SETTING)
