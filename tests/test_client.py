"""The eDRV client against the in-memory eDRV: requests, retries, limits, typed errors, a secret key.

Time and chance are injected (`FakeClock`, a fixed random), so every wait the client makes is recorded
and the tests run instantly and the same way every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.edrv import wire as edrv
from reconciler.edrv.client import EdrvClient, EdrvSettings, parse_retry_after
from reconciler.edrv.wire import EdrvResponse
from reconciler.errors import (
    EdrvAuthError,
    EdrvError,
    EdrvNotFoundError,
    EdrvRateLimitedError,
    EdrvRejectedError,
    EdrvResponseError,
    EdrvServerError,
    EdrvSettingsError,
    EdrvTimeoutError,
    EdrvTransportError,
)

from .edrv_fake import FakeEdrv, Fault

KEY = "sk_test_4f1d9c2b8e7a6d5c"
EPOCH = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PROFILE = {
    "chargingProfileId": 40,
    "stackLevel": 20,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
    },
}
T = TypeVar("T")


class FakeClock:
    """Virtual time: `sleep` records the wait and moves the clock on at once, without yielding."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now_s

    def wall(self) -> datetime:
        return EPOCH + timedelta(seconds=self.now_s)

    async def sleep(self, delay_s: float) -> None:
        self.sleeps.append(delay_s)
        self.now_s += delay_s


def _run(
    fake: FakeEdrv,
    body: Callable[[EdrvClient], Awaitable[T]],
    clock: FakeClock | None = None,
    **settings: Any,
) -> T:
    clock = clock or FakeClock()
    fake.clock = clock.monotonic

    async def main() -> T:
        client = EdrvClient(
            EdrvSettings(api_key=KEY, **settings),
            transport=fake.transport(),
            sleep=clock.sleep,
            random=lambda: 0.0,
            monotonic=clock.monotonic,
            wall_clock=clock.wall,
        )
        async with client:
            return await body(client)

    return asyncio.run(main())


def _set(station_id: str = "s1", profile_id: int = 40) -> edrv.EdrvRequest:
    return edrv.set_charging_profile(station_id, 1, {**PROFILE, "chargingProfileId": profile_id})


def _raises(
    fake: FakeEdrv, kind: type[EdrvError], clock: FakeClock | None = None, **settings: Any
) -> EdrvError:
    async def body(client: EdrvClient) -> EdrvResponse:
        return await client.send(_set())

    with pytest.raises(kind) as caught:
        _run(fake, body, clock, **settings)
    return caught.value


# Requests as sent


def test_set_sends_the_built_request_with_the_bearer_key_and_returns_the_action_id() -> None:
    """A set goes out as `edrv` built it, with `Authorization: Bearer <key>`, and yields eDRV's Action id."""
    fake = FakeEdrv(KEY)
    action = _run(fake, lambda c: c.set_charging_profile("s1", 1, PROFILE))
    (sent,) = fake.received
    assert (sent.method, sent.path, sent.authorization) == (
        "POST",
        "/v1.1/chargestations/s1/set_charging_profile",
        f"Bearer {KEY}",
    )
    assert sent.body == {"connectorId": 1, "csChargingProfiles": PROFILE}
    assert action == "a00000000000000000000001"
    assert fake.profiles["s1"][40]["csChargingProfiles"] == PROFILE


def test_clear_removes_the_profile_by_id() -> None:
    """A clear sends the guessed body `{id, connectorId}` and the station no longer holds the profile."""
    fake = FakeEdrv(KEY)

    async def body(client: EdrvClient) -> str | None:
        await client.set_charging_profile("s1", 1, PROFILE)
        return await client.clear_charging_profile("s1", 1, 40)

    assert _run(fake, body) == "a00000000000000000000002"
    assert fake.received[-1].body == {"id": 40, "connectorId": 1}
    assert fake.profiles["s1"] == {}


