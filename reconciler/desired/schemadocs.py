"""What the site file's JSON Schema tells a person in their editor: a description of every property with
its unit, OCPP's range and the default, what each enum value means, and snippets to complete.

Data only, keyed by the schema's definitions (the model classes' names); `schema` puts it in place, and
a test fails on a property without a description. Snippet bodies follow the convention editors share
(VS Code, yaml-language-server): `${1:text}` is a placeholder, and a string starting with `^` is
inserted as it is, unquoted, so `"^${1:16}"` completes to the number 16. Every snippet completes to YAML
that validates. Pure.
"""

from __future__ import annotations

from typing import Any

_LIMIT = (
    "in the schedule's chargingRateUnit: A per phase, or W for the whole connector or station; at least 0, "
    "at most one decimal (OCPP's multipleOf 0.1). 0 pauses charging; a limit between 0 and 6 A (or its "
    "watt equivalent) draws a warning, since cars cannot follow it."
)
_PHASES = "Phases the car may use during this period, 1 to 3 (OCPP); absent means 3, for A <-> W."
_MOMENT = "RFC 3339 with seconds and an offset (2026-01-01T00:00:00Z), years 1970-9000; sent as UTC."

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "SiteFile": {
        "site": "The site's own facts: its name, grid connection, voltage, timezone and safety rails.",
        "templates": "Profiles written once and placed on many stations under the template's name.",
        "stations": "The site's eDRV chargestations, keyed by their eDRV id; a station is in one site only.",
    },
    "Site": {
        "name": "A name for people (plans and comments show it).",
        "grid_limit_kw": (
            "The grid connection in kW, more than 0 (optional). Validation and plans then check that the "
            "stations together stay within it at every moment of the next 7 days."
        ),
        "nominal_voltage_v": "The site's nominal voltage in V, more than 0, for A <-> W. Default 230.",
        "timezone": (
            "The site's IANA time zone (Europe/Berlin). Every output a person reads uses it, and "
            "local-time schedules follow it. Default UTC."
        ),
        "safety": (
            "Safety rails of this site's plans: a plan changing more than max_change_percent of the "
            "recorded profiles is refused without --force. Defaults: 30%, from 10 recorded profiles."
        ),
    },
    "Safety": {
        "max_change_percent": (
            "The most a plan may change or clear, in % of recorded profiles, 0-100. Default 30."
        ),
        "min_recorded_profiles": (
            "A count: the rail applies from this many recorded profiles on, 0 or more. Default 10."
        ),
    },
    "Template": {
        "stations": "The stations it is placed on: all (the default) or a list of station ids of this site.",
        "profile": "The profile placed on each of those stations; a station may patch it under 'overrides'.",
    },
    "Station": {
        "description": "A name for people, shown beside the id in every output.",
        "connectors": "How many connectors the station has, 1-100; connectorId 0 is the whole station.",
        "rated_power_kw": (
            "The station's rated power in kW, more than 0: what it draws where no limit applies (the grid "
            "guard and the plan's combined limit count it so)."
        ),
        "ocpp": (
            "The charger's smart-charging configuration as GetConfiguration reports it, and how its firmware "
            "computes composite schedules. Modest defaults: declare your hardware's real values."
        ),
        "profiles": "The station's own profiles, keyed by a name unique within the station.",
        "overrides": (
            "Per-template patches for this station, keyed by template name: mappings merge key by key, "
            "lists and values replace, null removes a key."
        ),
    },
    "ChargerLimits": {
        "ChargeProfileMaxStackLevel": "The highest stack level the charger takes (a count). Default 50.",
        "ChargingScheduleAllowedChargingRateUnit": (
            "The units the charger takes: Current (A), Power (W), or both; a list or the comma-separated "
            "text GetConfiguration reports. Default both."
        ),
        "ChargingScheduleMaxPeriods": "The most periods one schedule may have (a count). Default 24.",
        "MaxChargingProfilesInstalled": (
            "The most profiles the charger holds at once (a count, 1 to 100). Default 20."
        ),
        "composite": "How the firmware computes GetCompositeSchedule, for drift checks and the sandbox.",
    },
    "CompositeRules": {
        "station_total": "What connector 0 reports. Default sum.",
        "tx_default_precedence": (
            "How a connector's own TxDefaultProfile meets one on connector 0. Default stack_level."
        ),
        "tx_default_without_session": (
            "true (default): a TxDefaultProfile shows without a session, as the limit a session starting "
            "now would get; false: no session shows no limit (MicroOcpp, open-ocpp)."
        ),
        "relative_without_session": (
            "Where a Relative schedule starts without a session. Default window_start."
        ),
        "recur_before_start": (
            "true: a Recurring schedule repeats backwards before its startSchedule too (libocpp); "
            "false (default): it is inactive before it."
        ),
        "min_charging_rate_raises": (
            "true: minChargingRate lifts lower limits up to it (MicroOcpp); "
            "false (default): it never raises one."
        ),
        "no_limit": "How the charger reports no limit. Default rated.",
    },
    "Profile": {
        "description": "A note for people; not sent.",
        "connectorId": (
            "OCPP connector number, 0-100 and at most the station's connectors: 0 is the whole station "
            "(a ChargePointMaxProfile must be there; a TxProfile never)."
        ),
        "chargingProfileId": (
            "OCPP chargingProfileId, 1 to 2147483647, unique within the station (optional): left out, one "
            "is allocated and recorded. Not for local-time profiles."
        ),
        "stackLevel": (
            "OCPP stack level: from 11 (eDRV reserves 0-10) to the charger's ChargeProfileMaxStackLevel "
            "(default 50); a local-time profile takes the level above too. The highest valid one wins."
        ),
        "chargingProfilePurpose": "What the profile limits.",
        "chargingProfileKind": "How its schedule is anchored in time.",
        "recurrencyKind": (
            "How a Recurring schedule repeats; only on Recurring profiles, where it is required."
        ),
        "validFrom": f"When the profile starts to apply (optional). {_MOMENT}",
        "validTo": f"When it stops applying, after validFrom (optional; exclusive). {_MOMENT}",
        "transactionId": "Not allowed: eDRV inserts it from the active session when a TxProfile is sent.",
        "chargingSchedule": (
            "The limits over time: OCPP periods in seconds (chargingSchedulePeriod), or wall-clock periods "
            "in the site's timezone (local)."
        ),
    },
    "Schedule": {
        "startSchedule": (
            f"When second 0 of the schedule is. Required for Absolute and Recurring profiles; none on a "
            f"session cap (the session's start) or a local-time schedule. {_MOMENT}"
        ),
        "duration": (
            "The schedule's length in s, 1 to 2147483647 (optional: else it runs on). On a session cap, the "
            "cap's length from when it is sent. Not with local."
        ),
        "chargingRateUnit": "The unit of every limit: A (per phase) or W. The charger must allow it.",
        "chargingSchedulePeriod": (
            "The OCPP periods: at least one, the first at startPeriod 0, strictly increasing, at most the "
            "charger's ChargingScheduleMaxPeriods (default 24). Not with local."
        ),
        "minChargingRate": f"The lowest rate the car should charge at, {_LIMIT}",
        "local": (
            "Periods in the site's wall-clock time instead of startSchedule, duration and periods: for a "
            "Recurring ChargePointMaxProfile or TxDefaultProfile, compiled per UTC offset."
        ),
    },
    "Period": {
        "startPeriod": (
            "Seconds from startSchedule (or the session's start) at which this period starts, 0 or more."
        ),
        "limit": f"The most that may be drawn from startPeriod on, {_LIMIT}",
        "numberPhases": _PHASES,
    },
    "LocalPeriod": {
        "at": (
            "Wall-clock time in the site's timezone, HH:MM: alone for Daily (07:00); after a weekday or a "
            "range for Weekly (Sat 00:00, Mon-Fri 07:00)."
        ),
        "limit": f"The most that may be drawn from 'at' on, {_LIMIT} null: no limit (at most once).",
        "numberPhases": _PHASES,
    },
}

