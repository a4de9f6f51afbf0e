"""Apply when things go wrong around it: a state file changed behind its back, a full disk, a failed
session lookup, a crash. Nothing is sent that cannot be recorded, and the summary and `complete` say
what was not done. The real client runs against the in-memory eDRV."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from reconciler.edrv.client import EdrvSettings
from reconciler.plan.site import SitePlan
from reconciler.shell.apply import SiteResult, summary
from reconciler.shell.apply_sites import apply_with_client
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import Status

from .conftest import DESIRED, NOW
from .edrv_fake import FakeEdrv, Fault, Received

KEY = "test-key-0123456789"
SITE = "harbour-depot"
SETTINGS = EdrvSettings(api_key=KEY, rate_per_s=1e6, burst=1000, backoff_base_s=0, backoff_cap_s=0)
# One call in flight at a time, so "after the meddling" has one meaning.
SERIAL = replace(SETTINGS, max_concurrent=1)


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    """The example depot applied once, then its 22 kW limits lowered to 21 kW: a second apply has work."""
    target = tmp_path / "desired"
    target.mkdir()
    shutil.copy(DESIRED / f"{SITE}.yaml", target)
    _apply(target, FakeEdrv(KEY).transport(), SETTINGS)
    site_file = target / f"{SITE}.yaml"
    site_file.write_text(site_file.read_text().replace("limit: 22000}", "limit: 21000}"))
    return target


def _plan(desired: Path) -> list[SitePlan]:
    return plan_sites(desired, [SITE], NOW, force=True)


def _apply(
    desired: Path, transport: httpx.AsyncBaseTransport, settings: EdrvSettings = SERIAL
) -> list[SiteResult]:
    return apply_with_client(
        _plan(desired),
        settings,
        desired_dir=desired,
        state_dir=None,
        now=NOW,
        source="the plan",
        transport=transport,
    )


def _calls(fake: FakeEdrv) -> list[Received]:
    return [r for r in fake.received if r.path != "/v1.1/sessions"]


def _meddling(fake: FakeEdrv, at_call: int, meddle: Callable[[], None]) -> httpx.MockTransport:
    """eDRV that, while answering the `at_call`th set or clear, lets someone else touch the state file."""

    async def handle(request: httpx.Request) -> httpx.Response:
        if "/chargestations/" in request.url.path and len(_calls(fake)) == at_call - 1:
            meddle()
        return await fake.handle(request)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("how", ["restored", "deleted", "truncated", "hand-edited, serial kept"])
def test_a_state_file_changed_mid_apply_stops_the_site_at_once(desired: Path, how: str) -> None:
    """Once someone else changes the state file, no further call goes out, and nothing is written over it."""
    path = state.state_path(desired, SITE)
    before = path.read_text()
    planned = sum(len(p.changes) for p in _plan(desired))
    assert planned > 5

    meddled: list[str | None] = []  # the file as the other party left it

    def meddle() -> None:
        if how == "restored":  # as `git checkout` would
            path.write_text(before)
        elif how == "deleted":
            path.unlink()
        elif how == "truncated":
            path.write_text(path.read_text()[: len(before) // 2])
        else:
            # A record takes a field it did not have (format 3 writes none at its default).
            path.write_text(path.read_text().replace('": {"', '": {"last_error": "looked at", "', 1))
        meddled.append(path.read_text() if path.exists() else None)

    fake = FakeEdrv(KEY)
    (result,) = _apply(desired, _meddling(fake, 3, meddle))
    assert len(_calls(fake)) == 3, "the call being answered completes; none goes out after it"
    assert len(result.sent) == 3
    assert len(result.unsent) == planned - 3
    assert result.state_error is not None
    assert str(path) in result.state_error
    assert not result.complete
    lines = summary([result]).splitlines()
    assert f"failed   {SITE}: state file: {result.state_error}" in lines
    assert sum(line.startswith("not sent ") for line in lines) == planned - 3
    assert all(
        line.endswith("stopped because the state file could not be written")
        for line in lines
        if line.startswith("not sent ")
    )
    assert meddled, "the file was changed while the apply ran"
    assert (path.read_text() if path.exists() else None) == meddled[-1], "nothing written over the change"
    if how == "hand-edited, serial kept":
        assert '"last_error": "looked at"' in path.read_text()


def test_the_answers_a_refused_file_cannot_take_are_listed_as_unrecorded(desired: Path) -> None:
    """A call answered after the file was taken away is named in the summary as sent but not recorded."""
    path = state.state_path(desired, SITE)
    fake = FakeEdrv(KEY)
    (result,) = _apply(desired, _meddling(fake, 3, path.unlink))
    # The last answers, from the one given while the file vanished: those no write took.
    assert result.unrecorded == result.sent[len(result.sent) - len(result.unrecorded) :]
    assert result.sent[2] in result.unrecorded
    lines = summary([result]).splitlines()
    for sent in result.unrecorded:
        change = sent.change
        assert (
            f"unrecorded {SITE}/{change.station_id}/{change.name} {change.action} id {change.profile_id}: "
            "sent, but its outcome could not be written to the state file"
        ) in lines


@pytest.mark.parametrize("full_from_write", [1, 2])
def test_a_full_disk_stops_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_from_write: int
) -> None:
    """When a write fails for want of space nothing more is sent, and the failure is the state's."""
    desired = tmp_path / "desired"
    desired.mkdir()
    shutil.copy(DESIRED / f"{SITE}.yaml", desired)  # nothing recorded: two sets or more per station
    fake = FakeEdrv(KEY)
    real_replace = os.replace
    writes = 0

    def replace_until_full(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        nonlocal writes
        writes += 1
        if writes >= full_from_write:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_until_full)
    planned = sum(len(p.changes) for p in _plan(desired))
    (result,) = _apply(desired, fake.transport(), SETTINGS)
    assert result.state_error is not None
    assert "No space left on device" in result.state_error
    assert len(_calls(fake)) == len(result.sent) == planned - len(result.unsent)
    assert result.unsent, "each station's second call waited for its first answer on disk, and never went"
    if full_from_write == 1:
        assert result.sent == [], "the intents could not be recorded: nothing was sent"
    assert [p.name for p in desired.joinpath(".state").iterdir()] == (
        [f"{SITE}.json"] if full_from_write > 1 else []
    )


