"""Placing a site's profiles on its stations: the station's own profiles plus the site's templates.

A template is one profile written once per site and placed on every station it names (or all), under
the template's name. A station may patch it with `overrides: {<template>: {...}}`: mappings merge key by
key, lists and values replace, and `null` removes a key. Pure; called by `validate.check_site`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from reconciler.desired.model import Profile, SiteFile
from reconciler.desired.payload import Body
from reconciler.desired.typeerrors import findings_from
from reconciler.errors import Finding, YamlPath, error


@dataclass(frozen=True, slots=True)
class LocalTurn:
    """Which UTC-offset period a profile compiled from a local-time profile covers (see `localtime`)."""

    source: str  # the local-time profile's name
    levels: tuple[int, ...]  # the stack levels the local-time profile takes, its own first
    start: datetime | None  # the offset change it starts at; None when none is known
    end: datetime | None  # its validTo, the next change; None for the last one prepared


@dataclass(frozen=True, slots=True)
class PlacedProfile:
    """A profile as desired on one station, with the YAML places it was written at.

    A local-time profile is placed as written, then replaced by the OCPP profiles it compiles into,
    each with `local` saying which UTC-offset period it covers.
    """

    station_id: str
    name: str
    profile: Profile
    origins: tuple[YamlPath, ...]
    local: LocalTurn | None = None
    # The profile and station rules, the plan and the payload catalogue all ask it: parsed once.
    expires_at: datetime | None = field(init=False, compare=False, repr=False)
    # Written on first use; `place` hands a template's, written once, to every station it is placed on.
    _body: Body | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expires_at", self.profile.expires_at())

    @property
    def body(self) -> Body:
        """The payload's canonical text, written on first use, once for validation and the plan alike."""
        if self._body is None:
            object.__setattr__(self, "_body", Body.of(self.profile))
        assert self._body is not None
        return self._body


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `patch` laid over it: mappings merge, other values replace, None deletes."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def place(
    doc: SiteFile, raw: Mapping[str, Any]
) -> tuple[dict[str, tuple[PlacedProfile, ...]], list[Finding]]:
    """Every station's profiles, sorted by name, and what is wrong with the templates' use.

    `raw` is the document as parsed, needed because overrides patch the template as written.
    """
    findings: list[Finding] = []
    for name, template in doc.templates.items():
        if template.stations == "all":
            continue
        for index, station_id in enumerate(template.stations):
            if station_id not in doc.stations:
                findings.append(
                    error(
                        ("templates", name, "stations", index),
                        (),
                        f"template {name!r} names station {station_id!r}, which this site does not define",
                        f"add {station_id!r} under 'stations' or remove it from the list",
                    )
                )
    placed: dict[str, tuple[PlacedProfile, ...]] = {}
    bodies: dict[str, Body] = {}  # each unpatched OCPP template's, written for the first station
    for station_id, station in doc.stations.items():
        profiles = {
            name: PlacedProfile(station_id, name, profile, (("stations", station_id, "profiles", name),))
            for name, profile in station.profiles.items()
        }
        for name in station.overrides:
            wanted = doc.templates.get(name)
            if wanted is None or not _applies(wanted.stations, station_id):
                findings.append(
                    error(
                        ("stations", station_id, "overrides", name),
                        (),
                        f"override for {name!r}, but no template of that name applies to this station",
                        "check the name, or add this station to the template's 'stations'",
                    )
                )
        for name, template in doc.templates.items():
            if not _applies(template.stations, station_id):
                continue
            if name in profiles:
                findings.append(
                    error(
                        ("stations", station_id, "profiles", name),
                        (),
                        f"profile {name!r} clashes with the template of the same name placed on this station",
                        "rename the profile, or use 'overrides' to adjust the template for this station",
                    )
                )
                continue
            template_origin: YamlPath = ("templates", name, "profile")
            patch = station.overrides.get(name)
            if patch is None:
                shared = template.profile
                if name not in bodies and not shared.is_local:  # compiled per station, not sent as written
                    bodies[name] = Body.of(shared)
                profiles[name] = PlacedProfile(
                    station_id, name, shared, (template_origin,), _body=bodies.get(name)
                )
                continue
            origins = (("stations", station_id, "overrides", name), template_origin)
            try:
                profile = Profile.model_validate(deep_merge(raw["templates"][name]["profile"], patch))
            except ValidationError as err:
                findings.extend(findings_from(err, Profile, origins))
                continue
            profiles[name] = PlacedProfile(station_id, name, profile, origins)
        placed[station_id] = tuple(profiles[name] for name in sorted(profiles))
    return placed, findings


def _applies(stations: str | tuple[str, ...], station_id: str) -> bool:
    return stations == "all" or station_id in stations
