"""The recorded-state store: `.state/<site>.json` files for the models of `recorded`.

`load` (bounded in size, checked for consistency by `check`; a file whose checksum holds is taken as
written, see `layout`) and `save` (the text `layout` gives, atomic: temporary file, fsync, rename;
always the whole file; refusing a file someone else changed since it was loaded, by lineage, serial
and content), and `StateWriter` (the same save, cheap when repeated, for apply). The
reconcile shell loads, locks (`lock`) and saves after every eDRV call that changed anything. Every
failure a person can fix is a `StateFileError` naming the file (and the line, where there is one),
and a refused file is never modified.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic import ValidationError

from reconciler.desired import bounds
from reconciler.errors import StateFileError, excerpt
from reconciler.state import check, files, layout
from reconciler.state.files import lock
from reconciler.state.layout import to_text as to_json
from reconciler.state.recorded import (
    HASHES_VERIFIED,
    READABLE_VERSIONS,
    STATE_VERSION,
    ProfileRecord,
    RecordedState,
    StationRecord,
)

# `lock` lives in `files`; callers of the store take it from here too.
__all__ = ["StateWriter", "load", "lock", "save", "state_path", "to_json"]

_RESTORE = "fix it by hand or restore it from version control"


def state_path(desired_dir: Path, site: str, state_dir: Path | None = None) -> Path:
    """Where a site's state lives: `<state_dir>/<site>.json`, by default under `<desired_dir>/.state/`."""
    return (state_dir if state_dir is not None else desired_dir / ".state") / f"{site}.json"


