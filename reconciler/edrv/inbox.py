"""The inbox: every verified webhook event, stored durably in one SQLite database (WAL mode).

The receiver (`reconciler.shell.receiver`) writes to it and serves it; ingest, plan and apply read it
here when given its path, or through the receiver's URL (`remote_inbox`), both behind `Reader`.

Why SQLite: it ships with Python, one file holds everything, a commit in WAL mode with
`synchronous=FULL` is on disk before the receiver answers 200 (so an acknowledged event survives
kill -9 and power loss), readers never block the writer, and `event_id UNIQUE` deduplicates
deliveries. Each event keeps its exact body, the moment it was received and its `seq`, a cursor that
only grows; beside them, the fields `webhook.read_event` reads off it, so that folding an outcome
never parses JSON again. Events of types the reconciler does not know are kept like the others.

Reading: `page` serves a cursor (`after`) with filters (stations, types, action id, received since),
`outcomes` gives the answers to set and clear calls for ingest, `wait_for` waits for the event of one
action (a composite schedule's answer, for instance) until a timeout.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from reconciler.edrv.webhook import CLEAR, FINAL, SET, Event
from reconciler.errors import InboxError

SCHEMA_VERSION = 1
PAGE_LIMIT = 1000
# The types ingest folds: the charger's answers to set and clear calls.
OUTCOME_TYPES = tuple(f"chargestation.{command}.{outcome}" for command in (SET, CLEAR) for outcome in FINAL)
_POLL_S = 0.05

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    object TEXT,
    created_at TEXT,
    station TEXT,
    action_id TEXT,
    command TEXT,
    outcome TEXT,
    charger_status TEXT,
    reason TEXT,
    received_s REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_station ON events (station, received_s);
CREATE INDEX IF NOT EXISTS events_by_action ON events (action_id);
CREATE INDEX IF NOT EXISTS events_by_received ON events (received_s);
"""
_FIELDS = "seq, received_s, event_id, type, object, created_at, station, action_id, command, outcome, "
_FIELDS += "charger_status, reason"


@dataclass(frozen=True, slots=True)
class Received:
    """One stored event: its cursor, when the receiver got it, what it says, and (if read) its JSON.

    `body` is the event exactly as delivered when read from the database, and the same JSON
    re-encoded when read through a receiver's URL.
    """

    seq: int
    received_at: datetime
    event: Event
    body: bytes | None = None

    def envelope(self) -> dict[str, Any] | None:
        """The event's JSON object, when its body was read."""
        return json.loads(self.body) if self.body is not None else None


@dataclass(frozen=True, slots=True)
class Query:
    """Which events to read: after the cursor `after`, at most `limit`, matching every filter given."""

    after: int = 0
    limit: int = PAGE_LIMIT
    stations: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    action_id: str | None = None
    since: datetime | None = None
    with_body: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """Events of one read, the cursor to read on from, and whether more matched than `limit`."""

    events: list[Received] = field(default_factory=list)
    next: int = 0
    more: bool = False
    last_received_at: datetime | None = None


def is_url(location: str) -> bool:
    """Whether an inbox's location is a receiver's URL (read by `remote_inbox`) rather than a database."""
    return location.startswith(("http://", "https://"))


class Reader(Protocol):
    """What ingest, plan and apply need of an inbox, local (`Inbox`) or behind a receiver's URL."""

    @property
    def label(self) -> str:
        """Where it is, for messages (a path, or a URL without credentials)."""
        ...

    def page(self, query: Query) -> Page:
        """One page of the events `query` selects."""
        ...

    def wait_for(self, action_id: str, types: Sequence[str], timeout_s: float) -> Received | None:
        """The first event of `action_id` of one of `types`, waiting up to `timeout_s` for it to arrive."""
        ...


