"""Plans for their readers: text for a terminal, versioned JSON for tools. Pure: returns strings.

Text shows every change in the order it will be sent, numbered, with field-level differences such as
`chargingSchedule.chargingSchedulePeriod[1].limit (Mon 17:00): 8000 → 7000`, then what is not sent
and why; times are the site's wall-clock time (`desired.clock`), stations named with their
descriptions. Consecutive changes that differ only in their station read as one run (`runs`): a
template changed on 200 stations is one step listing them, not 200 copies. JSON stays UTC, names the
site's timezone and lists every change on its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import Action, Change, Effect, Note
from reconciler.plan.site import SitePlan
from reconciler.render import power as render_power
from reconciler.render import walltime
from reconciler.render.confirm import standing_json, standing_lines
from reconciler.render.fielddiff import field_differences
from reconciler.render.jsontext import compact_json, indented_pieces
from reconciler.render.names import listed, named, visible

JSON_FORMAT_VERSION = 1
# What the rating established, and no more: a change rated as lowering may lower a limit or move none
# (hidden below a higher stack level, a resend); a set that only lowers limits is so rated without a
# composite, so whether it moves one is not known.
EFFECT_WORDS = {
    Effect.LOWERS: "raises no limit",
    Effect.MIXED: "lowers and raises",
    Effect.RAISES: "raises a limit",
}
# What a plan without changes compared, and all it can say: the chargers themselves were not asked.
NO_CHANGES = "No changes: recorded state matches desired state."
_VERDICT_WORDS = {
    "in_sync": "all in sync",
    "allows_less": "some allow less than recorded",
    "allows_more": "some allow more than recorded",
    "unreachable": "some unreachable",
}


def no_changes(plan: SitePlan) -> str:
    """The no-change sentence, and when `reconciler drift` last checked what the chargers enforce."""
    if plan.verified is None:
        return NO_CHANGES
    found = _VERDICT_WORDS[plan.verified.verdict.value]
    return f"{NO_CHANGES} The chargers were last verified {plan.clock.mention(plan.verified.at)} ({found})."


_COLOURS = {"set": "\x1b[33m", "clear": "\x1b[31m", "dim": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"


def connector_move(change: Change) -> list[str]:
    """The line saying an update moves its profile to another connector (not a field of the payload)."""
    moved_from = change.before_connector_id
    if moved_from is None or moved_from == change.connector_id:
        return []
    return [f"connectorId: {moved_from} → {change.connector_id}"]


def render_text(plans: Sequence[SitePlan], colour: bool = False, verbose: bool = False) -> str:
    """The plan as an operator reads it in a terminal, times in each site's zone.

    Session caps waiting for a session are counted on one line per site (a large network has
    thousands); `verbose` lists each.
    """

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
            f"recorded, {plan.desired_count} desired; times {zone_of(plan)})"
        )
        site_runs = runs(plan)
        # Numbers right-aligned in a column as wide as the widest (`  7.`, `8-207.`).
        width = max((len(run.numbers) for run in site_runs), default=0)
        for run in site_runs:
            lines.extend(_run_lines(run, plan, paint, max(width, 4)))
        for note in plan.notes if verbose else listed_notes(plan):
            retire = f"; record retired as {note.retire}" if note.retire is not None else ""
            ident = f" id {note.profile_id}" if note.profile_id is not None else ""
            on = _of(plan, note.station_id, " on ")
            target = _target(note.station_id, note.name)
            lines.append(paint(f"   · no call  {target}{ident}{on}: {note.reason}{retire}", "dim"))
        if not verbose and (caps := waiting_caps(plan)):
            lines.append(paint(f"   · {caps_waiting(caps)} (-v lists them)", "dim"))
        if not plan.changes:
            lines.append(f"   {no_changes(plan)}")
        lines.extend(f"   {line}" for line in standing_lines(plan.standing, plan.clock))
        lines.extend(render_power.text_lines(plan.power, plan.clock, plan.descriptions))
        lines.append(f"   {plan.sets} to set, {plan.clears} to clear, {len(plan.notes)} without a call.")
        lines.append("")
    total_sets = sum(p.sets for p in plans)
    total_clears = sum(p.clears for p in plans)
    lines.append(f"Plan: {total_sets} to set, {total_clears} to clear across {len(plans)} site(s).")
    return "\n".join(lines) + "\n"


def _waits(note: Note) -> bool:
    return note.cap is not None and note.retire is None


def waiting_caps(plan: SitePlan) -> int:
    """How many of the plan's session caps wait for a session (sent by apply while one runs)."""
    return sum(map(_waits, plan.notes))


def listed_notes(plan: SitePlan) -> list[Note]:
    """The entries without a call that are listed one by one: all but the session caps waiting."""
    return [note for note in plan.notes if not _waits(note)]


