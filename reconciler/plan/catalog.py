"""Every desired profile as the eDRV request that would install it (`reconciler payloads`). Pure.

Ids come from YAML when pinned; otherwise they are shown as the plan would allocate them for a station
with no recorded state, and marked provisional.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reconciler.desired import ids
from reconciler.desired.payload import cap_for_session
from reconciler.desired.validate import DesiredSite
from reconciler.edrv import wire as edrv


def desired_requests(
    sites: Sequence[DesiredSite], now: datetime, session_start: str | None
) -> list[dict[str, Any]]:
    """One entry per desired profile, by site, station and name.

    With `session_start`, session caps are computed as sent for a session that began then; without
    it they are shown as written, since their start and duration come from the session.
    """
    out: list[dict[str, Any]] = []
    for site in sorted(sites, key=lambda s: s.site_id):
        for station_id in sorted(site.profiles):
            placed = site.profiles[station_id]
            pinned = [
                p.profile.charging_profile_id for p in placed if p.profile.charging_profile_id is not None
            ]
            fresh = ids.allocate((p.name for p in placed if p.profile.charging_profile_id is None), pinned)
            for item in placed:
                pinned_id = item.profile.charging_profile_id
                profile_id = pinned_id if pinned_id is not None else fresh[item.name]
                body = item.body.under(profile_id)  # built once, as validation and plans have it
                if item.profile.is_session_cap and session_start is not None:
                    body = cap_for_session(body, session_start, now)
                request = edrv.set_charging_profile(station_id, item.profile.connector_id, body)
                out.append(
                    {
                        "site": site.site_id,
                        "timezone": site.clock.name,
                        "station": station_id,
                        "profile": item.name,
                        "chargingProfileId": profile_id,
                        "id_source": "pinned" if pinned_id is not None else "provisional",
                        "session_cap": item.profile.is_session_cap,
                        "expired": _expired(item.expires_at, now),
                        "request": request.as_json(),
                    }
                )
    return out


def _expired(expiry: datetime | None, now: datetime) -> bool:
    return expiry is not None and expiry <= now
