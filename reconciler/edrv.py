"""eDRV's wire format: the requests the reconciler sends, as plain values. Pure.

This is the one place that knows eDRV's paths and bodies; the HTTP client sends what it builds.

Documented by eDRV: `POST /v1.1/chargestations/{id}/set_charging_profile` with body
`{"connectorId": N, "csChargingProfiles": <OCPP ChargingProfile>}`.

Guessed where eDRV's public documentation is silent (each listed in the README):
- clear: `POST /v1.1/chargestations/{id}/clear_charging_profile` with the OCPP ClearChargingProfile.req
  fields `{"id": <chargingProfileId>, "connectorId": N}`, by analogy with set, whose body is the
  OCPP request verbatim. OCPP says a clear by id ignores the other fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.payload import Json

API_VERSION_PREFIX = "/v1.1"


@dataclass(frozen=True, slots=True)
class EdrvRequest:
    """One eDRV API call, exactly as it will be sent."""

    method: str
    path: str
    body: Json

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body}


def _station_path(station_id: str, action: str) -> str:
    return f"{API_VERSION_PREFIX}/chargestations/{quote(station_id, safe='')}/{action}"


def set_charging_profile(station_id: str, connector_id: int, charging_profile: Json) -> EdrvRequest:
    body = {"connectorId": connector_id, "csChargingProfiles": charging_profile}
    return EdrvRequest("POST", _station_path(station_id, "set_charging_profile"), body)


def clear_charging_profile(station_id: str, connector_id: int, profile_id: int) -> EdrvRequest:
    body = {"id": profile_id, "connectorId": connector_id}
    return EdrvRequest("POST", _station_path(station_id, "clear_charging_profile"), body)