def test_composite_schedule_request_carries_connector_duration_and_unit_in_the_query() -> None:
    """A composite-schedule request is a GET without body whose query holds OCPP's request fields."""
    fake = FakeEdrv(KEY)
    action = _run(fake, lambda c: c.request_composite_schedule("s 1", 0, 3600, "A"))
    (sent,) = fake.received
    assert (sent.method, sent.path, sent.body) == (
        "GET",
        "/v1.1/chargestations/s%201/get_composite_schedule",
        None,
    )
    assert sent.query == {"connectorId": "0", "duration": "3600", "chargingRateUnit": "A"}
    assert sent.station_id == "s 1"
    assert action == "a00000000000000000000001"


def test_active_sessions_are_read_into_typed_values_for_the_station_asked() -> None:
    """Only the station's running sessions come back, with OCPP connector number and an aware start time."""
    fake = FakeEdrv(KEY)
    fake.start_session("s1", 2, "2026-11-23T11:40:00.250Z")
    fake.start_session("s1", 1, "2026-11-23T09:00:00Z", status="Ended")
    fake.start_session("s2", 1, "2026-11-23T11:00:00Z")
    (session,) = _run(fake, lambda c: c.active_sessions("s1"))
    assert (session.station_id, session.connector_id, session.status) == ("s1", 2, "Started")
    assert session.started_at == datetime(2026, 11, 23, 11, 40, 0, 250000, tzinfo=UTC)
    assert fake.received[0].query == {"chargestation": "s1", "status": "Started"}


# Retries and waits


def test_429_waits_the_retry_after_seconds_then_succeeds() -> None:
    """A 429 with `Retry-After: 7` is retried once, after exactly the 7 seconds eDRV asked for."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(429, retry_after="7"))
    clock = FakeClock()
    response = _run(fake, lambda c: c.send(_set()), clock)
    assert response.ok
    assert clock.sleeps == [7.0]
    assert len(fake.received) == 2


def test_retry_after_as_an_http_date_is_waited_until() -> None:
    """A Retry-After given as an HTTP date makes the client wait until that moment by the wall clock."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(503, retry_after=format_datetime(EPOCH + timedelta(seconds=12), usegmt=True)))
    clock = FakeClock()
    _run(fake, lambda c: c.send(_set()), clock)
    assert clock.sleeps == [12.0]


def test_retry_after_longer_than_max_wait_fails_at_once() -> None:
    """A Retry-After beyond `max_wait_s` ends the call with a rate-limited error instead of waiting."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(429, retry_after="3600"))
    clock = FakeClock()
    error = _raises(fake, EdrvRateLimitedError, clock)
    assert isinstance(error, EdrvRateLimitedError)
    assert error.retry_after_s == 3600
    assert clock.sleeps == []
    assert len(fake.received) == 1


def test_429_on_every_attempt_raises_rate_limited_after_max_attempts() -> None:
    """Throttled on every try, the call gives up after `max_attempts` sends with a rate-limited error."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(429, times=None))
    error = _raises(fake, EdrvRateLimitedError, max_attempts=3)
    assert (error.attempts, error.status_code) == (3, 429)
    assert len(fake.received) == 3
    assert "gave up after 3 attempts" in str(error)


def test_500_then_success_is_retried_after_backoff() -> None:
    """One 500 costs one backoff (half the base delay with jitter at zero) and the call then succeeds."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(500))
    clock = FakeClock()
    assert _run(fake, lambda c: c.send(_set()), clock).ok
    assert clock.sleeps == [0.5]


def test_backoff_doubles_up_to_its_cap_with_equal_jitter() -> None:
    """Waits double per attempt up to `backoff_cap_s`, each half fixed and half scaled by the random draw."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(502, html=True, times=None))
    clock = FakeClock()

    async def body(client: EdrvClient) -> EdrvResponse:
        client._random = lambda: 0.5  # a fixed mid-range draw: each wait is 3/4 of its delay
        return await client.send(_set())

    with pytest.raises(EdrvServerError) as caught:
        _run(fake, body, clock, max_attempts=6, backoff_base_s=1.0, backoff_cap_s=4.0)
    assert clock.sleeps == [0.75, 1.5, 3.0, 3.0, 3.0]
    assert caught.value.attempts == 6
    assert "HTTP 502 Bad Gateway" in str(caught.value)


