"""Checking one site's desired state: types, templates, OCPP and eDRV rules, and the official schema.

`check_site` is the one entry: parsed YAML in, a `DesiredSite` (when the types hold) and every finding
out, in one pass: parts with type errors are set aside (`prune`) and the rest is checked in full.
Every request body is checked against OCPP 1.6's own `SetChargingProfile.json`, shipped in the
`ocpp` package, compiled once by fastjsonschema; its `multipleOf: 0.1` check runs on the decimal digits
as written, so 8.1 passes and 8.15 fails, and `date-time` is enforced as RFC 3339. Pure apart from
reading that schema from the installed package.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

import fastjsonschema
from pydantic import ValidationError

from reconciler.desired.clock import PERIODS_FROM, PERIODS_UNTIL, UTC_CLOCK, SiteClock
from reconciler.desired.gridguard import check_grid
from reconciler.desired.localrules import check_local
from reconciler.desired.localtime import expand
from reconciler.desired.model import Site, SiteFile, Station
from reconciler.desired.prune import prune
from reconciler.desired.rules import check_profile, check_station
from reconciler.desired.template import PlacedProfile, place
from reconciler.desired.typeerrors import findings_from
from reconciler.errors import Finding, Severity, error, excerpt
from reconciler.ocpp.profile import Json, format_timestamp

# Any id passes the schema; a profile without a pinned one is checked under this stand-in.
_PROVISIONAL_PROFILE_ID = 1
# Templates multiply profiles: one line places a profile on every station. Checking a profile costs
# some 0.1 ms, so a site is bounded in profiles, as its file is in bytes (see `bounds`).
MAX_PROFILES_PER_SITE = 5_000


@dataclass(frozen=True, slots=True)
class DesiredSite:
    """One site's desired state, checked: its settings, stations, and each station's profiles.

    `profiles` holds OCPP profiles only: a local-time profile is there as the profiles it compiles into
    for `now` (see `localtime`). `clock` is the site's time zone, for every output a person reads.
    """

    site_id: str
    source: str
    doc: SiteFile
    profiles: Mapping[str, tuple[PlacedProfile, ...]]
    clock: SiteClock = UTC_CLOCK

    @property
    def stations(self) -> Mapping[str, Station]:
        return self.doc.stations

    def placed(self) -> list[PlacedProfile]:
        """Every profile of the site, by station id then name."""
        return [p for station_id in sorted(self.profiles) for p in self.profiles[station_id]]


Zones = Callable[[str], tzinfo | None]


def utc_only(name: str) -> tzinfo | None:
    """A zone lookup that knows UTC alone, for callers without the time-zone database."""
    return UTC if name == "UTC" else None


class Passes(Protocol):
    """Digests of bodies that passed the official schema (`schemacache.SchemaPasses`, or a set)."""

    def __contains__(self, digest: object) -> bool: ...

    def add(self, digest: bytes) -> None: ...


def check_site(
    site_id: str,
    source: str,
    raw: Any,
    now: datetime,
    zones: Zones = utc_only,
    *,
    passes: Passes | None = None,
) -> tuple[DesiredSite | None, list[Finding]]:
    """Check parsed YAML of one site; the site is None when its types are wrong.

    `zones` looks a time-zone name up (None when unknown); the loader passes the system's database.
    `passes` holds the bodies that passed the official schema before, whose check is skipped, and
    takes those that pass now (see `schemacache` for why that is safe).
    """
    passes = passes if passes is not None else set()
    if not isinstance(raw, Mapping):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        return None, [
            Finding(
                ((),),
                (),
                Severity.ERROR,
                f"the file is {kind}, not a site",
                "write a mapping with 'site' and 'stations' keys (see `reconciler schema`)",
            )
        ]
    try:
        doc = SiteFile.model_validate(raw)
        type_findings: list[Finding] = []
    except ValidationError as err:
        # Every problem in one pass: the parts with type errors are set aside and the rest is checked.
        type_findings = findings_from(err, SiteFile, ((),))
        pruned = prune(raw, [(tuple(e["loc"]), e["type"]) for e in err.errors(include_url=False)])
        try:
            doc = SiteFile.model_validate(pruned)
        except ValidationError:
            return None, type_findings
        raw = pruned
    count = _profile_count(doc)
    if count > MAX_PROFILES_PER_SITE:
        return None, [
            Finding(
                ((),),
                ("stations",),
                Severity.ERROR,
                f"the site places {count:,} profiles on its stations, more than the "
                f"{MAX_PROFILES_PER_SITE:,} one site may hold",
                "split its stations into several sites",
            )
        ]
    placed, findings = place(doc, raw)
    findings[:0] = type_findings
    tz = zones(doc.site.timezone)
    if tz is None:
        findings.append(
            error(
                ("site",),
                ("timezone",),
                f"unknown time zone {excerpt(doc.site.timezone)}",
                "use an IANA name such as Europe/Berlin",
            )
        )
    clock = SiteClock(doc.site.timezone, tz or UTC)
    # A finding inside a template would repeat once per station: gather those, naming the stations.
    on_templates: dict[Finding, list[str]] = {}
    rules = _TemplateRules(doc.site, now, clock)
    for station_id, station in doc.stations.items():
        compiled: list[PlacedProfile] = []
        for item in placed[station_id]:
            profile_findings = rules.findings(item, station)
            local = item.profile.is_local
            if local:
                profile_findings.extend(check_local(item, station, doc.site))
            sound = not any(f.is_error for f in profile_findings) if profile_findings else True
            if not local:
                if sound:
                    # The official schema is a backstop; a profile the rules refuse would be reported twice.
                    profile_findings.extend(_check_schema(item, passes))
                compiled.append(item)
            elif sound and tz is not None and not PERIODS_FROM <= now < PERIODS_UNTIL:
                profile_findings.append(
                    Finding(
                        item.origins,
                        ("chargingSchedule", "local"),
                        Severity.ERROR,
                        f"local-time schedules are compiled for moments from {PERIODS_FROM.year} to "
                        f"{PERIODS_UNTIL.year - 1}, and this check runs as of {format_timestamp(now)}",
                        "run it with the real clock, or a --now within those years",
                    )
                )
            elif sound and tz is not None:
                # Only a sound local-time profile compiles; its OCPP profiles are checked like any other.
                expanded = expand(item, clock, now)
                profile_findings.extend(f for part in expanded for f in _check_schema(part, passes))
                compiled.extend(expanded)
            _gather(profile_findings, station_id, findings, on_templates)
        placed[station_id] = tuple(sorted(compiled, key=lambda p: p.name))
        station_findings = check_station(station_id, station, placed[station_id], now)
        _gather(station_findings, station_id, findings, on_templates)
    for finding, stations in on_templates.items():
        where = _stations_named(stations, len(doc.stations))
        findings.append(replace(finding, message=f"{finding.message} (placed by the template on {where})"))
    if not any(f.is_error for f in findings):
        # Sums composite schedules, which only mean something once every profile is sound.
        findings.extend(check_grid(doc, placed, now, clock))
    return (None if type_findings else DesiredSite(site_id, source, doc, placed, clock)), findings


def _gather(
    found: list[Finding], station_id: str, findings: list[Finding], on_templates: dict[Finding, list[str]]
) -> None:
    """`found` on one station added to `findings`, but those located in a template set aside in
    `on_templates` with the station, so that each is reported once for all the stations it is on."""
    for finding in found:
        if finding.origins[0][0] == "templates":
            on_templates.setdefault(finding, []).append(station_id)
        else:
            findings.append(finding)


# A template placed on a whole depot would otherwise name every station in one line of the report.
_STATIONS_NAMED = 5


def _stations_named(stations: list[str], of_site: int) -> str:
    """`station A`, `stations A, B`, `all 40 stations`, or the first few and how many more."""
    if len(stations) == 1:
        return f"station {stations[0]}"
    if len(stations) == of_site and of_site > _STATIONS_NAMED:
        return f"all {of_site:,} stations"
    if len(stations) > _STATIONS_NAMED:
        more = len(stations) - _STATIONS_NAMED
        return f"{len(stations):,} stations: {', '.join(stations[:_STATIONS_NAMED])} and {more:,} more"
    return f"stations {', '.join(stations)}"


def _profile_count(doc: SiteFile) -> int:
    """How many profiles placing the site's templates would give, counted before any is placed."""
    own = sum(len(station.profiles) for station in doc.stations.values())
    return own + sum(
        len(doc.stations) if template.stations == "all" else len(template.stations)
        for template in doc.templates.values()
    )


