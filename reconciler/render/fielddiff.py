"""What differs between two payloads, as lines people read: one per field, in a stable order. Pure.

DeepDiff finds the differences, at a cost that grows with what it compares, not with what differs: two
schedules of 1,000 periods took it a tenth of a second whatever changed in them. So the periods are
compared here first, and DeepDiff is given only the stretch where they differ: the periods the two
schedules share at their start and at their end are left out (and the paths it reports are placed back
in the whole schedule). Past SHOWN_PERIODS differing periods a line counts the rest, as a new profile's
summary does (`walltime.SUMMARY_PERIODS`): a reviewer reads the first, the JSON plan holds every field.
A stretch of the same length on both sides is compared period by period here, without DeepDiff (the
n-th with the n-th, as DeepDiff pairs two lists of objects of one length: each line a true statement of
what that index holds before and after), so a changed limit costs microseconds and no import; a long
one whose length changed is counted on one line, since no alignment of its first periods alone would
be the true one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reconciler.desired.clock import SiteClock
from reconciler.ocpp.profile import Json
from reconciler.render import walltime

SHOWN_PERIODS = walltime.SUMMARY_PERIODS
_SCHEDULE, _PERIODS = "chargingSchedule", "chargingSchedulePeriod"
_PATH = f"{_SCHEDULE}.{_PERIODS}"
_PERIOD_FIELD = re.compile(r"^chargingSchedule\.chargingSchedulePeriod\[(\d+)\]")


def field_differences(
    before: Json, after: Json, clock: SiteClock | None = None, now: datetime | None = None
) -> list[str]:
    """Human lines for what differs between two payloads, one per field, in a stable order.

    With the site's `clock`, a moment also shows in local time and a period's field the wall-clock time
    its period starts at as of `now` (see `walltime`): `...[1].limit (Mon 17:00): 8000 → 7000`. Periods
    past the first SHOWN_PERIODS that differ are counted on a last line.
    """
    old, new = _periods(before), _periods(after)
    offset, counted, by_index = 0, "", False
    compared_before, compared_after = before, after
    if old is not None and new is not None:
        offset = _shared_head(old, new)
        tail = _shared_head(old[offset:][::-1], new[offset:][::-1])
        old_part, new_part = old[offset : len(old) - tail], new[offset : len(new) - tail]
        # DeepDiff pairs two lists of objects of one length the n-th with the n-th too.
        by_index = len(old_part) == len(new_part)
        if by_index and len(old_part) > SHOWN_PERIODS:
            unshown = zip(old_part[SHOWN_PERIODS:], new_part[SHOWN_PERIODS:], strict=True)
            rest = sum(not _same(was, becomes) for was, becomes in unshown)
            counted = f"{_PATH}: {rest:,} more periods differ, from [{offset + SHOWN_PERIODS}] on"
            old_part, new_part = old_part[:SHOWN_PERIODS], new_part[:SHOWN_PERIODS]
        elif max(len(old_part), len(new_part)) > SHOWN_PERIODS:
            counted = (
                f"{_PATH}: {len(old_part):,} periods from [{offset}] on become {len(new_part):,}"
                f" ({len(old):,} periods in all become {len(new):,})"
            )
            old_part = new_part = []
        compared_before, compared_after = _with_periods(before, old_part), _with_periods(after, new_part)
    lines = _lines(compared_before, compared_after, offset, by_index, _Wall(before, after, clock, now))
    return lines + ([f"{counted}; the JSON plan has every field"] if counted else [])


class _Wall:
    """Where a field's line is, with the wall-clock start of its period (each payload's worked out once)."""

    def __init__(self, before: Json, after: Json, clock: SiteClock | None, now: datetime | None) -> None:
        self.payloads = {"before": before, "after": after}
        self.clock, self.now = clock, now
        self.starts: dict[str, walltime.PeriodStarts] = {}

    def shown(self, path: str, value: Any) -> str:
        return _value(value) + ("" if self.clock is None else walltime.moment_note(path, value, self.clock))

    def where(self, path: str, side: str) -> str:
        if self.clock is None:
            return path
        if side not in self.starts:
            self.starts[side] = walltime.PeriodStarts(self.payloads[side], self.clock, self.now)
        return path + walltime.period_note(path, self.starts[side])


def _lines(before: Json, after: Json, offset: int, by_index: bool, wall: _Wall) -> list[str]:
    lines: list[str] = []
    old, new = _periods(before), _periods(after)
    if by_index and old is not None and new is not None and _plain(old) and _plain(new):
        # Period by period needs no alignment, so no DeepDiff: a changed tariff's lines cost microseconds.
        lines += _period_lines(old, new, offset, wall)
        before, after = _with_periods(before, []), _with_periods(after, [])
    if not _same(before, after):
        lines += _deepdiff_lines(before, after, offset, by_index, wall)
    return sorted(lines, key=_in_order)


def _deepdiff_lines(before: Json, after: Json, offset: int, by_index: bool, wall: _Wall) -> list[str]:
    # DeepDiff takes a tenth of a second to import: a plan without a changed profile never needs it.
    from deepdiff import DeepDiff  # noqa: PLC0415 - see above

    diff = DeepDiff(before, after, verbose_level=2, zip_ordered_iterables=by_index)
    lines: list[str] = []
    for kind in ("values_changed", "type_changes"):
        for path, change in diff.get(kind, {}).items():
            field = _placed(_path(path), offset)
            lines.append(_changed(field, change["old_value"], change["new_value"], wall))
    for kind, sign, side in (
        ("dictionary_item_added", "+", "after"),
        ("iterable_item_added", "+", "after"),
        ("dictionary_item_removed", "-", "before"),
        ("iterable_item_removed", "-", "before"),
    ):
        for path, value in diff.get(kind, {}).items():
            field = _placed(_path(path), offset)
            lines.append(f"{sign} {wall.where(field, side)}: {wall.shown(field, value)}")
    return lines


def _period_lines(old: list[Any], new: list[Any], offset: int, wall: _Wall) -> list[str]:
    """The lines DeepDiff writes comparing periods the n-th with the n-th (`_plain` periods only)."""
    lines: list[str] = []
    for index, (was, becomes) in enumerate(zip(old, new, strict=True), start=offset):
        for key in was.keys() | becomes.keys():
            field = f"{_PATH}[{index}].{key}"
            if key not in becomes:
                lines.append(f"- {wall.where(field, 'before')}: {wall.shown(field, was[key])}")
            elif key not in was:
                lines.append(f"+ {wall.where(field, 'after')}: {wall.shown(field, becomes[key])}")
            elif not _same(was[key], becomes[key]):
                lines.append(_changed(field, was[key], becomes[key], wall))
    return lines


def _changed(field: str, old: Any, new: Any, wall: _Wall) -> str:
    return f"{wall.where(field, 'after')}: {wall.shown(field, old)} → {wall.shown(field, new)}"


_NAME = re.compile(r"[A-Za-z]+")


def _plain(periods: list[Any]) -> bool:
    """Periods as OCPP writes them: objects of named fields, each a number or text."""
    return all(
        isinstance(period, dict)
        and all(
            isinstance(key, str) and _NAME.fullmatch(key) and isinstance(value, int | float | str)
            for key, value in period.items()
        )
        for period in periods
    )


def _in_order(line: str) -> list[str | int]:
    """A line's sort key: its field, numbers as numbers (period [2] before [10])."""
    parts: list[str | int] = re.split(r"(\d+)", line.lstrip("+- "))
    parts[1::2] = [int(part) for part in parts[1::2]]  # split keeps each number at an odd place
    return parts


