"""Runs of changes alike but for their station (a template changed on many stations): sent together by
the plan, one step in the text plan, one fold in the comment, one block of power lines, every station
listed and nothing merged that a reader would see differ."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reconciler.desired.loader import load_site
from reconciler.desired.validate import DesiredSite
from reconciler.edrv import wire
from reconciler.plan.change import Action, Change, Effect, alike_together
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import SitePlan, build
from reconciler.render.markdown import render_markdown
from reconciler.render.names import LISTED_STATIONS, listed
from reconciler.render.text import render_text, runs
from reconciler.state.recorded import RecordedState

from .conftest import NOW
from .test_plan import _profile

GENERATED_AT = "2026-11-23T12:00:00Z"


def _site(tmp_path: Path, limits: dict[str, float], stations: dict[str, str]) -> DesiredSite:
    """A site whose templates (daily TxDefaultProfiles at the given limits in A, the first on connector 1,
    the next on 2) are on every station; `stations` maps each station id to the rest of its YAML mapping
    (rating, overrides)."""
    text = "site: {name: Depot}\ntemplates:\n"
    for connector, (name, limit) in enumerate(limits.items(), 1):
        # A station's profile as the plan tests write it, its fields moved under the template's `profile:`.
        fields = _profile(name, 20, limit, connector).split("\n", 1)[1]
        text += f"  {name}:\n    profile:\n" + textwrap.indent(textwrap.dedent(fields), "      ")
    text += "stations:\n"
    text += "".join(f"  {station_id}: {{connectors: 2, {rest}}}\n" for station_id, rest in stations.items())
    path = tmp_path / "depot.yaml"
    path.write_text(text)
    site, problems = load_site(path, NOW)
    assert site is not None, problems
    return site


def _changed(
    tmp_path: Path,
    stations: dict[str, str],
    before: dict[str, float] | None = None,
    after: dict[str, float] | None = None,
    stations_after: dict[str, str] | None = None,
) -> SitePlan:
    """The plan from `before` to `after` (by default template `default` lowered from 16 A to 14 A on
    every station), the first recorded as applied."""
    first = build("depot", _site(tmp_path, before or {"default": 16}, stations), None, NOW)
    recorded = assume_applied(RecordedState.new("depot"), first, NOW)
    desired = _site(tmp_path, after or {"default": 14}, stations_after or stations)
    return build("depot", desired, recorded, NOW)


ALIKE = {f"CS-{n}": "rated_power_kw: 22" for n in range(1, 4)}
LOWERED = "chargingSchedule.chargingSchedulePeriod[0].limit (00:00): 16 → 14"


def test_a_template_changed_on_three_stations_is_one_numbered_step(tmp_path: Path) -> None:
    """Three changes alike but for their station read as step 1-3, the difference once, each station named."""
    text = render_text([_changed(tmp_path, ALIKE)])
    assert "1-3. set   default on 3 stations  id 1  connector 1  (changed; raises no limit)" in text
    assert text.count(LOWERED) == 1
    assert f"         {LOWERED}\n         on CS-1, CS-2, CS-3\n" in text
    assert "3 to set, 0 to clear" in text


def test_a_station_whose_change_differs_is_a_step_of_its_own(tmp_path: Path) -> None:
    """A station whose change differs (here its stack level too) is a step of its own after the run."""
    moved = {**ALIKE, "CS-2": "rated_power_kw: 22, overrides: {default: {stackLevel: 21}}"}
    plan = _changed(tmp_path, ALIKE, stations_after=moved)
    assert [[c.station_id for c in run.changes] for run in runs(plan)] == [["CS-1", "CS-3"], ["CS-2"]]
    text = render_text([plan])
    assert "1-2. set   default on 2 stations" in text
    assert "   3. set   CS-2/default  id 1  connector 1  (changed; raises no limit)" in text


def test_two_templates_changed_read_as_a_run_each_and_a_raise_after_them(tmp_path: Path) -> None:
    """Two templates lowered on three stations read as a run each (the plan sends alike changes together,
    see the case `power-safe-order-alike-together`), and the one station where a template rises is a step
    of its own after them."""
    raised = {
        **ALIKE,
        "CS-3": "rated_power_kw: 22, overrides: {b: {chargingSchedule: {chargingSchedulePeriod: "
        "[{startPeriod: 0, limit: 20}]}}}",
    }
    plan = _changed(tmp_path, ALIKE, {"a": 16, "b": 16}, {"a": 14, "b": 14}, raised)
    text = render_text([plan])
    assert [run.numbers for run in runs(plan)] == ["1-3", "4-5", "6"]
    assert "1-3. set   a on 3 stations" in text
    assert "4-5. set   b on 2 stations" in text
    assert "   6. set   CS-3/b  id 2  connector 2  (changed; raises a limit)" in text


def test_runs_hold_every_change_once_in_the_order_they_are_sent(tmp_path: Path) -> None:
    """Joined into runs, the changes are still all there, each once, in the plan's order."""
    stations = {**ALIKE, "CS-4": "rated_power_kw: 22", "CS-5": "rated_power_kw: 22"}
    moved = {**stations, "CS-2": "rated_power_kw: 22, overrides: {default: {stackLevel: 21}}"}
    plan = _changed(tmp_path, stations, {"default": 16, "other": 16}, {"default": 14, "other": 10}, moved)
    found = runs(plan)
    assert [change for run in found for change in run.changes] == list(plan.changes)
    assert len(found) < len(plan.changes)


