"""The command line: each command parses its flags, makes one call, renders, and returns an exit code.

Exit codes: 0 success, 1 error, 2 changes pending (`plan --detailed-exitcode`), 64 usage error (click's
own 2 is remapped so that a typo in a workflow never reads as "changes pending"). Expected errors
(`ReconcilerError`) print one line, plus a GitHub annotation under Actions; anything else is a bug and
keeps its traceback. `validate` is here; the plan is in `cli.plan`, apply in `cli.apply`, recorded state in
`cli.state`, the commands that only look at desired state in `cli.inspect`, each imported when it runs;
what all commands share (options, exit codes, the clock, problem display) is in `cli.options`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from reconciler import __version__
from reconciler.cli.options import (
    DEFAULT_DESIRED,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    clock,
    error_annotation,
    now_option,
    report,
)
from reconciler.desired.loader import load
from reconciler.errors import DesiredStateError, ReconcilerError

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "cli", "main"]


# Each command's module is imported when the command runs (or `--help` lists them all), so that `validate`
# loads no HTTP client, event loop, renderer or planner: half of a small validate's 0.25 s was imports.
_COMMANDS = {
    "apply": "reconciler.cli.apply:apply",
    "demo": "reconciler.cli.sandbox:demo",
    "drift": "reconciler.cli.drift:drift",
    "ingest": "reconciler.cli.inbox:ingest",
    "payloads": "reconciler.cli.inspect:payloads",
    "plan": "reconciler.cli.plan:plan",
    "receive": "reconciler.cli.inbox:receive",
    "sandbox": "reconciler.cli.sandbox:sandbox",
    "schedule": "reconciler.cli.inspect:schedule",
    "schema": "reconciler.cli.inspect:schema",
    "sites": "reconciler.cli.inspect:sites_command",
    "state": "reconciler.cli.state:state_group",
}


class _Commands(click.Group):
    """The command group: `validate` here, every other command loaded from its module when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, name = _COMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(
    cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Charging profiles as code: desired OCPP 1.6 profiles in YAML, planned and applied through eDRV."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@now_option
def validate(paths: tuple[Path, ...], strict: bool, now: str | None) -> int:
    """Check desired site files (default: desired/) and report every problem with file:line:column."""
    loaded = load(paths or (DEFAULT_DESIRED,), clock(now), keep=False)
    report(loaded.problems, sys.stdout)
    errors = sum(p.is_error for p in loaded.problems)
    warnings = len(loaded.problems) - errors
    click.echo(f"{loaded.valid} site(s) valid; {errors} error(s), {warnings} warning(s)", err=True)
    return EXIT_ERROR if errors or (strict and warnings) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and exit with the documented codes."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="reconciler", standalone_mode=False
        )
    except click.UsageError as err:
        err.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as err:
        err.show()
        sys.exit(EXIT_ERROR)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except DesiredStateError as err:
        report(err.problems, sys.stderr)
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_ERROR)
    except ReconcilerError as err:
        click.echo(f"error: {err}", err=True)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            click.echo(error_annotation(err), err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
