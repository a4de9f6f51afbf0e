"""Plans as a GitHub pull-request comment in Markdown. Pure: returns a string; `reconciler plan` prints it.

The comment opens with the totals and one summary row per site, then each site's changes in the order
they will be sent, each folded in a `<details>` block with its field-level differences (or, for a new
profile, its payload), a run of changes alike but for their station (`text.runs`) in one block that
lists the stations, then what they do to power (the site's combined limit before and after as a
Mermaid chart, and the stations' totals; see `render.power`, kept or dropped whole like a change),
then the entries without a call. GitHub refuses comments longer than 65,536 characters, so the text
is kept within `max_chars`: the summary first (only the sites with calls to send when a network is
too large even for its table), then as many details as fit, then a note of what was left out and
where the whole plan is.

Names come from YAML keys and may hold any character, so everything that comes from desired state
(site, station and profile names, reasons) is written as HTML entities where it could open a tag, a
table cell, a code span or emphasis; line breaks and invisible characters show as escapes such as `\\n`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.ocpp.profile import Json
from reconciler.plan.change import Action, Effect, Note
from reconciler.plan.site import SitePlan
from reconciler.render import power as render_power
from reconciler.render.confirm import standing_lines
from reconciler.render.jsontext import indented
from reconciler.render.names import LISTED_STATIONS, literal, shown
from reconciler.render.text import (
    EFFECT_WORDS,
    Run,
    caps_waiting,
    listed_notes,
    no_changes,
    runs,
    waiting_caps,
    zone_of,
)

DEFAULT_MAX_CHARS = 65_000
# Lets a workflow find its earlier comment on the pull request and update it instead of adding one.
COMMENT_MARKER = "<!-- reconciler plan -->"
HEADING = "## Charging profile plan"


def _fenced(text: str, language: str) -> str:
    # A fence longer than any backtick run inside, so the content can never close it (CommonMark).
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}\n"


@dataclass(frozen=True, slots=True)
class _Part:
    """A piece of the comment that is kept or dropped whole when the comment must be cut."""

    text: str
    changes: int = 0
    notes: int = 0
    close: str = ""  # what must follow if the comment is cut right after this part (an open <details>)


def render_markdown(
    plans: Sequence[SitePlan],
    generated_at: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    charts: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The plan as a pull-request comment of at most `max_chars` characters.

    When the whole comment is longer, details are dropped from the end (changes and entries without a
    call, whole blocks only) and a closing note says how many are not shown; if even the summary
    table does not fit, rows of sites without changes go first, then rows from the end. Raises
    ValueError when `max_chars` cannot hold the heading, the totals and the note.
    """
    intro = f"{COMMENT_MARKER}\n{HEADING}\n\n{_totals(plans, generated_at)}\n\n"
    parts = [part for plan in plans for part in _site_parts(plan, (charts or {}).get(plan.site_id, ()))]
    full = intro + _TABLE_HEAD + "".join(map(_row, plans)) + "\n" + "".join(part.text for part in parts)
    if len(full) <= max_chars:
        return full
    return _cut(plans, intro, parts, max_chars)


def _cut(plans: Sequence[SitePlan], intro: str, parts: Sequence[_Part], max_chars: int) -> str:
    """The comment within `max_chars`: intro, as much of the table as fits, the longest run of parts
    from the start that fits, and the note saying what was left out."""
    total_changes = sum(len(p.changes) for p in plans)
    total_notes = sum(len(p.notes) for p in plans)

    def note(shown_changes: int, shown_notes: int, hidden_sites: int) -> str:
        return _truncation_note(
            max_chars,
            hidden_changes=total_changes - shown_changes,
            changes=total_changes,
            hidden_notes=total_notes - shown_notes,
            notes=total_notes,
            hidden_sites=hidden_sites,
        )

    # Sized for the longest note (every count at its largest), so whatever is chosen later still fits.
    table, hidden_sites = _table(plans, max_chars - len(intro) - len(note(0, 0, len(plans))))
    kept = intro + table
    if len(kept) + len(note(0, 0, hidden_sites)) > max_chars:
        raise ValueError(f"max_chars {max_chars} is too small to hold the plan's heading and totals")
    shown_changes = shown_notes = 0
    close = ""
    for part in parts:
        changes, notes = shown_changes + part.changes, shown_notes + part.notes
        if len(kept) + len(part.text) + len(part.close) + len(note(changes, notes, hidden_sites)) > max_chars:
            break
        kept += part.text
        close = part.close
        shown_changes, shown_notes = changes, notes
    return kept + close + note(shown_changes, shown_notes, hidden_sites)


