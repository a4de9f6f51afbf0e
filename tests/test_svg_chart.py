"""The plan's SVG charts: what they hold, read as XML, and what a real browser draws of them (headless
Chromium from the Debian packages: the geometry of labels and lines, and the colours of the pixels)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired.clock import SiteClock
from reconciler.desired.loader import load_site, zone
from reconciler.plan.site import SitePlan, build
from reconciler.render import timeaxis
from reconciler.render.svg import AFTER, BEFORE, Chart, file_stem, plan_charts, render
from reconciler.render.timeaxis import ticks
from reconciler.shell.reconcile import plan_sites

from .conftest import DESIRED, NOW, run_cli

SVG = "{http://www.w3.org/2000/svg}"
BERLIN = SiteClock("Europe/Berlin", zone("Europe/Berlin") or UTC)
SITE = """
site: {{name: Depot, timezone: Europe/Berlin, grid_limit_kw: 40}}
stations:
  {station!r}:
    description: {description!r}
    connectors: 2
    rated_power_kw: 22
    profiles:
      cap:
        connectorId: 0
        stackLevel: 20
        chargingProfilePurpose: ChargePointMaxProfile
        chargingProfileKind: Recurring
        recurrencyKind: Daily
        chargingSchedule:
          startSchedule: 2026-01-05T00:00:00Z
          chargingRateUnit: W
          chargingSchedulePeriod:
            - {{startPeriod: 0, limit: 11000}}
            - {{startPeriod: 28800, limit: 7000}}
            - {{startPeriod: 72000, limit: 11000}}
"""


def _plan(tmp_path: Path, station: str = "CS-1", description: str = "Bay 1") -> SitePlan:
    path = tmp_path / "depot.yaml"
    path.write_text(SITE.format(station=station, description=description))
    site, problems = load_site(path, NOW)
    assert site is not None, problems
    return build("depot", site, None, NOW)


def test_a_plan_draws_its_site_and_each_station_it_sends_to(tmp_path: Path) -> None:
    """One image for the site's combined limit and one per touched station, each with a before and an
    after step line, the grid limit on the site's, a legend, and labels on the site's wall clock."""
    charts = plan_charts(_plan(tmp_path))
    assert sorted(charts) == ["depot.svg", "depot/CS-1.svg"]
    site = ET.fromstring(charts["depot.svg"])
    station = ET.fromstring(charts["depot/CS-1.svg"])
    for image in (site, station):
        classes = {element.get("class") for element in image.iter()}
        assert {"before", "after", "legend-before", "legend-after", "x-label"} <= classes
    assert site.find(f".//{SVG}line[@class='grid-limit']") is not None
    assert station.find(f".//{SVG}line[@class='grid-limit']") is None
    labels = [t.text for t in site.iter(f"{SVG}text") if t.get("class") == "x-label"]
    # 12:00 UTC is 13:00 in Berlin in November: the labels are Berlin's hours, the day at midnight.
    assert labels[:7] == ["14:00", "16:00", "18:00", "20:00", "22:00", "Tue 24", "02:00"]
    assert "Europe/Berlin, CET (UTC+01:00)" in charts["depot.svg"]


def test_steps_are_drawn_as_steps(tmp_path: Path) -> None:
    """The after line of CS-1 is level runs joined by vertical rises and falls, never a slope: 7 kW at
    08:00 UTC, 11 kW at 20:00 UTC, once a day."""
    svg = plan_charts(_plan(tmp_path))["depot/CS-1.svg"]
    path = ET.fromstring(svg).find(f".//{SVG}path[@class='after']")
    assert path is not None
    d = path.get("d", "")
    assert re.fullmatch(r"M[\d.]+,[\d.]+(H[\d.]+V[\d.]+)+H[\d.]+", d), d
    levels = [float(v) for v in re.findall(r"V([\d.]+)", d)]
    assert len(levels) == 2  # 20:00 up, 08:00 down, within the next 24 hours
    assert levels[0] < levels[1], "11 kW is drawn higher (a smaller y) than 7 kW"


def test_a_line_charts_share_is_drawn_as_each_draws_it_alone() -> None:
    """Charts drawn together share each line drawn before for the same steps, window and scale, and only
    then: each is what it is drawn alone, whether its scale (a rated power), its window or its steps
    differ from the charts before it or not."""
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    steps = [
        (start, Decimal(7000)),
        (start + timedelta(hours=8), Decimal(11000)),
        (start + timedelta(hours=9), None),
    ]
    other = [(start, Decimal(7000)), (start + timedelta(hours=9), Decimal(11000))]
    clock = SiteClock("UTC", UTC)
    day, two_days = start + timedelta(days=1), start + timedelta(days=2)
    charts = [
        Chart("CS-1", (), start, day, steps, steps, clock, no_limit_w=Decimal(22000)),
        Chart("CS-2", (), start, day, steps, steps, clock, no_limit_w=Decimal(22000)),
        Chart("CS-3", (), start, day, steps, steps, clock, no_limit_w=Decimal(50000)),
        Chart("CS-4", (), start, two_days, steps, steps, clock, no_limit_w=Decimal(22000)),
        Chart("CS-5", (), start, day, other, steps, clock, no_limit_w=Decimal(22000)),
        # The same scale (11 kW the highest), a stretch without a limit drawn at the top or at 5 kW.
        Chart("CS-6", (), start, day, steps, steps, clock),
        Chart("CS-7", (), start, day, steps, steps, clock, no_limit_w=Decimal(5000)),
    ]
    drawn: dict[Any, str] = {}
    assert [render(chart, drawn) for chart in charts] == [render(chart) for chart in charts]
    assert len(drawn) == 6, "a line is drawn once for the charts sharing it (and CS-5 has two)"


def test_text_from_desired_state_is_escaped_and_odd_ids_get_their_own_file(tmp_path: Path) -> None:
    """A station id or description holding markup stays text in a well-formed image, and an id that is no
    plain file name gets one of its own (its plain characters and a hash)."""
    odd = "CS/<1>&x"
    charts = plan_charts(_plan(tmp_path, station=odd, description="</text><script>alert(1)</script>"))
    (name,) = [n for n in charts if n != "depot.svg"]
    assert name.startswith("depot/CS__1__x-")
    image = ET.fromstring(charts[name])  # well formed
    assert "<script" not in charts[name]
    texts = ["".join(element.itertext()) for element in image.iter()]
    assert any("</text><script>alert(1)</script>" in text for text in texts), "the description, as text"
    assert any(odd in text for text in texts), "the id, as text"
    assert file_stem("CS-1") == "CS-1"
    assert file_stem("a/b") != file_stem("a_b")


def test_time_labels_skip_the_hour_the_clocks_go_forward() -> None:
    """On 28 March 2027 Berlin skips 02:00: hourly labels run 00:00, 01:00, 03:00, each at its UTC
    moment (02:00 CEST is 00:00 UTC)."""
    start, end = datetime(2027, 3, 27, 23, tzinfo=UTC), datetime(2027, 3, 28, 2, tzinfo=UTC)
    found = ticks(start, end, BERLIN, 10)
    assert [(t.label, t.moment.hour) for t in found] == [
        ("Sun 28", 23),
        ("01:00", 0),
        ("03:00", 1),
        ("04:00", 2),
    ]


def _chromium() -> str:
    """The headless browser: $RECONCILER_CHROMIUM, or Debian's chromium (or Chrome) on the PATH."""
    named = os.environ.get("RECONCILER_CHROMIUM")
    found = named or next(
        filter(
            None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))
        ),
        None,
    )
    if found is None:
        message = "no Chromium: `apt-get install -y chromium` (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # never a silent skip where the checks are meant to run in full
        pytest.skip(message)
    return found


