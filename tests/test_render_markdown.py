"""The plan as a pull-request comment: structure, send order, escaping of names, and the size limit."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.desired.loader import load_site
from reconciler.desired.validate import DesiredSite
from reconciler.plan.change import Action, Effect
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import SitePlan, build
from reconciler.render.fielddiff import field_differences
from reconciler.render.markdown import COMMENT_MARKER, DEFAULT_MAX_CHARS, render_markdown
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW
from .test_plan import _profile

GENERATED_AT = "2026-11-23T12:00:00Z"
EXPIRED = "2026-01-02T00:00:00Z"  # before NOW: such a profile is planned as a note, not a call
# Names are YAML keys, and the model takes any string: this one tries a table cell, a tag, a code span,
# a fence, a heading on a new line, closing the fold early, an entity, and a bidi override.
HOSTILE = "a|b <img src=x onerror=alert(1)> `tick` ```\n## hdr </details></summary> &amp; *em* \u202e"


def _site(tmp_path: Path, stations: dict[str, list[str]], site_id: str = "depot") -> DesiredSite:
    text = "site:\n  name: Depot\nstations:\n"
    for station_id, profiles in stations.items():
        text += f"  {json.dumps(station_id)}:\n    connectors: 2\n    rated_power_kw: 22\n    profiles:\n"
        text += "".join(profiles) if profiles else "      {}\n"
    path = tmp_path / f"{site_id}.yaml"
    path.write_text(text)
    site, problems = load_site(path, NOW)
    assert site is not None, problems
    return site


def _plan(site: DesiredSite | None, recorded: RecordedState | None, site_id: str = "depot") -> SitePlan:
    return build(site_id, site, recorded, NOW)


def _applied(plan: SitePlan) -> RecordedState:
    return assume_applied(RecordedState.new(plan.site_id), plan, NOW)


def _mixed_plan(tmp_path: Path) -> SitePlan:
    """A site with a lowered limit, a raised one, a removed profile, a new one and a replaced slot."""
    before = {"CS-1": [_profile("low", 20, 16), _profile("high", 21, 10), _profile("gone", 22, 8)]}
    before["CS-2"] = [_profile("old-slot", 20, 16)]
    recorded = _applied(_plan(_site(tmp_path, before), None))
    after = {"CS-1": [_profile("low", 20, 12), _profile("high", 21, 14), _profile("fresh", 23, 6)]}
    after["CS-2"] = [_profile("new-slot", 20, 10)]
    return _plan(_site(tmp_path, after), recorded)


def _summaries(markdown: str) -> list[str]:
    return re.findall(r"<summary>(\d+\. .*?)</summary>", markdown)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []
        self.closed: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.opened.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.closed.append(tag)


def _tags(markdown: str) -> _Tags:
    parser = _Tags()
    parser.feed(markdown)
    parser.close()
    return parser


def _assert_well_formed(markdown: str) -> None:
    """Every fold is closed, only the renderer's own tags occur, and every code fence is closed."""
    tags = _tags(markdown)
    assert set(tags.opened) <= {"details", "summary", "b", "code"}
    assert sorted(tags.opened) == sorted(tags.closed)
    fences = [line for line in markdown.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0


def test_a_small_plan_is_shown_whole_without_a_truncation_note(tmp_path: Path) -> None:
    """A plan that fits shows every change and every entry without a call, and says nothing of truncation."""
    plan = _mixed_plan(tmp_path)
    markdown = render_markdown([plan], GENERATED_AT)
    assert markdown.startswith(COMMENT_MARKER + "\n## ")
    assert "Truncated" not in markdown
    assert len(_summaries(markdown)) == len(plan.changes) == 5
    assert "<summary>1 without a call</summary>" in markdown
    assert f"**{plan.sets} to set, {plan.clears} to clear**" in markdown
    _assert_well_formed(markdown)


def test_the_summary_row_counts_calls_and_their_effects(tmp_path: Path) -> None:
    """The site's row gives its recorded serial, sets, clears, entries without a call and effect counts."""
    plan = _mixed_plan(tmp_path)
    effects = " / ".join(str(sum(c.effect is e for c in plan.changes)) for e in Effect)
    row = f"| depot | {plan.recorded_serial} | {plan.sets} | {plan.clears} | {len(plan.notes)} | {effects} |"
    assert row in render_markdown([plan], GENERATED_AT).splitlines()
    assert effects != "0 / 0 / 0"


def test_changes_are_listed_in_send_order_lowering_first(tmp_path: Path) -> None:
    """Changes appear numbered in the order the plan sends them, so lowering changes come before raises."""
    plan = _mixed_plan(tmp_path)
    summaries = _summaries(render_markdown([plan], GENERATED_AT))
    shown = [re.findall(r"<code>(.*?)</code>", s)[1] for s in summaries]
    assert shown == [c.name for c in plan.changes]
    assert [int(s.split(".")[0]) for s in summaries] == list(range(1, len(plan.changes) + 1))
    assert summaries[0].endswith("raises no limit")
    assert summaries[-1].endswith("raises a limit")


def test_a_changed_profile_folds_its_field_differences(tmp_path: Path) -> None:
    """A changed profile's fold holds its field-level differences, such as the old and new limit."""
    plan = _mixed_plan(tmp_path)
    markdown = render_markdown([plan], GENERATED_AT)
    change = next(c for c in plan.changes if c.name == "low")
    assert change.before is not None
    assert change.after is not None
    differences = field_differences(change.before, change.after)
    assert "chargingSchedule.chargingSchedulePeriod[0].limit: 16 → 12" in differences
    fold = markdown.split("<code>low</code>", 1)[1].split("</details>", 1)[0]
    # The comment adds the wall-clock time the period starts at (the site's zone is UTC).
    assert "```text\nchargingSchedule.chargingSchedulePeriod[0].limit (00:00): 16 → 12\n```" in fold


def test_a_new_profile_folds_its_payload_as_json(tmp_path: Path) -> None:
    """A new profile's fold holds the exact payload to be sent, as a JSON code block."""
    plan = _mixed_plan(tmp_path)
    markdown = render_markdown([plan], GENERATED_AT)
    change = next(c for c in plan.changes if c.name == "fresh")
    fold = markdown.split("<code>fresh</code>", 1)[1].split("</details>", 1)[0]
    block = fold.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(block) == change.after


def test_a_clear_names_its_request_and_the_profile_it_removes(tmp_path: Path) -> None:
    """A clear's fold shows the eDRV request and the recorded payload it clears."""
    plan = _mixed_plan(tmp_path)
    markdown = render_markdown([plan], GENERATED_AT)
    change = next(c for c in plan.changes if c.action is Action.CLEAR)
    fold = markdown.split(f"<code>{change.name}</code>", 1)[1].split("</details>", 1)[0]
    assert "clear&#95;charging&#95;profile</code>" in fold
    block = fold.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(block) == change.before


def test_entries_without_a_call_come_folded_after_the_changes(tmp_path: Path) -> None:
    """Notes are listed after the site's last change, inside their own fold, with reason and retirement."""
    plan = _mixed_plan(tmp_path)
    markdown = render_markdown([plan], GENERATED_AT)
    notes = markdown.split("<summary>1 without a call</summary>", 1)[1]
    assert markdown.rfind("<summary>5. ") < markdown.find("<summary>1 without a call</summary>")
    assert "<code>old-slot</code>" in notes
    assert "record retired as replaced" in notes


def test_a_plan_without_changes_says_so_for_every_site(tmp_path: Path) -> None:
    """When nothing is to be sent, the totals and each site's row say "No changes"."""
    plans = []
    for site_id in ("north", "south"):
        desired = _site(tmp_path, {"CS-1": [_profile("a", 20, 16)]}, site_id=site_id)
        plans.append(_plan(desired, _applied(_plan(desired, None, site_id)), site_id))
    markdown = render_markdown(plans, GENERATED_AT)
    assert markdown.count("**No changes**") == 1
    for plan in plans:
        assert f"| {plan.site_id} | {plan.recorded_serial} | 0 | 0 | 0 | No changes |" in markdown
    assert "<details>" not in markdown


def test_hostile_names_show_as_written_and_break_no_markup(tmp_path: Path) -> None:
    """A station and profile named with tags, pipes, backticks and line breaks are escaped, not obeyed."""
    plan = _plan(_site(tmp_path, {HOSTILE: [_profile(HOSTILE, 20, 16)]}), None)
    assert plan.changes[0].name == HOSTILE
    markdown = render_markdown([plan], GENERATED_AT)
    _assert_well_formed(markdown)
    assert "<img" not in markdown
    assert not any(line.startswith("## hdr") for line in markdown.splitlines())
    (summary,) = _summaries(markdown)
    shown = [html.unescape(code) for code in re.findall(r"<code>(.*?)</code>", summary)]
    # What a reader sees: the name as written, with the line break and the bidi override made visible.
    visible = HOSTILE.replace("\n", "\\n").replace("\u202e", "\\u202e")
    assert shown == [visible, visible]
    assert not set("|`<>\n") & set(re.sub(r"<(/?)(code|b)>", "", summary))


def test_hostile_text_cannot_close_a_code_fence() -> None:
    """A payload string holding a run of backticks gets a longer fence, so the block stays one block."""
    from reconciler.render.markdown import _fenced

    block = _fenced('"note": "````"', "json")
    fence = block.splitlines()[0].removesuffix("json")
    assert len(fence) == 5
    assert block.endswith("\n" + fence + "\n")


def _big_plan(tmp_path: Path, stations: int, per_station: int) -> SitePlan:
    # A limit of its own on each station, so that no two changes are alike and fold together.
    return _plan(
        _site(
            tmp_path,
            {
                f"CS-{i:04}": [_profile(f"p{n}", 20 + n, 6 + i / 10) for n in range(per_station)]
                for i in range(stations)
            },
        ),
        None,
    )


def test_thousands_of_changes_are_cut_to_the_limit_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan of thousands of changes stays within max_chars, keeps the table, and counts what is cut."""
    monkeypatch.setenv("RECONCILER_MAX_SITE_FILE_MB", "4")  # 3,000 profiles written out: 1.4 MB
    plan = _big_plan(tmp_path, stations=600, per_station=5)
    assert len(plan.changes) == 3000
    markdown = render_markdown([plan], GENERATED_AT)
    assert len(markdown) <= DEFAULT_MAX_CHARS
    _assert_well_formed(markdown)
    assert "| depot | none | 3000 | 0 | 0 | 3000 / 0 / 0 |" in markdown
    shown = len(_summaries(markdown))
    assert 0 < shown < 3000
    note = markdown.rsplit("> [!WARNING]", 1)[1]
    assert f"{3000 - shown} of 3000 change(s)" in note
    assert "reconciler plan --format json" in note
    assert "workflow run" in note


def test_the_comment_never_exceeds_max_chars_at_any_size(tmp_path: Path) -> None:
    """At every limit from a few hundred characters up, the comment fits and every fold it opens is closed."""
    desired = _site(tmp_path, {"CS-1": [_profile("a", 20, 16), _profile("b", 21, 10)]})
    recorded = _applied(_plan(desired, None))
    expired = [_profile(f"old-{n}", 30 + n, 8, extra=f"\n        validTo: {EXPIRED}") for n in range(6)]
    changed = _site(tmp_path, {"CS-1": [_profile("a", 20, 12), *expired], "CS-2": [_profile("c", 20, 6)]})
    # The entries without a call come last, so some limits cut through their fold.
    plans = [_big_plan(tmp_path, stations=8, per_station=3), _plan(changed, recorded)]
    assert len(plans[1].notes) == 6
    full = render_markdown(plans, GENERATED_AT, max_chars=10**9)
    for max_chars in range(900, len(full) + 50, 37):
        markdown = render_markdown(plans, GENERATED_AT, max_chars=max_chars)
        assert len(markdown) <= max_chars
        assert markdown == full or "**Truncated**" in markdown
        _assert_well_formed(markdown)


def test_a_comment_of_exactly_max_chars_is_not_cut(tmp_path: Path) -> None:
    """The limit is inclusive: a comment of exactly max_chars is whole, one character less is cut."""
    plan = _mixed_plan(tmp_path)
    full = render_markdown([plan], GENERATED_AT, max_chars=10**9)
    assert render_markdown([plan], GENERATED_AT, max_chars=len(full)) == full
    assert "**Truncated**" in render_markdown([plan], GENERATED_AT, max_chars=len(full) - 1)


def test_a_long_network_lists_only_sites_with_calls_when_the_table_is_too_long(tmp_path: Path) -> None:
    """With thousands of unchanged sites, their rows give way to one line counting them."""
    quiet = [
        SitePlan(f"site-{n:04}", (), (), 1, "lineage", recorded_count=3, desired_count=3) for n in range(3000)
    ]
    busy = _plan(_site(tmp_path, {"CS-1": [_profile("a", 20, 16)]}), None)
    markdown = render_markdown([*quiet, busy], GENERATED_AT)
    assert len(markdown) <= DEFAULT_MAX_CHARS
    assert "| depot | none | 1 | 0 | 0 | 1 / 0 / 0 |" in markdown
    assert "3000 more site(s) not listed, 3000 of them with no changes" in markdown
    assert "3000 site row(s)" in markdown


def test_a_limit_too_small_for_the_totals_is_refused(tmp_path: Path) -> None:
    """A max_chars that cannot hold heading, totals and note raises instead of returning a broken comment."""
    with pytest.raises(ValueError, match="too small"):
        render_markdown([_mixed_plan(tmp_path)], GENERATED_AT, max_chars=200)


def test_plan_format_markdown_on_the_example_network(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`reconciler plan --format markdown` prints the comment, with the usual exit codes."""
    args = ["plan", "--desired", str(DESIRED), "--state-dir", str(tmp_path), "--now", GENERATED_AT]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--format", "markdown", "--detailed-exitcode"])
    out = capsys.readouterr().out
    assert exited.value.code == 2
    assert out.startswith(COMMENT_MARKER)
    assert f"planned at {GENERATED_AT}" in out
    assert "| harbour-depot | none |" in out
