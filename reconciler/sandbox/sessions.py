"""Sessions as the sandbox's central system keeps them: one per transaction a charge point started.

`SessionBook` opens a session on StartTransaction (giving the transaction its id) and ends it on
StopTransaction; the HTTP API lists them (`objects`-style JSON via `SessionRecord.as_json`) and waits on
`expect` for the session a remote start or stop asked for. `announce` wakes that waiter once the
charge point has its answer, and tells the webhooks. Used by `central` and `api`.

A session's JSON: `_id`, `chargestation`, `connector` (an eDRV connector id), `connectorId` (the OCPP
connector number), `status` (`Started`, then `Ended`), `metrics.chargingStart` (and, once ended,
`chargingStop` and `energyConsumed` in Wh), `createdAt`, `updatedAt`, and `transactionId`, the OCPP
transaction, which eDRV keeps to itself.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.ocpp.profile import Json, format_timestamp
from reconciler.sandbox.objects import ObjectIds, connector_ref

STARTED, ENDED = "Started", "Ended"
# A remote start waits by (station, connector), a remote stop by (station, session id).
WaitKey = tuple[str, int | str]


@dataclass(slots=True)
class SessionRecord:
    """A charging session: a transaction the central system saw start on one connector."""

    session_id: str
    station_id: str
    connector_id: int
    transaction_id: int
    started_at: datetime
    meter_start_wh: int
    status: str = STARTED
    ended_at: datetime | None = None
    meter_stop_wh: int | None = None
    updated_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.updated_at = self.started_at

    @property
    def is_active(self) -> bool:
        return self.status == STARTED

    def end(self, at: datetime, meter_stop_wh: int) -> None:
        self.status, self.ended_at, self.meter_stop_wh, self.updated_at = ENDED, at, meter_stop_wh, at

    def as_json(self) -> Json:
        metrics: Json = {
            "chargingStart": format_timestamp(self.started_at),
            "meterStart": self.meter_start_wh,
        }
        if self.ended_at is not None and self.meter_stop_wh is not None:
            metrics["chargingStop"] = format_timestamp(self.ended_at)
            metrics["energyConsumed"] = self.meter_stop_wh - self.meter_start_wh
        return {
            "_id": self.session_id,
            "chargestation": self.station_id,
            "connector": connector_ref(self.station_id, self.connector_id),
            "connectorId": self.connector_id,
            "transactionId": self.transaction_id,
            "status": self.status,
            "metrics": metrics,
            "createdAt": format_timestamp(self.started_at),
            "updatedAt": format_timestamp(self.updated_at),
        }


SessionEvent = Callable[[str, SessionRecord], None]


class SessionBook:
    """Every session the central system has seen, and who waits for which to start or end."""

    def __init__(self, clock: Callable[[], datetime], ids: ObjectIds, on_event: SessionEvent | None) -> None:
        self.records: dict[str, SessionRecord] = {}
        self._clock = clock
        self._ids = ids
        self._on_event = on_event
        self._transaction_ids = itertools.count(1)
        self._waiting: dict[WaitKey, asyncio.Future[SessionRecord]] = {}

    def active(self, station_id: str, connector_id: int) -> SessionRecord | None:
        for record in self.records.values():
            if record.station_id == station_id and record.connector_id == connector_id and record.is_active:
                return record
        return None

    def open(self, station_id: str, connector_id: int, meter_start: int, timestamp: str) -> SessionRecord:
        started = _moment(timestamp, self._clock())
        transaction_id = next(self._transaction_ids)
        record = SessionRecord(
            self._ids.next(), station_id, connector_id, transaction_id, started, meter_start
        )
        self.records[record.session_id] = record
        return record

    def close(
        self, station_id: str, transaction_id: int, meter_stop: int, timestamp: str
    ) -> SessionRecord | None:
        for record in self.records.values():
            if (
                record.station_id == station_id
                and record.transaction_id == transaction_id
                and record.is_active
            ):
                record.end(_moment(timestamp, self._clock()), meter_stop)
                return record
        return None

    def expect(self, key: WaitKey) -> asyncio.Future[SessionRecord]:
        waiter: asyncio.Future[SessionRecord] = asyncio.get_running_loop().create_future()
        self._waiting[key] = waiter
        return waiter

    def forget(self, key: WaitKey, waiter: asyncio.Future[SessionRecord]) -> None:
        if self._waiting.get(key) is waiter:
            del self._waiting[key]
        waiter.cancel()

    def announce(self, event: str, record: SessionRecord) -> None:
        """A session started or ended: wake whoever waits for it, and tell the webhooks."""
        if event == "session.started":
            key: WaitKey = (record.station_id, record.connector_id)
        else:
            key = (record.station_id, record.session_id)
        waiter = self._waiting.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(record)
        if self._on_event is not None:
            self._on_event(event, record)


def _moment(timestamp: str, fallback: datetime) -> datetime:
    # A charge point's clock may say anything; an unreadable time is taken as the central system's now.
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return fallback
    return moment if moment.tzinfo is not None else fallback
