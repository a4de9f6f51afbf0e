"""An inbox read through a receiver's URL: `reconciler ingest --inbox https://…` (httpx).

The receiver (`reconciler.shell.receiver`) serves its inbox at `GET <url>/events` to readers
presenting its reader token as `Authorization: Bearer <token>`; the token comes from the environment
(`RECONCILER_INBOX_TOKEN`, see `TOKEN_VARIABLE`) and appears in no message. The answer is one page:

    {"events": [{"seq": 7, "received_at": "…Z", "event": {…the envelope as received…}}],
     "next": 7, "more": false, "last_received_at": "…Z"}

Query parameters: `after` (cursor), `limit`, `station` and `type` (repeatable), `action`, `since`
(RFC 3339), and `wait` (seconds to hold the request until an event matches, for `wait_for`).
Every failure is an `InboxError` naming the URL (without credentials) and what to check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from reconciler.edrv.inbox import Page, Query, Received
from reconciler.edrv.webhook import read_event
from reconciler.errors import InboxError, WebhookError
from reconciler.ocpp.profile import format_timestamp

TOKEN_VARIABLE = "RECONCILER_INBOX_TOKEN"  # noqa: S105 - the variable's name, not a token
_TIMEOUT_S = 30.0


class RemoteInbox:
    """The inbox of a receiver at `url`, read with `token`."""

    def __init__(self, url: str, token: str | None, transport: httpx.BaseTransport | None = None) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise InboxError(f"{url!r} is not an http(s) URL of a receiver")
        if not token:
            raise InboxError(f"no reader token for the inbox at {url}: set {TOKEN_VARIABLE}")
        self._label = str(parsed.copy_with(username=None, password=None, query=None, fragment=None))
        self._events = self._label.rstrip("/") + "/events"
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {token}"},
            timeout=_TIMEOUT_S,
            transport=transport or httpx.HTTPTransport(retries=2),
        )

    @property
    def label(self) -> str:
        return self._label

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteInbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def page(self, query: Query) -> Page:
        return self._get(_params(query), _TIMEOUT_S)

    def wait_for(self, action_id: str, types: Sequence[str], timeout_s: float) -> Received | None:
        query = Query(limit=1, types=tuple(types), action_id=action_id, with_body=True)
        page = self._get([*_params(query), ("wait", f"{timeout_s:g}")], timeout_s + _TIMEOUT_S)
        return page.events[0] if page.events else None

    def _get(self, params: list[tuple[str, str | int | float | bool | None]], timeout_s: float) -> Page:
        try:
            answer = self._http.get(self._events, params=params, timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise InboxError(f"cannot reach the inbox at {self._label} ({type(exc).__name__})") from None
        if answer.status_code in (401, 403):
            raise InboxError(
                f"the inbox at {self._label} refused the reader token (HTTP {answer.status_code}); "
                f"check {TOKEN_VARIABLE}"
            )
        if answer.status_code != 200:
            raise InboxError(f"the inbox at {self._label} answered HTTP {answer.status_code}")
        try:
            return _page(answer.json())
        except (ValueError, KeyError, TypeError, WebhookError) as exc:
            raise InboxError(
                f"the inbox at {self._label} answered with something not a page ({exc})"
            ) from None


def _params(query: Query) -> list[tuple[str, str | int | float | bool | None]]:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("after", str(query.after)),
        ("limit", str(query.limit)),
    ]
    params += [("station", s) for s in query.stations] + [("type", t) for t in query.types]
    if query.action_id is not None:
        params.append(("action", query.action_id))
    if query.since is not None:
        params.append(("since", format_timestamp(query.since)))
    return params


def _moment(text: Any) -> datetime:
    if not isinstance(text, str):
        raise TypeError("a time is not a string")
    return datetime.fromisoformat(text)


def _page(data: Any) -> Page:
    events = [
        Received(
            int(item["seq"]),
            _moment(item["received_at"]),
            read_event(item["event"]),
            json.dumps(item["event"], separators=(",", ":")).encode(),
        )
        for item in data["events"]
    ]
    last = data.get("last_received_at")
    return Page(events, int(data["next"]), bool(data["more"]), _moment(last) if last else None)
