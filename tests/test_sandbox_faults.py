"""Faults on demand: the real eDRV client meets 429s, 5xx, held and dropped requests, offline stations
and rejecting charge points in the sandbox, set by configuration or through `/_sandbox/faults`."""

from __future__ import annotations

import asyncio
import time

import pytest

from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.errors import EdrvRejectedError, EdrvTransportError
from reconciler.sandbox.config import DEFAULT_API_KEY
from reconciler.sandbox.faults import Faults, HttpFault, parse_error_flag

from .sandbox_harness import STATION, action, config, profile, running


def _client(api_url: str, waits: list[float], timeout_s: float = 20.0) -> EdrvClient:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    settings = EdrvSettings(api_key=DEFAULT_API_KEY, api_url=api_url, timeout_s=timeout_s)
    return EdrvClient(settings, sleep=sleep, random=lambda: 0.0)


@pytest.mark.parametrize(("status", "retry_after_s"), [(429, 7), (503, None)])
def test_client_retries_a_busy_sandbox_and_honours_retry_after(
    status: int, retry_after_s: int | None
) -> None:
    """A scripted 429 (with Retry-After) or 503 is retried by the client, waiting as long as asked."""

    async def scenario() -> None:
        fault = HttpFault(kind=status, times=1, retry_after_s=retry_after_s)
        async with running(config(faults=Faults(errors=(fault,)))) as (sandbox, api):
            waits: list[float] = []
            async with _client(sandbox.api_url, waits) as client:
                assert await client.set_charging_profile(STATION, 1, profile()) is not None
            # Retry-After when given, else the first backoff: half the 1 s base, the jitter drawn at 0.
            assert waits == [retry_after_s or 0.5]
            assert (await api.stats())["set_charging_profile"] == 2
            assert (await api.installed())["1"] == [profile()]
            assert (await api.http.get("/_sandbox/faults")).json()["errors"] == []

    asyncio.run(scenario())


def test_held_request_times_out_and_the_retry_goes_through() -> None:
    """A request held past the client's timeout is retried, and the resent set installs the profile."""

    async def scenario() -> None:
        fault = HttpFault(kind="timeout", times=1)
        async with running(config(faults=Faults(errors=(fault,), hold_s=60))) as (sandbox, api):
            waits: list[float] = []
            async with _client(sandbox.api_url, waits, timeout_s=0.2) as client:
                assert await client.set_charging_profile(STATION, 1, profile()) is not None
            assert len(waits) == 1
            assert (await api.installed())["1"] == [profile()]

    asyncio.run(scenario())


def test_dropped_connection_is_a_transport_error() -> None:
    """A request whose connection is dropped without an answer fails as a transport error."""

    async def scenario() -> None:
        async with running() as (sandbox, api):
            assert (await api.faults(errors=[{"kind": "drop", "times": 1}])).status_code == 200
            async with _client(sandbox.api_url, []) as client:
                with pytest.raises(EdrvTransportError):
                    await client.set_charging_profile(STATION, 1, profile())
            assert (await api.stats())["set_charging_profile"] == 1
            assert (await api.installed())["1"] == []

    asyncio.run(scenario())


def test_offline_station_is_refused_until_it_is_back() -> None:
    """An offline station's calls fail with eDRV's error; lifting the fault reconnects its charge point."""

    async def scenario() -> None:
        async with running() as (sandbox, api):
            assert (await api.faults(offline=[STATION])).status_code == 200
            assert (await api.http.get("/_sandbox/stations")).json()["stations"][STATION]["online"] is False
            async with _client(sandbox.api_url, []) as client:
                with pytest.raises(EdrvRejectedError, match="offline"):
                    await client.set_charging_profile(STATION, 1, profile())
                assert (await api.http.delete("/_sandbox/faults")).status_code == 200
                assert await client.set_charging_profile(STATION, 1, profile()) is not None
            assert (await api.installed())["1"] == [profile()]

    asyncio.run(scenario())


def test_rejecting_charge_point_answers_rejected() -> None:
    """Under a `reject` fault the charge point answers Rejected to sets and composite requests."""

    async def scenario() -> None:
        async with running(config(faults=Faults(reject=(STATION,)))) as (_sandbox, api):
            answered = action(await api.set(1, profile()))
            assert (answered["status"], answered["response_data"]) == ("failed", {"status": "Rejected"})
            composite = action(await api.composite(0, 60))
            assert composite["response_data"] == {"status": "Rejected"}
            assert (await api.installed())["1"] == []

    asyncio.run(scenario())


def test_faults_endpoint_refuses_what_it_cannot_play() -> None:
    """Unknown stations, unknown fields and impossible statuses are refused with the reason."""

    async def scenario() -> None:
        async with running() as (_sandbox, api):
            for bad, reason in [
                ({"offline": ["CP-404"]}, "CP-404"),
                ({"latency": 5}, "latency"),
                ({"errors": [{"kind": 200}]}, "400-599"),
            ]:
                answer = await api.http.post("/_sandbox/faults", json=bad)
                assert answer.status_code == 400
                assert reason in answer.json()["error"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("flag", "kind", "times"),
    [("429:3", 429, 3), ("503", 503, None), ("timeout:1", "timeout", 1), ("drop", "drop", None)],
)
def test_error_flag_parses(flag: str, kind: int | str, times: int | None) -> None:
    """`--error KIND[:TIMES]` reads an HTTP status or timeout/drop, and an optional count."""
    fault = parse_error_flag(flag, retry_after_s=2)
    assert (fault.kind, fault.times, fault.retry_after_s) == (kind, times, 2)


@pytest.mark.parametrize("flag", ["teapot", "429:x", "200", "429:0"])
def test_error_flag_refuses_nonsense(flag: str) -> None:
    """A malformed `--error` value is a ValueError, which the command turns into a usage error."""
    with pytest.raises(ValueError, match=r"\S"):
        parse_error_flag(flag)


def test_latency_delays_every_answer() -> None:
    """With `latency_ms`, no API answer comes sooner than that."""

    async def scenario() -> None:
        async with running(config(faults=Faults(latency_ms=80))) as (_sandbox, api):
            started_s = time.monotonic()
            await api.http.get("/v1.1/sessions")
            assert time.monotonic() - started_s >= 0.075

    asyncio.run(scenario())
