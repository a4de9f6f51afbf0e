"""The reconciler's real apply against the sandbox, eDRV-like: every call answered `requested`, the
chargers' answers arriving as webhooks at a receiver and folded in by ingest. The example network lands
on the simulated charge points exactly as desired, a second apply sends nothing, session caps follow
sessions, and a refusal is recorded with its reason and sent again only after its back-off."""

from __future__ import annotations

import bisect
import re
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.edrv.inbox import Inbox
from reconciler.edrv.webhook import COMPOSITE
from reconciler.ocpp.profile import Json
from reconciler.plan.change import Action
from reconciler.sandbox.config import DEFAULT_API_KEY
from reconciler.sandbox.faults import Faults
from reconciler.state import store as state
from reconciler.state.recorded import Status

from .conftest import NOW
from .sandbox_network import Network

VAN_STATION, VAN_CAP = "65a1269ef2a74de452e6b438", "duty-van-cap"
LAKESIDE_P1 = "6650a1c2e4b0a1d2c3e4f501"  # Wallbox P1 of desired/lakeside-offices.yaml


def test_example_network_applied_equals_desired(network: Network) -> None:
    """After apply, every simulated charge point holds exactly the bodies the plan set, nothing else."""
    plans = network.plan()
    results = network.apply()
    assert sum(len(r.sent) for r in results) == sum(p.sets for p in plans) > 0
    assert not any(r.failed for r in results)
    expected: dict[str, dict[str, list[Json]]] = {}
    for plan in plans:
        for change in plan.changes:
            assert change.action is Action.SET
            body = change.request.body
            by_connector = expected.setdefault(change.station_id, {})
            by_connector.setdefault(str(body["connectorId"]), []).append(body["csChargingProfiles"])
    for station_id, entry in network.truth().items():
        held = {c: profiles for c, profiles in entry["profiles"].items() if profiles}
        wanted = {
            c: sorted(p, key=lambda x: x["chargingProfileId"])
            for c, p in expected.get(station_id, {}).items()
        }
        assert held == wanted, station_id


def test_a_wallbox_applied_in_winter_keeps_the_office_hours_of_the_wall_clock_into_summer(
    network: Network,
) -> None:
    """Applied in November, a lakeside wallbox's own composite schedule (GetCompositeSchedule over the
    eDRV API, its answer by webhook) keeps its 07:00-19:00 Berlin office hours and 17:00-20:00 evening
    cap on the Friday before the spring change (UTC+01:00) and the Monday after it (UTC+02:00): the
    charger switches by itself."""
    assert not any(r.failed for r in network.apply())
    until = datetime(2027, 3, 30, tzinfo=UTC)
    answer = network.http.get(
        f"/v1.1/chargestations/{LAKESIDE_P1}/get_composite_schedule",
        params={
            "connectorId": "0",
            "duration": str(int((until - NOW).total_seconds())),
            "chargingRateUnit": "W",
        },
    )
    with Inbox(network.inbox) as inbox:
        found = inbox.wait_for(answer.json()["result"]["_id"], [f"chargestation.{COMPOSITE}.accepted"], 10)
    assert found is not None
    envelope = found.envelope()
    assert envelope is not None
    data = envelope["data"]["response_data"]
    start = datetime.fromisoformat(data["scheduleStart"])
    periods = data["chargingSchedule"]["chargingSchedulePeriod"]
    starts = [start + timedelta(seconds=p["startPeriod"]) for p in periods]

    def limit_at(wall: str, offset_h: int) -> float:
        moment = datetime.fromisoformat(f"{wall}+{offset_h:02d}:00")
        return float(periods[bisect.bisect_right(starts, moment) - 1]["limit"])

    for day, offset_h in (("2027-03-26", 1), ("2027-03-29", 2)):  # Friday in CET, Monday in CEST
        assert [
            limit_at(f"{day}T{time}", offset_h) for time in ("06:59", "07:00", "17:00", "19:00", "20:00")
        ] == [
            11040,  # 16 A on three phases overnight
            6900,  # 10 A in office hours
            6900,  # below the 7.4 kW evening cap
            7400,  # 16 A again, capped at 7.4 kW until 20:00
            11040,
        ], day


def test_second_apply_sends_nothing(network: Network) -> None:
    """Once applied, a new plan is empty and applying it sends no request beyond session lookups."""
    network.apply()
    before = network.requests()
    assert not any(p.has_changes for p in network.plan())
    network.apply()
    after = network.requests()
    assert after["sessions"] > before["sessions"]
    assert {k: v for k, v in after.items() if k != "sessions"} == {
        k: v for k, v in before.items() if k != "sessions"
    }


def test_session_cap_follows_the_session(network: Network) -> None:
    """A session cap is sent for a running session (with its transactionId) and retired when it ends."""
    network.apply()
    started = network.http.post("/v1.1/sessions", json={"chargestation": VAN_STATION, "connectorId": 1})
    session = started.json()["result"]
    results = network.apply()
    sent = [s for r in results for s in r.sent]
    assert [(s.change.station_id, s.change.name, s.ok) for s in sent] == [(VAN_STATION, VAN_CAP, True)]
    held = network.truth()[VAN_STATION]["profiles"]["1"]
    assert held == [
        {**sent[0].change.request.body["csChargingProfiles"], "transactionId": session["transactionId"]}
    ]

    network.http.get(f"/v1.1/sessions/{session['_id']}/stop")
    assert network.truth()[VAN_STATION]["profiles"]["1"] == []
    results = network.apply()
    assert not [s for r in results for s in r.sent]
    recorded = state.load(state.state_path(network.desired_dir, "harbour-depot"), "harbour-depot")
    assert recorded is not None
    record = recorded.record(VAN_STATION, VAN_CAP)
    assert record is not None
    assert record.status is Status.EXPIRED