def test_timeout_then_success_is_retried() -> None:
    """A read timeout is retried after a backoff and the second answer is returned."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(timeout=True))
    clock = FakeClock()
    assert _run(fake, lambda c: c.send(_set()), clock).ok
    assert clock.sleeps == [0.5]
    assert len(fake.received) == 2


def test_timeouts_on_every_attempt_raise_a_timeout_error() -> None:
    """When no attempt is answered in time the call raises `EdrvTimeoutError` with no HTTP status."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(timeout=True, times=None))
    error = _raises(fake, EdrvTimeoutError, max_attempts=4)
    assert (error.attempts, error.status_code, error.station_id) == (4, None, "s1")
    assert len(fake.received) == 4


def test_refused_connection_is_retried_then_reported_as_transport_error() -> None:
    """A connection eDRV never accepted is retried, and reported as a transport error when it persists."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    clock = FakeClock()

    async def main() -> None:
        settings = EdrvSettings(api_key=KEY, max_attempts=2)
        async with EdrvClient(settings, transport=httpx.MockTransport(refuse), sleep=clock.sleep) as client:
            await client.send(_set())

    with pytest.raises(EdrvTransportError, match="cannot connect"):
        asyncio.run(main())
    assert len(clock.sleeps) == 1


# Errors that are not retried


def test_401_is_not_retried() -> None:
    """A refused key raises `EdrvAuthError` after one request and no wait."""
    fake = FakeEdrv("another-key")
    clock = FakeClock()
    error = _raises(fake, EdrvAuthError, clock)
    assert (error.status_code, error.attempts) == (401, 1)
    assert clock.sleeps == []
    assert len(fake.received) == 1


def test_after_a_refused_key_later_calls_are_not_sent() -> None:
    """Once eDRV refuses the key, the other queued calls fail with `EdrvAuthError` without being sent."""
    fake = FakeEdrv("another-key")
    results = _run(fake, lambda c: c.send_all([_set("s1"), _set("s2"), _set("s3")]), max_concurrent=1)
    assert all(isinstance(r, EdrvAuthError) for r in results)
    assert len(fake.received) == 1


def test_unknown_station_is_not_found_and_not_retried() -> None:
    """A 404 for a station eDRV does not know raises `EdrvNotFoundError` after one request."""
    fake = FakeEdrv(KEY, stations={"s2"})
    error = _raises(fake, EdrvNotFoundError)
    assert (error.status_code, error.station_id) == (404, "s1")
    assert "Chargestation not found" in str(error)
    assert len(fake.received) == 1


@pytest.mark.parametrize("status", [400, 409, 422, 200])
def test_refusals_are_rejected_and_not_retried(status: int) -> None:
    """400, 409, 422 and a 2xx with `ok: false` raise `EdrvRejectedError` after one request."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(status, message="stack level reserved"))
    error = _raises(fake, EdrvRejectedError)
    assert error.status_code == status
    assert "stack level reserved" in str(error)
    assert len(fake.received) == 1


def test_success_without_envelope_is_a_response_error() -> None:
    """A 2xx that is not eDRV's envelope (a proxy's page) is an error, never read as success."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(200, html=True))
    error = _raises(fake, EdrvResponseError)
    assert "envelope" in str(error)
    assert len(fake.received) == 1


# Many stations


def test_one_station_failing_does_not_stop_the_others() -> None:
    """With one station answering 500 throughout, the other stations' calls still succeed."""
    fake = FakeEdrv(KEY)
    fake.fail(Fault(500, station_id="s2", times=None))
    results = _run(fake, lambda c: c.send_all([_set("s1"), _set("s2"), _set("s3")]), max_attempts=2)
    assert isinstance(results[0], EdrvResponse)
    assert isinstance(results[1], EdrvServerError)
    assert results[1].station_id == "s2"
    assert isinstance(results[2], EdrvResponse)
    assert sorted(fake.profiles) == ["s1", "s3"]


def test_request_rate_stays_within_the_token_bucket() -> None:
    """At 5/s with bursts of 2, twelve calls leave at 0, 0, 0.2, 0.4, … seconds and never faster."""
    fake = FakeEdrv(KEY)
    requests = [_set(f"s{i}") for i in range(12)]
    _run(fake, lambda c: c.send_all(requests), rate_per_s=5.0, burst=2)
    times_s = sorted(r.at_s for r in fake.received)
    assert times_s == pytest.approx([0.0, 0.0] + [k / 5 for k in range(1, 11)])