# Runs in the page: where the browser put the chart's labels, lines and legend, and which colours it
# painted, written into the page for --dump-dom to print.
PROBE = """
const svg = document.querySelector('svg');
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const all = sel => [...svg.querySelectorAll(sel)].map(box);
const style = sel => { const s = getComputedStyle(svg.querySelector(sel));
  return {stroke: s.stroke, dash: s.strokeDasharray, width: s.strokeWidth}; };
const image = new Image();
image.onload = () => {
  const canvas = document.createElement('canvas');
  canvas.width = svg.width.baseVal.value; canvas.height = svg.height.baseVal.value;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const near = hex => { const c = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16)); let n = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const off = [0, 1, 2].reduce((sum, k) => sum + Math.abs(pixels[i + k] - c[k]), 0);
      if (off < 30) n++;
    }
    return n; };
  document.getElementById('result').textContent = JSON.stringify({
    size: [canvas.width, canvas.height],
    plot: box(svg.querySelector('rect[stroke]')),
    xLabels: all('.x-label'), legend: all('[class^=legend]'),
    before: box(svg.querySelector('path.before')), after: box(svg.querySelector('path.after')),
    grid: box(svg.querySelector('line.grid-limit')),
    beforeStyle: style('path.before'), afterStyle: style('path.after'),
    painted: {before: near('BEFORE'), after: near('AFTER')},
  });
};
image.src = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(svg.outerHTML)));
"""