ENUM_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "Purpose": {
        "ChargePointMaxProfile": "A cap on the whole station (connector 0 only).",
        "TxDefaultProfile": "The default limit of sessions on a connector (or on every connector, on 0).",
        "TxProfile": "A cap on one running session: sent only while a session is active on its connector.",
    },
    "Kind": {
        "Absolute": "From startSchedule on (a session cap: from the session's start).",
        "Recurring": "From startSchedule, repeating every day or week (recurrencyKind).",
        "Relative": "From the start of charging.",
    },
    "Recurrency": {"Daily": "Repeats every 86,400 s.", "Weekly": "Repeats every 604,800 s."},
    "RateUnit": {"A": "Amperes per phase.", "W": "Watts."},
    "StationTotal": {
        "sum": "Each connector's limit added up, capped by the ChargePointMaxProfile.",
        "charge_point_max": "The ChargePointMaxProfile alone (MicroOcpp).",
    },
    "Precedence": {
        "stack_level": "By stack level, the connector's own winning a tie (libocpp).",
        "connector_first": "The connector's own at every level, then connector 0's (MicroOcpp).",
    },
    "RelativeStart": {
        "window_start": "At the start of the window asked about (libocpp).",
        "inactive": "Nowhere: it waits for a session (MicroOcpp).",
    },
    "NoLimit": {
        "rated": "As a period at the station's rated power.",
        "minus_one": "As a period with limit -1 (MicroOcpp).",
        "omitted": "As no period at all.",
    },
}