def test_new_profiles_join_only_when_their_whole_payloads_are_equal(tmp_path: Path) -> None:
    """New profiles are shown whole in the comment, so a station whose payload differs is not joined to
    the others."""
    moved = {**ALIKE, "CS-2": "rated_power_kw: 22, overrides: {default: {stackLevel: 21}}"}
    plan = build("depot", _site(tmp_path, {"default": 16}, moved), None, NOW)
    assert [len(run.changes) for run in runs(plan)] == [2, 1]
    plan = build("depot", _site(tmp_path, {"default": 16}, ALIKE), None, NOW)
    assert [len(run.changes) for run in runs(plan)] == [3]


def test_the_comment_folds_a_run_once_and_names_its_stations(tmp_path: Path) -> None:
    """The Markdown comment has one fold for the run, its summary counting the stations and its body
    naming each."""
    markdown = render_markdown([_changed(tmp_path, ALIKE)], GENERATED_AT)
    assert markdown.count("<details><summary>") == 1
    assert "1-3. <b>set</b> <code>default</code> on 3 stations, id 1, connector 1" in markdown
    assert "each of these stations: <code>CS-1</code>, <code>CS-2</code>, <code>CS-3</code>" in markdown


def test_a_cut_comment_counts_a_run_as_all_its_changes(tmp_path: Path) -> None:
    """Cut to fit, the note counts a left-out run as every change in it, not as one."""
    plan = _changed(tmp_path, ALIKE)
    whole = render_markdown([plan], GENERATED_AT)
    cut = render_markdown([plan], GENERATED_AT, max_chars=whole.index("<details>") + 400)
    assert "3 of 3 change(s)" in cut


def test_stations_with_the_same_power_lines_share_one_block(tmp_path: Path) -> None:
    """In the power lines, alike stations share one block that names them even when a station rated
    otherwise stands between them, and that one keeps its own; the comment's table shares a row among
    stations with the same totals."""
    stations = {"CS-1": "rated_power_kw: 22", "CS-2": "rated_power_kw: 50", "CS-3": "rated_power_kw: 22"}
    text = render_text([_changed(tmp_path, stations)])
    assert "     2 stations (rated 22 kW): CS-1, CS-3\n       before " in text
    assert "     CS-2 (rated 50 kW)\n       before " in text
    assert text.count("       before ") == 2
    markdown = render_markdown([_changed(tmp_path, stations)], GENERATED_AT)
    row = "| <code>CS-1</code>, <code>CS-2</code>, <code>CS-3</code> | no limit | no limit |"
    assert row in markdown


@given(
    names=st.lists(st.text(alphabet="abcXYZ-09()", min_size=1, max_size=30), min_size=1, max_size=40),
    width=st.integers(20, 120),
)
def test_a_list_keeps_every_name_in_order_within_its_width(names: list[str], width: int) -> None:
    """Listed on lines, the names are all there in order, and no line is longer than the width unless one
    name alone makes it so."""
    lines = listed(names, "on ", "   ", width)
    assert ", ".join(names) == " ".join(line.strip() for line in lines).removeprefix("on ")
    for line in lines:
        assert len(line) <= width or ", " not in line.strip().removeprefix("on ")


def test_the_comment_names_a_few_dozen_stations_of_a_run_and_counts_the_rest(tmp_path: Path) -> None:
    """A template changed on ten stations more than the comment lists is one fold naming all but the last
    of those it lists and counting the rest, and so is its power row; the text plan names every one."""
    count = LISTED_STATIONS + 10
    stations = {f"CS-{n:03}": "rated_power_kw: 22" for n in range(count)}
    plan = _changed(tmp_path, stations)
    markdown = render_markdown([plan], GENERATED_AT)
    last, more = f"<code>CS-{LISTED_STATIONS - 2:03}</code>", count - LISTED_STATIONS + 1
    assert f"{last}, and {more} more\n" in markdown
    assert f"{last}, and {more} more | no limit | no limit |" in markdown
    assert f"<code>CS-{LISTED_STATIONS - 1:03}</code>" not in markdown
    assert f"CS-{count - 1:03}" in render_text([plan])


@st.composite
def _sent_in_order(draw: st.DrawFn) -> list[Change]:
    """Changes as a plan sorts them before joining alike ones: by effect, station, connector and name; a few
    stations, names, effects and limits, so that some are alike and most are not."""
    changes = []
    for station_id in ("CS-1", "CS-2", "CS-3", "CS-4"):
        for name in draw(st.sets(st.sampled_from("abcd"))):
            limit = draw(st.sampled_from((10, 16)))
            after = {"chargingProfileId": 1, "stackLevel": 20, "limit": limit}
            request = wire.set_charging_profile(station_id, 1, after)
            effect = draw(st.sampled_from(Effect))
            changes.append(
                Change("s", station_id, name, Action.SET, 1, 1, "new", effect, request, None, after)
            )
    return sorted(changes, key=lambda c: (c.effect, c.station_id, c.connector_id, c.name))


@given(changes=_sent_in_order())
def test_joining_alike_changes_keeps_every_change_and_the_power_safe_phases(changes: list[Change]) -> None:
    """Alike changes end up next to each other, in their own order, every change once, every lowering change
    still before any mixed one before any raise, and joining again changes nothing."""
    joined = alike_together(changes)
    assert sorted(map(id, joined)) == sorted(map(id, changes))
    assert [c.effect for c in joined] == sorted(c.effect for c in changes)
    seen: list[object] = []
    for change in joined:
        if not seen or seen[-1] != change.likeness():
            assert change.likeness() not in seen, "an alike change stands apart from the others"
            seen.append(change.likeness())
    for likeness in seen:
        assert [c for c in joined if c.likeness() == likeness] == [
            c for c in changes if c.likeness() == likeness
        ]
    assert alike_together(joined) == joined
