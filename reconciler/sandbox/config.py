"""What a sandbox serves: its stations, ports, API key, webhook target and starting faults.

`SandboxConfig` is built by the `reconciler sandbox` and `reconciler demo` commands (`commands`) and by
tests; `server.Sandbox` runs it. Stations come from desired state (`stations_from_desired`: every
station of every site, with its connector count, rated power, the site's nominal voltage and its OCPP
configuration keys) or from a stations file (`stations_from_file`), which needs no profiles at all:

    stations:
      CP-001: {connectors: 2, rated_power_kw: 22}
      CP-002: {connectors: 1, ocpp: {MaxChargingProfilesInstalled: 5}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.desired.loader import load
from reconciler.desired.yamlread import parse
from reconciler.errors import DesiredStateError, ReconcilerError
from reconciler.ocpp.configuration import ChargerLimits
from reconciler.sandbox.faults import Faults

# A fixed default, so that the README can say what to export; it guards nothing but loopback.
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_PORT = 8180
DEFAULT_OCPP_PORT = 9000


class SandboxError(ReconcilerError):
    """The sandbox cannot start as asked: a bad stations file, a port in use, an unknown station."""


class StationSpec(BaseModel):
    """One simulated station: what its charge point reports and enforces."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    connectors: int = Field(ge=1)
    rated_power_kw: Decimal = Field(Decimal(22), gt=0)
    nominal_voltage_v: Decimal = Field(Decimal(230), gt=0)
    ocpp: ChargerLimits = ChargerLimits()

    @property
    def rated_power_w(self) -> Decimal:
        return self.rated_power_kw * 1000


class _StationsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    stations: dict[str, StationSpec]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox needs to start. Port 0 picks a free port.

    `external` names stations whose charge point is not simulated: a real or third-party OCPP 1.6J
    charge point connects under that identity instead. `clock` is the sandbox's (and its simulated
    charge points') idea of now; tests move it to make profiles expire.
    """

    stations: Mapping[str, StationSpec]
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    ocpp_port: int = DEFAULT_OCPP_PORT
    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    external: frozenset[str] = frozenset()
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    faults: Faults = field(default_factory=Faults)
    # How long the central system waits for a charge point's answer before failing the Action.
    ocpp_timeout_s: float = 10.0
    # Answer commands once the charge point has answered, the outcome in the Action (a test's choice):
    # eDRV answers at once with `requested` and reports the outcome only by webhook, as does the default.
    synchronous: bool = False
    clock: Callable[[], datetime] = _utc_now

    def __post_init__(self) -> None:
        if not self.stations:
            raise SandboxError("the sandbox has no stations to simulate")
        self.check_faults(self.faults)
        if (self.webhook_url is None) != (self.webhook_secret is None):
            raise SandboxError("give --webhook-url and --webhook-secret together")
        if not self.api_key or any(c.isspace() for c in self.api_key):
            raise SandboxError("the sandbox API key must be non-empty and without spaces")

    def check_faults(self, faults: Faults) -> None:
        """Refuse faults naming a station this sandbox lacks, or one it does not simulate."""
        played = set(faults.offline) | set(faults.reject)
        unknown = sorted((self.external | played) - set(self.stations))
        if unknown:
            raise SandboxError(f"no such station: {', '.join(unknown)}")
        if played & self.external:
            shown = ", ".join(sorted(played & self.external))
            raise SandboxError(f"external stations are neither taken offline nor made to reject: {shown}")


def stations_from_desired(desired_dir: Path, now: datetime) -> dict[str, StationSpec]:
    """Every station of the site files under `desired_dir`, as its site file describes it."""
    loaded = load([desired_dir], now)
    if loaded.has_errors:
        raise DesiredStateError(loaded.problems)
    stations: dict[str, StationSpec] = {}
    for site in loaded.sites:
        voltage_v = site.doc.site.nominal_voltage_v
        for station_id, station in site.stations.items():
            stations[station_id] = StationSpec(
                connectors=station.connectors,
                rated_power_kw=station.rated_power_kw,
                nominal_voltage_v=voltage_v,
                ocpp=station.ocpp,
            )
    if not stations:
        raise SandboxError(f"{desired_dir}: no site file with stations")
    return stations


def stations_from_file(path: Path) -> dict[str, StationSpec]:
    """The stations of a YAML (or JSON) stations file; see the module docstring for its shape."""
    try:
        raw = parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SandboxError(f"cannot read stations file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SandboxError(f"{path}: not YAML: {exc}") from None
    try:
        return dict(_StationsFile.model_validate(raw).stations)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SandboxError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from None
