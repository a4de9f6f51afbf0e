"""Plans for their readers: text for a terminal, versioned JSON for tools. Pure: returns strings.

Text shows every change in the order it will be sent, numbered, with field-level differences such as
`chargingSchedule.chargingSchedulePeriod[1].limit: 8000 → 7000`, then what is not sent and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from deepdiff import DeepDiff

from reconciler.ocpp.profile import Json
from reconciler.plan.change import Action, Change, Effect
from reconciler.plan.site import SitePlan
from reconciler.render import power as render_power
from reconciler.render.confirm import standing_json, standing_lines

JSON_FORMAT_VERSION = 1
EFFECT_WORDS = {
    Effect.LOWERS: "lowers a limit",
    Effect.MIXED: "lowers and raises",
    Effect.RAISES: "raises a limit",
}
_COLOURS = {"set": "\x1b[33m", "clear": "\x1b[31m", "dim": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"


def field_differences(before: Json, after: Json) -> list[str]:
    """Human lines for what differs between two payloads, one per field, in a stable order."""
    diff = DeepDiff(before, after, verbose_level=2)
    lines: list[str] = []
    for kind in ("values_changed", "type_changes"):
        for path, change in diff.get(kind, {}).items():
            lines.append(f"{_path(path)}: {_value(change['old_value'])} → {_value(change['new_value'])}")
    for kind, sign in (
        ("dictionary_item_added", "+"),
        ("iterable_item_added", "+"),
        ("dictionary_item_removed", "-"),
        ("iterable_item_removed", "-"),
    ):
        for path, value in diff.get(kind, {}).items():
            lines.append(f"{sign} {_path(path)}: {_value(value)}")
    return sorted(lines, key=lambda line: line.lstrip("+- "))


def connector_move(change: Change) -> list[str]:
    """The line saying an update moves its profile to another connector (not a field of the payload)."""
    moved_from = change.before_connector_id
    if moved_from is None or moved_from == change.connector_id:
        return []
    return [f"connectorId: {moved_from} → {change.connector_id}"]


def _path(deepdiff_path: str) -> str:
    # root['chargingSchedule']['chargingSchedulePeriod'][1]['limit']
    #   -> chargingSchedule.chargingSchedulePeriod[1].limit
    text = re.sub(r"\['([^']*)'\]", r".\1", deepdiff_path.removeprefix("root"))
    return text.removeprefix(".")


def _value(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else json.dumps(value)


def render_text(plans: Sequence[SitePlan], colour: bool = False) -> str:
    """The plan as an operator reads it in a terminal."""

    def paint(text: str, style: str) -> str:
        return f"{_COLOURS[style]}{text}{_RESET}" if colour else text

    lines: list[str] = []
    for plan in plans:
        recorded = (
            f"recorded serial {plan.recorded_serial}"
            if plan.recorded_serial is not None
            else "nothing recorded"
        )
        lines.append(
            paint(f"Site {plan.site_id}", "bold") + f" ({recorded}, {plan.recorded_count} profile(s) "
            f"recorded, {plan.desired_count} desired)"
        )
        for order, change in enumerate(plan.changes, 1):
            lines.extend(_change_lines(order, change, paint))
        for note in plan.notes:
            retire = f"; record retired as {note.retire}" if note.retire is not None else ""
            ident = f" id {note.profile_id}" if note.profile_id is not None else ""
            lines.append(
                paint(f"   · no call  {note.station_id}/{note.name}{ident}: {note.reason}{retire}", "dim")
            )
        if not plan.changes:
            lines.append("   No changes: the chargers hold what is desired.")
        lines.extend(f"   {line}" for line in standing_lines(plan.standing))
        lines.extend(render_power.text_lines(plan.power))
        lines.append(f"   {plan.sets} to set, {plan.clears} to clear, {len(plan.notes)} without a call.")
        lines.append("")
    total_sets = sum(p.sets for p in plans)
    total_clears = sum(p.clears for p in plans)
    lines.append(f"Plan: {total_sets} to set, {total_clears} to clear across {len(plans)} site(s).")
    return "\n".join(lines) + "\n"


def _change_lines(order: int, change: Change, paint: Any) -> Iterator[str]:
    verb = paint(f"{change.action.value:<5}", change.action.value)
    yield (
        f"{order:>4}. {verb} {change.station_id}/{change.name}  id {change.profile_id}  connector "
        f"{change.connector_id}  ({change.reason}; {EFFECT_WORDS[change.effect]})"
    )
    if change.action is Action.SET and change.before is not None and change.after is not None:
        for line in connector_move(change) + field_differences(change.before, change.after):
            yield f"         {line}"
    elif change.action is Action.SET and change.after is not None:
        yield f"         {_summary(change.after)}"


def _summary(payload: Json) -> str:
    schedule = payload["chargingSchedule"]
    periods = ", ".join(f"{p['startPeriod']}s {p['limit']}" for p in schedule["chargingSchedulePeriod"])
    kind = payload["chargingProfileKind"] + (
        f" {payload['recurrencyKind']}" if "recurrencyKind" in payload else ""
    )
    return (
        f"{payload['chargingProfilePurpose']} stack {payload['stackLevel']}, {kind}, "
        f"{schedule['chargingRateUnit']}: {periods}"
    )


def render_json(plans: Sequence[SitePlan], generated_at: str) -> str:
    """The plan as versioned JSON (format documented in the README)."""
    document = {
        "format_version": JSON_FORMAT_VERSION,
        "generated_at": generated_at,
        "sites": [_site_json(plan) for plan in plans],
    }
    return json.dumps(document, indent=2) + "\n"


def _site_json(plan: SitePlan) -> dict[str, Any]:
    return {
        "site": plan.site_id,
        "recorded_serial": plan.recorded_serial,
        "recorded_lineage": plan.recorded_lineage,
        "recorded_profiles": plan.recorded_count,
        "desired_profiles": plan.desired_count,
        "summary": {"set": plan.sets, "clear": plan.clears, "without_call": len(plan.notes)},
        "changes": [
            {
                "order": order,
                "site": change.site_id,
                "station": change.station_id,
                "connector": change.connector_id,
                "before_connector": change.before_connector_id,
                "profile": change.name,
                "action": change.action.value,
                "chargingProfileId": change.profile_id,
                "reason": change.reason,
                "effect": change.effect.name.lower(),
                "before": change.before,
                "after": change.after,
                "request": change.request.as_json(),
            }
            for order, change in enumerate(plan.changes, 1)
        ],
        "without_call": [
            {
                "station": note.station_id,
                "profile": note.name,
                "chargingProfileId": note.profile_id,
                "reason": note.reason,
                "retire_as": note.retire.value if note.retire is not None else None,
                "connector": note.connector_id,
                "session_cap": note.cap,
            }
            for note in plan.notes
        ],
        "power": render_power.as_json(plan.power),
        "confirmations": standing_json(plan.standing),
    }
