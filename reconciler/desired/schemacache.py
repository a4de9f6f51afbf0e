"""The request bodies that passed OCPP's SetChargingProfile schema before, kept between runs.

Checking a body against the official schema (`validate.schema_problem`) is the costliest check of a
profile, and from one plan to the next almost every body is the one checked last time. `validate`
therefore skips the check for a body whose digest (`payload.Body.digest`, the SHA-256 of its canonical
JSON, every field but its chargingProfileId) is in `SchemaPasses`, and adds the digest of every body
that passes; the loader keeps them in a file, so the next run skips them too.

Why the cache can never let an invalid body through:
- a digest enters it only after fastjsonschema accepted, in this program, the very body it is the
  digest of; nothing read from a site file, a state file or a saved plan ever adds one, and a body is
  taken as passing only when the SHA-256 of its own canonical text matches;
- the chargingProfileId (and the connectorId beside it) are left out of the digest because the schema
  asks only that they be integers, which they are in every body built from a checked profile;
- the file lives in the user's cache directory (`RECONCILER_CACHE_DIR`, else `$XDG_CACHE_HOME/reconciler`
  or `~/.cache/reconciler`), never among the files of the repository that pull requests change, and its
  name carries a digest of the schema's text and of the validator's version, so that a changed schema
  or validator starts with an empty cache.

`RECONCILER_CACHE_DIR=` (empty) keeps nothing between runs. The cache is an optimisation only: a file
that cannot be read or written is ignored, and one that is not whole digests, or grew past its bound,
is started afresh. Edge: the file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CACHE_SETTING = "RECONCILER_CACHE_DIR"
_DIGEST_BYTES = 32
_MAX_BYTES = 32 * 1024 * 1024  # a million bodies; past that the file starts afresh


def cache_dir() -> Path | None:
    """Where the cache is kept, or None when the setting says nowhere."""
    configured = os.environ.get(CACHE_SETTING)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "reconciler"


class SchemaPasses:
    """Digests of bodies that passed the schema: those read from the cache file, and those added since.

    `save` appends the added ones to the file (one write, so runs side by side do not interleave).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._known: set[bytes] = set()
        self._added: list[bytes] = []
        self._fresh = False  # the file is to be written anew rather than appended to
        data = b""
        if path is not None:
            with contextlib.suppress(OSError):
                data = path.read_bytes()
        if len(data) % _DIGEST_BYTES or len(data) > _MAX_BYTES:
            self._fresh, data = True, b""
        self._known = {data[at : at + _DIGEST_BYTES] for at in range(0, len(data), _DIGEST_BYTES)}

    def __contains__(self, digest: object) -> bool:
        return digest in self._known

    def add(self, digest: bytes) -> None:
        if digest not in self._known:
            self._known.add(digest)
            self._added.append(digest)

    def save(self) -> None:
        """Write the digests added since the last save to the file (ignored when it cannot be)."""
        if self.path is None or not self._added:
            return
        added, self._added = b"".join(self._added), []
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if self._fresh else os.O_APPEND)
            descriptor = os.open(self.path, flags, 0o600)
            try:
                os.write(descriptor, added)
            finally:
                os.close(descriptor)
            self._fresh = False


_OPEN: dict[str, SchemaPasses] = {}


def schema_passes(schema_identity: str) -> SchemaPasses:
    """This process's cache for the schema named by `schema_identity`, read from its file on first use."""
    directory = cache_dir()
    path = directory / f"schema-passed-{schema_identity}.bin" if directory is not None else None
    key = str(path)
    if key not in _OPEN:
        _OPEN[key] = SchemaPasses(path)
    return _OPEN[key]


def forget() -> None:
    """Drop this process's open caches: the next check reads its file again, as a new process would."""
    _OPEN.clear()
