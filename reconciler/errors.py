"""Every error the reconciler expects, and the located problem a check reports.

The tree, drawn once so callers know what to catch::

    ReconcilerError                 expected failure: the CLI prints one line and exits 1
    ├── DesiredStateError           desired YAML is wrong; carries every Problem found
    ├── StateFileError              a recorded-state file is unreadable or inconsistent
    ├── UnsafePlanError             a plan crosses a safety rail; --force overrides
    ├── WebhookError                a webhook delivery that is not an eDRV event (the receiver answers 400)
    ├── InboxError                  the inbox of received webhooks cannot be read or reached
    └── EdrvError                   talking to eDRV failed; names the call, never the API key
        ├── EdrvSettingsError       no API key, an unreadable key file, or a malformed API URL
        ├── EdrvAuthError           401/403: the key is wrong or lacks rights; not retried
        ├── EdrvNotFoundError       404: no such station (or path); not retried
        ├── EdrvRejectedError       400/409/422, or `ok: false`: eDRV refused the call; not retried
        ├── EdrvRateLimitedError    429 after every retry, or a Retry-After too long to wait for
        ├── EdrvServerError         5xx after every retry
        ├── EdrvTimeoutError        no answer in time, after every retry
        ├── EdrvTransportError      the connection failed (refused, reset, TLS)
        ├── EdrvResponseError       an answer the reconciler cannot read (no envelope, odd status)
        └── EdrvNotSentError        withdrawn by the caller before it went out (its state is refused)

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# A place in a YAML document: mapping keys and sequence indexes from the root.
MAX_MESSAGE_CHARS = 1000
YamlPath = tuple[str | int, ...]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where it is, what is wrong, and what would fix it.

    `line` and `column` are 1-based, as editors and GitHub annotations count; 0 means unknown.
    """

    file: str
    line: int
    column: int
    severity: Severity
    message: str
    fix: str = ""

    def __post_init__(self) -> None:
        # A backstop: messages quote names and values from the input, each cut to an excerpt where it
        # is quoted; no message of a bad input may run on for pages however it was made.
        for name, limit in (("message", MAX_MESSAGE_CHARS), ("fix", MAX_MESSAGE_CHARS // 2)):
            text = getattr(self, name)
            if len(text) > limit:
                object.__setattr__(self, name, text[:limit] + "…")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}"
        text = f"{where}: {self.severity}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found by a pure check, placed by YAML path rather than by line.

    `origins` are the places the checked value may come from, most specific first (a station's
    override before the template it patches); `field` is the path inside that place. The loader
    turns a Finding into a Problem by looking the first existing `origin + field` up in the YAML.
    """

    origins: tuple[YamlPath, ...]
    field: YamlPath
    severity: Severity
    message: str
    fix: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(origin: YamlPath, field: YamlPath, message: str, fix: str = "") -> Finding:
    return Finding((origin,), field, Severity.ERROR, message, fix)


EXCERPT_CHARS = 60


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """`repr(value)` cut to about `limit` characters, so a message never echoes a whole hostile input.

    Containers show their first few items, a few levels deep, before anything is turned into text: a
    huge or deeply nested value (a YAML alias bomb) costs no more than its excerpt.
    """
    text = _bounded_repr(value, limit, depth=3)
    if isinstance(value, str):  # already cut, and its quotes kept
        return text
    return text if len(text) <= limit else text[:limit] + "…"


def _bounded_repr(value: object, limit: int, depth: int) -> str:
    if isinstance(value, list | tuple | dict):
        if depth == 0:
            return "[…]" if isinstance(value, list | tuple) else "{…}"
        items = list(value.items())[:3] if isinstance(value, dict) else list(value[:3])
        if isinstance(value, dict):
            inner = [
                f"{_bounded_repr(k, limit, depth - 1)}: {_bounded_repr(v, limit, depth - 1)}"
                for k, v in items
            ]
        else:
            inner = [_bounded_repr(item, limit, depth - 1) for item in items]
        if len(value) > 3:
            inner.append("…")
        opening, closing = (
            ("{", "}") if isinstance(value, dict) else ("(", ")") if isinstance(value, tuple) else ("[", "]")
        )
        return opening + ", ".join(inner) + closing
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "…"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        # Python refuses to print an integer of over 4,300 digits, and it would not fit anyway.
        return f"an integer of {value.bit_length() * 30103 // 100000 + 1:,} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class ReconcilerError(Exception):
    """Root of every expected failure; its message is one line an operator can act on."""


class DesiredStateError(ReconcilerError):
    """Desired state that must not be planned or sent; holds every problem at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        files = sorted({p.file for p in errors})
        super().__init__(f"{len(errors)} error(s) in desired state: {', '.join(files)}")


class StateFileError(ReconcilerError):
    """A recorded-state file that cannot be trusted; nothing is overwritten.

    `file` and `line` say where, when known (line 0: the whole file), for annotations.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int = 0) -> None:
        super().__init__(message)
        self.file = file
        self.line = line


class UnsafePlanError(ReconcilerError):
    """A plan that crosses a safety rail (too many clears or changes on one site)."""


class WebhookError(ReconcilerError):
    """A delivery whose body is not an eDRV webhook event; the receiver refuses it and stores nothing."""


class InboxError(ReconcilerError):
    """The inbox of received webhooks cannot be opened, read or reached; nothing was folded from it."""


class EdrvError(ReconcilerError):
    """A call to eDRV that did not succeed.

    `station_id` is the station the call was for (None for listings and settings), `status_code` the
    last HTTP status (None when no answer came), `attempts` how many times the call was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        station_id: str | None = None,
        status_code: int | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.station_id = station_id
        self.status_code = status_code
        self.attempts = attempts


class EdrvSettingsError(EdrvError):
    """The client cannot be set up: no API key, an unreadable key file, or a malformed API URL."""


class EdrvAuthError(EdrvError):
    """eDRV refused the API key (401) or its rights (403); every further call would fail alike."""


class EdrvNotFoundError(EdrvError):
    """eDRV knows no such station, or no such path (404)."""


class EdrvRejectedError(EdrvError):
    """eDRV refused the call as invalid (400, 409, 422, or `ok: false`); sending it again would not help."""


class EdrvRateLimitedError(EdrvError):
    """eDRV kept answering 429; `retry_after_s` is how long it last asked to wait, if it said."""

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        station_id: str | None = None,
        status_code: int | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message, station_id=station_id, status_code=status_code, attempts=attempts)
        self.retry_after_s = retry_after_s


class EdrvServerError(EdrvError):
    """eDRV kept failing on its side (5xx)."""


class EdrvTimeoutError(EdrvError):
    """eDRV did not answer in time, on every attempt."""


class EdrvTransportError(EdrvError):
    """The connection to eDRV failed (refused, reset, TLS, DNS)."""


class EdrvResponseError(EdrvError):
    """An answer the reconciler cannot read: no `{ok, message, result}` envelope, or an unexpected status."""


class EdrvNotSentError(EdrvError):
    """A call its caller withdrew just before it went out: nothing reached eDRV."""
