"""Golden plan cases: each file under tests/cases/plan pins one planning rule, run by this one runner.

A case is a YAML document for site `depot` with these keys (timestamps are RFC 3339 strings):

    rule:             one sentence: the behaviour the case pins (shown when it fails)
    now:              the moment the plan is made
    before:           optional: a desired site document, or a list of them (null: the file is deleted),
                      each planned with --force at `before_now` from the state so far and folded in as
                      if every call was accepted, which gives the recorded state a real apply leaves
    before_now:       optional: when `before` is planned (default: `now`)
    recorded:         optional, instead of `before`: the state file's `stations` written out by hand for
                      odd states; each record's `payload_hash` is computed when left out
    recorded_status:  optional: `station/profile: status` overrides applied to the recorded state
    inbox:            optional: plan as if confirmations were read from an inbox (default: false)
    desired:          the desired site document; null or absent when the site's file is deleted
    force:            optional: plan with --force (the case must then be refused without it)
    expect:
      changes:        the calls in send order, `<action> <station>/<profile> id <id> connector <n>:
                      <reason> (<lowers|mixed|raises>)`; absent means none. A line may leave out the
                      `(<effect>)` when another case pins it
      notes:          what is not sent, `no call <station>/<profile> id <id>: <reason>` followed by
                      `; retire <status>` when the record is retired; absent means none
      fields:         optional: `station/profile` of an update -> its field-level differences as the
                      text plan shows them
      error:          instead of changes and notes: the plan is refused with a PlanError or
                      UnsafePlanError whose message contains this text (or each text of a list)
    xfail:            optional: the case states correct behaviour the planner does not show yet

Each case runs the real path: desired YAML and the state JSON are written into a temporary desired
directory and planned by `reconcile.plan_sites`, so a deleted site file is found by its state file.
Every case that plans also has its JSON rendering checked (it round-trips through json, and each
request's path and body match its change) and must converge: with its plan folded into the recorded
state, a second plan has nothing to do.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from reconciler.desired.yamlread import parse
from reconciler.errors import DesiredStateError, UnsafePlanError
from reconciler.plan.change import Change, Note
from reconciler.plan.confirm import Confirmations
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import PlanError, SitePlan
from reconciler.render.fielddiff import field_differences
from reconciler.render.text import connector_move, render_json
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState, Status, payload_hash

CASES = Path(__file__).resolve().parent / "cases" / "plan"
SITE = "depot"
_KEYS = frozenset(
    {
        "rule",
        "now",
        "before",
        "before_now",
        "recorded",
        "recorded_status",
        "inbox",
        "desired",
        "force",
        "expect",
        "xfail",
    }
)
_EXPECT_KEYS = frozenset({"changes", "notes", "fields", "error"})
_LINEAGE = "0" * 32
_EFFECT = re.compile(r" \((?:lowers|mixed|raises)\)$")
# eDRV's documented path for set, and the clear path guessed beside it (see reconciler.edrv.wire).
_STATION_PATH = "/v1.1/chargestations/{station}/{action}_charging_profile"


class CaseFileError(Exception):
    """A case file that does not follow the format above; never skipped."""


@dataclass(frozen=True, slots=True)
class Case:
    """One case file, parsed and checked for shape."""

    name: str
    rule: str
    now: datetime
    before: tuple[Any, ...]
    before_now: datetime
    recorded: dict[str, Any] | None
    recorded_status: dict[str, Status]
    inbox: bool
    desired: Any
    force: bool
    changes: tuple[str, ...]
    notes: tuple[str, ...]
    fields: dict[str, list[str]]
    errors: tuple[str, ...]
    xfail: str | None

    @property
    def refused(self) -> bool:
        return bool(self.errors)


def _moment(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise CaseFileError(f"{name}: expected an RFC 3339 timestamp, got {value!r}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise CaseFileError(f"{name}: {value!r} has no offset")
    return moment


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise CaseFileError(f"{name}: expected a list of strings, got {value!r}")
    return tuple(items)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise CaseFileError(f"{name}: expected true or false, got {value!r}")
    return value


def read_case(path: Path) -> Case:
    """Parse a case file; an unknown key or a malformed value is an error, never ignored."""
    where = path.name
    try:
        raw = parse(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CaseFileError(f"{where}: not YAML: {err}") from err
    if not isinstance(raw, dict):
        raise CaseFileError(f"{where}: a case is a mapping")
    unknown = set(raw) - _KEYS
    expect = raw.get("expect")
    if unknown or not isinstance(raw.get("rule"), str) or not isinstance(expect, dict):
        raise CaseFileError(f"{where}: needs 'rule' and 'expect', and knows no key {sorted(unknown)}")
    if set(expect) - _EXPECT_KEYS:
        raise CaseFileError(f"{where}: unknown expect keys {sorted(set(expect) - _EXPECT_KEYS)}")
    errors = _strings(f"{where}: expect.error", expect.get("error"))
    if errors and set(expect) != {"error"}:
        raise CaseFileError(f"{where}: a refused case expects only its error")
    if "recorded" in raw and "before" in raw:
        raise CaseFileError(f"{where}: give either 'before' or 'recorded', not both")
    before = raw.get("before")
    fields = expect.get("fields", {})
    if not isinstance(fields, dict) or not all(isinstance(v, list) for v in fields.values()):
        raise CaseFileError(f"{where}: expect.fields maps 'station/profile' to a list of lines")
    statuses = raw.get("recorded_status", {})
    if not isinstance(statuses, dict):
        raise CaseFileError(f"{where}: recorded_status maps 'station/profile' to a status")
    now = _moment(f"{where}: now", raw.get("now"))
    return Case(
        name=path.stem,
        rule=raw["rule"],
        now=now,
        before=tuple(before) if isinstance(before, list) else ((before,) if "before" in raw else ()),
        before_now=_moment(f"{where}: before_now", raw["before_now"]) if "before_now" in raw else now,
        recorded=raw.get("recorded"),
        recorded_status={key: Status(value) for key, value in statuses.items()},
        inbox=_flag(f"{where}: inbox", raw.get("inbox", False)),
        desired=raw.get("desired"),
        force=_flag(f"{where}: force", raw.get("force", False)),
        changes=_strings(f"{where}: expect.changes", expect.get("changes")),
        notes=_strings(f"{where}: expect.notes", expect.get("notes")),
        fields=fields,
        errors=errors,
        xfail=_strings(f"{where}: xfail", raw.get("xfail"))[0] if raw.get("xfail") else None,
    )


def _all_cases() -> list[Case]:
    return [read_case(path) for path in sorted(CASES.glob("*.yaml"))]


def _params(cases: list[Case], with_xfail: bool) -> list[Any]:
    params = []
    for case in cases:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail and with_xfail else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


CASE_LIST = _all_cases()
PLANNED = [case for case in CASE_LIST if not case.refused]


class _PlainDumper(yaml.SafeDumper):
    """Writes a node shared through a YAML alias in the case file out in full at each place."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class Workspace:
    """A temporary desired directory with its `.state`, written the way the reconciler reads them."""

    def __init__(self, root: Path) -> None:
        self.desired_dir = root / "desired"
        self.desired_dir.mkdir()
        self.site_file = self.desired_dir / f"{SITE}.yaml"
        self.state_file = state.state_path(self.desired_dir, SITE)

    def write_desired(self, document: Any) -> None:
        if document is None:
            self.site_file.unlink(missing_ok=True)
        else:
            # The safe dumper quotes strings that look like timestamps, so they load back as written.
            text = yaml.dump(document, Dumper=_PlainDumper, sort_keys=False)
            self.site_file.write_text(text, encoding="utf-8")

    def write_state(self, recorded: RecordedState) -> None:
        self.state_file.parent.mkdir(exist_ok=True)
        self.state_file.write_text(state.to_json(recorded), encoding="utf-8")

    def read_state(self) -> RecordedState:
        return state.load(self.state_file, SITE) or RecordedState.new(SITE)

    def plan(self, now: datetime, force: bool, inbox: bool = False) -> SitePlan:
        confirmations = Confirmations(inbox="inbox.sqlite3") if inbox else None
        try:
            (plan,) = plan_sites(self.desired_dir, [], now, force=force, confirmations=confirmations)
        except DesiredStateError as err:
            details = "\n".join(str(p) for p in err.problems)
            pytest.fail(f"the case's desired state does not load:\n{details}")
        return plan


