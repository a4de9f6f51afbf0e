"""The sandbox's commands, `reconciler sandbox` and `reconciler demo`, registered by `reconciler.cli.main`.

Each parses its flags and makes one call. The heavy imports (aiohttp, the `ocpp` package) happen inside
the commands, so that other commands start as fast as before.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler.cli.options import DEFAULT_DESIRED, interrupted
from reconciler.sandbox.config import (
    DEFAULT_API_KEY,
    DEFAULT_OCPP_PORT,
    DEFAULT_PORT,
    SandboxConfig,
    SandboxError,
    StationSpec,
    stations_from_desired,
    stations_from_file,
)
from reconciler.sandbox.faults import Faults, HttpFault, parse_error_flag


@click.command()
@click.option(
    "--desired",
    "desired_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Simulate every station of these site files.  [default: {DEFAULT_DESIRED}]",
)
@click.option(
    "--stations",
    "stations_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Simulate the stations of this YAML file instead (stations: {ID: {connectors: N}}).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="eDRV API port (0: any free).",
)
@click.option(
    "--ocpp-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_OCPP_PORT,
    show_default=True,
    help="OCPP port.",
)
@click.option("--api-key", default=DEFAULT_API_KEY, show_default=True, help="The bearer key the API accepts.")
@click.option(
    "--external", multiple=True, metavar="ID", help="Simulate no charge point for ID: a real one connects."
)
@click.option("--webhook-url", default=None, help="POST signed eDRV webhooks here.")
@click.option("--webhook-secret", default=None, help="The secret webhooks are signed with.")
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every API answer.")
@click.option(
    "--error",
    "errors",
    multiple=True,
    metavar="KIND[:TIMES]",
    help="Answer requests with an HTTP status (429, 503…), 'timeout' (hold) or 'drop'; TIMES times or all.",
)
@click.option(
    "--retry-after", type=click.IntRange(min=0), default=None, help="Retry-After (s) on --error answers."
)
@click.option(
    "--hold-s",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="How long 'timeout' holds a request.",
)
@click.option(
    "--offline", multiple=True, metavar="ID", help="Start with this station's charge point disconnected."
)
@click.option("--reject", multiple=True, metavar="ID", help="This station's charge point answers Rejected.")
@click.option(
    "--synchronous",
    is_flag=True,
    help="Answer each command once the charge point has, the outcome in the Action (eDRV does not).",
)
def sandbox(
    *,
    desired_dir: Path | None,
    stations_file: Path | None,
    port: int,
    ocpp_port: int,
    api_key: str,
    external: tuple[str, ...],
    webhook_url: str | None,
    webhook_secret: str | None,
    latency_ms: int,
    errors: tuple[str, ...],
    retry_after: int | None,
    hold_s: float,
    offline: tuple[str, ...],
    reject: tuple[str, ...],
    synchronous: bool,
) -> int:
    """Run a local eDRV with simulated OCPP 1.6J charge points until interrupted (Ctrl-C)."""
    if desired_dir is not None and stations_file is not None:
        raise click.UsageError("give --desired or --stations, not both")
    try:
        scripted: list[HttpFault] = [parse_error_flag(text, retry_after) for text in errors]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--error") from None
    faults = Faults(
        latency_ms=latency_ms, hold_s=hold_s, errors=tuple(scripted), offline=offline, reject=reject
    )
    stations = _stations(desired_dir, stations_file)
    config = SandboxConfig(
        stations,
        port=port,
        ocpp_port=ocpp_port,
        api_key=api_key,
        external=frozenset(external),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        faults=faults,
        synchronous=synchronous,
    )
    asyncio.run(_serve(config))
    return 0


def _stations(desired_dir: Path | None, stations_file: Path | None) -> dict[str, StationSpec]:
    if stations_file is not None:
        return stations_from_file(stations_file)
    return stations_from_desired(desired_dir or DEFAULT_DESIRED, datetime.now(UTC))


async def _serve(config: SandboxConfig) -> None:
    from reconciler.sandbox.server import Sandbox  # noqa: PLC0415 - aiohttp only when serving

    async with interrupted() as stop, Sandbox(config, log=lambda line: click.echo(line, err=True)) as running:
        simulated = len(running.stations)
        click.echo(f"eDRV API  {running.api_url}  (key: {config.api_key})")
        click.echo(f"OCPP 1.6J {running.ocpp_url}/<station id>  (subprotocol ocpp1.6)")
        click.echo(f"{simulated} simulated charge point(s), {len(config.external)} external; Ctrl-C stops.")
        click.echo(
            f"Ground truth {running.api_url}/_sandbox/stations; also /_sandbox/stats, /_sandbox/faults"
        )
        click.echo("Point the reconciler at it:")
        click.echo(f"  export EDRV_API_URL={running.api_url} EDRV_API_KEY={config.api_key}")
        await stop.wait()
    click.echo("Sandbox stopped.", err=True)


@click.command()
@click.option(
    "--desired",
    "desired_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=DEFAULT_DESIRED,
    show_default=True,
    help="The site files to demonstrate with (copied; never changed).",
)
def demo(desired_dir: Path) -> int:
    """Apply desired/ to a sandbox through the real client and show the result; touches no files of yours."""
    from reconciler.sandbox.demo import run_demo  # noqa: PLC0415 - aiohttp only when serving

    return run_demo(desired_dir, click.echo)


__all__ = ["SandboxError", "demo", "sandbox"]
