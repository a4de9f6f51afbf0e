"""`edrv-signature` verification and the reading of eDRV's event envelope, as pure functions."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.edrv.webhook import (
    V1Signs,
    Verification,
    escape_non_ascii,
    parse_event,
    sign_legacy,
    sign_v1,
    verify,
)
from reconciler.errors import WebhookError

NOW_S = 1_790_000_000
BODY = json.dumps({"_id": "e1", "type": "chargestation.set_charging_profile.accepted"}).encode()
CHECK = Verification(("old-secret", "new-secret"))


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_v1_over_timestamp_and_body_verifies_with_any_current_secret() -> None:
    """Either secret of a rotation verifies; the digest is HMAC-SHA256 of `<t>.<body>`, computed here anew."""
    for secret in CHECK.secrets:
        header = f"t={NOW_S},v1={_hmac(secret, f'{NOW_S}.'.encode() + BODY)}"
        assert verify(header, BODY, CHECK, NOW_S).ok
    assert (
        sign_v1("new-secret", NOW_S, BODY)
        == f"t={NOW_S},v1={_hmac('new-secret', f'{NOW_S}.'.encode() + BODY)}"
    )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no edrv-signature header"),
        ("", "no edrv-signature header"),
        ("v1=abc", "malformed edrv-signature header"),
        (f"t=soon,v1={'0' * 64}", "malformed edrv-signature header"),
        (f"t={NOW_S},t={NOW_S},v1={'0' * 64}", "malformed edrv-signature header"),
        (sign_v1("wrong-secret", NOW_S, BODY), "does not match any secret"),
        (sign_v1("new-secret", NOW_S - 301, BODY), "301 s old, past the 300 s window"),
        (sign_v1("new-secret", NOW_S + 301, BODY), "301 s ahead, past the 300 s window"),
        (sign_v1("new-secret", NOW_S, BODY).replace("v1=", "v1=0"), "does not match any secret"),
    ],
)
def test_what_fails_is_refused_with_its_reason(header: str | None, reason: str) -> None:
    """No header, a malformed one, a wrong secret, a stale or future timestamp, a forged digest: refused."""
    verdict = verify(header, BODY, CHECK, NOW_S)
    assert not verdict.ok
    assert reason in verdict.reason


def test_a_signature_is_bound_to_its_body_and_timestamp() -> None:
    """Another body, or the same digest under another timestamp, does not verify."""
    header = sign_v1("new-secret", NOW_S, BODY)
    assert not verify(header, BODY + b" ", CHECK, NOW_S).ok
    moved = header.replace(f"t={NOW_S}", f"t={NOW_S - 1}")
    assert not verify(moved, BODY, CHECK, NOW_S).ok


def test_a_millisecond_timestamp_is_read_as_milliseconds() -> None:
    """`t` above 10^11 is milliseconds: a fresh one passes, a stale one is refused as stale."""
    fresh = NOW_S * 1000 + 250
    assert verify(sign_v1("new-secret", fresh, BODY), BODY, CHECK, NOW_S).ok
    stale = verify(sign_v1("new-secret", (NOW_S - 400) * 1000, BODY), BODY, CHECK, NOW_S)
    assert "400 s old" in stale.reason


def test_what_v1_signs_is_a_setting_and_a_mismatch_names_the_setting_that_matches() -> None:
    """Signed over the raw body, it passes only with `body`; under the default the refusal names `body`."""
    header = f"t={NOW_S},v1={_hmac('new-secret', BODY)}"
    refused = verify(header, BODY, CHECK, NOW_S)
    assert (refused.ok, refused.hint) == (False, "body")
    body_only = Verification(("new-secret",), V1Signs.BODY)
    assert verify(header, BODY, body_only, NOW_S).ok
    assert verify(sign_v1("new-secret", NOW_S, BODY, V1Signs.BODY), BODY, body_only, NOW_S).ok
    assert verify(header, BODY, body_only, NOW_S + 301).reason.endswith("past the 300 s window")


def test_legacy_signatures_cover_the_escaped_body_in_either_case_and_can_be_refused() -> None:
    """`sha256=` over the body with non-ASCII escaped (\\u00eb or \\u00EB) verifies; the raw bytes do not."""
    body = json.dumps({"_id": "e2", "type": "x", "name": "Zürich ëä 🚗"}, ensure_ascii=False).encode()
    lower = json.dumps(json.loads(body)).encode()  # Python writes \\u00fc
    upper = re.sub(rb"\\u([0-9a-f]{4})", lambda m: b"\\u" + m.group(1).upper(), lower)  # \u00FC, \uD83D
    for message in (lower, upper):
        assert verify(f"sha256={_hmac('old-secret', message)}", body, CHECK, NOW_S).ok
    assert not verify(f"sha256={_hmac('old-secret', body)}", body, CHECK, NOW_S).ok
    assert sign_legacy("old-secret", body) == f"sha256={_hmac('old-secret', lower)}"
    strict = Verification(("old-secret",), legacy=False)
    assert "legacy" in verify(sign_legacy("old-secret", body), body, strict, NOW_S).reason


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=40))
def test_escaping_matches_json_with_ensure_ascii(text: str) -> None:
    """Escaping a body's non-ASCII characters gives what json.dumps writes with ensure_ascii."""
    raw = json.dumps({"v": text}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return  # a lone surrogate is not UTF-8; no delivery can carry one
    assert escape_non_ascii(raw) == json.dumps({"v": text}).encode()


@settings(max_examples=50, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=200),
    secrets=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3),
    signer=st.integers(min_value=0, max_value=2),
    flip=st.integers(min_value=0),
)
def test_any_secret_in_rotation_verifies_and_any_changed_byte_fails(
    body: bytes, secrets: list[str], signer: int, flip: int
) -> None:
    """A body signed with any configured secret verifies; the same header on a body with one byte
    changed does not."""
    check = Verification(tuple(secrets))
    header = sign_v1(secrets[signer % len(secrets)], NOW_S, body)
    assert verify(header, body, check, NOW_S).ok
    index = flip % len(body)
    changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    assert not verify(header, changed, check, NOW_S).ok