def _daily(
    purpose: str, connector: int, level: int, limits: tuple[int, int], first: int = 1
) -> dict[str, Any]:
    """A Daily profile's snippet body, its placeholders numbered from `first` (numbers link placeholders)."""
    n = [f"{first + i}" for i in range(7)]
    return {
        "connectorId": f"^${{{n[0]}:{connector}}}",
        "stackLevel": f"^${{{n[1]}:{level}}}",
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "chargingSchedule": {
            "startSchedule": f"${{{n[2]}:2026-01-01T00:00:00Z}}",
            "chargingRateUnit": f"${{{n[3]}:A}}",
            "chargingSchedulePeriod": [
                {"startPeriod": "^0", "limit": f"^${{{n[4]}:{limits[0]}}}"},
                {"startPeriod": f"^${{{n[5]}:28800}}", "limit": f"^${{{n[6]}:{limits[1]}}}"},
            ],
        },
    }


_PROFILES = [
    {
        "label": "daily default for a connector",
        "description": "A TxDefaultProfile repeating every day, in UTC seconds from startSchedule.",
        "body": _daily("TxDefaultProfile", 1, 20, (16, 32)),
    },
    {
        "label": "station cap",
        "description": "A ChargePointMaxProfile on connector 0, repeating every day.",
        "body": _daily("ChargePointMaxProfile", 0, 11, (32, 24)),
    },
    {
        "label": "office hours in local time",
        "description": "A Weekly TxDefaultProfile written in the site's wall-clock time.",
        "body": {
            "connectorId": "^${1:0}",
            "stackLevel": "^${2:20}",
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Weekly",
            "chargingSchedule": {
                "chargingRateUnit": "${3:A}",
                "local": [
                    {"at": "${4:Mon-Fri 07:00}", "limit": "^${5:10}"},
                    {"at": "${6:Mon-Fri 19:00}", "limit": "^${7:16}"},
                ],
            },
        },
    },
    {
        "label": "session cap",
        "description": "A TxProfile: sent while a session runs on the connector, for 'duration' s from then.",
        "body": {
            "connectorId": "^${1:1}",
            "stackLevel": "^${2:40}",
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "duration": "^${3:7200}",
                "chargingRateUnit": "${4:A}",
                "chargingSchedulePeriod": [{"startPeriod": "^0", "limit": "^${5:16}"}],
            },
        },
    },
]

SNIPPETS: dict[str, list[dict[str, Any]]] = {
    "Profile": _PROFILES,
    "Period": [{"label": "period", "body": {"startPeriod": "^${1:0}", "limit": "^${2:16}"}}],
    "LocalPeriod": [{"label": "local period", "body": {"at": "${1:07:00}", "limit": "^${2:16}"}}],
    "Station": [
        {
            "label": "station",
            "description": "A station with one profile.",
            "body": {
                "description": "${1:AC bay 01}",
                "connectors": "^${2:2}",
                "rated_power_kw": "^${3:22}",
                "profiles": {"${4:connector1-default}": _daily("TxDefaultProfile", 1, 20, (16, 32), first=5)},
            },
        }
    ],
    "Template": [
        {
            "label": "template on every station",
            "body": {"stations": "all", "profile": _daily("TxDefaultProfile", 0, 30, (10, 16))},
        }
    ],
    "SiteFile": [
        {
            "label": "site",
            "description": "A site with one station.",
            "body": {
                "site": {"name": "${1:Depot}", "timezone": "${2:Europe/Berlin}"},
                "stations": {
                    "${3:65a10c5ca6a3a4506513270e}": {
                        "connectors": "^${4:2}",
                        "rated_power_kw": "^${5:22}",
                        "profiles": {
                            "${6:station-cap}": _daily("ChargePointMaxProfile", 0, 11, (32, 24), first=7)
                        },
                    }
                },
            },
        }
    ],
}
