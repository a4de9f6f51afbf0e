"""How to reach eDRV: the API URL and key, and how hard to push it; read from the environment.

`EdrvSettings.from_environment` reads `EDRV_API_URL` and the API key from a key file (bounded in
size) or `EDRV_API_KEY`; `key_file_exposure` says when a key file is readable by other users. The CLI
reads them for `apply`; `client` sends with them. The key is never shown: no repr holds it, and
`scrub` removes it from any text.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from reconciler.desired import bounds
from reconciler.errors import EdrvSettingsError

DEFAULT_API_URL = "https://api.edrv.io"


@dataclass(frozen=True, slots=True)
class EdrvSettings:
    """How to reach eDRV and how hard to push it; every default is explained in the module docstring."""

    api_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    # eDRV answers a command at once with an Action and reports the charger's answer later by webhook,
    # so an answer slower than this means eDRV itself is struggling.
    timeout_s: float = 20.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0
    max_wait_s: float = 60.0
    rate_per_s: float = 10.0
    burst: int = 10
    max_concurrent: int = 16

    def __post_init__(self) -> None:
        key = self.api_key
        if not key:
            raise EdrvSettingsError("no eDRV API key: set EDRV_API_KEY or pass a key file")
        if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            raise EdrvSettingsError(
                "the eDRV API key holds spaces or characters an HTTP header cannot carry; check its source"
            )
        try:
            url = httpx.URL(self.api_url)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            shown = scrub(self.api_url, key)
            raise EdrvSettingsError(f"the eDRV API URL {shown!r} is not an http(s) URL (EDRV_API_URL)")
        positive = (self.timeout_s, self.max_attempts, self.rate_per_s, self.burst, self.max_concurrent)
        if min(positive) <= 0 or min(self.backoff_base_s, self.backoff_cap_s, self.max_wait_s) < 0:
            raise EdrvSettingsError("eDRV client settings: counts, rates and timeouts must be positive")

    @classmethod
    def from_environment(
        cls, key_file: Path | None = None, *, environ: Mapping[str, str] | None = None
    ) -> EdrvSettings:
        """Settings from `EDRV_API_URL` and the key in `key_file` (if given) or else `EDRV_API_KEY`."""
        env = os.environ if environ is None else environ
        if key_file is None:
            key = env.get("EDRV_API_KEY", "").strip()
        else:
            try:
                key = bounds.read_text(key_file, bounds.KEY_FILE_MAX_BYTES).strip()
            except bounds.TooLargeError:
                raise EdrvSettingsError(
                    f"the eDRV API key file {key_file} is over {bounds.KEY_FILE_MAX_BYTES:,} bytes: an API "
                    "key is a line of a few dozen characters; check that it is the right file"
                ) from None
            except OSError as exc:
                raise EdrvSettingsError(
                    f"cannot read the eDRV API key file {key_file}: {exc.strerror}"
                ) from None
            except UnicodeDecodeError:
                raise EdrvSettingsError(f"the eDRV API key file {key_file} is not UTF-8 text") from None
            if not key:
                raise EdrvSettingsError(f"the eDRV API key file {key_file} is empty")
        return cls(api_key=key, api_url=env.get("EDRV_API_URL", "").strip() or DEFAULT_API_URL)


def key_file_exposure(key_file: Path) -> str | None:
    """A warning when other users may read the key file (group or others have read permission), else None.

    A warning, not a refusal: secrets mounted by Kubernetes (0644 by default) or Docker (0444) are
    readable by all inside a container where no one else runs, and refusing them would break those
    setups while protecting nothing.
    """
    try:
        mode = stat.S_IMODE(key_file.stat().st_mode)
    except OSError:
        return None  # reading it has already said why
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    who = " and ".join(
        w for bit, w in ((stat.S_IRGRP, "its group"), (stat.S_IROTH, "all users")) if mode & bit
    )
    return (
        f"the eDRV API key file {key_file} is readable by {who} (mode {mode:04o}); "
        f"`chmod 600 {key_file}` keeps the key to its owner"
    )


def scrub(text: str, secret: str) -> str:
    """`text` with `secret`, raw or percent-encoded, replaced by a marker."""
    for form in {secret, quote(secret, safe="")}:
        text = text.replace(form, "[redacted]")
    return text