class _Pairs(dict[str, Any]):
    """A JSON object that remembers keys written more than once (json keeps only the last)."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Pairs:
    result = _Pairs(pairs)
    result.duplicates = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
    return result


def _text(raw: bytes) -> str:
    # Only to count lines for a message: a byte that is not UTF-8 (a crafted file) must not hide it.
    return raw.decode("utf-8", errors="replace")


def read_unchanged(data: str | bytes) -> Any:
    """The JSON value of a state file the checksum shows unchanged since a reconciler wrote it (so it
    repeats no key): read by pydantic-core's parser, which takes half the time of `json.loads` and
    makes each repeated short string (a key, a status, a moment) one object, a quarter less memory.
    It refuses a lone surrogate escape (`"\\ud800"`), which a name may hold and `json` reads: such a file
    is read by `json` instead."""
    try:
        return pydantic_core.from_json(data, cache_strings="all")
    except ValueError:
        return json.loads(data)


def _parse(text: str) -> tuple[Any, bool]:
    """The JSON value of `text`, and whether some object in it repeats a key."""
    repeats = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # Counting keys in every object cost more than the parse itself; a repeat shows as fewer keys
        # than pairs, and only then are the repeated keys named.
        nonlocal repeats
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        repeats = True
        return _object(pairs)

    return json.loads(text, object_pairs_hook=pairs_hook, parse_constant=_refuse_constant), repeats


def _first_duplicate(value: Any, where: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    if isinstance(value, dict):
        if isinstance(value, _Pairs) and value.duplicates:
            return where, value.duplicates[0]
        children = ((str(key), child) for key, child in value.items())
    elif isinstance(value, list):
        children = ((str(index), child) for index, child in enumerate(value))
    else:
        return None
    for key, child in children:
        found = _first_duplicate(child, (*where, key))
        if found:
            return found
    return None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _cut(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"


def _summary(error: ValidationError) -> str:
    details = error.errors(include_url=False)
    parts = [f"{'.'.join(_cut(str(p)) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in details[:3]]
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return "; ".join(parts) + more


def load(path: Path, site: str) -> RecordedState | None:
    """The state recorded in `path` for `site`, or None when the file does not exist.

    Raises StateFileError, leaving the file untouched, when it cannot be read, is not JSON, repeats a
    key, has an unknown format version, belongs to another site, or has fields of the wrong type.
    Read with the cyclic collector paused (`bounds.paused_collector`): a state file is hundreds of
    thousands of objects, which the collector would otherwise walk again and again as they are made
    (half of `state show` on a 32 MB file), only to find no cycle.
    """
    with bounds.paused_collector():
        return _load(path, site)


def _load(path: Path, site: str) -> RecordedState | None:
    try:
        raw = bounds.read_bytes(path, bounds.state_file_limit(), bounds.STATE_FILE_SETTING)
        # A file unchanged since a reconciler wrote it (its checksum holds) has no repeated key, and is
        # parsed from its bytes; its text is decoded only to say on which line a problem is.
        unchanged = layout.unchanged(raw)
        text = "" if unchanged else raw.decode("utf-8")
    except FileNotFoundError:
        return None
    except bounds.TooLargeError as exc:
        raise StateFileError(f"{path}: {exc}; {exc.fix}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(
            f"{path}: cannot read the state file ({exc}); check it and its permissions"
        ) from exc
    try:
        data, repeats = (read_unchanged(raw), False) if unchanged else _parse(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); {_RESTORE}"
        ) from exc
    except ValueError as exc:
        raise StateFileError(f"{path}: not valid JSON ({exc}); {_RESTORE}") from exc
    except RecursionError:
        raise StateFileError(f"{path}: nested too deeply to be a state file; {_RESTORE}") from None
    # The walk is only needed to say where the first repeat is, in document order.
    try:
        duplicate = _first_duplicate(data) if repeats else None
    except RecursionError:
        raise StateFileError(f"{path}: nested too deeply to be a state file; {_RESTORE}") from None
    if duplicate:
        where, key = duplicate
        inside = ".".join(where) or "the top level"
        raise StateFileError(
            f"{path}: key {excerpt(key)} appears more than once in {_cut(inside)}; a hand edit "
            "duplicated it, keep the right one and delete the others"
        )
    if not isinstance(data, dict):
        raise StateFileError(f"{path}: top level is a JSON {type(data).__name__}, not an object; {_RESTORE}")
    version = data.pop("version", None)
    # bool is an int to Python, and a list or object cannot be looked up in a set.
    if isinstance(version, bool) or not isinstance(version, int) or version not in READABLE_VERSIONS:
        readable = ", ".join(str(v) for v in sorted(READABLE_VERSIONS))
        raise StateFileError(
            f"{path}: state format version {version!r} is not one this reconciler reads (it reads "
            f"version {readable}); use the reconciler that wrote it, or restore the file"
        )
    recorded_site = data.get("site")
    if isinstance(recorded_site, str) and recorded_site != site:
        raise StateFileError(
            f"{path}: records site {excerpt(recorded_site)}, not {site!r}; move it to <that site>.json "
            "or correct its site field"
        )
    data.pop(layout.CHECKSUM_KEY, None)
    if version == STATE_VERSION:
        layout.fill_mirrored(data)
    try:
        state = RecordedState.model_validate(data, context={HASHES_VERIFIED: unchanged})
    except ValidationError as exc:
        first = tuple(str(part) for part in exc.errors(include_url=False)[0]["loc"])
        raise _refused(
            path, _line(text or _text(raw), first), f"not a valid state file: {_summary(exc)}"
        ) from None
    # Only format 3 is written with a checksum, and leaves the fields a payload repeats to it.
    problem = check.first_problem(state, payloads_sound=unchanged and version == STATE_VERSION)
    if problem is not None:
        raise _refused(path, _line(text or _text(raw), problem.where), f"inconsistent state file: {problem}")
    return state


def _line(text: str, keys: tuple[str, ...]) -> int:
    """The line where the object at `keys` (top-level key first) is written, or 0 if not found.

    Each key is looked for after the one before, as `"key":`; in a file as the store writes it (sorted
    keys, one per line) that finds the object itself. A hand-formatted file may put it elsewhere: the
    line is a pointer for a person, and the message names the keys in full.
    """
    at = 0
    for key in keys:
        found = text.find(json.dumps(key) + ":", at)
        if found < 0:
            break
        at = found + 1
    return text.count("\n", 0, at) + 1 if at else 0


def _refused(path: Path, line: int, message: str) -> StateFileError:
    where = f"{path}:{line}" if line else str(path)
    return StateFileError(f"{where}: {message}; {_RESTORE}", file=str(path), line=line)


def save(path: Path, state: RecordedState, expected: RecordedState | None) -> RecordedState:
    """Write `state` over `path` atomically and return it as written, with serial one above the previous.

    `expected` is the state this run loaded (None if there was no file). The write is refused, and
    nothing changed, when the file on disk is no longer that state: it appeared, vanished, has
    another lineage, or another serial. Callers hold `lock` so no one writes between check and write.
    """
    _same_lineage(state, expected)
    written = _successor(path, state, expected, load(path, state.site))
    files.write_atomically(path, to_json(written))
    return written


def _same_lineage(state: RecordedState, expected: RecordedState | None) -> None:
    if expected is not None and (state.lineage, state.site) != (expected.lineage, expected.site):
        raise ValueError("save() of a state derived from a different site or lineage than expected")


def _successor(
    path: Path, state: RecordedState, expected: RecordedState | None, current: RecordedState | None
) -> RecordedState:
    """`state` with the serial it is written under; StateFileError when `current` is not `expected`."""
    if expected is None:
        if current is not None:
            raise StateFileError(
                f"{path}: was created (serial {current.serial}) after this run found none; "
                "another apply ran meanwhile, so plan again"
            )
        previous = state.serial
    elif current is None:
        raise StateFileError(
            f"{path}: vanished since it was loaded at serial {expected.serial}; restore it from version "
            "control before applying again"
        )
    elif current.lineage != expected.lineage:
        raise StateFileError(
            f"{path}: now holds lineage {current.lineage}, not {expected.lineage} that this run loaded; "
            "the file was replaced, so plan again against it"
        )
    elif current.serial != expected.serial:
        raise StateFileError(
            f"{path}: is at serial {current.serial} but this run loaded serial {expected.serial}; "
            "another apply wrote it meanwhile, so plan again"
        )
    elif current != expected:
        # A serial says who wrote last only if every writer bumps it; a hand edit or a restore may not.
        raise StateFileError(
            f"{path}: was changed since this run read it, though it still says serial {current.serial}; "
            "nothing is written over it: see what changed (git diff), then plan again"
        )
    else:
        previous = expected.serial
    return state.model_copy(update={"serial": previous + 1})


class StateWriter:
    """Saves one site's state again and again, as apply does after each answer; each save is `save`'s.

    Two shortcuts keep that cheap for a site of hundreds of stations of which a few changed since the
    last save (a full `save` of a thousand records costs some 80 ms of CPU, and apply saves dozens
    of times, on a thread that contends for the GIL with the event loop sending the calls):
    - a record or station that is the same (frozen) object as at the last save reuses its JSON text;
    - when the file still holds exactly the text this writer last wrote, it holds the state last
      written, so reading it back is a comparison instead of a parse and validation. Anything else
      (another writer, a hand edit, a vanished file) takes `save`'s full check and its refusals.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: RecordedState | None = None
        self._bytes = b""
        self._stamp: tuple[int, ...] = ()
        self._stations: dict[str, tuple[StationRecord, str]] = {}
        self._records: dict[tuple[str, str], tuple[ProfileRecord, str]] = {}

    def load(self, site: str) -> RecordedState | None:
        """As `load(self.path, site)`; a save over the file unchanged since need not read it again (its
        bytes are read first: should the file change before it is parsed, the save finds them differ)."""
        with contextlib.suppress(OSError):
            self._bytes = self.path.read_bytes()
        self._written = loaded = load(self.path, site)
        return loaded

    def save(self, state: RecordedState, expected: RecordedState | None) -> RecordedState:
        """As `save(self.path, state, expected)`."""
        _same_lineage(state, expected)
        current = expected if self._holds(expected) else load(self.path, state.site)
        written = _successor(self.path, state, expected, current)
        text = self._encode(written)
        files.write_atomically(self.path, text)
        self._written, self._bytes = written, text.encode("utf-8")
        self._stamp = files.stamp(self.path)
        return written

    def check_unchanged(self, expected: RecordedState | None) -> None:
        """Raise StateFileError when the file no longer holds `expected`, as last written by `save`.

        Cheap while the file's inode, size and modification time are as the last save left them;
        otherwise the file is read and compared, as `save` would (a file touched but not changed
        passes).
        """
        try:
            if files.stamp(self.path) == self._stamp:
                return
        except FileNotFoundError:
            pass
        site = expected.site if expected is not None else ""
        _successor(self.path, expected or RecordedState.new(site), expected, load(self.path, site))
        with contextlib.suppress(FileNotFoundError):
            self._stamp = files.stamp(self.path)

    def _holds(self, expected: RecordedState | None) -> bool:
        """Whether the file is, byte for byte, what this writer wrote for `expected`."""
        if expected is None or expected is not self._written:
            return False
        try:
            return self.path.read_bytes() == self._bytes
        except OSError:
            return False

    def _encode(self, state: RecordedState) -> str:
        stations: dict[str, tuple[StationRecord, str]] = {}
        for station_id, station in sorted(state.stations.items()):
            known = self._stations.get(station_id)
            if known is None or known[0] is not station:
                profiles = [self._record_item(station_id, n, r) for n, r in layout.sorted_records(station)]
                known = (station, layout.item(station_id, layout.station_text(station, profiles)))
            stations[station_id] = known
        self._stations = stations
        return layout.document_text(state, [item for _, item in stations.values()])

    def _record_item(self, station_id: str, name: str, record: ProfileRecord) -> str:
        known = self._records.get((station_id, name))
        if known is None or known[0] is not record:
            known = self._records[station_id, name] = (record, layout.item(name, layout.record_text(record)))
        return known[1]