def outcomes(reader: Reader, stations: Sequence[str], since: datetime) -> list[Received]:
    """The answers to set and clear calls of `stations` received since `since`, in the order received."""
    found: list[Received] = []
    query = Query(stations=tuple(stations), types=OUTCOME_TYPES, since=since)
    while True:
        page = reader.page(query)
        found.extend(page.events)
        if not page.more:
            return found
        query = Query(page.next, query.limit, query.stations, query.types, since=since)


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Inbox:
    """One connection to the inbox database; open one per thread that uses it."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        if not create and not path.is_file():
            raise InboxError(
                f"{path}: no inbox here; give the database `reconciler receive --db` writes, or its URL"
            )
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            # One thread uses a connection at a time; another may close it once that thread is done.
            target = path if create else f"file:{quote(str(path))}?mode=rw"  # rw: never create a reader's
            self._db = sqlite3.connect(target, uri=not create, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 10000")
            if create:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # Every commit waits for the disk: an event acknowledged with 200 survives a power cut too.
            self._db.execute("PRAGMA synchronous = FULL")
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise InboxError(f"{path}: cannot open the inbox ({exc})") from None
        if version != SCHEMA_VERSION:
            self._db.close()
            raise InboxError(
                f"{path}: inbox format {version}, not {SCHEMA_VERSION}; use the reconciler that wrote it"
            )

    @property
    def label(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._db
        except sqlite3.Error as exc:
            raise InboxError(f"{self.path}: cannot read the inbox ({exc})") from None

    def store(self, items: Sequence[tuple[Event, bytes]], received_s: float) -> list[int | None]:
        """Store events in one transaction; each one's seq, or None for an `_id` stored before."""
        seqs: list[int | None] = []
        with self._db:  # one commit, one sync, for the whole batch
            for event, body in items:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO events (event_id, type, object, created_at, station, action_id, "
                    "command, outcome, charger_status, reason, received_s, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.event_id,
                        event.type,
                        event.object,
                        event.created_at,
                        event.station_id,
                        event.action_id,
                        event.command,
                        event.outcome,
                        event.charger_status,
                        event.reason,
                        received_s,
                        body,
                    ),
                )
                seqs.append(cursor.lastrowid if cursor.rowcount == 1 else None)
        return seqs

    def checkpoint(self, automatic: bool | None = None) -> None:
        """Copy the write-ahead log into the database now (without waiting for readers); `automatic`
        False leaves that to such calls only, True hands it back to SQLite's own, at each commit."""
        if automatic is not None:
            self._db.execute(f"PRAGMA wal_autocheckpoint = {1000 if automatic else 0}")
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def prune(self, before: datetime) -> int:
        """Delete events received before `before`; how many went."""
        with self._db:
            cursor = self._db.execute("DELETE FROM events WHERE received_s < ?", (before.timestamp(),))
        return cursor.rowcount

    def count(self) -> int:
        with self._reading() as db:
            (total,) = db.execute("SELECT count(*) FROM events").fetchone()
        return int(total)

    def last_received_at(self) -> datetime | None:
        with self._reading() as db:
            row = db.execute("SELECT received_s FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return _moment(row[0]) if row else None

    def page(self, query: Query) -> Page:
        where: list[str] = ["seq > ?"]
        values: list[str | int | float] = [query.after]
        for column, chosen in (("station", query.stations), ("type", query.types)):
            if chosen:
                where.append(f"{column} IN ({', '.join('?' * len(chosen))})")
                values.extend(chosen)
        if query.action_id is not None:
            where.append("action_id = ?")
            values.append(query.action_id)
        if query.since is not None:
            where.append("received_s >= ?")
            values.append(query.since.timestamp())
        columns = _FIELDS + (", body" if query.with_body else "")
        sql = f"SELECT {columns} FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"  # noqa: S608 - only placeholders vary
        with self._reading() as db:
            rows = db.execute(sql, (*values, query.limit + 1)).fetchall()
        more = len(rows) > query.limit
        events = [_received(row, query.with_body) for row in rows[: query.limit]]
        return Page(events, events[-1].seq if events else query.after, more, self.last_received_at())

    def wait_for(self, action_id: str, types: Sequence[str], timeout_s: float) -> Received | None:
        deadline = time.monotonic() + timeout_s
        query = Query(limit=1, types=tuple(types), action_id=action_id, with_body=True)
        while True:
            page = self.page(query)
            if page.events:
                return page.events[0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))


def _received(row: tuple[Any, ...], with_body: bool) -> Received:
    seq, received_s, *fields = row[:12]
    event = Event(*fields)
    return Received(int(seq), _moment(received_s), event, bytes(row[12]) if with_body else None)
