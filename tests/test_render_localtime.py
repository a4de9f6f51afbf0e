"""Every output a person reads is in the site's wall-clock time; JSON stays UTC and names the timezone.

Run through the command line on the example site `desired/lakeside-offices.yaml` (Europe/Berlin, six
described wallboxes, two local-time profiles each), planned first in November 2026 (UTC+01:00), then,
with that plan recorded as applied, again in April 2027 after the spring change (UTC+02:00).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.desired.clock import SiteClock
from reconciler.desired.loader import zone
from reconciler.plan import saved
from reconciler.plan.outcome import assume_applied
from reconciler.render import walltime
from reconciler.render.text import render_text, runs
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, run_cli

SITE = "lakeside-offices"
P1 = "6650a1c2e4b0a1d2c3e4f501"
WINTER, SPRING = "2026-11-23T12:00:00Z", "2027-04-10T09:13:00Z"


@pytest.fixture
def desired_dir(tmp_path: Path) -> Path:
    """The example site alone, with the November plan recorded as applied."""
    folder = tmp_path / "desired"
    folder.mkdir()
    shutil.copy(DESIRED / f"{SITE}.yaml", folder)
    winter = datetime.fromisoformat(WINTER)
    (plan,) = plan_sites(folder, [SITE], winter)
    path = store.state_path(folder, SITE)
    path.parent.mkdir()
    store.save(path, assume_applied(RecordedState.new(SITE), plan, winter), None)
    return folder


def test_the_first_plan_reads_in_local_time_with_stations_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The November plan names the zone and offset, each wallbox by its description, each period by its
    wall-clock start beside its seconds (17:00 in winter and in summer alike), and its power view's
    window and moments in CET."""
    folder = tmp_path / "desired"
    folder.mkdir()
    shutil.copy(DESIRED / f"{SITE}.yaml", folder)
    code, out, _ = run_cli(capsys, "plan", SITE, "--desired", str(folder), "--now", WINTER)
    assert code == 0
    assert out.startswith(
        f"Site {SITE} (nothing recorded, 0 profile(s) recorded, 24 desired; "
        "times Europe/Berlin, CET (UTC+01:00))\n"
    )
    assert (
        " 7-12. set   evening-peak@31 on 6 stations  id 2  connector 0  (prepares the summer-time "
        "(CEST, UTC+02:00) profile for 2027-03-28; raises no limit)\n"
        "         ChargePointMaxProfile stack 31, Recurring Daily: 17:00 7.4 kW (0s)\n"
        f"         on {P1} (Wallbox P1), 6650a1c2e4b0a1d2c3e4f502 (Wallbox P2),\n"
    ) in out
    assert "         ChargePointMaxProfile stack 30, Recurring Daily: 17:00 7.4 kW (0s)\n" in out
    assert "Weekly: Mon 07:00 10 A (0s), Mon 19:00 16 A (43200s), Tue 07:00 10 A (86400s)," in out
    assert (
        "   Power: station totals in kW at 230 V, 7 days from Mon 2026-11-23 13:00 (Europe/Berlin, CET" in out
    )
    assert f"     6 stations (rated 22 kW, █ 11.04 kW): {P1} (Wallbox P1),\n" in out
    assert "Mon 23 13:00 6.9 kW, Mon 23 19:00 7.4 kW, Mon 23 20:00 11.04 kW, Tue 24 07:00 6.9 kW" in out


