"""The field lines of an update (`render.fielddiff`): true of both payloads, in field order with periods
in number order, and bounded for long schedules: the first differing periods shown, the rest counted."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired.clock import UTC_CLOCK
from reconciler.ocpp.profile import Json
from reconciler.render import fielddiff
from reconciler.render.fielddiff import SHOWN_PERIODS, field_differences

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _payload(limits: list[Any], **fields: Any) -> Json:
    periods = [{"startPeriod": n * 60, "limit": limit} for n, limit in enumerate(limits)]
    return {
        "chargingProfileId": 1,
        "chargingProfileKind": "Recurring",
        "chargingProfilePurpose": "TxDefaultProfile",
        "recurrencyKind": "Daily",
        "stackLevel": 20,
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": periods,
            "duration": 86400,
            "startSchedule": "2026-01-01T00:00:00Z",
        },
        **fields,
    }


def test_one_period_changed_in_a_long_schedule_is_one_line_at_its_own_index_and_time() -> None:
    """A change to period 700 of 1,000 reads as that period's line, its index and wall-clock start right."""
    limits = [6 + n % 20 for n in range(1000)]
    edited = [*limits[:700], 32, *limits[701:]]
    lines = field_differences(_payload(limits), _payload(edited), UTC_CLOCK, NOW)
    assert lines == [f"chargingSchedule.chargingSchedulePeriod[700].limit (11:40): {limits[700]} → 32"]


def test_every_period_changed_shows_the_first_and_counts_the_rest() -> None:
    """With all 1,000 periods changed, the first SHOWN_PERIODS are listed in number order, then one line
    counts the other periods that differ and says where every field is."""
    limits = [6 + n % 20 for n in range(1000)]
    lines = field_differences(_payload(limits), _payload([limit + 1 for limit in limits]))
    shown = [
        f"chargingSchedule.chargingSchedulePeriod[{n}].limit: {limits[n]} → {limits[n] + 1}"
        for n in range(24)
    ]
    assert SHOWN_PERIODS == 24
    assert lines == [
        *shown,
        "chargingSchedule.chargingSchedulePeriod: 976 more periods differ, from [24] on; "
        "the JSON plan has every field",
    ]


def test_a_long_schedule_that_changes_length_is_counted_and_other_fields_still_shown() -> None:
    """Periods inserted into a long stretch are counted on one line (no alignment of some of them would
    be true), and a field outside the schedule is listed as usual."""
    limits = [6 + n % 20 for n in range(100)]
    longer = [*limits[:10], *[40] * 30, *limits[10:]]
    assert field_differences(_payload(limits), _payload(longer, stackLevel=21)) == [
        "stackLevel: 20 → 21",
        "chargingSchedule.chargingSchedulePeriod: 90 periods from [10] on become 120 (100 periods in all "
        "become 130); the JSON plan has every field",
    ]


def test_a_number_type_change_is_a_difference_even_where_python_calls_them_equal() -> None:
    """16 becoming 16.0 in a long schedule is reported, as it changes what is sent (DeepDiff's view)."""
    limits = [16] * 200
    edited = [*limits[:150], 16.0, *limits[151:]]
    assert field_differences(_payload(limits), _payload(edited)) == [
        "chargingSchedule.chargingSchedulePeriod[150].limit: 16 → 16.0"
    ]


_FIELD = re.compile(r"^([+-] )?([^:( ]+)(?: \([^)]*\))?: (.*)$")


def _at(payload: Json, path: str) -> Any:
    """The value at a line's path (`a.b[3].c`) in a payload."""
    value: Any = payload
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        value = value[int(index)] if index else value[key]
    return value


@st.composite
def edited_pairs(draw: st.DrawFn) -> tuple[Json, Json]:
    """A payload of up to 40 periods and a copy with periods changed, inserted or removed."""
    limits = draw(st.lists(st.integers(6, 32), min_size=1, max_size=40))
    edited = list(limits)
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, len(edited)))
        action = draw(st.sampled_from(["change", "insert", "remove"]))
        if action == "insert" or not edited:
            edited.insert(where, draw(st.integers(6, 32)))
        elif action == "change":
            edited[min(where, len(edited) - 1)] = draw(st.integers(6, 32))
        elif len(edited) > 1:
            del edited[min(where, len(edited) - 1)]
    before = _payload(limits)
    after = copy.deepcopy(before)
    after["chargingSchedule"]["chargingSchedulePeriod"] = [
        {"startPeriod": n * 60, "limit": limit} for n, limit in enumerate(edited)
    ]
    return before, after


@settings(max_examples=300, deadline=None)
@given(edited_pairs())
def test_every_line_is_true_of_both_payloads(pair: tuple[Json, Json]) -> None:
    """Each line names a field that holds, in the payload it speaks of, exactly the value it shows, and
    payloads that differ get at least one line while equal ones get none."""
    before, after = pair
    lines = field_differences(before, after)
    assert bool(lines) == (before != after)
    for line in lines:
        found = _FIELD.match(line)
        assert found is not None, line
        sign, path, values = found.groups()
        if path == "chargingSchedule.chargingSchedulePeriod":
            continue  # the count of a long stretch: checked by the tests above
        if sign is None:
            assert values == f"{_json(_at(before, path))} → {_json(_at(after, path))}"
        else:
            assert values == _json(_at(after if sign == "+ " else before, path))


def _json(value: Any) -> str:
    """A value as a line shows it: JSON, compact inside objects and lists."""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else json.dumps(value)


Pairs = tuple[list[Json], list[Json]]


@st.composite
def plain_pairs(draw: st.DrawFn) -> Pairs:
    """Two period lists of one length: limits changed, a type changed, `numberPhases` added or dropped."""
    count = draw(st.integers(1, 30))
    old: list[Json] = [
        {"startPeriod": 60 * n, "limit": draw(st.integers(6, 32))}
        | ({"numberPhases": 3} if draw(st.booleans()) else {})
        for n in range(count)
    ]
    new = copy.deepcopy(old)
    for period in new:
        edit = draw(st.sampled_from(["keep", "limit", "float", "phases"]))
        if edit == "limit":
            period["limit"] = draw(st.integers(6, 32))
        elif edit == "float":
            period["limit"] = float(period["limit"])
        elif edit == "phases" and "numberPhases" in period:
            del period["numberPhases"]
        elif edit == "phases":
            period["numberPhases"] = 1
    return old, new


@settings(max_examples=200, deadline=None)
@given(plain_pairs(), st.integers(0, 50))
def test_period_by_period_lines_are_those_deepdiff_writes(
    pair: tuple[list[Json], list[Json]], offset: int
) -> None:
    """The lines written for periods of one length compared the n-th with the n-th, without DeepDiff,
    are the lines DeepDiff writes as it compares them by default, placed at the same indexes."""
    old, new = pair
    before, after = _payload([]), _payload([])
    before["chargingSchedule"]["chargingSchedulePeriod"] = old
    after["chargingSchedule"]["chargingSchedulePeriod"] = new
    wall = fielddiff._Wall(before, after, UTC_CLOCK, NOW)
    assert sorted(fielddiff._period_lines(old, new, offset, wall)) == sorted(
        fielddiff._deepdiff_lines(before, after, offset, False, wall)
    )
