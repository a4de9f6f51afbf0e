"""Confirmations for people and tools: per record, and per site in a plan. Pure: returns strings.

`record_cells` gives `state show` two cells per profile: whether the charger's answer is recorded and
since when, and what is on its way; `standing_lines` gives each site of a plan its sentences (where
answers are read from, how many are awaited, rejected, and whether they arrive at all), and
`standing_json` the same for `plan --format json`; `ingest_text` reports what an ingest did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reconciler.desired.clock import UTC_CLOCK, SiteClock
from reconciler.ocpp.profile import parse_timestamp
from reconciler.plan.confirm import IngestReport, Standing
from reconciler.render.names import visible
from reconciler.state.recorded import ProfileRecord, Status


def record_cells(record: ProfileRecord, clock: SiteClock = UTC_CLOCK) -> tuple[str, str]:
    """(whether confirmed and since when, what is on its way) for one record, times on `clock`."""

    def at(text: str) -> str:
        return text if clock.name == "UTC" else clock.short(parse_timestamp(text))

    confirmed = (
        f"confirmed {at(record.confirmed_at)}" if record.confirmed_at else f"since {at(record.updated_at)}"
    )
    if record.is_retired:
        return confirmed, ""
    answered = confirmed if record.status in (Status.ACCEPTED, Status.REJECTED) else "unconfirmed"
    sends = f" ({record.attempts} sends)" if record.attempts > 1 else ""
    pending = {
        Status.REQUESTED: f"set sent {at(record.requested_at)}{sends}, awaiting the charger's answer",
        Status.PENDING: f"set about to be sent since {at(record.requested_at)}; the next plan sends it",
        Status.FAILED: f"set failed {at(record.updated_at)}; the next plan sends it again",
    }.get(record.status, "")
    if record.clearing is not None:
        clears = record.clearing.attempts
        again = f" ({clears} sends)" if clears > 1 else ""
        pending = f"clear sent {at(record.clearing.requested_at)}{again}, awaiting the charger's answer"
    return answered, pending


def _moment(value: datetime | None, clock: SiteClock = UTC_CLOCK) -> str:
    return clock.short(value) if value is not None else "never"


def standing_lines(standing: Standing | None, clock: SiteClock = UTC_CLOCK) -> list[str]:
    """Sentences on a site's confirmations for a plan, times on `clock`; none when there is nothing to say."""
    if standing is None:
        return []
    lines: list[str] = []
    awaiting = standing.awaiting
    oldest = f" (the oldest sent {_moment(standing.oldest_awaiting, clock)})" if awaiting else ""
    if standing.inbox is None:
        if awaiting:
            lines.append(
                f"Confirmations are not being received (no --inbox): {awaiting} call(s) await the "
                f"charger's answer{oldest} and count as done; none is sent again for want of one."
            )
        if standing.rejected:
            lines.append(f"{standing.rejected} profile(s) rejected by the charger, as last recorded.")
        return lines
    if not (standing.accepted or awaiting or standing.rejected):
        return lines  # nothing recorded yet, so nothing to confirm
    lines.append(
        f"Confirmations from {standing.inbox}: {standing.accepted} accepted, {awaiting} awaiting an "
        f"answer{oldest}, {standing.rejected} rejected; last event received "
        f"{_moment(standing.last_received_at, clock)}."
    )
    if standing.receiving is False:
        lines.append(
            f"Confirmations are not arriving: the inbox has received nothing since the oldest unanswered "
            f"call was sent ({_moment(standing.oldest_awaiting, clock)}); check the receiver and eDRV's "
            "webhook subscription."
        )
    return lines


def standing_json(standing: Standing | None) -> dict[str, Any] | None:
    if standing is None:
        return None
    return {
        "inbox": standing.inbox,
        "accepted": standing.accepted,
        "awaiting": standing.awaiting,
        "rejected": standing.rejected,
        "oldest_awaiting": _moment(standing.oldest_awaiting) if standing.oldest_awaiting else None,
        "last_received_at": _moment(standing.last_received_at) if standing.last_received_at else None,
        "receiving": standing.receiving,
    }


def ingest_text(report: IngestReport, clocks: Mapping[str, SiteClock] | None = None) -> str:
    """What an ingest did, for people: each record that took an answer (when, on its site's clock where
    `clocks` has it, else in UTC), then the totals."""
    lines: list[str] = []
    became: Counter[str] = Counter()
    for site in report.sites:
        clock = (clocks or {}).get(site.site_id, UTC_CLOCK)
        for item in site.folded:
            word = "clear refused" if item.became is Status.FAILED else str(item.became)
            became[word] += 1
            said = f": {visible(item.reason)}" if item.reason else ""
            where = visible(f"{site.site_id}/{item.station_id}/{item.name}")
            answered = item.at if clock.name == "UTC" else clock.short(parse_timestamp(item.at))
            lines.append(f"{word:<13} {where} {item.action} id {item.profile_id} (answered {answered}){said}")
        if site.unmatched:
            shown = ", ".join(e.action_id or e.event_id for e in site.unmatched[:3])
            more = ", …" if len(site.unmatched) > 3 else ""
            lines.append(
                f"{'unmatched':<13} {site.site_id}: {len(site.unmatched)} answer(s) for actions no recorded "
                f"call awaits (sent by someone else, or answers to earlier sends), kept: {shown}{more}"
            )
    folded = sum(became.values())
    sites = sum(bool(s.folded) for s in report.sites)
    kinds = ", ".join(f"{count} {word}" for word, count in sorted(became.items()))
    unmatched = sum(len(s.unmatched) for s in report.sites)
    waiting = sum(s.still_awaiting for s in report.sites)
    lines.append(
        f"Ingest from {report.inbox}: {folded} answer(s) folded into {sites} site(s)"
        + (f" ({kinds})" if kinds else "")
        + f", {unmatched} unmatched; {waiting} call(s) still await an answer; last event received "
        f"{_moment(report.last_received_at)}."
    )
    return "\n".join(lines) + "\n"
