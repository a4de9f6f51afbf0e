"""The commands of confirmations: `reconciler receive` (the webhook receiver) and `reconciler ingest`.

Registered by `reconciler.cli.main`. Each parses its flags and makes one call; the receiver's server
(aiohttp) is imported only when `receive` runs, so other commands start as fast as before. Secrets and
tokens come from the environment or from files, never from flags a process listing would show.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.options import (
    EXIT_OK,
    INBOX_VARIABLE,
    Finite,
    clock,
    desired_option,
    inbox_option,
    interrupted,
    lock_timeout_option,
    now_option,
    sites_argument,
    state_dir_option,
)
from reconciler.edrv.remote_inbox import TOKEN_VARIABLE
from reconciler.edrv.webhook import DEFAULT_TOLERANCE_S, V1Signs, Verification
from reconciler.errors import ReconcilerError
from reconciler.render.confirm import ingest_text
from reconciler.shell import ingest as ingesting
from reconciler.shell.ingest import open_inbox
from reconciler.shell.network import known_sites

if TYPE_CHECKING:  # the receiver's module loads aiohttp, only when `receive` runs
    from reconciler.shell.receiver import ReceiverConfig

SECRET_VARIABLE = "EDRV_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
DEFAULT_DB = Path("reconciler-inbox.sqlite3")


def _listed(variable: str, path: Path | None, what: str) -> tuple[str, ...]:
    """Values from a file (one a line, `#` comments) or else a comma-separated environment variable."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ReconcilerError(f"cannot read the {what} file {path}: {exc.strerror}") from None
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return tuple(line for line in lines if line)
    return tuple(part.strip() for part in os.environ.get(variable, "").split(",") if part.strip())


def _json_log(message: str, fields: Mapping[str, Any]) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    sys.stderr.write(json.dumps({"ts": stamp, "msg": message, **fields}) + "\n")


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_DB,
    show_default=True,
    help="The inbox database (SQLite, created if missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8280, show_default=True, help="0: any free.")
@click.option("--path", "hook_path", default="/webhooks/edrv", show_default=True, help="Where eDRV POSTs.")
@click.option(
    "--secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Webhook secrets, one a line (else ${SECRET_VARIABLE}, comma-separated).",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Reader tokens for GET /events, one a line (else ${TOKEN_VARIABLE}, comma-separated).",
)
@click.option(
    "--v1-signs",
    type=click.Choice([s.value for s in V1Signs]),
    default=V1Signs.TIMESTAMP_BODY.value,
    show_default=True,
    help="What eDRV's v1 signature is computed over.",
)
@click.option(
    "--replay-window",
    type=Finite(min=1),  # nan would pass every comparison, and accept a delivery of any age
    default=DEFAULT_TOLERANCE_S,
    show_default=True,
    help="Refuse signatures older or newer than this (s).",
)
@click.option("--no-legacy", is_flag=True, help="Refuse the legacy sha256= signature scheme.")
@click.option(
    "--max-body-kb", type=click.IntRange(min=1), default=1024, show_default=True, help="Body size cap."
)
@click.option(
    "--retention-days",
    type=Finite(min=0, min_open=True, max=36_600),
    default=30.0,
    show_default=True,
    help="Delete events older than this.",
)
def receive(
    *,
    db_path: Path,
    host: str,
    port: int,
    hook_path: str,
    secret_file: Path | None,
    token_file: Path | None,
    v1_signs: str,
    replay_window: float,
    no_legacy: bool,
    max_body_kb: int,
    retention_days: float,
) -> int:
    """Receive eDRV's webhooks: verify, store durably, serve to readers; until interrupted (Ctrl-C)."""
    from reconciler.shell.receiver import ReceiverConfig  # noqa: PLC0415 - aiohttp only when serving

    secrets = _listed(SECRET_VARIABLE, secret_file, "secret")
    if not secrets:
        raise ReconcilerError(
            f"no webhook secret: set {SECRET_VARIABLE} (the endpoint's secret in eDRV's dashboard) "
            "or give --secret-file"
        )
    config = ReceiverConfig(
        db_path,
        Verification(secrets, V1Signs(v1_signs), replay_window, legacy=not no_legacy),
        _listed(TOKEN_VARIABLE, token_file, "token"),
        host=host,
        port=port,
        path=hook_path,
        max_body_bytes=max_body_kb * 1024,
        retention=timedelta(days=retention_days),
    )
    asyncio.run(_serve(config))
    return 0


async def _serve(config: ReceiverConfig) -> None:
    from reconciler.shell.receiver import Receiver  # noqa: PLC0415 - aiohttp only when serving

    async with interrupted() as stop, Receiver(config, log=_json_log) as running:
        checks = config.verification
        legacy = "legacy sha256= accepted" if checks.legacy else "legacy sha256= refused"
        click.echo(
            f"Receiving eDRV webhooks at {running.url}{config.path} ({len(checks.secrets)} secret(s); "
            f"v1 over {checks.v1_signs}, {checks.tolerance_s:g} s replay window; {legacy})"
        )
        readers = f"{len(config.reader_tokens)} token(s)" if config.reader_tokens else "off: no token"
        click.echo(f"Inbox {config.db_path}; readers GET {running.url}/events ({readers})")
        click.echo(f"Health {running.url}/healthz; logs are JSON lines on stderr; Ctrl-C stops.")
        await stop.wait()
    click.echo("Receiver stopped.", err=True)


@click.command()
@sites_argument
@desired_option
@state_dir_option
@inbox_option
@lock_timeout_option("an apply")
@now_option
def ingest(
    *,
    sites: tuple[str, ...],
    desired_dir: Path,
    state_dir: Path | None,
    inbox: str | None,
    lock_timeout: float,
    now: str | None,
) -> int:
    """Fold the chargers' answers from the inbox into recorded state (all sites, or those named)."""
    if inbox is None:
        raise click.UsageError(f"give --inbox PATH|URL (or set {INBOX_VARIABLE})")
    moment = clock(now)
    names = known_sites(desired_dir, state_dir, sites)
    with open_inbox(inbox) as reader:
        if reader is None:  # a location was given, so an inbox is open
            raise click.UsageError("no inbox")
        report = ingesting.ingest(
            reader, desired_dir, names, state_dir, now=moment, lock_timeout_s=lock_timeout
        )
    click.echo(ingest_text(report, ingesting.clocks(desired_dir, report)), nl=False)
    return EXIT_OK


__all__ = ["ingest", "receive"]