def _literal_state(written: dict[str, Any]) -> RecordedState:
    stations = copy.deepcopy(written)
    for station in stations.values():
        for record in station.get("profiles", {}).values():
            record.setdefault("payload_hash", payload_hash(record["payload"]))
    return RecordedState.model_validate(
        {"site": SITE, "serial": 1, "lineage": _LINEAGE, "stations": stations}
    )


def _prepare(case: Case, tmp_path: Path) -> Workspace:
    """Write the case's recorded state (none before a first apply) and desired file; return the workspace."""
    space = Workspace(tmp_path)
    if case.recorded is not None:
        space.write_state(_literal_state(case.recorded))
    for document in case.before:
        space.write_desired(document)
        plan = space.plan(case.before_now, force=True)
        space.write_state(assume_applied(space.read_state(), plan, case.before_now))
    if case.recorded_status:
        recorded = space.read_state()
        for key, status in case.recorded_status.items():
            station_id, _, name = key.partition("/")
            record = recorded.record(station_id, name)
            assert record is not None, f"recorded_status names {key}, which is not recorded"
            recorded = recorded.with_record(station_id, name, record.model_copy(update={"status": status}))
        space.write_state(recorded)
    space.write_desired(case.desired)
    return space


def change_line(change: Change) -> str:
    """A change as case files write it."""
    return (
        f"{change.action} {change.station_id}/{change.name} id {change.profile_id} connector "
        f"{change.connector_id}: {change.reason} ({change.effect.name.lower()})"
    )


