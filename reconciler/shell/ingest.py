"""Ingest: the charger's answers from the inbox, folded into each site's recorded state under its lock.

`reconciler ingest` calls `ingest`, which takes each site's lock in turn, reads its state, folds
(`plan.confirm.fold`) and writes it back, atomically, only when an answer changed a record; `apply
--inbox` calls it too, under the locks it holds already. `plan --inbox` folds in memory only
(`plan_folded`) and writes nothing, as a plan never does. `open_inbox` opens a database path or a
receiver's URL; `policy` tells plans how to treat calls still unanswered.

What is read: for one site, the answers (final set and clear events) to calls of its stations,
received since its oldest call still waiting for one was sent, less an hour for clocks that disagree
(the applying machine's and the receiver's). A site with nothing waiting reads nothing. Answers that
match no waiting call are reported, counting only those received since that oldest call, and stay in
the inbox like everything else; folding them later, should a record come to hold their action id, is
what keeps an answer that arrived before apply wrote its action id from being lost.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.desired.clock import SiteClock
from reconciler.edrv import inbox as inboxes
from reconciler.edrv.inbox import Inbox, Query, Reader, is_url
from reconciler.plan.confirm import (
    Confirmations,
    FoldResult,
    IngestReport,
    SiteIngest,
    awaiting,
    fold,
    oldest_call,
)
from reconciler.plan.site import SitePlan
from reconciler.shell.network import declared_clock
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store
from reconciler.state.recorded import RecordedState

if TYPE_CHECKING:
    from reconciler.edrv.remote_inbox import RemoteInbox

CLOCK_SLACK = timedelta(hours=1)
# A cursor past any event: a page read from it holds only the time of the latest event.
_PAST_EVERY_EVENT = 2**62


@contextlib.contextmanager
def open_inbox(location: str | None, environ: Mapping[str, str] | None = None) -> Iterator[Reader | None]:
    """The inbox at `location`: a receiver's http(s) URL (token from the environment) or a database;
    None when no location is given."""
    if location is None:
        yield None
        return
    env = os.environ if environ is None else environ
    reader: Inbox | RemoteInbox
    if is_url(location):
        # httpx, for a receiver's URL only: a plan or an ingest from a database starts without it.
        from reconciler.edrv.remote_inbox import TOKEN_VARIABLE, RemoteInbox  # noqa: PLC0415 - see above

        reader = RemoteInbox(location, env.get(TOKEN_VARIABLE))
    else:
        reader = Inbox(Path(location))
    try:
        yield reader
    finally:
        reader.close()


def last_received_at(reader: Reader) -> datetime | None:
    """When the inbox received its latest event of any kind; None when it holds none."""
    return reader.page(Query(after=_PAST_EVERY_EVENT, limit=1)).last_received_at


def fold_site(reader: Reader, recorded: RecordedState, now: datetime) -> FoldResult:
    """`recorded` with the answers the inbox holds for its waiting calls folded in (nothing written)."""
    since = oldest_call(recorded)
    if since is None:
        return FoldResult(recorded)
    answers = inboxes.outcomes(reader, sorted(recorded.stations), since - CLOCK_SLACK)
    return fold(recorded, [(a.event, a.received_at) for a in answers], now, report_since=since)


def fold_sites(
    reader: Reader, desired_dir: Path, sites: Sequence[str], state_dir: Path | None, now: datetime
) -> list[SiteIngest]:
    """Fold the inbox into each site's state file; the caller holds the sites' locks."""
    done = []
    for site_id in sites:
        writer = store.StateWriter(store.state_path(desired_dir, site_id, state_dir))
        recorded = writer.load(site_id)
        if recorded is None:
            continue
        result = fold_site(reader, recorded, now)
        serial = writer.save(result.state, recorded).serial if result.folded else None
        left = len(awaiting(result.state))
        done.append(SiteIngest(site_id, result.folded, result.unmatched, left, serial))
    return done


def ingest(
    reader: Reader,
    desired_dir: Path,
    sites: Sequence[str],
    state_dir: Path | None,
    *,
    now: datetime,
    lock_timeout_s: float = 0,
    locks_held: bool = False,
) -> IngestReport:
    """Fold the inbox into each named site's recorded state, one site's lock at a time (or under the
    locks the caller holds, as apply does)."""
    done: list[SiteIngest] = []
    for site_id in sites:
        path = store.state_path(desired_dir, site_id, state_dir)
        if not path.exists():  # nothing recorded, so nothing awaits an answer
            continue
        with contextlib.nullcontext() if locks_held else store.lock(path, lock_timeout_s):
            done.extend(fold_sites(reader, desired_dir, [site_id], state_dir, now))
    return IngestReport(reader.label, done, last_received_at(reader))


def clocks(desired_dir: Path, report: IngestReport) -> dict[str, SiteClock]:
    """The clock each site that took answers names in its file, so an ingest report speaks its time."""
    return {s.site_id: declared_clock(desired_dir, s.site_id) for s in report.sites if s.folded}


def policy(
    reader: Reader | None,
    unconfirmed_after: timedelta,
    retry_rejected_after: timedelta | None,
) -> Confirmations:
    """How plans treat unanswered and rejected calls, reading answers from `reader` (or nowhere)."""
    if reader is None:
        return Confirmations(None, unconfirmed_after, retry_rejected_after)
    return Confirmations(reader.label, unconfirmed_after, retry_rejected_after, last_received_at(reader))


def plan_folded(
    reader: Reader,
    desired_dir: Path,
    sites: Sequence[str],
    *,
    now: datetime,
    state_dir: Path | None = None,
    force: bool = False,
    confirmations: Confirmations,
    station: str | None = None,
) -> list[SitePlan]:
    """Plan the named sites (all when empty) with the inbox's answers folded in memory; writes nothing.

    Each site's state is read and folded as its turn comes, so memory stays bounded by the largest site.
    `station` narrows the plan to one station, as `plan_sites` does.
    """

    def folded(site_id: str) -> RecordedState | None:
        recorded = store.load(store.state_path(desired_dir, site_id, state_dir), site_id)
        return fold_site(reader, recorded, now).state if recorded is not None else None

    return plan_sites(
        desired_dir,
        sites,
        now,
        state_dir,
        force,
        confirmations=confirmations,
        recorded=folded,
        station=station,
    )
