"""Saved plans: the JSON of `plan --out FILE` read back for `apply --plan FILE`. Pure.

A saved plan is the `--format json` document itself, so what a reviewer read is what apply sends.
Reading it back checks the shape, that every request is exactly the one its change implies (a
hand-edited body cannot slip past the fields a reviewer reads), and, against the recorded state of
each site, that it is not stale: the serial and lineage it was planned from must still be current.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.desired.clock import SiteClock
from reconciler.desired.model import normalise_timestamp
from reconciler.desired.validate import Zones, utc_only
from reconciler.edrv import wire as edrv
from reconciler.edrv.wire import EdrvRequest
from reconciler.errors import ReconcilerError
from reconciler.ocpp.profile import Json, parse_timestamp
from reconciler.plan.change import Action, Change, Effect, Note
from reconciler.plan.site import SitePlan
from reconciler.state.recorded import RecordedState, Status

SAVED_PLAN_VERSIONS = frozenset({1})

_STRICT = ConfigDict(extra="ignore", frozen=True)


class PlanFileError(ReconcilerError):
    """A saved plan that cannot be read, or that no longer matches the recorded state."""


class _Request(BaseModel):
    model_config = _STRICT
    method: str
    path: str
    body: Json


class _Change(BaseModel):
    model_config = _STRICT
    site: str
    station: str
    connector: int
    profile: str
    action: Action
    chargingProfileId: int  # noqa: N815 - the plan's JSON keeps OCPP's field name
    reason: str
    effect: Literal["lowers", "mixed", "raises"]
    before: Json | None
    after: Json | None
    request: _Request
    before_connector: int | None = None
    roll_forward: bool = False


class _Note(BaseModel):
    model_config = _STRICT
    station: str
    profile: str
    chargingProfileId: int | None  # noqa: N815 - the plan's JSON keeps OCPP's field name
    reason: str
    retire_as: Status | None
    connector: int | None = None
    session_cap: Json | None = None


class _Site(BaseModel):
    model_config = _STRICT
    site: str
    timezone: str = "UTC"
    station_descriptions: dict[str, str] = {}
    recorded_serial: int | None
    recorded_lineage: str | None
    recorded_profiles: int
    desired_profiles: int
    changes: list[_Change]
    without_call: list[_Note]


class _Document(BaseModel):
    model_config = _STRICT
    format_version: int
    generated_at: str
    sites: list[_Site]


def parse(text: str, source: str, zones: Zones = utc_only) -> list[SitePlan]:
    """The site plans saved in `text` (read from `source`, named in errors); `zones` finds each site's
    time zone by name, for showing the plan again."""
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{source}: not a saved plan: invalid JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:  # a number of 5,000 digits; nesting past the stack
        raise PlanFileError(f"{source}: not a saved plan ({str(exc)[:100]})") from None
    version = raw.get("format_version") if isinstance(raw, dict) else None
    # A list or an object cannot be looked up in a set, and a bool is an int to Python.
    if not isinstance(version, int) or isinstance(version, bool) or version not in SAVED_PLAN_VERSIONS:
        raise PlanFileError(
            f"{source}: format_version {version!r} is not one this reconciler reads "
            f"({', '.join(map(str, sorted(SAVED_PLAN_VERSIONS)))}); plan again with this version"
        )
    try:
        document = _Document.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlanFileError(f"{source}: not a saved plan: {where}: {first['msg']}; plan again") from None
    try:
        planned_at = parse_timestamp(normalise_timestamp(document.generated_at))
    except ValueError:
        raise PlanFileError(
            f"{source}: generated_at {document.generated_at!r} is not a moment; plan again"
        ) from None
    return [
        _site_plan(site, source, _clock(site.timezone, zones, source), planned_at) for site in document.sites
    ]


def _clock(name: str, zones: Zones, source: str) -> SiteClock:
    tz = zones(name)
    if tz is None:
        raise PlanFileError(f"{source}: time zone {name!r} is unknown to this machine; plan again here")
    return SiteClock(name, tz)


def _site_plan(site: _Site, source: str, clock: SiteClock, planned_at: datetime) -> SitePlan:
    changes = tuple(_change(site.site, item, source) for item in site.changes)
    notes = tuple(
        Note(
            site.site,
            item.station,
            item.profile,
            item.chargingProfileId,
            item.reason,
            item.retire_as,
            cap=item.session_cap,
            connector_id=item.connector,
        )
        for item in site.without_call
    )
    return SitePlan(
        site_id=site.site,
        changes=changes,
        notes=notes,
        recorded_serial=site.recorded_serial,
        recorded_lineage=site.recorded_lineage,
        recorded_count=site.recorded_profiles,
        desired_count=site.desired_profiles,
        clock=clock,
        descriptions=site.station_descriptions,
        planned_at=planned_at,
    )


def _change(site_id: str, item: _Change, source: str) -> Change:
    where = f"{source}: site {site_id}, {item.station}/{item.profile}"
    if item.action is Action.SET:
        if item.after is None:
            raise PlanFileError(f"{where}: a set without the profile it sends; plan again")
        expected = edrv.set_charging_profile(item.station, item.connector, item.after)
    else:
        expected = edrv.clear_charging_profile(item.station, item.connector, item.chargingProfileId)
    request = EdrvRequest(item.request.method, item.request.path, item.request.body)
    if request != expected:
        raise PlanFileError(
            f"{where}: its request is not the one its fields imply (was the file edited?); plan again"
        )
    if item.after is not None and item.after.get("chargingProfileId") != item.chargingProfileId:
        raise PlanFileError(f"{where}: chargingProfileId differs from the body's; plan again")
    return Change(
        site_id,
        item.station,
        item.profile,
        item.action,
        item.connector,
        item.chargingProfileId,
        item.reason,
        Effect[item.effect.upper()],
        request,
        item.before,
        item.after,
        before_connector_id=item.before_connector,
        rolls_forward=item.roll_forward,
    )


def check_fresh(plan: SitePlan, recorded: RecordedState | None, source: str) -> None:
    """Refuse a saved plan of a site whose recorded state moved on since it was planned."""
    if recorded is None:
        if plan.recorded_serial is not None:
            raise PlanFileError(
                f"{source}: stale: site {plan.site_id} was planned at serial {plan.recorded_serial} but "
                "has no recorded state now; restore the state file or plan again"
            )
        return
    if plan.recorded_serial is None or plan.recorded_lineage is None:
        raise PlanFileError(
            f"{source}: stale: site {plan.site_id} had no recorded state when planned, and now has serial "
            f"{recorded.serial}; plan again"
        )
    if recorded.lineage != plan.recorded_lineage:
        raise PlanFileError(
            f"{source}: stale: site {plan.site_id} was planned against lineage {plan.recorded_lineage}, "
            f"but its state file now holds lineage {recorded.lineage}; plan again"
        )
    if recorded.serial != plan.recorded_serial:
        raise PlanFileError(
            f"{source}: stale: site {plan.site_id} was planned at serial {plan.recorded_serial}, and its "
            f"state is now at serial {recorded.serial} (another apply ran); plan again"
        )