def test_one_call_per_station_at_a_time_while_stations_overlap() -> None:
    """Calls to one station never overlap, calls to different stations do, up to `max_concurrent`."""
    fake = FakeEdrv(KEY, latency_ticks=5)
    requests = [_set(f"s{i}", profile_id) for i in range(4) for profile_id in (40, 41, 42)]
    _run(fake, lambda c: c.send_all(requests), max_concurrent=3)
    assert len(fake.received) == 12
    assert set(fake.max_in_flight_by_station.values()) == {1}
    assert fake.max_in_flight == 3


def test_a_station_keeps_its_order_through_a_retry() -> None:
    """A station's later calls wait while its first call is retried, so they arrive in the order issued."""
    fake = FakeEdrv(KEY, latency_ticks=2)
    fake.fail(Fault(503, station_id="s1"))
    requests = [_set("s1", 40), _set("s2", 40), _set("s1", 41), _set("s1", 42)]
    _run(fake, lambda c: c.send_all(requests))
    sent = [r.body["csChargingProfiles"]["chargingProfileId"] for r in fake.received_for("s1")]
    assert sent == [40, 40, 41, 42]


# The key stays secret


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault(422, echo_authorization=True), EdrvRejectedError),
        (Fault(429, echo_authorization=True, times=None), EdrvRateLimitedError),
        (Fault(500, echo_authorization=True, times=None), EdrvServerError),
        (Fault(403, echo_authorization=True), EdrvAuthError),
    ],
)
def test_key_echoed_by_the_server_never_reaches_an_error(fault: Fault, kind: type[EdrvError]) -> None:
    """When eDRV echoes the Authorization header in its message, the error shows `[redacted]` instead."""
    fake = FakeEdrv(KEY)
    fake.fail(fault)
    error = _raises(fake, kind, max_attempts=2)
    assert "[redacted]" in str(error)
    for text in (str(error), repr(error), repr(error.args)):
        assert KEY not in text


def test_key_presented_to_a_server_that_refuses_it_is_not_repeated() -> None:
    """A 401 whose message quotes the refused token is reported without the token."""
    error = _raises(FakeEdrv("another-key"), EdrvAuthError)
    assert "invalid token [redacted]" in str(error)
    assert KEY not in repr(error)


def test_settings_and_client_reprs_hide_the_key() -> None:
    """Neither the settings nor the client show the key when printed or logged."""
    settings = EdrvSettings(api_key=KEY)

    async def client_repr() -> str:
        async with EdrvClient(settings) as client:
            return repr(client)

    assert KEY not in repr(settings)
    assert KEY not in asyncio.run(client_repr())


# Settings


def test_settings_from_environment_read_url_and_key() -> None:
    """`EDRV_API_URL` and `EDRV_API_KEY` configure the client; the URL defaults to eDRV's."""
    settings = EdrvSettings.from_environment(environ={"EDRV_API_KEY": f" {KEY}\n"})
    assert (settings.api_key, settings.api_url) == (KEY, "https://api.edrv.io")
    local = EdrvSettings.from_environment(
        environ={"EDRV_API_KEY": KEY, "EDRV_API_URL": "http://127.0.0.1:8080"}
    )
    assert local.api_url == "http://127.0.0.1:8080"


def test_client_from_environment_sends_the_key_from_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`EdrvClient.from_environment` reads the process environment and presents the key file's key."""
    key_file = tmp_path / "edrv.key"
    key_file.write_text(KEY)
    monkeypatch.setenv("EDRV_API_URL", "http://edrv.test")
    monkeypatch.delenv("EDRV_API_KEY", raising=False)
    fake = FakeEdrv(KEY)

    async def main() -> str | None:
        async with EdrvClient.from_environment(key_file, transport=fake.transport()) as client:
            return await client.set_charging_profile("s1", 1, PROFILE)

    assert asyncio.run(main()) is not None
    assert fake.received[0].authorization == f"Bearer {KEY}"