class _TemplateRules:
    """`rules.check_profile` of each placed profile, run once per kind of station for a template's.

    A template's profile is one object on every station it is placed on unpatched, and the rules read
    of a station only its connectors, rated power and OCPP limits: its findings are the same on every
    station alike in those (a template of 1,440 periods on 1,000 stations is 1.4 million periods to
    check otherwise). A station's own profile is checked as it comes: it is placed once.
    """

    def __init__(self, site: Site, now: datetime, clock: SiteClock) -> None:
        self.site, self.now, self.clock = site, now, clock
        self._kinds: dict[tuple[object, ...], int] = {}  # a number for each kind of station
        self._station_kinds: dict[int, int] = {}  # by station object, looked up once a station
        self._found: dict[tuple[object, ...], list[Finding]] = {}

    def findings(self, item: PlacedProfile, station: Station) -> list[Finding]:
        """The rules' findings for `item` on `station`, a list of the caller's own to add to."""
        if item.origins[0][0] != "templates":
            return check_profile(item, station, self.site, self.now, self.clock)
        kind = self._station_kinds.get(id(station))
        if kind is None:
            facts = (station.connectors, station.rated_power_kw, station.ocpp)
            kind = self._station_kinds[id(station)] = self._kinds.setdefault(facts, len(self._kinds))
        key = (id(item.profile), item.origins, item.local, kind)
        known = self._found.get(key)
        if known is None:
            known = self._found[key] = check_profile(item, station, self.site, self.now, self.clock)
        return list(known)


