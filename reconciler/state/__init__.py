"""Recorded state: what was sent to each station and what came of it, one JSON file per site.

Holds the record models, the consistency every loaded state must have (`check`), the file's text
(`layout`: one line per record under a checksum), the store (load and save, refusing a file someone
else changed by lineage, serial or content) and the files on disk (`files`: atomic whole-file
writes, the per-site lock, cleanup of what a crash leaves).

May import: `reconciler.errors`, `reconciler.ocpp`, `reconciler.desired`.
"""
