"""eDRV's webhooks: the `edrv-signature` header checked, and an event's envelope read. Pure.

The receiver (`reconciler.shell.receiver`) verifies and reads every POST here before storing it; the
inbox stores what `read_event` finds; ingest folds the outcomes into recorded state; the sandbox signs
its webhooks with `sign_v1`.

Signatures. eDRV signs each delivery with the endpoint's secret, in one of two schemes:

- current: `edrv-signature: t=<timestamp>,v1=<hex HMAC-SHA256>`, the timestamp in seconds or, as one
  integration reports, milliseconds (a value above 10^11 is read as milliseconds). eDRV does not
  publish which string `v1` signs; the candidates are `"<t>.<body>"` (the scheme of the identical
  header Stripe uses, and what the sandbox signs), the raw body alone, and the body with its non-ASCII
  characters escaped as `\\uXXXX` (as the legacy scheme signs). Which one is a setting
  (`V1Signs`), `timestamp.body` by default. A timestamp further than the replay window (5 minutes by
  default) from now, in either direction, is refused: an old signed body cannot be replayed.
- legacy: `edrv-signature: sha256=<hex>`, HMAC-SHA256 of the body with its non-ASCII characters
  escaped as `\\uXXXX`. eDRV's page says "lowercase hex digits" but writes `\\u00EB` in its example, so
  both spellings of the escape are tried. It carries no timestamp: only the receiver's deduplication on
  the event's `_id` stands against a replay. Accepted unless turned off.

Several secrets may be given at once, so a secret can be rotated without refusing a delivery; every
comparison is constant-time (`hmac.compare_digest`). When a signature fails under the chosen `v1`
string but matches another candidate, the verdict says which (`hint`), so an operator can set it; the
delivery is refused all the same.

Events. The envelope is `{"_id", "type", "object", "data", "createdAt"}`. An action event
(`chargestation.<command>.<requested|accepted|rejected>`) carries the Action as `data`: `_id` (the
action id the API call answered with), `chargestation`, `status`, `response_data` (the charger's OCPP
answer). Types this module does not know are read all the same (eDRV adds types at any time): only
`_id` and `type` are required.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.errors import WebhookError

SIGNATURE_HEADER = "edrv-signature"
DEFAULT_TOLERANCE_S = 300.0
# A timestamp above this is in milliseconds: 10^11 seconds is the year 5138, 10^11 ms is 1973.
_MILLISECONDS_FROM = 10**11
_MAX_ID_CHARS = 200
_NON_ASCII = re.compile(r"[^\x00-\x7e]")  # as json.dumps with ensure_ascii: DEL too

# The commands whose outcomes the reconciler folds or waits for, by their Action type.
SET, CLEAR, COMPOSITE = "set_charging_profile", "clear_charging_profile", "get_composite_schedule"
ACCEPTED, REJECTED = "accepted", "rejected"
FINAL = (ACCEPTED, REJECTED)


class V1Signs(StrEnum):
    """What the `v1` signature of eDRV's current scheme is computed over (see the module docstring)."""

    TIMESTAMP_BODY = "timestamp.body"
    BODY = "body"
    ESCAPED_BODY = "escaped-body"


@dataclass(frozen=True, slots=True)
class Verification:
    """How deliveries are checked: the endpoint's secrets (several while rotating) and the scheme."""

    secrets: tuple[str, ...]
    v1_signs: V1Signs = V1Signs.TIMESTAMP_BODY
    tolerance_s: float = DEFAULT_TOLERANCE_S
    legacy: bool = True

    def __post_init__(self) -> None:
        if not self.secrets or not all(self.secrets):
            raise ValueError("at least one non-empty webhook secret is needed")
        if self.tolerance_s <= 0:
            raise ValueError("the replay window must be positive")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a delivery's signature holds; `reason` says why not, `hint` what setting would match."""

    ok: bool
    reason: str = ""
    scheme: str = ""
    hint: str | None = None