def test_a_roll_forward_plan_explains_itself_in_local_time(
    desired_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the spring change each wallbox gets two sets: the next winter prepared on the level winter
    left, summer closed at the autumn change; each moment in a difference shows in local time too."""
    code, out, _ = run_cli(capsys, "plan", SITE, "--desired", str(desired_dir), "--now", SPRING)
    assert code == 0
    assert "times Europe/Berlin, CEST (UTC+02:00))" in out.splitlines()[0]
    assert (
        "  1-6. set   evening-peak@30 on 6 stations  id 1  connector 0  (prepares the standard-time "
        "(CET, UTC+01:00) profile for 2027-10-31; raises no limit)\n"
        '         chargingSchedule.startSchedule: "2026-10-24T16:00:00Z" (2026-10-24 18:00 CEST) → '
        '"2027-10-30T16:00:00Z" (2027-10-30 18:00 CEST)\n'
        '         validFrom: "2026-10-25T01:00:00Z" (2026-10-25 02:00 CET) → '
        '"2027-10-31T01:00:00Z" (2027-10-31 02:00 CET)\n'
        '         - validTo: "2027-03-28T01:00:00Z" (2027-03-28 03:00 CEST)\n'
    ) in out
    assert (
        " 7-12. set   evening-peak@31 on 6 stations  id 2  connector 0  (the summer-time "
        "(CEST, UTC+02:00) profile in force now ends at the change on 2027-10-31; raises no limit)\n"
        '         + validTo: "2027-10-31T01:00:00Z" (2027-10-31 02:00 CET)\n'
        f"         on {P1} (Wallbox P1), 6650a1c2e4b0a1d2c3e4f502 (Wallbox P2),\n"
    ) in out
    assert "   24 to set, 0 to clear, 0 without a call." in out


def test_json_stays_utc_and_names_the_timezone(desired_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON plan gives the site's timezone and descriptions, marks roll-forwards, and keeps every
    moment in RFC 3339 UTC."""
    code, out, _ = run_cli(
        capsys, "plan", SITE, "--desired", str(desired_dir), "--now", SPRING, "--format", "json"
    )
    assert code == 0
    (site,) = json.loads(out)["sites"]
    assert site["timezone"] == "Europe/Berlin"
    assert site["station_descriptions"][P1] == "Wallbox P1"
    assert {c["roll_forward"] for c in site["changes"]} == {True}
    assert site["power"]["start"] == SPRING
    assert site["changes"][0]["after"]["validFrom"] == "2027-10-31T01:00:00Z"


def test_payloads_json_names_the_timezone_beside_its_utc_bodies(capsys: pytest.CaptureFixture[str]) -> None:
    """`payloads --format json` gives each compiled profile's site timezone, its bodies' moments in UTC."""
    code, out, _ = run_cli(capsys, "payloads", SITE, "--format", "json", "--now", WINTER)
    assert code == 0
    first = json.loads(out)["requests"][0]
    assert (first["timezone"], first["profile"]) == ("Europe/Berlin", "evening-peak@30")
    assert first["request"]["body"]["csChargingProfiles"]["validTo"] == "2027-03-28T01:00:00Z"


def test_markdown_gives_the_zone_and_draws_the_chart_on_the_wall_clock(
    desired_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The comment says which time its times are in, names wallboxes by description, and labels the
    Mermaid chart's time axis in CEST (09:13 UTC is 11:13 in Berlin in April: the first label is noon,
    an hour on, and midnight is named by its day)."""
    code, out, _ = run_cli(
        capsys, "plan", SITE, "--desired", str(desired_dir), "--now", SPRING, "--format", "markdown"
    )
    assert code == 0
    assert "24 profile(s) desired. Times Europe/Berlin, CEST (UTC+02:00).\n" in out
    assert "<code>evening-peak@30</code> on 6 stations, id 1, connector 0:" in out
    assert f"each of these stations: <code>{P1}</code> (Wallbox P1), " in out
    assert '  x-axis ["12:00\u200b", "\u200c",' in out
    assert '"Sun 11\u200c\u200c\u200b\u200b"' in out  # category 12 (binary 1100): 00:00 CEST
    assert "7 days from Sat 2027-04-10 11:13, times Europe/Berlin, CEST (UTC+02:00)." in out


def test_a_saved_plan_shows_again_in_the_sites_time(
    desired_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan --out` keeps the site's timezone, descriptions and roll-forwards, so `apply --plan` shows
    the plan a reviewer read, in the same local time."""
    out_file = desired_dir.parent / "plan.json"
    _, shown, _ = run_cli(
        capsys, "plan", SITE, "--desired", str(desired_dir), "--now", SPRING, "--out", str(out_file)
    )
    (plan,) = saved.parse(out_file.read_text(), str(out_file), zone)
    assert plan.clock.name == "Europe/Berlin"
    assert all(c.rolls_forward for c in plan.changes)
    again = render_text([plan])

    def calls(text: str) -> list[str]:
        # The heading and each change with its reason (a saved plan carries no power view to compare).
        return [line for line in text.splitlines() if re.match(r"Site |\s*\d+(-\d+)?\. (set|clear) ", line)]

    assert calls(again) == calls(shown)
    assert len(calls(shown)) == 1 + len(runs(plan)) == 1 + 4  # four profiles, each on six wallboxes


def test_a_saved_plan_from_an_unknown_zone_is_refused(tmp_path: Path) -> None:
    """A saved plan naming a zone this machine does not know is refused rather than shown in UTC."""
    text = json.dumps(
        {
            "format_version": 1,
            "generated_at": SPRING,
            "sites": [
                {
                    "site": SITE,
                    "timezone": "Mars/Olympus_Mons",
                    "recorded_serial": None,
                    "recorded_lineage": None,
                    "recorded_profiles": 0,
                    "desired_profiles": 0,
                    "changes": [],
                    "without_call": [],
                }
            ],
        }
    )
    with pytest.raises(saved.PlanFileError, match="time zone 'Mars/Olympus_Mons' is unknown"):
        saved.parse(text, "plan.json", zone)


def test_schedule_reads_in_local_time_across_the_change_and_json_stays_utc(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Over the spring change the office hours stay 07:00-19:00 on the wall clock, each line naming CET
    or CEST; the JSON has the same periods in UTC, an hour earlier after the change, and the timezone."""
    args = ("schedule", SITE, P1, "--from", "2027-03-26T00:00:00Z", "--hours", "96")
    code, out, _ = run_cli(capsys, *args)
    assert code == 0
    assert out.splitlines()[0] == (
        f"{SITE}/{P1} (Wallbox P1), station total, times Europe/Berlin, CET (UTC+01:00); "
        "CEST (UTC+02:00) from 2027-03-28 03:00 CEST"
    )
    assert "  Fri 2027-03-26 07:00 CET → 19:00 CET  6900 W" in out
    assert "  Mon 2027-03-29 07:00 CEST → 19:00 CEST  6900 W" in out
    code, out, _ = run_cli(capsys, *args, "--format", "json")
    (station,) = json.loads(out)["stations"]
    assert station["timezone"] == "Europe/Berlin"
    office = [p["start"] for p in station["periods"] if p["limit"] == 6900]
    assert office == ["2027-03-26T06:00:00Z", "2027-03-29T05:00:00Z"]


def test_state_show_reads_in_local_time_with_each_profiles_validity(
    desired_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`state show` gives the timezone, wallboxes by description, when each record's answer came and
    which UTC-offset period each level holds, all in Berlin time."""
    code, out, err = run_cli(capsys, "state", "show", SITE, "--desired", str(desired_dir), "--now", WINTER)
    assert code == 0
    assert not err
    assert out.splitlines()[1] == "timezone Europe/Berlin, CET (UTC+01:00)"
    assert f"station {P1} (Wallbox P1) (highest id 4)" in out
    assert (
        "  evening-peak@30  connector 0  id 1  ChargePointMaxProfile/30  accepted  "
        "confirmed 2026-11-23 13:00 CET    valid 2026-10-25 02:00 CET → 2027-03-28 03:00 CEST\n"
    ) in out
    assert (
        "  office-hours@21  connector 0  id 4  TxDefaultProfile/21       accepted  "
        "confirmed 2026-11-23 13:00 CET    valid from 2027-03-28 03:00 CEST\n"
    ) in out


def test_state_show_without_a_desired_file_says_its_times_are_utc(
    desired_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the site's file gone, `state show` still shows the records, in UTC as JSON writes it, and says
    why on stderr."""
    (desired_dir / f"{SITE}.yaml").unlink()
    code, out, err = run_cli(capsys, "state", "show", SITE, "--desired", str(desired_dir), "--now", WINTER)
    assert code == 0
    assert "no desired file for site lakeside-offices" in err
    assert "times are UTC" in err
    assert "timezone UTC" in out
    assert "accepted  confirmed 2026-11-23T12:00:00Z    valid from 2027-03-28T01:00:00Z\n" in out


def test_the_schedule_picks_a_site_up_when_its_local_time_profiles_roll_forward(
    desired_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sites --needs-work`, which the scheduled apply runs, leaves the site idle until the spring change
    and picks it up at the first run after it, for the roll-forward's two sets per local-time profile."""
    before = ("sites", "--desired", str(desired_dir), "--needs-work", "--now", "2027-03-28T00:59:59Z")
    assert run_cli(capsys, *before)[1] == ""
    code, out, _ = run_cli(capsys, "sites", "--desired", str(desired_dir), "--needs-work", "--now", SPRING)
    assert code == 0
    assert out == f"{SITE}  (24 call(s) to send)\n"


def test_a_payload_line_names_its_first_periods_and_counts_the_rest() -> None:
    """A daily profile of 100 periods reads as its first SUMMARY_PERIODS, each at its wall-clock start in
    Berlin, then how many more: a schedule of a thousand periods does not make a line of a thousand."""
    periods = [{"startPeriod": 600 * n, "limit": 6 + n % 10} for n in range(100)]
    payload = {
        "chargingProfileId": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "stackLevel": 20,
        "chargingSchedule": {
            "startSchedule": "2026-01-01T00:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": periods,
        },
    }
    tz = zone("Europe/Berlin")
    assert tz is not None
    line = walltime.summary(payload, SiteClock("Europe/Berlin", tz), datetime.fromisoformat(WINTER))
    shown = re.findall(r"(\d\d:\d\d) (\d+) A \((\d+)s\)", line)
    assert len(shown) == walltime.SUMMARY_PERIODS
    assert shown[0] == ("01:00", "6", "0")
    assert shown[-1] == ("04:50", "9", str(600 * (walltime.SUMMARY_PERIODS - 1)))
    assert line.endswith(f", +{100 - walltime.SUMMARY_PERIODS} more periods")
