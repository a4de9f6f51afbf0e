"""Hostile and clumsy edits of the reconciler's inputs, for fuzzing: site YAML, state JSON, saved plans,
and the network they are made to, and the way the commands are run on them.

Each `mutate_*` function takes valid text and a `random.Random` and returns a mutated text. Hypothesis
drives them through `st.randoms()` (so failures shrink), `benchmarks/chaos_bench.py` through a seeded
Random; both start from `prepare_network` and run commands with `exit_code`.
The edits are those an attacker or a careless operator makes: a value replaced by an odd one (a
huge number, a YAML tag, a date at the end of time, a long string), lines deleted, duplicated or
re-indented, text cut short, stray characters, alias bombs, deep nesting; in state files, records
copied or renamed, fields changed, with the payload hash recomputed or not, so that the checks
beyond the hash are reached too.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import random
import re
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.cli.main import main
from reconciler.plan.outcome import assume_applied
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState

DOCUMENTED_EXIT_CODES = frozenset({0, 1, 2, 64})
# Flags whose values a user types, by command, and values to type into them.
FLAGS = {
    "schedule": ("--hours", "--from", "--connector", "--unit", "--format"),
    "plan": ("--now", "--format", "--unconfirmed-after", "--retry-rejected-after"),
    "payloads": ("--session-start", "--now"),
    "apply": ("--rate", "--concurrency", "--lock-timeout", "--now"),
}

# Values a person or an attacker might write where a scalar belongs.
ODD_SCALARS = (
    "0",
    "-1",
    "1e3",
    "!!int 1e3",
    "!!float x",
    "!!binary aGVsbG8=",
    "!!timestamp 2026-13-45",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!python/object:os.system ls",
    "!custom 3",
    "1" * 5000,
    "99999999999999999999999999999999",
    "2147483648",
    "-9223372036854775809",
    "1e308",
    "1e999",
    ".nan",
    "-.inf",
    "0x1F",
    "0o17",
    "1_000",
    "1:30:00",
    "12.345",
    "~",
    "''",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "yes",
    "true",
    "Europe",
    "Europe/Nowhere",
    "../../etc/passwd",
    "A" * 300,
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00.1234567Z",
    "2026-01-01",
    "*undefined",
    "&anchor value",
    '"\\u202e\\u0000"',
    '"line\\nbreak"',
    "W",
    "A",
    "Power",
    "TxProfile",
    "ChargePointMaxProfile",
    "Recurring",
    "Weekly",
)
FLAG_VALUES = (
    *ODD_SCALARS[:40],
    *("nan", "inf", "-inf", "1e999", "0", "-0", "24", "9000-12-31T23:59:59Z", "W", "json", ""),
    *("0s", "90s", "99999999999d", "9" * 30 + "h", "never", "1.5m"),
)
ODD_KEYS = ("<<", "profils", "? [a]", "1", "''", "x" * 300, "chargingProfileId", "stations", "\t")
ODD_LINES = (
    'bomb0: &b0 ["x","x","x","x","x","x","x","x","x"]',
    "bomb1: &b1 [*b0,*b0,*b0,*b0,*b0,*b0,*b0,*b0,*b0]",
    "bomb2: &b2 [*b1,*b1,*b1,*b1,*b1,*b1,*b1,*b1,*b1]",
    "bomb3: &b3 [*b2,*b2,*b2,*b2,*b2,*b2,*b2,*b2,*b2]",
    "deep: " + "[" * 200 + "]" * 200,
    "self: &self [*self]",
    "<<: {site: {name: merged}}",
    "%YAML 1.1",
    "--- second document",
    "...",
    "\ufeffbom: 1",
    "key: |\n  block\n text",
)
ODD_JSON: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31,
    2**63,
    10**30,
    1.5,
    1e308,
    True,
    None,
    "",
    "x" * 300,
    [],
    {},
    [[[[[]]]]],
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-01-01T00:00:00+14:00",
    "pending",
    "accepted",
    "TxProfile",
)


def mutate_yaml(text: str, rng: random.Random, edits: int = 2) -> str:
    """`text` after one to `edits` random edits, each on lines or characters of the YAML as written."""
    for _ in range(rng.randint(1, edits)):
        text = rng.choice(_YAML_EDITS)(text, rng)
    return text


def _replace_value(text: str, rng: random.Random, value: str | None = None) -> str:
    """A random key's value replaced by `value`, or by an odd scalar."""
    lines = text.splitlines()
    valued = [i for i, line in enumerate(lines) if re.match(r"\s*[-\w\"' ]+:\s*\S", line)]
    if not valued:
        return text
    index = rng.choice(valued)
    key, _, _ = lines[index].partition(":")
    lines[index] = f"{key}: {value if value is not None else rng.choice(ODD_SCALARS)}"
    return "\n".join(lines) + "\n"


