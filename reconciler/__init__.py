"""reconciler: OCPP 1.6 charging profiles as code for EV charging networks run on eDRV.

The package is laid out in wings, from the bottom up: `errors` (the error tree), `ocpp` (OCPP 1.6
itself), `desired` (the operator's language), `state` (recorded state), `edrv` (eDRV's wire format and
client), `plan` (changes and what they do), `render` (what people read), `shell` (files, locks, calls),
`sandbox` (a local eDRV) and `cli`. A module imports only its own wing and those below; all but the
few edges are pure. `tests/test_layers.py` keeps it that way.
"""

__version__ = "0.1.0"
