"""Laws every plan obeys, checked by hypothesis over random desired sites and the histories behind them.

A scenario is a few stations with fixed hardware, zero to two earlier desired sites and a final one.
Each earlier site is planned at its own moment (ten and three days before NOW) from the state left by
the one before, its calls are replayed against model chargers (`reconciler.ocpp.charger`) with random fates
(delivered, rejected, failed before or after reaching the charger), and their outcomes are folded into
recorded state as apply folds them. That gives recorded states, and chargers, that real history leaves,
including ones where the two disagree in the ways apply records (a failed set may or may not be held).
The final site is planned at NOW from that state. The laws:

- converge: replaying the plan against the chargers leaves each holding exactly the desired profiles
  that are not expired and not session caps, by id, connector and payload; no set is refused;
- settle: with the plan folded in as accepted, the next plan has no change and nothing to retire;
- one call per profile: no two calls for one (station, chargingProfileId), and no two for one name
  except a pinned id that changed: a set of the new id and a clear of the old one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.desired.loader import load_site
from reconciler.desired.payload import charging_profile
from reconciler.desired.validate import DesiredSite
from reconciler.ocpp.charger import Charger, SetAnswer
from reconciler.ocpp.configuration import ChargerLimits
from reconciler.ocpp.profile import Json, format_timestamp
from reconciler.plan.change import Action, Change
from reconciler.plan.outcome import assume_applied, record_change, record_note
from reconciler.plan.site import SitePlan, build
from reconciler.state.recorded import RETIRED, RecordedState, Status

from .conftest import NOW

SITE = "depot"
STATIONS = ("CS-1", "CS-2")
HISTORY_AT = (NOW - timedelta(days=10), NOW - timedelta(days=3))
LAWS = settings(
    max_examples=150,
    deadline=None,  # a plan loads YAML and checks the official schema: timing varies, the laws do not
)


class Fate(Enum):
    """What became of one call of an earlier plan (the first shrinks best: everything went through)."""

    DELIVERED = "delivered"  # the charger got it; its own answer is recorded
    REJECTED = "rejected"  # refused for a reason outside the model (a vendor switch): nothing changes
    FAILED_UNSENT = "failed before the charger"  # eDRV errored; the charger never saw it
    FAILED_SENT = "failed after the charger"  # eDRV timed out, yet the charger applied a set


# --- desired sites --------------------------------------------------------------------------------


def _moment(hours: int) -> str:
    return format_timestamp(NOW + timedelta(hours=hours))


NAMES = ("p0", "p1", "p2", "p3")
STACK_LEVELS = (11, 12, 13)  # few, so that profiles meet in slots
# Absolute schedules start from four days before NOW to two after, and last up to a week; validTo
# falls from twelve days before to twenty after: profiles end before, between and after the plans.
_STARTS_H = st.integers(-24 * 4, 48)
_VALID_TO_H = st.integers(-24 * 12, 24 * 20)
_PURPOSES = st.sampled_from(["TxDefaultProfile", "ChargePointMaxProfile", "TxProfile"])
_CAP_KINDS = st.sampled_from(["Absolute", "Relative"])
_KINDS = st.sampled_from(["Recurring", "Absolute", "Relative"])
_UNITS = st.sampled_from(["A", "W"])
_AMPS, _HECTOWATTS = st.integers(0, 32), st.integers(0, 220)
_DURATIONS_S = st.sampled_from([None, 3600, 86400, 7 * 86400])
_RECURRENCIES = st.sampled_from(["Daily", "Weekly"])
_STACKS = st.sampled_from(STACK_LEVELS)
_EDITS = st.sampled_from(["limit", "stackLevel", "chargingProfileId", "validTo", "connectorId", "all"])
_PICKS = st.sampled_from([None, 0, 1])  # a name is absent, or in its first or second version


def _pins(index: int) -> tuple[int, int]:
    # Far apart per name: allocated ids never climb to another name's pin, so pins never collide.
    return 1000 * (index + 1), 1000 * (index + 1) + 500


def _profile(draw: st.DrawFn, index: int, connectors: int) -> Json:
    """Profile `NAMES[index]` as written in YAML, valid on a station with `connectors`."""
    purpose = draw(_PURPOSES)
    if purpose == "ChargePointMaxProfile":
        connector = 0
    else:
        connector = draw(st.integers(1 if purpose == "TxProfile" else 0, connectors))
    kind = draw(_CAP_KINDS if purpose == "TxProfile" else _KINDS)
    unit = draw(_UNITS)
    limit = draw(_AMPS) if unit == "A" else 100 * draw(_HECTOWATTS)
    periods = [{"startPeriod": 0, "limit": limit}]
    if draw(st.booleans()):
        periods.append({"startPeriod": 3600, "limit": limit // 2})
    schedule: Json = {"chargingRateUnit": unit}
    if kind == "Recurring":
        schedule["startSchedule"] = "2026-01-01T00:00:00Z"
    elif kind == "Absolute" and purpose != "TxProfile":
        schedule["startSchedule"] = _moment(draw(_STARTS_H))
    duration_s = draw(_DURATIONS_S)
    if duration_s is not None:
        schedule["duration"] = duration_s
    schedule["chargingSchedulePeriod"] = periods
    body: Json = {
        "connectorId": connector,
        "stackLevel": draw(_STACKS),
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
    }
    if kind == "Recurring":
        body["recurrencyKind"] = draw(_RECURRENCIES)
    if draw(st.booleans()):
        body["validTo"] = _moment(draw(_VALID_TO_H))
    pin = draw(st.sampled_from([None, *_pins(index)]))
    if pin is not None:
        body["chargingProfileId"] = pin
    body["chargingSchedule"] = schedule
    return body


def _variant(draw: st.DrawFn, first: Json, index: int, connectors: int) -> Json:
    """Another version of `first`: one field changed (most often), or another profile altogether."""
    edit = draw(_EDITS)
    body = copy.deepcopy(first)
    purpose = body["chargingProfilePurpose"]
    if edit == "all" or (edit == "connectorId" and purpose == "ChargePointMaxProfile"):
        return _profile(draw, index, connectors)
    if edit == "limit":
        step = 1 if body["chargingSchedule"]["chargingRateUnit"] == "A" else 100
        body["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] += step
    elif edit == "stackLevel":
        body["stackLevel"] = STACK_LEVELS[(STACK_LEVELS.index(body["stackLevel"]) + 1) % len(STACK_LEVELS)]
    elif edit == "chargingProfileId":
        body["chargingProfileId"] = draw(st.sampled_from([p for p in _pins(index) if p != first.get(edit)]))
    elif edit == "validTo":
        if body.pop("validTo", None) is None:
            body["validTo"] = _moment(draw(_VALID_TO_H))
    elif purpose == "TxProfile":
        body["connectorId"] = body["connectorId"] % connectors + 1
    else:
        body["connectorId"] = (body["connectorId"] + 1) % (connectors + 1)
    return body


def _slot(body: Json) -> tuple[Any, ...]:
    return body["connectorId"], body["chargingProfilePurpose"], body["stackLevel"]


@dataclass(frozen=True)
class Scenario:
    connectors: Mapping[str, int]
    history: tuple[tuple[Json | None, tuple[Fate, ...]], ...]  # earlier sites, at the last HISTORY_AT
    final: Json | None
    ocpp: Json = field(default_factory=dict)  # every station's OCPP limits, as under `ocpp` in YAML


@st.composite
def _scenarios(draw: st.DrawFn) -> Scenario:
    """Stations, then site versions in which each profile name is absent or in one of two versions.

    A name's two versions are drawn when a site first uses it, and shared by every later site, so
    versions keep, change, drop and bring back the same profiles. A site may be None (its file is
    deleted) and may leave a station out.
    """
    connectors = {station_id: draw(st.integers(1, 3)) for station_id in STATIONS}
    pairs: dict[tuple[str, int], tuple[Json, Json]] = {}

    def site() -> Json | None:
        if draw(st.integers(0, 9)) == 0:
            return None
        stations: Json = {}
        for station_id, count in connectors.items():
            if not draw(st.integers(0, 4)):
                continue
            profiles: Json = {}
            for index, name in enumerate(NAMES):
                pick = draw(_PICKS)
                if pick is None:
                    continue
                if (station_id, index) not in pairs:
                    first = _profile(draw, index, count)
                    pairs[station_id, index] = (first, _variant(draw, first, index, count))
                body = pairs[station_id, index][pick]
                # One profile per slot, as validation demands of live ones: a later name yields its slot.
                if _slot(body) not in {_slot(p) for p in profiles.values()}:
                    profiles[name] = body
            stations[station_id] = {"connectors": count, "rated_power_kw": 22, "profiles": profiles}
        return {"site": {"name": "Depot"}, "stations": stations}

    steps = draw(st.integers(0, len(HISTORY_AT)))
    history = tuple((site(), tuple(draw(st.lists(st.sampled_from(Fate), max_size=8)))) for _ in range(steps))
    return Scenario(connectors, history, site())


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("laws")


def _load(site_dir: Path, doc: Json | None, at: datetime) -> DesiredSite | None:
    if doc is None:
        return None
    path = site_dir / f"{SITE}.yaml"
    # JSON is YAML, and much quicker to write than PyYAML's emitter.
    path.write_text(json.dumps(doc, indent=1))
    site, problems = load_site(path, at)
    assert site is not None, [str(p) for p in problems]
    return site


# --- chargers and apply ---------------------------------------------------------------------------


def _chargers(scenario: Scenario) -> dict[str, Charger]:
    limits = ChargerLimits.model_validate(scenario.ocpp)
    return {station_id: Charger(count, limits) for station_id, count in scenario.connectors.items()}


def _send(charger: Charger, change: Change) -> SetAnswer | None:
    """Deliver one planned call to a charger as eDRV would; a set returns the charger's answer."""
    body = change.request.body
    if change.action is Action.SET:
        return charger.set_profile(body["connectorId"], body["csChargingProfiles"])
    charger.clear(body["id"], connector_id=body.get("connectorId"))
    return None