def test_answers_arrive_by_webhook_and_ingest_folds_them(network: Network) -> None:
    """Apply records every set as requested; the webhooks' answers, ingested, make them accepted."""
    results = network.apply()
    sent = [s for r in results for s in r.sent]
    assert sent
    assert all(s.ok and s.action_id for s in sent)
    site = results[0].site_id
    assert {r.status for _, _, r in network.recorded(site).records()} == {Status.REQUESTED}
    report = network.ingest()
    assert sum(len(s.folded) for s in report.sites) == len(sent)
    assert not any(s.unmatched for s in report.sites)
    for result in results:
        statuses = {r.status for _, _, r in network.recorded(result.site_id).records()}
        assert statuses == {Status.ACCEPTED}
    assert not any(s.folded for s in network.ingest().sites), "a second ingest changes nothing"


def test_a_charger_that_rejects_is_recorded_rejected_and_retried_after_its_back_off(network: Network) -> None:
    """A refusal, ingested, is recorded with its answer; plans resend it only after the back-off."""
    site = max(network.plan(), key=lambda p: len({c.station_id for c in p.changes}))
    station = site.changes[0].station_id
    running = network.sandbox.sandbox
    assert running is not None
    network.sandbox.run(lambda: running.set_faults(Faults(reject=(station,))))
    (result,) = [r for r in network.apply() if r.site_id == site.site_id]
    assert all(s.ok for s in result.sent), "eDRV took every call; the charger answers later"
    network.ingest()
    recorded = network.recorded(site.site_id)
    refused = [(n, r) for s, n, r in recorded.records() if s == station]
    assert refused
    assert {r.status for _, r in refused} == {Status.REJECTED}
    assert "the charge point rejected the profile (Rejected)" in (refused[0][1].last_error or "")
    others = {r.status for s, _, r in recorded.records() if s != station}
    assert others == {Status.ACCEPTED}
    (now,) = [p for p in network.plan() if p.site_id == site.site_id]
    assert not now.changes
    assert {(n.station_id, n.name) for n in now.notes if "rejected the profile" in n.reason} == {
        (station, name) for name, _ in refused
    }
    later = [p for p in network.plan(NOW + timedelta(hours=2)) if p.site_id == site.site_id]
    assert {(c.station_id, c.name) for c in later[0].changes} == {(station, name) for name, _ in refused}


def test_a_clear_is_on_its_way_until_its_answer_retires_the_record(network: Network) -> None:
    """A removed profile's clear is recorded as on its way; the charger's answer, ingested, retires it."""
    network.apply()
    network.ingest()
    path = network.desired_dir / "edrv-examples.yaml"
    # The profile's key at six spaces and every line under it, indented deeper.
    removed = re.sub(r"\n      connector1-safe-10kw:\n(?:        .*\n)+", "\n", path.read_text())
    assert "connector1-safe-10kw" not in removed
    path.write_text(removed)
    (result,) = [r for r in network.apply() if r.site_id == "edrv-examples"]
    assert [(s.change.action, s.change.name, s.ok) for s in result.sent] == [
        (Action.CLEAR, "connector1-safe-10kw", True)
    ]
    record = network.recorded("edrv-examples").record("64f0c1a2b3c4d5e6f7a8b9c0", "connector1-safe-10kw")
    assert record is not None
    assert record.clearing is not None
    assert (record.status, record.clearing.action_id) == (Status.ACCEPTED, result.sent[0].action_id)
    assert not any(p.changes for p in network.plan()), "a clear on its way counts as done"
    network.ingest()
    cleared = network.recorded("edrv-examples").record("64f0c1a2b3c4d5e6f7a8b9c0", "connector1-safe-10kw")
    assert cleared is not None
    assert (cleared.status, cleared.clearing) == (Status.CLEARED, None)
    held = network.truth()["64f0c1a2b3c4d5e6f7a8b9c0"]["profiles"]
    assert 17 not in [p["chargingProfileId"] for profiles in held.values() for p in profiles]


def test_apply_exits_1_when_sessions_cannot_be_listed(
    network: Network, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reconciler apply` whose session lookups fail sends no cap, says so, and exits 1 (not a green run)."""
    from reconciler.cli.main import EXIT_ERROR, main

    network.apply()
    running = network.sandbox.sandbox
    assert running is not None
    # A 404, as a sessions listing at another path than the guessed one would answer (and not retried).
    network.sandbox.run(lambda: running.set_faults(Faults.model_validate({"errors": [{"kind": 404}]})))
    monkeypatch.setenv("EDRV_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("EDRV_API_URL", network.sandbox.api_url)
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "apply",
                "--desired",
                str(network.desired_dir),
                "--auto-approve",
                "--now",
                "2026-11-23T12:00:00Z",
            ]
        )
    out, _ = capsys.readouterr()
    assert exited.value.code == EXIT_ERROR
    lines = out.splitlines()
    lookups = [
        line for line in lines if line.startswith("failed   harbour-depot/") and "session lookup" in line
    ]
    assert lookups, out
    assert "HTTP 404" in lookups[0]
    assert lines[-2].startswith("Apply: 0 sent, 0 accepted by eDRV, 0 failed, ")
    assert "session lookup(s) failed" in lines[-2]
    assert lines[-1] == "Not everything was done for edrv-examples, harbour-depot: see above."
