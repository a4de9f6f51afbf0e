"""Drift decided without a charger (`plan.drift`): which stations are checked and when one is due, what
healing marks, how a day's heals make a station flapping, and when a site was last verified."""

from __future__ import annotations

from datetime import timedelta

from reconciler.desired.loader import load
from reconciler.desired.validate import DesiredSite
from reconciler.ocpp.drift import Comparison, Difference, Verdict
from reconciler.ocpp.profile import format_timestamp
from reconciler.plan.drift import (
    ConnectorResult,
    Heal,
    StationResult,
    Target,
    checks_due,
    expected,
    heal,
    last_verified,
    targets,
)
from reconciler.plan.outcome import assume_applied
from reconciler.plan.site import build
from reconciler.state.recorded import DriftCheck, RecordedState, Status

from .conftest import DESIRED, NOW

SITE = "harbour-depot"


def _applied() -> tuple[DesiredSite, RecordedState]:
    loaded = load([DESIRED / f"{SITE}.yaml"], NOW)
    (desired,) = loaded.sites
    plan = build(SITE, desired, None, NOW)
    return desired, assume_applied(RecordedState.new(SITE), plan, NOW)


def _drifted(target: Target, connectors: dict[int, Verdict]) -> StationResult:
    results = []
    for connector_id in target.connectors:
        verdict = connectors.get(connector_id, Verdict.IN_SYNC)
        differences = (
            (Difference(NOW, NOW + timedelta(hours=1), None, None),) if verdict is not Verdict.IN_SYNC else ()
        )
        results.append(ConnectorResult(connector_id, verdict, Comparison(verdict, differences)))
    return StationResult(target, NOW, tuple(results))


def test_every_station_with_live_records_is_checked_on_connector_zero_and_its_records_connectors() -> None:
    """A station is asked about connector 0 and each connector a live record sits on; none is left out."""
    desired, recorded = _applied()
    found = targets(desired, recorded)
    assert {t.station_id for t in found} == {
        sid
        for sid, st in recorded.stations.items()
        if any(r.status.value == "accepted" for r in st.profiles.values())
    }
    for target in found:
        assert target.connectors[0] == 0
        assert set(target.connectors) == {0, *(r.connector_id for r in target.records.values())}


def test_a_stations_records_read_once_give_every_answers_window_what_fresh_reads_give() -> None:
    """The composites expected from one reading of a station's records, kept for answers asked at other
    moments (as drift keeps it for a station's answers), are those its records read afresh give."""
    desired, recorded = _applied()
    for target in targets(desired, recorded):
        installed = target.installed()
        for start in (NOW, NOW + timedelta(minutes=7, seconds=3), NOW + timedelta(hours=13)):
            assert expected(target, start, 86_400, installed=installed) == expected(target, start, 86_400)


def test_a_station_checked_within_the_interval_is_not_due() -> None:
    """A check recorded an hour ago leaves a station out of a 6-hour round; one never checked is due."""
    desired, recorded = _applied()
    station = targets(desired, recorded)[0].station_id
    checked = recorded.with_drift(
        station, DriftCheck(checked_at=format_timestamp(NOW - timedelta(hours=1)), verdict="in_sync")
    )
    since = NOW - timedelta(hours=6)
    assert station not in {t.station_id for t in targets(desired, checked, checked_since=since)}
    assert checks_due(checked, since) == checks_due(recorded, since) - 1


def test_heal_marks_exactly_the_records_of_connectors_that_allow_more() -> None:
    """Only the records on a connector reported as allowing more are marked; the check is recorded."""
    desired, recorded = _applied()
    target = targets(desired, recorded)[0]
    healed_state, result = heal(recorded, _drifted(target, {0: Verdict.ALLOWS_MORE}), NOW, True, 3)
    marked = {n for n, r in healed_state.stations[target.station_id].profiles.items() if r.heal_requested_at}
    assert result.heal is Heal.REQUESTED
    assert marked == set(result.healed) == {n for n, r in target.records.items() if r.connector_id == 0}
    check = healed_state.stations[target.station_id].drift
    assert check is not None
    assert (check.verdict, check.heals) == ("allows_more", (format_timestamp(NOW),))


def test_allows_less_or_no_heal_asked_marks_nothing() -> None:
    """A stricter charger is only reported, and without --heal nothing is marked either."""
    desired, recorded = _applied()
    target = targets(desired, recorded)[0]
    for verdict, asked in ((Verdict.ALLOWS_LESS, True), (Verdict.ALLOWS_MORE, False)):
        state, result = heal(recorded, _drifted(target, {0: verdict}), NOW, asked, 3)
        assert result.heal is Heal.NONE
        assert not any(r.heal_requested_at for r in state.stations[target.station_id].profiles.values())


def test_heals_within_a_day_make_a_station_flapping_and_older_ones_are_forgotten() -> None:
    """Past the day's limit a station is flapping and left alone; a heal older than a day no longer counts."""
    desired, recorded = _applied()
    target = targets(desired, recorded)[0]
    drifted = _drifted(target, {0: Verdict.ALLOWS_MORE})
    state = recorded
    for _ in range(2):
        state, result = heal(state, drifted, NOW, True, 2)
        assert result.heal is Heal.REQUESTED
    state, result = heal(state, drifted, NOW, True, 2)
    assert result.heal is Heal.FLAPPING
    assert result.heals_today == 2
    later = NOW + timedelta(days=1, seconds=1)
    _, result = heal(state, StationResult(target, later, drifted.connectors), later, True, 2)
    assert result.heal is Heal.REQUESTED


def test_a_site_is_verified_as_of_its_oldest_station_check_and_its_worst_verdict() -> None:
    """Until every station with live records has a check there is no verification; then the oldest counts."""
    desired, recorded = _applied()
    assert last_verified(recorded) is None
    state = recorded
    ids = [t.station_id for t in targets(desired, recorded)]
    for index, station in enumerate(ids):
        verdict = "allows_less" if index == 1 else "in_sync"
        moment = format_timestamp(NOW - timedelta(minutes=index))
        state = state.with_drift(station, DriftCheck(checked_at=moment, verdict=verdict))
    verified = last_verified(state)
    assert verified is not None
    assert verified.at == NOW - timedelta(minutes=len(ids) - 1)
    assert verified.verdict is Verdict.ALLOWS_LESS


def test_a_station_drift_never_checks_does_not_hide_the_sites_verification() -> None:
    """A station whose records were all rejected is not checked nor due, so it leaves the site verified as
    of the stations drift does check."""
    desired, recorded = _applied()
    (first, *others) = [t.station_id for t in targets(desired, recorded)]
    station = recorded.stations[first]
    rejected = {n: r.model_copy(update={"status": Status.REJECTED}) for n, r in station.profiles.items()}
    state = recorded.model_copy(
        update={"stations": {**recorded.stations, first: station.model_copy(update={"profiles": rejected})}}
    )
    for other in others:
        state = state.with_drift(other, DriftCheck(checked_at=format_timestamp(NOW), verdict="in_sync"))
    assert first not in [t.station_id for t in targets(desired, state)]
    assert checks_due(state, NOW) == 0
    verified = last_verified(state)
    assert verified is not None
    assert verified.at == NOW