def _apply(
    plan: SitePlan,
    state: RecordedState,
    chargers: Mapping[str, Charger],
    fates: tuple[Fate, ...],
    at: datetime,
) -> RecordedState:
    """Send `plan` with the given fates, folding each outcome into `state` as apply does.

    A record replaced in its slot is retired only when the set taking that slot was accepted: if that
    set went nowhere, the charger still holds the old profile.
    """
    before = state
    taken: set[tuple[str, int, str, int]] = set()
    for index, change in enumerate(plan.changes):
        fate = fates[index] if index < len(fates) else Fate.DELIVERED
        charger = chargers[change.station_id]
        if change.action is Action.CLEAR:
            # A clear is never refused; a failed one is recorded as not done, so it is modelled as unsent.
            if fate is Fate.DELIVERED:
                _send(charger, change)
            status = Status.ACCEPTED if fate is Fate.DELIVERED else Status.FAILED
        else:
            answer = _send(charger, change) if fate in (Fate.DELIVERED, Fate.FAILED_SENT) else None
            if fate is Fate.DELIVERED:
                status = Status.ACCEPTED if answer is not None and answer.accepted else Status.REJECTED
            else:
                status = Status.REJECTED if fate is Fate.REJECTED else Status.FAILED
            if status is Status.ACCEPTED and change.after is not None:
                after = change.after
                taken.add(
                    (
                        change.station_id,
                        change.connector_id,
                        after["chargingProfilePurpose"],
                        after["stackLevel"],
                    )
                )
        state = record_change(
            state, change, status, at, error=None if status is Status.ACCEPTED else fate.value
        )
    for note in plan.notes:
        record = before.record(note.station_id, note.name)
        if note.retire is Status.REPLACED and record is not None:
            slot = (note.station_id, record.connector_id, record.purpose.value, record.stack_level)
            if slot not in taken:
                continue
        state = record_note(state, note, at)
    return state