def test_an_action_event_is_read_for_its_action_station_and_the_chargers_answer() -> None:
    """Action id, station, command, outcome and the charger's answer come off the Action in `data`."""
    event = parse_event(
        json.dumps(
            {
                "_id": "evt-1",
                "object": "action",
                "type": "chargestation.set_charging_profile.rejected",
                "createdAt": "2026-11-23T12:00:02Z",
                "data": {
                    "_id": "act-1",
                    "chargestation": {"_id": "CP-1", "name": "bay"},
                    "status": "failed",
                    "response_data": {"errorCode": "PropertyConstraintViolation", "errorDescription": "bad"},
                },
            }
        ).encode()
    )
    assert (event.event_id, event.action_id, event.station_id, event.command, event.outcome) == (
        "evt-1",
        "act-1",
        "CP-1",
        "set_charging_profile",
        "rejected",
    )
    assert (event.reason, event.is_final, event.created_at) == (
        "PropertyConstraintViolation: bad",
        True,
        "2026-11-23T12:00:02Z",
    )


def test_an_unknown_type_is_an_event_all_the_same_but_no_action() -> None:
    """eDRV adds types at any time: one the reconciler does not know reads, without an action or outcome."""
    event = parse_event(
        b'{"_id": "e9", "type": "organization.updated", "object": "organization", "data": {}}'
    )
    assert (event.type, event.object, event.action_id, event.outcome, event.is_final) == (
        "organization.updated",
        "organization",
        None,
        None,
        False,
    )
    session = parse_event(
        b'{"_id": "e8", "type": "session.started", "data": {"_id": "s", "chargestation": "CP"}}'
    )
    assert (session.station_id, session.action_id) == ("CP", None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "x"}', "no `_id`"),
        (b'{"_id": "", "type": "x"}', "no `_id`"),
        (b'{"_id": "e", "type": 7}', "no `type`"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (json.dumps({"_id": "e" * 201, "type": "x"}).encode(), "longer than 200"),
    ],
)
def test_a_body_that_is_no_event_envelope_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    """Malformed JSON, another encoding, a non-object, a missing or overlong `_id` or `type`: refused."""
    with pytest.raises(WebhookError, match=reason):
        parse_event(body)
