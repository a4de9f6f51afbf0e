"""The text of a recorded-state file (format 3), and what a reader needs to take it back. Pure.

`store` writes `to_text` (and, piece by piece, `StateWriter` the same), and on load asks `unchanged`
whether the checksum holds and has `fill_mirrored` complete the records of a format 3 document.

The document and each station are JSON with sorted keys and an indent of 2, and each record is one
line: its fields in sorted order, those at their default value left out (a record says what is not the
usual: an answer, an error, a clear on its way), and those that repeat a field of the payload
(`check.MIRRORED`) left out too, the reader filling them in from it; the payload itself is written as
its canonical JSON, the very text its `payload_hash` is the SHA-256 of. So a change to a record is one
changed line in a diff, a new record one added line, and a record takes under half the bytes of the
fully indented form of versions 1 and 2. All of it follows from the models' fields, so a field added
to records is written and read with no change here.

The file's second line is a checksum: the SHA-256 of the text without that line. A file whose checksum
holds is byte for byte what a reconciler wrote, so `store` does not hash its payloads or read them
field by field again (they were checked when they were recorded); any other file, hand-edited or
merged, gets every check. The checksum guards against accidents, as the payload hashes do, not against
someone who recomputes it. Texts are built per record and per station, so that `StateWriter` reuses
the text of whatever did not change since its last save (with an indent, json encodes in pure Python).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.ocpp.profile import canonical_json
from reconciler.state.check import MIRRORED
from reconciler.state.recorded import STATE_VERSION, ProfileRecord, RecordedState, StationRecord

CHECKSUM_KEY = "checksum"


def to_text(state: RecordedState) -> str:
    """The file's text for `state`, in format 3."""
    stations = [
        item(station_id, station_text(station, [item(n, record_text(r)) for n, r in sorted_records(station)]))
        for station_id, station in sorted(state.stations.items())
    ]
    return document_text(state, stations)


_NEWLINE = "\n"
_SEPARATORS = (", ", ": ")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, allow_nan=False)


def item(key: str, text: str) -> str:
    """One item of an object (`_braced`): its key, and its value's text (laid out alone) indented to fit."""
    return f"  {json.dumps(key)}: {text.replace(_NEWLINE, _NEWLINE + '  ')}"


def _braced(items: list[str]) -> str:
    """An object from its items' texts (`_item`), in key order."""
    if not items:
        return "{}"
    return "{" + _NEWLINE + f",{_NEWLINE}".join(items) + _NEWLINE + "}"


def sorted_records(station: StationRecord) -> list[tuple[str, ProfileRecord]]:
    return sorted(station.profiles.items())


def record_text(record: ProfileRecord) -> str:
    fields = record.model_dump(mode="json", exclude_defaults=True, exclude=set(MIRRORED))
    parts = [
        f"{json.dumps(key)}: " + (canonical_json(value) if key == "payload" else _one_line(value))
        for key, value in sorted(fields.items())
    ]
    return "{" + ", ".join(parts) + "}"


def _one_line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=_SEPARATORS, allow_nan=False)


def station_text(station: StationRecord, profiles: list[str]) -> str:
    fields = station.model_dump(mode="json", exclude_defaults=True, exclude={"profiles"})
    texts = {key: _dumps(value) for key, value in fields.items()}
    texts["profiles"] = _braced(profiles)
    return _braced([item(key, texts[key]) for key in sorted(texts)])


def document_text(state: RecordedState, stations: list[str]) -> str:
    fields = {**state.model_dump(mode="json", exclude={"stations"}), "version": STATE_VERSION}
    texts = {key: _dumps(value) for key, value in fields.items()}
    texts["stations"] = _braced(stations)
    return _with_checksum(_braced([item(key, texts[key]) for key in sorted(texts)]) + _NEWLINE)


# A checksummed document's opening, up to the hex digits of its checksum, which end with `",`.
_HEAD_TEXT = "{" + _NEWLINE + f'  "{CHECKSUM_KEY}": "sha256:'
_HEAD = _HEAD_TEXT.encode()


def _with_checksum(body: str) -> str:
    """`body` (a document's text, `{` on its first line) with the checksum of it as its second line."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f'{_HEAD_TEXT}{digest}",' + body[1:]


def unchanged(data: bytes) -> bool:
    """Whether a file's bytes carry a checksum on their second line and the rest is the text it was taken
    of (its UTF-8). Hashed as read, without a copy: a 32 MB file would otherwise be decoded, cut and
    encoded again, three copies and a twentieth of a second."""
    if not data.startswith(_HEAD):
        return False
    line_end = data.find(_NEWLINE.encode(), len(_HEAD))
    if line_end < 0 or data[line_end - 2 : line_end] != b'",':
        return False
    digest = hashlib.sha256(b"{")
    digest.update(memoryview(data)[line_end:])
    return digest.hexdigest().encode() == data[len(_HEAD) : line_end - 2]  # the hex digits, before `",`


def fill_mirrored(data: dict[str, Any]) -> None:
    """Give each record of a format 3 document the fields it leaves to its payload (`MIRRORED`)."""
    stations = data.get("stations")
    for station in stations.values() if isinstance(stations, dict) else ():
        profiles = station.get("profiles") if isinstance(station, dict) else None
        for record in profiles.values() if isinstance(profiles, dict) else ():
            payload = record.get("payload") if isinstance(record, dict) else None
            if isinstance(payload, dict):
                for field, key in MIRRORED.items():
                    if field not in record and key in payload:
                        record[field] = payload[key]