def _history(scenario: Scenario, site_dir: Path) -> tuple[RecordedState | None, dict[str, Charger]]:
    """The recorded state and the chargers that the scenario's earlier plans leave behind."""
    chargers = _chargers(scenario)
    recorded: RecordedState | None = None
    for (doc, fates), at in zip(
        scenario.history, HISTORY_AT[len(HISTORY_AT) - len(scenario.history) :], strict=True
    ):
        desired = _load(site_dir, doc, at)
        plan = build(SITE, desired, recorded, at)
        _check_one_call_per_profile(plan, desired)
        for charger in chargers.values():
            charger.purge_expired(at)
        recorded = _apply(plan, recorded or RecordedState.new(SITE), chargers, fates, at)
    return recorded, chargers


def _final(
    scenario: Scenario, site_dir: Path
) -> tuple[DesiredSite | None, RecordedState | None, SitePlan, dict[str, Charger]]:
    recorded, chargers = _history(scenario, site_dir)
    desired = _load(site_dir, scenario.final, NOW)
    return desired, recorded, build(SITE, desired, recorded, NOW), chargers


# --- regressions: scenarios the laws once failed on, run on every test run ---------------------------


def _daily(connector_id: int = 1, stack_level: int = 11, limit: int = 16, **extra: Any) -> Json:
    """A daily TxDefaultProfile (or, through `extra`, another purpose) as written in YAML."""
    schedule = {
        "startSchedule": "2026-01-01T00:00:00Z",
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
    }
    return {
        "connectorId": connector_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        **extra,
        "chargingSchedule": schedule,
    }