def _check_schema(item: PlacedProfile, passes: Passes) -> list[Finding]:
    body, profile = item.body, item.profile
    # The digest leaves out the ids, which the schema asks only to be integers: the model's strict
    # 32-bit integers always are.
    if body.digest in passes:
        return []
    profile_id = profile.charging_profile_id or _PROVISIONAL_PROFILE_ID
    problem = schema_problem(
        {"connectorId": profile.connector_id, "csChargingProfiles": body.under(profile_id)}
    )
    if problem is None:
        passes.add(body.digest)
        return []
    return [
        Finding(
            item.origins,
            (),
            Severity.ERROR,
            f"the request body fails OCPP 1.6's SetChargingProfile schema: {problem}",
            "correct the field it names",
        )
    ]


@functools.cache
def schema_identity() -> str:
    """Names the official schema and the validator that checks it: a change of either changes it.

    Worked out once per process: the loader asks for it with every site file."""
    text = _schema_text() + fastjsonschema.VERSION
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def schema_problem(body: Json) -> str | None:
    """What is wrong with a SetChargingProfile.req body by the official schema, or None."""
    try:
        _set_charging_profile_validator()(body)
    except fastjsonschema.JsonSchemaValueException as err:
        return str(err.message).removeprefix("data.")
    return None


@functools.cache
def _schema_text() -> str:
    # Found from the `ocpp` package, whose `__init__` is empty: naming `ocpp.v16` would import it, and
    # with it jsonschema and arrow, a third of a small `reconciler validate`, to read one file.
    schemas = importlib.resources.files("ocpp") / "v16" / "schemas"
    return (schemas / "SetChargingProfile.json").read_text("utf-8")


@functools.cache
def _set_charging_profile_validator() -> Callable[[Any], Any]:
    validator: Callable[[Any], Any] = fastjsonschema.compile(json.loads(_schema_text()))
    return validator