def _totals(plans: Sequence[SitePlan], generated_at: str) -> str:
    sets = sum(p.sets for p in plans)
    clears = sum(p.clears for p in plans)
    notes = sum(len(p.notes) for p in plans)
    where = f"across {len(plans)} site(s), planned at {literal(generated_at)}."
    if sets + clears == 0:
        return f"**No changes**: nothing to send, {notes} without a call, {where}"
    return f"**{sets} to set, {clears} to clear**, {notes} without a call, {where}"


_TABLE_HEAD = (
    "| site | recorded serial | set | clear | without call | lowers / mixed / raises |\n"
    "|---|--:|--:|--:|--:|---|\n"
)


def _row(plan: SitePlan) -> str:
    serial = str(plan.recorded_serial) if plan.recorded_serial is not None else "none"
    effects = [sum(c.effect is effect for c in plan.changes) for effect in Effect]
    shape = " / ".join(map(str, effects)) if plan.changes else "No changes"
    counts = f"{serial} | {plan.sets} | {plan.clears} | {len(plan.notes)}"
    return f"| {literal(plan.site_id)} | {counts} | {shape} |\n"


def _unlisted(hidden_sites: int, quiet_sites: int) -> str:
    return (
        f"\n{hidden_sites} more site(s) not listed, {quiet_sites} of them with no changes; "
        "the JSON plan lists every site.\n\n"
    )


def _table(plans: Sequence[SitePlan], budget_chars: int) -> tuple[str, int]:
    """The summary table within `budget_chars` if it can be, and how many sites it leaves out.

    Every row when they fit; else only rows of sites with calls to send (a large network mostly has
    none), cut from the end.
    """
    rows = [_row(plan) for plan in plans]
    whole = _TABLE_HEAD + "".join(rows) + "\n"
    if len(whole) <= budget_chars:
        return whole, 0
    busy = [row for plan, row in zip(plans, rows, strict=True) if plan.changes]
    quiet = len(plans) - len(busy)
    text, shown = _TABLE_HEAD, 0
    for row in busy:
        if len(text) + len(row) + len(_unlisted(len(plans) - shown - 1, quiet)) > budget_chars:
            break
        text += row
        shown += 1
    return text + _unlisted(len(plans) - shown, quiet), len(plans) - shown


def _site_parts(plan: SitePlan, charts: Sequence[str]) -> list[_Part]:
    """One part per change and per entry without a call; the site's heading rides on its first part."""
    if not plan.changes and not plan.notes:
        return []  # the summary row already says "No changes"
    recorded = (
        f"Recorded serial {plan.recorded_serial}: {plan.recorded_count} profile(s) recorded"
        if plan.recorded_serial is not None
        else "Nothing recorded yet"
    )
    prefix = (
        f"### {literal(plan.site_id)}\n\n{recorded}; {plan.desired_count} profile(s) desired. "
        f"Times {literal(zone_of(plan))}.\n\n"
    )
    prefix += "".join(f"{literal(line)}\n\n" for line in standing_lines(plan.standing, plan.clock))
    parts: list[_Part] = []
    for run in runs(plan):
        parts.append(_Part(prefix + _change_block(run, plan), changes=len(run.changes)))
        prefix = ""
    power = render_power.markdown(
        plan.power,
        plan.site_id,
        literal,
        plan.clock,
        plan.descriptions,
        charts=charts,
    )
    if power:
        parts.append(_Part(power))
    if not plan.changes:
        prefix += f"{literal(no_changes(plan))}\n\n"
    # Session caps waiting for a session are one line (a large network has thousands), the rest one each.
    entries = [(_note_line(note, plan), 1) for note in listed_notes(plan)]
    if caps := waiting_caps(plan):
        entries.append((f"- {literal(caps_waiting(caps))}\n", caps))
    opening = f"<details><summary>{len(plan.notes)} without a call</summary>\n\n"
    closing = "\n</details>\n\n"
    for index, (line, count) in enumerate(entries):
        first, last = index == 0, index == len(entries) - 1
        text = (prefix + opening if first else "") + line + (closing if last else "")
        parts.append(_Part(text, notes=count, close="" if last else closing))
        prefix = ""
    return parts