def note_line(note: Note) -> str:
    """A note as case files write it."""
    ident = f" id {note.profile_id}" if note.profile_id is not None else ""
    retire = f"; retire {note.retire}" if note.retire is not None else ""
    return f"no call {note.station_id}/{note.name}{ident}: {note.reason}{retire}"


def _as_written(expected: tuple[str, ...], changes: tuple[Change, ...]) -> list[str]:
    """The changes as lines, without the effect wherever the expected line at that place leaves it out."""
    lines = [change_line(c) for c in changes]
    return [
        _EFFECT.sub("", line) if index < len(expected) and not _EFFECT.search(expected[index]) else line
        for index, line in enumerate(lines)
    ]


@pytest.mark.parametrize("case", _params(CASE_LIST, with_xfail=True))
def test_plan_case(case: Case, tmp_path: Path) -> None:
    """Each case plans exactly its expected calls in send order and its notes, or is refused as expected."""
    space = _prepare(case, tmp_path)
    if case.refused:
        with pytest.raises((PlanError, UnsafePlanError)) as refused:
            space.plan(case.now, case.force)
        missing = [text for text in case.errors if text not in str(refused.value)]
        assert not missing, f"{case.rule}\nmessage: {refused.value}\nlacks: {missing}"
        return
    plan = space.plan(case.now, case.force, case.inbox)
    got = (_as_written(case.changes, plan.changes), [note_line(n) for n in plan.notes])
    assert got == (list(case.changes), list(case.notes)), case.rule
    updates = {f"{c.station_id}/{c.name}": c for c in plan.changes if c.before is not None and c.after}
    for key, lines in case.fields.items():
        assert key in updates, f"{key} is not an update in this plan"
        change = updates[key]
        shown = connector_move(change) + field_differences(change.before or {}, change.after or {})
        assert shown == lines, case.rule
    if case.force:
        with pytest.raises(UnsafePlanError):
            space.plan(case.now, force=False)


def _expected_request(change: dict[str, Any]) -> dict[str, Any]:
    station = quote(change["station"], safe="")
    path = _STATION_PATH.format(station=station, action=change["action"])
    if change["action"] == "set":
        body = {"connectorId": change["connector"], "csChargingProfiles": change["after"]}
    else:
        body = {"id": change["chargingProfileId"], "connectorId": change["connector"]}
    return {"method": "POST", "path": path, "body": body}


@pytest.mark.parametrize("case", _params([c for c in PLANNED if c.changes], with_xfail=False))
def test_plan_case_json_carries_each_request(case: Case, tmp_path: Path) -> None:
    """The JSON plan round-trips through json, and each change's request is the call its action names."""
    plan = _prepare(case, tmp_path).plan(case.now, case.force, case.inbox)
    text = render_json([plan], generated_at=case.now.isoformat())
    document = json.loads(text)
    assert json.dumps(document, indent=2) + "\n" == text
    (site,) = document["sites"]
    rendered = site["changes"]
    assert [(c["action"], c["station"], c["profile"]) for c in rendered] == [
        (c.action.value, c.station_id, c.name) for c in plan.changes
    ]
    for change in rendered:
        assert change["request"] == _expected_request(change), change["profile"]
        if change["action"] == "set":
            assert change["after"]["chargingProfileId"] == change["chargingProfileId"]
        else:
            assert change["after"] is None
            assert change["before"]["chargingProfileId"] == change["chargingProfileId"]


@pytest.mark.parametrize("case", _params(PLANNED, with_xfail=False))
def test_plan_case_converges(case: Case, tmp_path: Path) -> None:
    """With a case's plan folded into recorded state as accepted, planning again has nothing to do."""
    space = _prepare(case, tmp_path)
    plan = space.plan(case.now, case.force, case.inbox)
    space.write_state(assume_applied(space.read_state(), plan, case.now))
    again = space.plan(case.now, case.force, case.inbox)
    assert [change_line(c) for c in again.changes] == []
    assert [note_line(n) for n in again.notes if n.retire is not None] == []


def test_plan_cases_are_present() -> None:
    """The plan case directory holds case files, so the runner cannot pass by running nothing."""
    assert CASE_LIST, f"no case files under {CASES}"
