"""Faults the sandbox plays on demand: latency, HTTP errors (429 with Retry-After, 5xx), requests held
past the client's timeout or dropped, offline stations, and charge points that answer Rejected.

`Faults` is the whole setting. The `reconciler sandbox` flags build one at start; `POST /_sandbox/faults`
replaces it with the same JSON while the sandbox runs, for example:

    {"latency_ms": 50,
     "errors": [{"kind": 429, "times": 2, "retry_after_s": 1},
                {"kind": "timeout", "times": 1, "station": "CP-001"}],
     "offline": ["CP-002"], "reject": ["CP-003"]}

An error with `times` answers that many matching requests, then is gone; without, it answers all of
them. `FaultPlay` counts them down; the HTTP API (`api`) asks it before serving each request. Offline
stations and rejections are carried out by the simulated charge points (`fleet`, `simulator`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What a "timeout" fault does to a request: `hold` answers it only after `hold_s` (the client has long
# given up), `drop` closes the connection without an answer.
HELD, DROPPED = "timeout", "drop"


class HttpFault(BaseModel):
    """One scripted answer: an HTTP error status, or a request held (`timeout`) or dropped (`drop`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: int | Literal["timeout", "drop"]
    times: int | None = Field(None, ge=1)
    retry_after_s: int | None = Field(None, ge=0)
    station: str | None = None

    @field_validator("kind")
    @classmethod
    def _error_status(cls, kind: int | str) -> int | str:
        if isinstance(kind, int) and not 400 <= kind <= 599:
            raise ValueError(f"an error status is 400-599, not {kind}")
        return kind


class Faults(BaseModel):
    """Every fault in play; the default plays none."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    latency_ms: int = Field(0, ge=0)
    # Longer than the eDRV client's default timeout (20 s), so a held request times out there.
    hold_s: float = Field(30.0, gt=0)
    errors: tuple[HttpFault, ...] = ()
    offline: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()


def parse_error_flag(text: str, retry_after_s: int | None = None, station: str | None = None) -> HttpFault:
    """`--error KIND[:TIMES]`: `429:3`, `503`, `timeout:1`, `drop`. Raises ValueError when malformed."""
    kind_text, _, times_text = text.partition(":")
    kind: int | str = int(kind_text) if kind_text.isdigit() else kind_text
    if kind not in (HELD, DROPPED) and not isinstance(kind, int):
        raise ValueError(f"{text!r}: the kind is an HTTP status, 'timeout' or 'drop'")
    if times_text and not times_text.isdigit():
        raise ValueError(f"{text!r}: TIMES after the colon is a whole number")
    times = int(times_text) if times_text else None
    data: dict[str, Any] = {"kind": kind, "times": times, "retry_after_s": retry_after_s, "station": station}
    return HttpFault.model_validate(data)


class FaultPlay:
    """The faults in play and how many times each error has still to answer."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._left: list[tuple[HttpFault, int | None]] = [(f, f.times) for f in faults.errors]

    def next_error(self, station_id: str | None) -> HttpFault | None:
        """The error to answer a request for `station_id` with (None: a request for no station), if any."""
        for index, (fault, left) in enumerate(self._left):
            if fault.station not in (None, station_id):
                continue
            if left is not None:
                if left <= 1:
                    del self._left[index]
                else:
                    self._left[index] = (fault, left - 1)
            return fault
        return None

    def current(self) -> Faults:
        """The faults in play now: errors that have run out are gone, the others show what is left."""
        errors = tuple(f.model_copy(update={"times": left}) for f, left in self._left)
        return self.faults.model_copy(update={"errors": errors})
