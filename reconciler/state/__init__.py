"""Recorded state: what was sent to each station and what came of it, one JSON file per site.

Holds the record models and the store (atomic whole-file writes, serial and lineage, the per-site
lock).

May import: `reconciler.errors`, `reconciler.ocpp`, `reconciler.desired`.
"""