def test_key_file_wins_over_the_environment(tmp_path: Path) -> None:
    """A key file named explicitly is used even when `EDRV_API_KEY` is also set."""
    key_file = tmp_path / "edrv.key"
    key_file.write_text(f"{KEY}\n")
    settings = EdrvSettings.from_environment(key_file, environ={"EDRV_API_KEY": "other"})
    assert settings.api_key == KEY


@pytest.mark.parametrize(
    ("environ", "file_text", "message"),
    [
        ({}, None, "no eDRV API key"),
        ({}, "", "is empty"),
        ({"EDRV_API_KEY": "two words"}, None, "spaces"),
        ({"EDRV_API_KEY": KEY, "EDRV_API_URL": "ftp://example"}, None, "not an http"),
    ],
)
def test_bad_settings_are_reported_without_the_key(
    tmp_path: Path, environ: dict[str, str], file_text: str | None, message: str
) -> None:
    """A missing, empty or malformed key, or a bad URL, raises `EdrvSettingsError` naming the problem."""
    key_file = None
    if file_text is not None:
        key_file = tmp_path / "edrv.key"
        key_file.write_text(file_text)
    with pytest.raises(EdrvSettingsError, match=message) as caught:
        EdrvSettings.from_environment(key_file, environ=environ)
    assert "two words" not in str(caught.value)
    assert KEY not in str(caught.value)


def test_unreadable_key_file_names_the_file(tmp_path: Path) -> None:
    """A key file that cannot be read is named in the error, with the reason."""
    missing = tmp_path / "absent.key"
    with pytest.raises(EdrvSettingsError, match=r"absent\.key: No such file"):
        EdrvSettings.from_environment(missing, environ={})


# Reading eDRV's answers (pure, in reconciler.edrv.wire)


def test_retry_after_parsing_accepts_seconds_and_dates_and_ignores_garbage() -> None:
    """Retry-After reads as seconds, as the time until an HTTP date (never negative), or as absent."""
    assert parse_retry_after("12", EPOCH) == 12.0
    assert parse_retry_after(format_datetime(EPOCH - timedelta(seconds=5), usegmt=True), EPOCH) == 0.0
    assert parse_retry_after("soon", EPOCH) is None
    assert parse_retry_after(None, EPOCH) is None


def test_error_status_without_envelope_reads_as_not_ok() -> None:
    """A gateway's HTML error page is read as a failed answer with no message, not as a parse error."""
    response = edrv.parse_envelope(502, b"<html>Bad Gateway</html>")
    assert (response.ok, response.message, response.result) == (False, "", None)


def test_action_id_is_none_when_the_result_has_none() -> None:
    """A result without `_id` yields no Action id rather than an error."""
    assert edrv.action_id(EdrvResponse(200, True, "", {"status": "requested"})) is None
    assert edrv.action_id(EdrvResponse(200, True, "", {"_id": "abc"})) == "abc"


def test_sessions_of_other_stations_are_dropped_before_they_are_read() -> None:
    """A listing that ignored the station filter yields only this station's sessions, however odd the rest."""
    listing = [
        {"chargestation": "s2", "status": "Started"},
        {"chargestation": {"_id": "s1"}, "status": "ended"},
        {
            "_id": "x1",
            "chargestation": {"_id": "s1"},
            "status": "started",
            "connectorId": 1,
            "createdAt": "2026-11-23T11:00:00+01:00",
        },
    ]
    (session,) = edrv.active_sessions(EdrvResponse(200, True, "", listing), "s1")
    assert session.session_id == "x1"
    assert session.started_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "item",
    [
        {"_id": "x1", "status": "Started", "createdAt": "2026-11-23T11:00:00Z"},
        {"_id": "x1", "status": "Started", "connectorId": 1, "createdAt": "2026-11-23T11:00:00"},
        {"status": "Started", "connectorId": 1, "createdAt": "2026-11-23T11:00:00Z"},
    ],
    ids=["no-connector-number", "naive-start-time", "no-id"],
)
def test_an_active_session_missing_what_a_cap_needs_is_an_error(item: dict[str, Any]) -> None:
    """A running session without id, OCPP connector number or offset start time is a response error."""
    with pytest.raises(EdrvResponseError):
        edrv.active_sessions(EdrvResponse(200, True, "", [item]), "s1")