def escape_non_ascii(body: bytes, upper: bool = False) -> bytes | None:
    """`body` with every non-ASCII character written `\\uXXXX` (two for one beyond U+FFFF), as JSON
    with `ensure_ascii` writes it; None when the body is not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _NON_ASCII.search(text) is None:
        return body
    form = "\\u{:04X}" if upper else "\\u{:04x}"

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code <= 0xFFFF:
            return form.format(code)
        code -= 0x10000
        return form.format(0xD800 + (code >> 10)) + form.format(0xDC00 + (code & 0x3FF))

    return _NON_ASCII.sub(escape, text).encode("ascii")


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _v1_messages(signs: V1Signs, timestamp: str, body: bytes) -> list[bytes]:
    """The strings `v1` may sign under `signs` (the escaped body in both spellings of the escape)."""
    if signs is V1Signs.TIMESTAMP_BODY:
        return [timestamp.encode("ascii") + b"." + body]
    if signs is V1Signs.BODY:
        return [body]
    return list(dict.fromkeys(m for m in (escape_non_ascii(body), escape_non_ascii(body, True)) if m))


def sign_v1(secret: str, timestamp: int, body: bytes, signs: V1Signs = V1Signs.TIMESTAMP_BODY) -> str:
    """The `edrv-signature` value of `body` sent at `timestamp` (as written: seconds or milliseconds)."""
    message = _v1_messages(signs, str(timestamp), body)[0]
    return f"t={timestamp},v1={_digest(secret, message)}"


def sign_legacy(secret: str, body: bytes) -> str:
    """The legacy `edrv-signature` value of `body`: `sha256=<hex>` over its escaped form."""
    escaped = escape_non_ascii(body)
    if escaped is None:
        raise ValueError("the legacy scheme signs UTF-8 bodies only")
    return f"sha256={_digest(secret, escaped)}"


def _matches(secrets: Sequence[str], messages: Sequence[bytes], signatures: Sequence[str]) -> bool:
    # Every candidate is compared, each in constant time; which one matched is nobody's business.
    found = False
    for secret in secrets:
        for message in messages:
            expected = _digest(secret, message)
            for signature in signatures:
                found |= hmac.compare_digest(expected, signature)
    return found


def _fields(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            pairs.append((key.strip(), value.strip()))
    return pairs


def verify(header: str | None, body: bytes, settings: Verification, now_s: float) -> Verdict:
    """Check a delivery's `edrv-signature` header against its exact body, at `now_s` (unix seconds)."""
    if not header:
        return Verdict(False, f"no {SIGNATURE_HEADER} header")
    fields = _fields(header)
    keys = {key for key, _ in fields}
    if keys == {"sha256"}:
        if not settings.legacy:
            return Verdict(False, "legacy sha256= signatures are refused by this receiver", "legacy")
        escaped = [m for m in (escape_non_ascii(body), escape_non_ascii(body, True)) if m]
        signatures = [value.lower() for key, value in fields if key == "sha256"]
        if _matches(settings.secrets, list(dict.fromkeys(escaped)), signatures):
            return Verdict(True, scheme="legacy")
        return Verdict(False, "sha256 signature does not match any secret", "legacy")
    stamps = [value for key, value in fields if key == "t"]
    signatures = [value.lower() for key, value in fields if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return Verdict(False, f"malformed {SIGNATURE_HEADER} header (expected t=<timestamp>,v1=<hex>)")
    stamp = stamps[0]
    sent_s = int(stamp) / 1000 if int(stamp) >= _MILLISECONDS_FROM else int(stamp)
    age_s = now_s - sent_s
    if age_s > settings.tolerance_s:
        return Verdict(False, f"timestamp is {age_s:.0f} s old, past the {settings.tolerance_s:g} s window")
    if -age_s > settings.tolerance_s:
        return Verdict(
            False, f"timestamp is {-age_s:.0f} s ahead, past the {settings.tolerance_s:g} s window"
        )
    if _matches(settings.secrets, _v1_messages(settings.v1_signs, stamp, body), signatures):
        return Verdict(True, scheme=f"v1 over {settings.v1_signs}")
    others = [signs for signs in V1Signs if signs is not settings.v1_signs]
    hint = next(
        (s for s in others if _matches(settings.secrets, _v1_messages(s, stamp, body), signatures)), None
    )
    return Verdict(
        False,
        f"v1 signature over {settings.v1_signs} does not match any secret",
        f"v1 over {settings.v1_signs}",
        hint.value if hint is not None else None,
    )


@dataclass(frozen=True, slots=True)
class Event:
    """What the reconciler reads off one webhook event; the event itself is kept as received.

    `command` and `outcome` are set for action events (`chargestation.<command>.<outcome>`);
    `charger_status` is the OCPP status the charger answered, `reason` the text a refusal carries.
    """

    event_id: str
    type: str
    object: str | None = None
    created_at: str | None = None
    station_id: str | None = None
    action_id: str | None = None
    command: str | None = None
    outcome: str | None = None
    charger_status: str | None = None
    reason: str | None = None

    @property
    def is_final(self) -> bool:
        """Whether it reports the charger's answer (accepted or rejected), not merely a request."""
        return self.outcome in FINAL


def parse_event(body: bytes) -> Event:
    """Read a delivery's body; WebhookError when it is not JSON or not an eDRV event envelope."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise WebhookError("body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise WebhookError(f"body is not JSON ({exc})") from None
    return read_event(data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _reference(value: Any) -> str | None:
    # eDRV gives a related object as its id, or as the object itself when it was asked to include it.
    return _text(value.get("_id")) if isinstance(value, dict) else _text(value)


def read_event(data: Any) -> Event:
    """The Event of an envelope already parsed from JSON; WebhookError when it is not one."""
    if not isinstance(data, dict):
        raise WebhookError("body is not a JSON object")
    event_id, event_type = _text(data.get("_id")), _text(data.get("type"))
    if event_id is None or event_type is None:
        raise WebhookError("the event has no `_id` or no `type` (eDRV's envelope has both)")
    if len(event_id) > _MAX_ID_CHARS or len(event_type) > _MAX_ID_CHARS:
        raise WebhookError(f"the event's `_id` or `type` is longer than {_MAX_ID_CHARS} characters")
    payload = data.get("data")
    payload = payload if isinstance(payload, dict) else {}
    created_at = _text(data.get("createdAt"))
    station_id = _reference(payload.get("chargestation"))
    kind = _text(data.get("object"))
    family, _, outcome = event_type.rpartition(".")
    resource, _, command = family.partition(".")
    # eDRV names the object `action`; without an object, the type's shape tells.
    shaped = resource == "chargestation" and bool(command) and outcome in ("requested", *FINAL)
    if not (kind == "action" or (kind is None and shaped)):
        return Event(event_id, event_type, kind, created_at, station_id)
    answer = payload.get("response_data")
    answer = answer if isinstance(answer, dict) else {}
    charger_status = _text(answer.get("status"))
    reason = _reason(answer)
    return Event(
        event_id,
        event_type,
        kind,
        created_at,
        station_id,
        _text(payload.get("_id")),
        command or None,
        outcome or None,
        charger_status,
        reason,
    )


def _reason(answer: dict[str, Any]) -> str | None:
    """What a charger's answer says: its OCPP status, or a CALLERROR's code and description."""
    code, description = _text(answer.get("errorCode")), _text(answer.get("errorDescription"))
    if code or description:
        return ": ".join(part for part in (code, description) if part)
    return _text(answer.get("error")) or _text(answer.get("status"))
