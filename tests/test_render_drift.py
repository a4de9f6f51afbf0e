"""Drift for people: stations that say the same are one entry naming each of them, the job summary's table
shows names literally, names at most a few dozen per row and stops short of a job summary's size."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from reconciler.desired.loader import load
from reconciler.ocpp.drift import Comparison, Difference, Verdict
from reconciler.plan.drift import ConnectorResult, SiteDrift, StationResult, Target, targets
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import build
from reconciler.render import drift as view
from reconciler.render.names import LISTED_STATIONS
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW

SITE = "harbour-depot"


def _target() -> Target:
    (desired,) = load([DESIRED / f"{SITE}.yaml"], NOW).sites
    recorded = assume_applied(RecordedState.new(SITE), build(SITE, desired, None, NOW), NOW)
    return targets(desired, recorded)[0]


def _bay(target: Target, station_id: str, description: str | None, hours: int = 1) -> StationResult:
    """`station_id` reporting no limit on connector 0 for `hours` where the recorded limit was 11 kW."""
    difference = Difference(NOW, NOW + timedelta(hours=hours), expected_w=target.rated_w / 2, reported_w=None)
    connector = ConnectorResult(0, Verdict.ALLOWS_MORE, Comparison(Verdict.ALLOWS_MORE, (difference,)))
    bay = dataclasses.replace(target, station_id=station_id, description=description)
    return StationResult(bay, NOW, (connector,))


def _unreachable(target: Target, station_id: str) -> StationResult:
    connector = ConnectorResult(0, Verdict.UNREACHABLE, reason="no answer within 60 s")
    station = dataclasses.replace(target, station_id=station_id, description=None)
    return StationResult(station, NOW, (connector,))


def test_stations_saying_the_same_are_one_entry_naming_each_once() -> None:
    """Thirty bays drifted alike are one entry listing all thirty, in text and in the summary's table,
    and a station saying something else keeps an entry of its own."""
    target = _target()
    bays = [_bay(target, f"CS-{n:02d}", f"Bay {n}") for n in range(30)]
    site = SiteDrift(SITE, (*bays, _unreachable(target, "CS-99")), clock=target.clock)
    text = view.render_text([site])
    assert text.count("30 stations: allows MORE than recorded from ") == 1
    assert all(text.count(f"CS-{n:02d} (Bay {n})") == 1 for n in range(30))
    assert text.count("reports no limit") == 1, "the shared difference is said once"
    assert "  CS-99: unreachable\n    no answer within 60 s\n" in text
    assert len(text.splitlines()) < 15
    table = [line for line in view.render_markdown([site]).splitlines() if line.startswith(f"| {SITE}")]
    assert len(table) == 2
    assert "30 stations: CS-00 (Bay 0), CS-01 (Bay 1)" in table[0]
    assert all(f"CS-{n:02d} (Bay {n})" in table[0] for n in range(30))


def test_a_row_names_at_most_fifty_stations_and_counts_the_rest() -> None:
    """A row of 120 alike bays names 49 of them and how many more; the text still names every one."""
    target = _target()
    site = SiteDrift(SITE, tuple(_bay(target, f"CS-{n:03d}", None) for n in range(120)), clock=target.clock)
    (row,) = [line for line in view.render_markdown([site]).splitlines() if line.startswith(f"| {SITE}")]
    assert len(re.findall(r"CS-\d{3}", row)) == LISTED_STATIONS - 1
    assert f"and {120 - LISTED_STATIONS + 1} more" in row
    assert len(re.findall(r"CS-\d{3}", view.render_text([site]))) == 120


def test_the_summary_stops_short_of_its_size_and_counts_every_station_left_out() -> None:
    """Three thousand stations each drifted differently fill the table only up to `max_chars`; the note
    after it counts exactly the stations whose rows were left out."""
    target = _target()
    stations = tuple(_bay(target, f"CS-{n:04d}", None, hours=1 + n) for n in range(3000))
    site = SiteDrift(SITE, stations, clock=target.clock)
    markdown = view.render_markdown([site], max_chars=20_000)
    rows = [line for line in markdown.splitlines() if line.startswith(f"| {SITE}")]
    left = re.search(r"(\d+) more station\(s\) not in sync are left out", markdown)
    assert left is not None
    assert len(markdown) <= 20_000 + 200
    assert len(rows) + int(left.group(1)) == 3000
    assert len(view.render_markdown([site])) > 200_000, "the default leaves room for far more rows"


def test_names_in_the_summary_table_show_literally() -> None:
    """A description holding Markdown or a table's bar cannot add a column or format anything."""
    target = _target()
    site = SiteDrift(SITE, (_bay(target, "CS-1", "Bay | *one* <b>"),), clock=target.clock)
    (row,) = [line for line in view.render_markdown([site]).splitlines() if line.startswith(f"| {SITE}")]
    assert row.count("|") == 6
    assert "Bay &#124; &#42;one&#42; &lt;b&gt;" in row