# What a headless Chromium needs here (root, no GPU, a closed network): see the machine notes.
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_browser_draws_the_chart_readable(tmp_path: Path) -> None:
    """Headless Chromium draws the depot's 7-day chart with its time labels apart from one another and
    inside the image, the legend entries apart, both lines and the grid limit inside the plot, before
    and after in different colours and strokes, and both colours really painted."""
    browser = _chromium()
    (depot,) = plan_sites(DESIRED, ["harbour-depot"], NOW, tmp_path / "state")
    svg = plan_charts(depot)["harbour-depot.svg"]
    probe = PROBE.replace("'BEFORE'", f"'{BEFORE['stroke']}'").replace("'AFTER'", f"'{AFTER['stroke']}'")
    page = tmp_path / "chart.html"
    page.write_text(
        f'<html><body style="margin:0">{svg}<pre id="result"></pre><script>{probe}</script></body></html>'
    )
    done = subprocess.run(
        [
            browser,
            *HEADLESS,
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"--user-data-dir={tmp_path / 'profile'}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found is not None, done.stderr[-2000:]
    assert found.group(1), done.stderr[-2000:]
    drawn = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    width, height = drawn["size"]
    labels = drawn["xLabels"]
    assert len(labels) >= 7, "at least one label a day over a week"
    for left, right in itertools.pairwise(labels):
        assert not _overlap(left, right), f"time labels overlap: {left} {right}"
    assert all(box[0] >= 0 for box in labels)
    assert all(box[2] <= width for box in labels)
    assert all(box[2] - box[0] > 10 for box in labels), "each label drawn in a font, not empty"
    legend = drawn["legend"]
    assert len(legend) == 3  # before, after, grid limit
    assert all(not _overlap(a, b) for i, a in enumerate(legend) for b in legend[i + 1 :])
    assert all(box[2] <= width and box[3] <= height for box in legend)
    plot = drawn["plot"]
    for line in (drawn["before"], drawn["after"], drawn["grid"]):
        assert plot[0] - 3 <= line[0], line
        assert line[2] <= plot[2] + 3, line
        assert plot[1] - 3 <= line[1], line
        assert line[3] <= plot[3] + 3, line
    before, after = drawn["beforeStyle"], drawn["afterStyle"]
    assert before["stroke"] != after["stroke"]
    assert before["dash"] != "none"
    assert after["dash"] == "none"
    assert float(before["width"].removesuffix("px")) > float(after["width"].removesuffix("px"))
    assert drawn["painted"]["before"] > 500, drawn["painted"]
    assert drawn["painted"]["after"] > 500, drawn["painted"]


def test_plan_chart_writes_the_images_and_the_comment_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan --chart DIR` writes each changed site's images under DIR and says how many; the Markdown plan
    names them beside the site's Mermaid chart."""
    charts = tmp_path / "charts"
    code, out, err = run_cli(
        capsys, "plan", "edrv-examples", "--desired", str(DESIRED), "--state-dir", str(tmp_path / "state"),
        "--now", "2026-11-23T12:00:00Z", "--format", "markdown", "--chart", str(charts),
    )  # fmt: skip
    assert code == 0
    written = sorted(p.relative_to(charts).as_posix() for p in charts.rglob("*.svg"))
    assert written == ["edrv-examples.svg", "edrv-examples/64f0c1a2b3c4d5e6f7a8b9c0.svg"]
    assert f"2 chart(s) written to {charts}" in err
    assert "SVG charts: <code>edrv-examples.svg</code> (the site), 1 station total(s) in" in out


# Hypothesis bounds naive datetimes, then attaches the zone.
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2100, 1, 1)  # noqa: DTZ001


@settings(max_examples=40, deadline=None)
@given(
    start=st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC)),
    hours=st.integers(1, 24 * 14),
    name=st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe"]),
    most=st.integers(1, 20),
)
def test_time_labels_are_round_local_hours_inside_the_window(
    start: datetime, hours: int, name: str, most: int
) -> None:
    """However long the window and whatever the zone: at most `most` labels, in order, inside the window,
    each at a round hour of the site's wall clock, midnight named by its weekday and day."""
    clock = SiteClock(name, zone(name) or UTC)
    end = start + timedelta(hours=hours)
    found = ticks(start, end, clock, most)
    assert len(found) <= most
    assert all(start <= t.moment <= end for t in found)
    assert all(a.moment < b.moment for a, b in itertools.pairwise(found))
    for tick in found:
        local = clock.local(tick.moment)
        assert (local.minute, local.second) == (0, 0)
        expected = f"{local:%a} {local.day}" if local.hour == 0 else f"{local.hour:02d}:00"
        assert (tick.label, tick.day) == (expected, local.hour == 0)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC)),
    hours=st.integers(1, 24 * 400),
    name=st.sampled_from(
        ["UTC", "Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "Europe/London"]
    ),
    most=st.integers(1, 400),
)
def test_time_labels_take_the_finest_step_that_fits(
    start: datetime, hours: int, name: str, most: int
) -> None:
    """The steps `ticks` skips without listing their labels are only those that give too many: it chooses
    the step that trying every step, finest first, would."""
    clock = SiteClock(name, zone(name) or UTC)
    end = start + timedelta(hours=hours)
    tried = (timeaxis._at_step(start, end, clock, step_h) for step_h in timeaxis._STEPS_H)
    finest = next((found for found in tried if len(found) <= most), None)
    assert ticks(start, end, clock, most) == (
        finest if finest is not None else timeaxis._at_step(start, end, clock, timeaxis._STEPS_H[-1])
    )