def _relative(purpose: str = "TxDefaultProfile", connector_id: int = 1, **extra: Any) -> Json:
    schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}
    return {
        "connectorId": connector_id,
        "stackLevel": 11,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        **extra,
        "chargingSchedule": schedule,
    }


def _on_cs2(**profiles: Json) -> Json:
    station = {"connectors": 1, "rated_power_kw": 22, "profiles": profiles}
    return {"site": {"name": "Depot"}, "stations": {"CS-2": station}}


def _regression(*history: tuple[Json | None, tuple[Fate, ...]], final: Json | None) -> Scenario:
    return Scenario({"CS-1": 1, "CS-2": 1}, history, final)


_MAX = "ChargePointMaxProfile"
# A standing profile that becomes a session cap under the same name is cleared, not kept.
BECOMES_CAP = _regression((_on_cs2(p0=_daily()), ()), final=_on_cs2(p0=_relative("TxProfile")))
# A pinned id changes and the clear of the old id fails: the old id stays recorded, and is cleared later.
PIN_CHANGED_CLEAR_FAILED = _regression(
    (_on_cs2(p2=_daily(1)), ()),
    (_on_cs2(p2=_daily(0, chargingProfileId=3000)), (Fate.DELIVERED, Fate.REJECTED)),
    final=None,
)
# A refused change leaves the earlier payload under its id, elsewhere than its record says: cleared.
REJECTED_CHANGE_THEN_SLOT_TAKEN = _regression(
    (_on_cs2(pA=_daily(1, 11)), ()),
    (_on_cs2(pA=_daily(1, 12)), (Fate.REJECTED,)),
    final=_on_cs2(pB=_daily(1, 12, limit=10)),
)
# A failed set that reached the charger replaced an unchanged profile in its slot: that one is resent.
FAILED_SET_REPLACED_ANOTHER = _regression(
    (_on_cs2(p0=_daily(0, 13, 0, chargingProfilePurpose=_MAX), p1=_daily(0, 11, 0)), ()),
    (_on_cs2(p2=_daily(0, 13, 1, chargingProfilePurpose=_MAX)), (Fate.DELIVERED, Fate.FAILED_SENT)),
    final=_on_cs2(p0=_daily(0, 13, 0, chargingProfilePurpose=_MAX)),
)
# A desired profile expires as its pin changes: the record of the id sent is retired, once.
EXPIRED_AS_PIN_CHANGED = _regression(
    (_on_cs2(p0=_relative(connector_id=0, chargingProfileId=1000, validTo=format_timestamp(NOW))), ()),
    final=_on_cs2(p0=_relative(connector_id=0, chargingProfileId=1500, validTo=format_timestamp(NOW))),
)
# A pin changed back while the old id's clear is outstanding takes that id over instead of refusing.
PIN_CHANGED_BACK = _regression(
    (_on_cs2(p1=_daily(0, chargingProfileId=2500)), ()),
    (_on_cs2(p1=_daily(0, chargingProfileId=2000)), (Fate.REJECTED,)),
    final=_on_cs2(p1=_daily(0, chargingProfileId=2500)),
)
REGRESSIONS = (
    BECOMES_CAP,
    PIN_CHANGED_CLEAR_FAILED,
    REJECTED_CHANGE_THEN_SLOT_TAKEN,
    FAILED_SET_REPLACED_ANOTHER,
    EXPIRED_AS_PIN_CHANGED,
    PIN_CHANGED_BACK,
)


def _with_regressions(test: Any) -> Any:
    """`test` run on every regression scenario as an explicit example, besides the generated ones."""
    for scenario in reversed(REGRESSIONS):
        test = example(scenario=scenario)(test)
    return test


# --- the laws -------------------------------------------------------------------------------------


def _expected(
    desired: DesiredSite | None, recorded: RecordedState | None, plan: SitePlan
) -> dict[str, dict[int, tuple[int, Json]]]:
    """Per station, id -> (connector, payload) of every desired profile a charger should hold at NOW."""
    sent = {(c.station_id, c.name): c.profile_id for c in plan.changes if c.action is Action.SET}
    out: dict[str, dict[int, tuple[int, Json]]] = {station_id: {} for station_id in STATIONS}
    for item in desired.placed() if desired else []:
        profile = item.profile
        expiry = profile.expires_at()
        if profile.is_session_cap or (expiry is not None and expiry <= NOW):
            continue
        record = recorded.record(item.station_id, item.name) if recorded else None
        profile_id = sent.get((item.station_id, item.name))
        if profile_id is None:
            assert record is not None, f"{item.name} is neither sent nor recorded"
            assert record.status not in RETIRED, f"{item.name} is neither sent nor installed"
            profile_id = record.charging_profile_id
        if profile.charging_profile_id is not None:
            assert profile_id == profile.charging_profile_id, f"{item.name} is not under its pinned id"
        out[item.station_id][profile_id] = (profile.connector_id, charging_profile(profile, profile_id))
    return out