def caps_waiting(count: int) -> str:
    """`16,682 session caps wait for sessions`, and what becomes of them."""
    many = count != 1
    return (
        f"{count:,} session cap{'s' if many else ''} wait{'' if many else 's'} for "
        f"{'sessions' if many else 'a session'}: each is sent while a session runs on its connector"
    )


def zone_of(plan: SitePlan) -> str:
    """The site's zone and UTC offset when it was planned: `Europe/Berlin, CET (UTC+01:00)`."""
    return plan.clock.zone(plan.planned_at) if plan.planned_at is not None else plan.clock.name


def _of(plan: SitePlan, station_id: str, joint: str = " of ") -> str:
    """` of <description>` for a described station: people know stations by it, eDRV by the id."""
    description = plan.descriptions.get(station_id)
    return f"{joint}{visible(description)}" if description else ""


def _target(station_id: str, name: str) -> str:
    """`station/profile`, each written visibly: a line break in a name cannot start a line of its own."""
    return f"{visible(station_id)}/{visible(name)}"


def payload_lines(change: Change, plan: SitePlan) -> list[str]:
    """What a set sends: each changed field (local times beside moments and periods), or for a new
    profile one summary line; nothing for a clear."""
    if change.action is not Action.SET or change.after is None:
        return []
    if change.before is None:
        return [walltime.summary(change.after, plan.clock, plan.planned_at)]
    differences = field_differences(change.before, change.after, plan.clock, plan.planned_at)
    return connector_move(change) + differences


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive changes of a plan alike but for their station (`Change.likeness`), as a template's
    change placed on many stations is: one step for a reader, listing the stations."""

    first: int  # the plan's number of its first change, counted from 1
    changes: tuple[Change, ...]
    lines: tuple[str, ...]  # what each of them sends (`payload_lines`), the same for all

    @property
    def numbers(self) -> str:
        """`7`, or `7-206` for a run of 200 changes."""
        last = self.first + len(self.changes) - 1
        return str(self.first) if last == self.first else f"{self.first}-{last}"


def runs(plan: SitePlan) -> list[Run]:
    """The plan's changes in the order they are sent, consecutive alike ones as one run. The plan puts
    alike changes together (`change.alike_together`); only neighbours join here, so the runs read top
    to bottom are still the order of the calls, and every change is in exactly one run."""
    found: list[Run] = []
    first = 1
    for _, group in itertools.groupby(plan.changes, key=Change.likeness):
        members = tuple(group)
        found.append(Run(first, members, tuple(payload_lines(members[0], plan))))
        first += len(members)
    return found


def _run_lines(run: Run, plan: SitePlan, paint: Any, width: int) -> Iterator[str]:
    change = run.changes[0]
    verb = paint(f"{change.action.value:<5}", change.action.value)
    effect = f"({change.reason}; {EFFECT_WORDS[change.effect]})"
    ident = f"id {change.profile_id}  connector {change.connector_id}"
    if len(run.changes) == 1:
        target = _target(change.station_id, change.name) + f"  {ident}{_of(plan, change.station_id)}"
        yield f"{run.numbers:>{width}}. {verb} {target}  {effect}"
    else:
        count = len(run.changes)
        yield f"{run.numbers:>{width}}. {verb} {visible(change.name)} on {count} stations  {ident}  {effect}"
    for line in run.lines:
        yield f"         {line}"
    if len(run.changes) > 1:
        stations = [named(c.station_id, plan.descriptions.get(c.station_id)) for c in run.changes]
        yield from listed(stations, "         on ", "            ")


def render_json(plans: Sequence[SitePlan], generated_at: str) -> str:
    """The plan as versioned JSON (format documented in the README)."""
    return "".join(piece.decode("ascii") for piece in json_output(plan_document(plans, generated_at)))


def plan_document(plans: Sequence[SitePlan], generated_at: str) -> dict[str, Any]:
    """The plan's versioned JSON document, made once for what prints it and what saves it."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "generated_at": generated_at,
        "sites": [_site_json(plan) for plan in plans],
    }


def saved_json(document: Mapping[str, Any]) -> bytes:
    """A plan's document (`plan_document`) without the indentation that is most of an indented plan's
    bytes, as the ASCII bytes it is, its closing line break not added (it would copy the whole): a saved
    plan, for a program."""
    return compact_json(document)


def json_output(document: Mapping[str, Any]) -> Iterator[bytes]:
    """A plan's document (`plan_document`) as `render_json` writes it, in ASCII bytes, in pieces to print
    as they come (a change, a site's power view, ...): what `reconciler plan --format json` prints, a plan
    changing every profile of a site at the bounds being 200 MB of it."""
    yield from indented_pieces(document, depth=4)
    yield b"\n"


def _site_json(plan: SitePlan) -> dict[str, Any]:
    return {
        "site": plan.site_id,
        "timezone": plan.clock.name,
        "station_descriptions": dict(sorted(plan.descriptions.items())),
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
                "roll_forward": change.rolls_forward,
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
