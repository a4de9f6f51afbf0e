"""eDRV's own page is the mission's origin: every example body on it must come out of `payloads` exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from reconciler.desired.loader import load
from reconciler.ocpp.profile import parse_timestamp
from reconciler.plan.catalog import desired_requests

from .conftest import DESIRED, NOW, ROOT

PAGE = json.loads((ROOT / "tests/golden/edrv_page_examples.json").read_text())["bodies"]
SESSION_START = "2023-06-28T14:31:32.898Z"  # the page's TxProfile startSchedule
SESSION_CAP_S = 1200  # desired cap in desired/edrv-examples.yaml


def _payloads(session_start: str | None, elapsed: timedelta = timedelta(seconds=460)) -> dict[int, Any]:
    loaded = load([DESIRED / "edrv-examples.yaml"], NOW)
    assert not loaded.has_errors, loaded.problems
    now = parse_timestamp(SESSION_START) + elapsed if session_start else NOW
    entries = desired_requests(loaded.sites, now, session_start)
    return {entry["chargingProfileId"]: entry for entry in entries}


@pytest.mark.parametrize("page_body", PAGE, ids=lambda b: str(b["csChargingProfiles"]["chargingProfileId"]))
def test_every_page_example_is_reproduced_exactly(page_body: dict[str, Any]) -> None:
    """Each page body equals, as a JSON value, the body `payloads` gives for the profile with its id."""
    entry = _payloads(SESSION_START)[page_body["csChargingProfiles"]["chargingProfileId"]]
    assert entry["request"]["body"] == page_body
    assert entry["request"]["method"] == "POST"
    assert entry["request"]["path"] == "/v1.1/chargestations/64f0c1a2b3c4d5e6f7a8b9c0/set_charging_profile"


def test_page_examples_keep_fraction_digits_and_integer_limits_as_written() -> None:
    """Serialised bodies keep `.000Z` and `.857Z` and print limits as the page does (20000, not 20000.0)."""
    text = json.dumps([e["request"]["body"] for e in _payloads(SESSION_START).values()])
    for page_body in PAGE:
        assert json.dumps(page_body["csChargingProfiles"]["chargingSchedule"]) in text


def test_session_cap_duration_is_elapsed_plus_desired() -> None:
    """A session cap sent 460 s into a session that started at the page's time lasts 460 + 1200 = 1660 s."""
    body = _payloads(SESSION_START)[16]["request"]["body"]
    schedule = body["csChargingProfiles"]["chargingSchedule"]
    assert schedule["startSchedule"] == SESSION_START
    assert schedule["duration"] == 460 + SESSION_CAP_S == 1660


def test_session_cap_rounds_partial_seconds_up() -> None:
    """Elapsed time is rounded up, so a cap sent mid-second never ends before its desired length."""
    entry = _payloads(SESSION_START, timedelta(seconds=10, milliseconds=1))[16]
    assert (
        entry["request"]["body"]["csChargingProfiles"]["chargingSchedule"]["duration"] == 11 + SESSION_CAP_S
    )


def test_without_a_session_caps_are_shown_as_written_and_marked() -> None:
    """Without a session, a cap has no startSchedule, keeps its desired duration and is marked a cap."""
    entry = _payloads(None)[16]
    schedule = entry["request"]["body"]["csChargingProfiles"]["chargingSchedule"]
    assert entry["session_cap"] is True
    assert "startSchedule" not in schedule
    assert schedule["duration"] == SESSION_CAP_S


def test_expired_page_examples_are_marked_expired() -> None:
    """The page's short Absolute profiles (14 and 20) ended in 2023 and are marked expired, the others not."""
    expired = {pid for pid, entry in _payloads(None).items() if entry["expired"]}
    assert expired == {14, 20}
