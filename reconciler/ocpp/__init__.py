"""OCPP 1.6 smart charging as the standard defines it, independent of eDRV and of the YAML language.

Holds the charging-profile vocabulary (purposes, kinds, units, the slot a profile takes, when it
ends), a charger's configuration keys, the composite-schedule engine with its recurrence, and a
model charge point that follows OCPP's replacement and rejection rules.

May import: `reconciler.errors`. The lowest wing: everything else builds on OCPP.
"""
