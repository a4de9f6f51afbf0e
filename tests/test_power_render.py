"""The power view in the text, Markdown and JSON plans, on a site worked out by hand.

Site `depot` at 230 V, planned on Monday 2026-11-23 at 12:00 UTC from nothing recorded: CS-1 (rated
22 kW) gets a station cap of 11 kW by night and 7 kW from 08:00 to 20:00 UTC; CS-2 (rated 22 kW) has
no profile and counts at its rating in the site's sum, so the site goes from 44 kW to 29 kW by day and
33 kW by night.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired.loader import load_site
from reconciler.plan import power
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import SitePlan, build
from reconciler.render.markdown import render_markdown
from reconciler.render.svg import plan_charts
from reconciler.render.text import render_json, render_text
from reconciler.state.recorded import RecordedState

from .conftest import NOW

CAP = """      station-cap:
        connectorId: 0
        stackLevel: 20
        chargingProfilePurpose: ChargePointMaxProfile
        chargingProfileKind: Recurring
        recurrencyKind: {recurrency}
        chargingSchedule:
          startSchedule: 2026-01-05T00:00:00Z
          duration: {duration}
          chargingRateUnit: W
          chargingSchedulePeriod:
            - {{startPeriod: 0, limit: 11000}}
            - {{startPeriod: 28800, limit: 7000}}
            - {{startPeriod: 72000, limit: 11000}}
"""
DAILY = CAP.format(recurrency="Daily", duration=86400)
WEEKLY = CAP.format(recurrency="Weekly", duration=604800)


def _plan(
    tmp_path: Path,
    cap: str = DAILY,
    recorded: RecordedState | None = None,
    grid_limit_kw: int | None = None,
    cs2_rated_kw: str = "22",
) -> SitePlan:
    grid = "" if grid_limit_kw is None else f"  grid_limit_kw: {grid_limit_kw}\n"
    text = (
        f"site:\n  name: Depot\n{grid}stations:\n"
        f"  CS-1:\n    connectors: 2\n    rated_power_kw: 22\n    profiles:\n{cap}"
        f"  CS-2:\n    connectors: 2\n    rated_power_kw: {cs2_rated_kw}\n"
    )
    path = tmp_path / "depot.yaml"
    path.write_text(text)
    site, problems = load_site(path, NOW)
    assert site is not None, problems
    return build("depot", site, recorded, NOW)


def test_text_shows_each_touched_station_before_and_after(tmp_path: Path) -> None:
    """The text plan charts CS-1's total before (no limit) and after (7 kW by day, 11 kW by night) on
    the station's own scale, lists where the limit changes, names the day at midnight on the axis, and
    leaves out CS-2, which nothing is sent to."""
    out = render_text([_plan(tmp_path)])
    lines = out.splitlines()
    start = lines.index(
        "   Power: station totals in kW at 230 V, 24 h from Mon 2026-11-23 12:00 "
        "(UTC; ░ no limit, █ the station's highest limit shown):"
    )
    assert lines[start + 1 : start + 5] == [
        "     CS-1 (rated 22 kW, █ 11 kW)",
        "       before " + "░" * 48 + "  12:00 no limit",
        "       after  " + "▅" * 16 + "█" * 24 + "▅" * 8 + "  12:00 7 kW, 20:00 11 kW, 08:00 7 kW",
        "              12:00       18:00       Tue 24      06:00",
    ]
    assert "CS-2" not in out


def test_text_names_weekdays_over_a_week(tmp_path: Path) -> None:
    """With a Weekly profile the view spans 7 days: 7 kW until Monday 20:00, 11 kW until the next
    Monday's 08:00, each moment with its weekday and day of the month."""
    out = render_text([_plan(tmp_path, WEEKLY)])
    assert "7 days from Mon 2026-11-23 12:00" in out
    assert "Mon 23 12:00 7 kW, Mon 23 20:00 11 kW, Mon 30 08:00 7 kW" in out


def _mermaid(out: str) -> list[str]:
    start = out.index("```mermaid\n")
    return out[start : out.index("```\n", start + 3) + 4].splitlines()[1:]


def test_markdown_draws_the_sites_combined_limit_as_a_mermaid_chart(tmp_path: Path) -> None:
    """The comment holds an xychart-beta chart of 96 quarter hours: 44 kW before as bars; after as a line,
    29 kW until 20:00, 33 kW until 08:00, then 29 kW; a label every two hours, the day at midnight; the y
    axis a tenth above the top; and a table of CS-1's totals."""
    out = render_markdown([_plan(tmp_path)], "2026-11-23T12:00:00Z")
    lines = _mermaid(out)
    assert lines[0].startswith('%%{init: {"xyChart": {"width": 900')
    assert '"plotColorPalette": "#56B4E9, #D55E00"' in lines[0]
    assert lines[1:3] == ["xychart-beta", '  title "depot: combined limit, kW"']
    labels = json.loads(lines[3].removeprefix("  x-axis "))
    assert len(labels) == len(set(labels)) == 96, "every category is its own, or Mermaid merges them"
    shown = [label.strip("\u200b\u200c") for label in labels]
    assert [(i, text) for i, text in enumerate(shown) if text] == [
        (8 * i, text)
        for i, text in enumerate(
            [
                "12:00",
                "14:00",
                "16:00",
                "18:00",
                "20:00",
                "22:00",
                "Tue 24",
                "02:00",
                "04:00",
                "06:00",
                "08:00",
                "10:00",
            ]
        )
    ]
    assert lines[4:] == [
        '  y-axis "kW" 0 --> 49',
        "  bar [" + ", ".join(["44"] * 96) + "]",
        "  line [" + ", ".join(["29"] * 32 + ["33"] * 48 + ["29"] * 16) + "]",
        "```",
    ]
    assert "Blue bars: before the plan (44 kW); orange line: after it (29–33 kW)." in out
    assert "| <code>CS-1</code> | no limit | 7–11 kW |" in out