def _replace_key(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    keyed = [i for i, line in enumerate(lines) if re.match(r"\s*[\w-]+:", line)]
    if not keyed:
        return text
    index = rng.choice(keyed)
    indent = re.match(r"\s*", lines[index])
    _, _, rest = lines[index].partition(":")
    lines[index] = f"{indent.group() if indent else ''}{rng.choice(ODD_KEYS)}:{rest}"
    return "\n".join(lines) + "\n"


def _line_edit(text: str, rng: random.Random) -> str:
    lines = text.splitlines() or [""]
    index = rng.randrange(len(lines))
    kind = rng.randrange(5)
    if kind == 0:
        del lines[index]
    elif kind == 1:
        lines.insert(index, lines[index])
    elif kind == 2:
        lines[index] = "  " + lines[index]
    elif kind == 3:
        lines[index] = lines[index][2:]
    else:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    return "\n".join(lines) + "\n"


def _insert_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    lines.insert(rng.randint(0, len(lines)), rng.choice(ODD_LINES))
    return "\n".join(lines) + "\n"


def _alias_bomb(text: str, rng: random.Random) -> str:
    """An anchor tree nine wide and a few deep, used as the value of an existing key."""
    depth = rng.randint(2, 6)
    head = ['b0: &b0 ["x","x","x","x","x","x","x","x","x"]']
    head += [f"b{i}: &b{i} [{','.join([f'*b{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "\n".join(head) + "\n" + _replace_value(text, rng, f"*b{depth - 1}")


def _cut(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _stray(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    return (
        text[:at]
        + rng.choice(["\t", "\0", "\x85", "\ufeff", "\u202e", "{", "[", "'", '"', ":", "&", "*", "!"])
        + text[at:]
    )


_YAML_EDITS: tuple[Callable[[str, random.Random], str], ...] = (
    _replace_value,
    _replace_value,
    _replace_value,
    _replace_key,
    _line_edit,
    _insert_line,
    _alias_bomb,
    _cut,
    _stray,
)


def mutate_state(text: str, rng: random.Random, edits: int = 2) -> str:
    """A state file after random edits; most keep it JSON and recompute payload hashes to reach deeper."""

    def rehash_mostly(data: Any) -> None:
        if rng.random() < 0.7:
            _rehash(data)

    return _mutate_json(text, rng, edits, _STATE_EDITS, text_share=0.15, then=rehash_mostly)


def mutate_plan(text: str, rng: random.Random, edits: int = 2) -> str:
    """A saved plan after random edits of its JSON, or of its text."""
    return _mutate_json(text, rng, edits, (_set_somewhere,), text_share=0.2)


def _mutate_json(
    text: str,
    rng: random.Random,
    edits: int,
    choices: Sequence[Callable[[Any, random.Random], None]],
    *,
    text_share: float,
    then: Callable[[Any], None] | None = None,
) -> str:
    """`text_share` of the time an edit of the text itself; else one to `edits` edits of its JSON."""
    if rng.random() < text_share:
        return rng.choice(_TEXT_EDITS)(text, rng)
    try:
        data = json.loads(text)
    except ValueError:
        return text
    for _ in range(rng.randint(1, edits)):
        rng.choice(choices)(data, rng)
    if then is not None:
        then(data)
    return json.dumps(data, indent=2, sort_keys=rng.random() < 0.5) + "\n"


def _records(data: Any) -> list[tuple[dict[str, Any], str]]:
    """(profiles mapping, name) of every record in a state document."""
    found = []
    stations = data.get("stations") if isinstance(data, dict) else None
    if isinstance(stations, dict):
        for station in stations.values():
            profiles = station.get("profiles") if isinstance(station, dict) else None
            if isinstance(profiles, dict):
                found += [(profiles, name) for name in profiles]
    return found


def _copy_record(data: Any, rng: random.Random) -> None:
    records = _records(data)
    if records:
        profiles, name = rng.choice(records)
        target, _ = rng.choice(records)
        target[f"{name}-copy"] = copy.deepcopy(profiles[name])


def _set_somewhere(data: Any, rng: random.Random) -> None:
    """Replace a random value deep in the document by an odd one, or delete its key."""
    node = data
    for _ in range(rng.randint(1, 8)):
        children = (
            list(node.items())
            if isinstance(node, dict)
            else list(enumerate(node))
            if isinstance(node, list)
            else []
        )
        if not children:
            break
        key, child = rng.choice(children)
        if not isinstance(child, dict | list) or rng.random() < 0.25:
            if isinstance(node, dict) and rng.random() < 0.2:
                del node[key]
            else:
                node[key] = copy.deepcopy(rng.choice(ODD_JSON))
            return
        node = child


def _field_edit(data: Any, rng: random.Random) -> None:
    """Change one field of a record that the plan relies on: its id, level, purpose, status or hash."""
    records = _records(data)
    if not records:
        return
    profiles, name = rng.choice(records)
    record = profiles[name]
    if not isinstance(record, dict):
        return
    field = rng.choice(["charging_profile_id", "stack_level", "purpose", "status", "connector_id", "payload"])
    if field == "payload" and isinstance(record.get("payload"), dict):
        inner = rng.choice(["chargingProfileId", "stackLevel", "chargingProfilePurpose", "chargingSchedule"])
        record["payload"][inner] = copy.deepcopy(rng.choice(ODD_JSON))
    else:
        record[field] = copy.deepcopy(rng.choice(ODD_JSON))


_STATE_EDITS: tuple[Callable[[Any, random.Random], None], ...] = (
    _set_somewhere,
    _copy_record,
    _field_edit,
    _field_edit,
)


def _rehash(data: Any) -> None:
    """Recompute every record's payload hash, as someone editing a payload carefully would."""
    for profiles, name in _records(data):
        record = profiles[name]
        if isinstance(record, dict) and "payload" in record:
            try:
                canonical = json.dumps(
                    record["payload"], sort_keys=True, separators=(",", ":"), allow_nan=False
                )
            except (TypeError, ValueError):
                continue
            record["payload_hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _deep(text: str, rng: random.Random) -> str:
    depth = rng.choice([100, 1000, 100_000])
    return "[" * depth + "]" * depth


_TEXT_EDITS: tuple[Callable[[str, random.Random], str], ...] = (_cut, _stray, _deep)


def prepare_network(root: Path, desired_from: Path, now: datetime) -> Path:
    """Under `root`: `desired/` (a copy of `desired_from`) recorded as applied at `now`, then edited so
    that a plan has changes, that plan saved as `plan.json`, and a key file `key`. Returns `root`."""
    desired = root / "desired"
    shutil.copytree(desired_from, desired, ignore=shutil.ignore_patterns(".state"))
    for plan in plan_sites(desired, [], now):
        recorded = assume_applied(RecordedState.new(plan.site_id), plan, now)
        store.save(store.state_path(desired, plan.site_id), recorded, None)
    for site in desired.glob("*.yaml"):
        site.write_text(site.read_text().replace("limit: 22000}", "limit: 21000}"))
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    code = exit_code(
        ["plan", "--desired", str(desired), "--now", stamp, "--force", "--out", str(root / "plan.json")]
    )
    if code != 0:
        raise RuntimeError(f"planning the fuzz network failed with exit {code}")
    (root / "key").write_text("a-key-of-no-account\n")
    return root


def exit_code(argv: list[str]) -> int:
    """Run the CLI in this process as `reconciler` would, its output discarded; the exit code.

    Any exception but SystemExit propagates: that is a traceback a user would have seen.
    """
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exited:
            return exited.code if isinstance(exited.code, int) else 0
    raise AssertionError("main returned without exiting")