def _periods(payload: Json) -> list[Any] | None:
    schedule = payload.get(_SCHEDULE)
    periods = schedule.get(_PERIODS) if isinstance(schedule, dict) else None
    return periods if isinstance(periods, list) else None


def _with_periods(payload: Json, periods: list[Any]) -> Json:
    return {**payload, _SCHEDULE: {**payload[_SCHEDULE], _PERIODS: periods}}


def _shared_head(old: Sequence[Any], new: Sequence[Any]) -> int:
    """How many items the two lists share at their start."""
    count = 0
    for first, second in zip(old, new, strict=False):
        if not _same(first, second):
            break
        count += 1
    return count


def _same(first: Any, second: Any) -> bool:
    """Equal and of the same types throughout, as DeepDiff compares (16 is not 16.0 nor True)."""
    if type(first) is not type(second):
        return False
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(_same(first[k], second[k]) for k in first)
    if isinstance(first, list):
        return len(first) == len(second) and all(_same(a, b) for a, b in zip(first, second, strict=True))
    return bool(first == second)


def _placed(field: str, offset: int) -> str:
    """A period's path in the compared stretch as its path in the whole schedule."""
    if not offset:
        return field
    return _PERIOD_FIELD.sub(lambda m: f"{_PATH}[{int(m.group(1)) + offset}]", field, count=1)


def _value(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else json.dumps(value)


def _path(deepdiff_path: str) -> str:
    # root['chargingSchedule']['chargingSchedulePeriod'][1]['limit']
    #   -> chargingSchedule.chargingSchedulePeriod[1].limit
    text = re.sub(r"\['([^']*)'\]", r".\1", deepdiff_path.removeprefix("root"))
    return text.removeprefix(".")