def test_markdown_draws_the_grid_limit_when_the_site_declares_one(tmp_path: Path) -> None:
    """A site with a grid limit gets it as a third series, a flat black line, and the caption says so."""
    out = render_markdown([_plan(tmp_path, grid_limit_kw=40)], "2026-11-23T12:00:00Z")
    lines = _mermaid(out)
    assert '"plotColorPalette": "#56B4E9, #D55E00, #000000"' in lines[0]
    assert lines[-2] == "  line [" + ", ".join(["40"] * 96) + "]"
    assert "black line: the grid limit, 40 kW." in out


def test_markdown_drops_the_chart_whole_when_the_comment_must_be_cut(tmp_path: Path) -> None:
    """Cut just short of its full length, the comment loses the power block whole, never half a chart."""
    plans = [_plan(tmp_path)]
    full = render_markdown(plans, "2026-11-23T12:00:00Z")
    cut = render_markdown(plans, "2026-11-23T12:00:00Z", max_chars=len(full) - 1)
    assert len(cut) < len(full)
    assert "```mermaid" not in cut
    assert "xychart-beta" not in cut
    assert "<b>set</b>" in cut


def test_json_adds_the_view_per_site(tmp_path: Path) -> None:
    """The JSON plan carries, per site, CS-1's periods before and after and the site's sum, in W."""
    document = json.loads(render_json([_plan(tmp_path)], "2026-11-23T12:00:00Z"))
    view = document["sites"][0]["power"]
    assert (view["start"], view["end"], view["unit"], view["voltage_v"]) == (
        "2026-11-23T12:00:00Z",
        "2026-11-24T12:00:00Z",
        "W",
        230,
    )
    (station,) = view["stations"]
    assert station["station"] == "CS-1"
    assert station["before"] == [
        {"start": "2026-11-23T12:00:00Z", "end": "2026-11-24T12:00:00Z", "limit": None}
    ]
    assert [p["limit"] for p in station["after"]] == [7000, 11000, 7000]
    assert [p["limit"] for p in view["site"]["after"]] == [29000, 33000, 29000]
    assert view["site"]["before"][0]["limit"] == 44000


def test_a_no_op_plan_computes_no_composite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning what is recorded already rates nothing and has no power view: no composite is computed."""
    first = _plan(tmp_path)
    recorded = assume_applied(RecordedState.new("depot"), first, NOW)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a composite was computed")

    monkeypatch.setattr(power, "composite_schedules", refuse)
    again = _plan(tmp_path, recorded=recorded)
    assert (again.changes, again.power) == ((), None)
    assert "Power:" not in render_text([again])
    assert json.loads(render_json([again], "2026-11-23T12:00:00Z"))["sites"][0]["power"] is None


def test_a_quote_in_the_site_id_cannot_end_the_charts_title(tmp_path: Path) -> None:
    """Mermaid strings have no escape for a double quote, so one in a site id is shown as a single quote."""
    quoted = dataclasses.replace(_plan(tmp_path), site_id='de"pot')
    out = render_markdown([quoted], "2026-11-23T12:00:00Z")
    assert '  title "de\'pot: combined limit, kW"\n' in out


def test_json_writes_each_limit_as_its_own_decimal_is_written(tmp_path: Path) -> None:
    """A site sum equal to a station's limit but written with a decimal place (a rating of 4.0 kW in it)
    stays a float in JSON beside the station's integer: equal limits are not written alike."""
    written = render_json([_plan(tmp_path, cs2_rated_kw="4.0")], "2026-11-23T12:00:00Z")
    view = json.loads(written)["sites"][0]["power"]
    station_limits = [p["limit"] for p in view["stations"][0]["after"]]
    site_limits = [p["limit"] for p in view["site"]["after"]]
    assert station_limits == [7000, 11000, 7000]
    assert [type(limit) for limit in station_limits] == [int, int, int]
    assert site_limits == [11000.0, 15000.0, 11000.0]
    assert [type(limit) for limit in site_limits] == [float, float, float]


def test_a_rendered_plan_leaves_no_reference_cycle(tmp_path: Path) -> None:
    """A plan rendered in every format (its power view and site sum worked out, its charts drawn) leaves
    no garbage cycle: the CLI renders with the collector paused and freezes what is left after, where a
    cycle would stay for the life of the process."""
    gc.collect()
    gc.disable()
    try:
        plan = _plan(tmp_path, grid_limit_kw=40)
        render_text([plan])
        render_json([plan], "2026-11-23T12:00:00Z")
        render_markdown([plan], "2026-11-23T12:00:00Z")
        plan_charts(plan)
        assert plan.power is not None
        assert plan.power.view.combined_after  # the site sum was worked out
        del plan
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0