def test_a_failed_session_lookup_is_not_a_success(desired: Path) -> None:
    """Sessions that cannot be listed: no cap is sent, the summary says so, and the site is incomplete."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(status=404, message="no such route", times=None, station_id=None))
    plans = [replace(p, changes=()) for p in _plan(desired)]  # only the session lookups
    assert any(p.has_session_caps for p in plans)
    (result,) = apply_with_client(
        plans,
        SERIAL,
        desired_dir=desired,
        state_dir=None,
        now=NOW,
        source="the plan",
        transport=fake.transport(),
    )
    assert result.lookup_errors
    assert not result.complete
    lines = summary([result]).splitlines()
    for station_id in result.lookup_errors:
        assert any(line.startswith(f"failed   {SITE}/{station_id}: session lookup") for line in lines)
    assert "session lookup(s) failed" in lines[-2]


class Killed(BaseException):
    """The process dying mid-apply: not an Exception, so nothing on the way catches it."""


@pytest.mark.parametrize("kill_at", [2, 5, 9])
def test_a_crash_leaves_at_most_one_call_per_station_unrecorded(tmp_path: Path, kill_at: int) -> None:
    """A station's next call waits for its last answer on disk: a kill repeats one call a station at most."""
    desired = tmp_path / "desired"
    desired.mkdir()
    shutil.copy(DESIRED / f"{SITE}.yaml", desired)  # nothing recorded: two sets or more per station
    fake = FakeEdrv(KEY)
    answered: list[Received] = []

    async def dying(request: httpx.Request) -> httpx.Response:
        if "/chargestations/" in request.url.path and len(answered) == kill_at:
            raise Killed
        response = await fake.handle(request)
        if "/chargestations/" in request.url.path:
            answered.append(fake.received[-1])
        return response

    with pytest.raises(Killed):
        _apply(desired, httpx.MockTransport(dying), SETTINGS)
    recorded = state.load(state.state_path(desired, SITE), SITE)
    assert recorded is not None
    unrecorded: dict[str, int] = {}
    pending: set[tuple[str | None, int]] = set()  # answered calls whose answer is not on disk
    for call in answered:
        body = call.body["csChargingProfiles"]
        record = next(
            r
            for s, _, r in recorded.records()
            if s == call.station_id and r.charging_profile_id == body["chargingProfileId"]
        )
        if record.status is Status.PENDING:
            unrecorded[call.station_id or ""] = unrecorded.get(call.station_id or "", 0) + 1
            pending.add((call.station_id, body["chargingProfileId"]))
    assert all(count == 1 for count in unrecorded.values()), unrecorded
    # The next plan sends those again (and whatever was not sent yet).
    again = {(c.station_id, c.profile_id) for p in _plan(desired) for c in p.changes}
    assert pending <= again