def _check_convergence(scenario: Scenario, site_dir: Path) -> None:
    desired, recorded, plan, chargers = _final(scenario, site_dir)
    for charger in chargers.values():
        charger.purge_expired(NOW)
    for change in plan.changes:
        answer = _send(chargers[change.station_id], change)
        assert answer is None or answer.accepted, f"{change.station_id}/{change.name}: {answer}"
    held = {
        station_id: {pid: (p.connector_id, p.profile) for pid, p in charger.installed.items()}
        for station_id, charger in chargers.items()
    }
    assert held == _expected(desired, recorded, plan)


@LAWS
@given(scenario=_scenarios())
@_with_regressions
def test_replaying_a_plan_leaves_every_charger_holding_exactly_what_is_desired(
    scenario: Scenario, site_dir: Path
) -> None:
    """After the plan's calls, in order, each charger holds the live desired profiles and nothing else."""
    _check_convergence(scenario, site_dir)


def _standing(connector_id: int, stack_level: int) -> Json:
    return {
        "connectorId": connector_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        },
    }


def test_a_plan_swapping_profiles_on_a_full_charger_is_not_refused(site_dir: Path) -> None:
    """Replacing one of two profiles by a new one on a charger that holds two gets no set refused."""
    ocpp = {"MaxChargingProfilesInstalled": 2}

    def site(**profiles: Json) -> Json:
        station = {"connectors": 2, "rated_power_kw": 22, "ocpp": ocpp, "profiles": profiles}
        return {"site": {"name": "Depot"}, "stations": {"CS-1": station}}

    full = site(p0=_standing(1, 11), p1=_standing(2, 11))
    swapped = site(p0=_standing(1, 11), p2=_standing(2, 12))
    _check_convergence(Scenario({"CS-1": 2, "CS-2": 2}, ((full, ()),), swapped, ocpp), site_dir)


@LAWS
@given(scenario=_scenarios())
@_with_regressions
def test_a_plan_folded_into_recorded_state_leaves_nothing_to_do(scenario: Scenario, site_dir: Path) -> None:
    """With every call of a plan accepted and its notes applied, the next plan is empty."""
    desired, recorded, plan, _ = _final(scenario, site_dir)
    applied = assume_applied(recorded or RecordedState.new(SITE), plan, NOW)
    again = build(SITE, desired, applied, NOW)
    assert again.changes == ()
    assert [n for n in again.notes if n.retire is not None] == []
    assert not again.has_changes


def _check_one_call_per_profile(plan: SitePlan, desired: DesiredSite | None) -> None:
    by_id: dict[tuple[str, int], list[Change]] = {}
    by_name: dict[tuple[str, str], list[Change]] = {}
    for change in plan.changes:
        by_id.setdefault((change.station_id, change.profile_id), []).append(change)
        by_name.setdefault((change.station_id, change.name), []).append(change)
    assert all(len(calls) == 1 for calls in by_id.values()), by_id
    pins = {
        (p.station_id, p.name): p.profile.charging_profile_id for p in (desired.placed() if desired else [])
    }
    for key, calls in by_name.items():
        if len(calls) == 1:
            continue
        actions = sorted(c.action for c in calls)
        assert actions == [Action.CLEAR, Action.SET], f"{key}: {[(c.action, c.profile_id) for c in calls]}"
        new = next(c for c in calls if c.action is Action.SET)
        old = next(c for c in calls if c.action is Action.CLEAR)
        assert pins.get(key) == new.profile_id != old.profile_id, f"{key}: only a changed pin makes two calls"


@LAWS
@given(scenario=_scenarios())
@_with_regressions
def test_a_plan_holds_one_call_per_profile(scenario: Scenario, site_dir: Path) -> None:
    """No plan calls one id twice on a station, nor one name twice unless its pinned id changed."""
    desired, _, plan, _ = _final(scenario, site_dir)
    _check_one_call_per_profile(plan, desired)