def _station(plan: SitePlan, station_id: str) -> str:
    """A station as the comment names it: its id in code, then its description if it has one."""
    description = plan.descriptions.get(station_id)
    return f"<code>{literal(station_id)}</code>" + (f" ({literal(description)})" if description else "")


def _change_block(run: Run, plan: SitePlan) -> str:
    """A run of changes (one, or many alike but for their station) as a folded block: the summary
    names the profile and its station or how many, the body the request(s) and what is sent."""
    change = run.changes[0]
    name = f"<code>{literal(change.name)}</code>"
    target = f"{_station(plan, change.station_id)} / {name}" if len(run.changes) == 1 else name
    on = "" if len(run.changes) == 1 else f" on {len(run.changes)} stations"
    summary = (
        f"{run.numbers}. <b>{change.action.value}</b> {target}{on}, id {change.profile_id}, connector "
        f"{change.connector_id}: {literal(change.reason)}; {EFFECT_WORDS[change.effect]}"
    )
    body = f"<code>{literal(f'{change.request.method} {change.request.path}')}</code>"
    if len(run.changes) > 1:
        stations = ", ".join(shown([_station(plan, c.station_id) for c in run.changes], LISTED_STATIONS))
        body += f", and the same call to each of these stations: {stations}"
    body += "\n\n"
    if change.action is Action.CLEAR:
        if change.before is not None:
            body += "Clears the recorded profile:\n\n" + _fenced(_payload_json(change.before), "json")
    elif change.before is not None and change.after is not None:
        differences = run.lines
        if differences:
            body += _fenced("\n".join(differences), "text")
        else:
            body += "No field of the profile differs from what was recorded; it is sent again as is.\n"
    elif change.after is not None:
        body += _fenced("\n".join(run.lines), "text") + "\n"
        body += _fenced(_payload_json(change.after), "json")
    return f"<details><summary>{summary}</summary>\n\n{body}\n</details>\n\n"


def _payload_json(payload: Json) -> str:
    """A payload as indented JSON with each innermost object (a schedule period) on one line."""
    return re.sub(
        r"\{[^{}\[\]]*\}",
        lambda match: re.sub(r"\n\s*", "", re.sub(r",\n\s*", ", ", match.group())),
        indented(payload),
    )


def _note_line(note: Note, plan: SitePlan) -> str:
    ident = f" id {note.profile_id}" if note.profile_id is not None else ""
    retire = f"; record retired as {note.retire}" if note.retire is not None else ""
    return (
        f"- {_station(plan, note.station_id)} / <code>{literal(note.name)}</code>{ident}: "
        f"{literal(note.reason)}{retire}\n"
    )


def _truncation_note(
    max_chars: int, *, hidden_changes: int, changes: int, hidden_notes: int, notes: int, hidden_sites: int
) -> str:
    left_out = [f"{hidden_changes} of {changes} change(s)"]
    if hidden_notes:
        left_out.append(f"{hidden_notes} of {notes} entries without a call")
    if hidden_sites:
        left_out.append(f"{hidden_sites} site row(s)")
    return (
        f"> [!WARNING]\n> **Truncated** to fit a pull-request comment ({max_chars:,} characters): "
        f"{', '.join(left_out)} are not shown. `reconciler plan --format json`, or the plan artifact of "
        "this workflow run, has everything.\n"
    )
