"""Apply the plans of several sites at once: each checked against its recorded state as it is now, then
sent concurrently, through one eDRV client (httpx) or any `Api`. The caller holds the sites' locks
(`reconcile.locked`); `apply` sends one site's plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import httpx

from reconciler.edrv.client import EdrvClient, EdrvSettings
from reconciler.plan.saved import check_fresh
from reconciler.plan.site import SitePlan
from reconciler.shell.apply import Api, Progress, SiteResult, apply_site
from reconciler.state import store as state


async def apply_plans(
    plans: Sequence[SitePlan],
    api: Api,
    *,
    desired_dir: Path,
    state_dir: Path | None,
    now: datetime,
    source: str,
    progress: Progress | None = None,
) -> list[SiteResult]:
    """Apply each site's plan concurrently; the caller holds the sites' locks (see `reconcile.locked`).

    Each plan is first checked against the site's recorded state as it is now (`source` names the
    saved plan in the refusal), so a plan computed before another apply ran is never sent.
    """
    loaded = []
    for plan in plans:
        path = state.state_path(desired_dir, plan.site_id, state_dir)
        recorded = state.load(path, plan.site_id)
        check_fresh(plan, recorded, source)
        loaded.append((path, recorded))
    return list(
        await asyncio.gather(
            *(
                apply_site(plan, api, path=path, loaded=recorded, now=now, progress=progress)
                for plan, (path, recorded) in zip(plans, loaded, strict=True)
            )
        )
    )


def apply_with_client(
    plans: Sequence[SitePlan],
    settings: EdrvSettings,
    *,
    desired_dir: Path,
    state_dir: Path | None,
    now: datetime,
    source: str,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[SiteResult]:
    """Apply `plans` through one eDRV client made from `settings` (the caller holds the locks)."""

    async def run() -> list[SiteResult]:
        async with EdrvClient(settings, transport=transport) as client:
            return await apply_plans(
                plans,
                client,
                desired_dir=desired_dir,
                state_dir=state_dir,
                now=now,
                source=source,
                progress=progress,
            )

    return asyncio.run(run())
