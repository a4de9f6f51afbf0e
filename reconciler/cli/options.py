"""What the commands share: the exit codes, common options, the clock, and how problems are shown.

Used by `cli.main`, `cli.inspect` and `cli.sandbox`; the commands themselves live there.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.desired.loader import Loaded, load
from reconciler.desired.model import normalise_timestamp
from reconciler.errors import DesiredStateError, Problem, ReconcilerError, StateFileError
from reconciler.ocpp.profile import parse_timestamp
from reconciler.plan import window
from reconciler.shell.network import site_files, site_ids, site_stations

if TYPE_CHECKING:
    import asyncio

FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)
EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_USAGE = 0, 1, 2, 64
DEFAULT_DESIRED = Path("desired")


class _Timestamp(click.ParamType):  # type: ignore[type-arg]
    name = "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        # Kept as normalised text: fraction digits as written matter in request bodies.
        try:
            return normalise_timestamp(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 date-time such as 2026-01-31T22:00:00Z", param, ctx)


TIMESTAMP = _Timestamp()


class Finite(click.FloatRange):
    """A FloatRange that also refuses `nan` and `inf`: nan passes every range check, and neither is a
    number of seconds or calls anything can wait for."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


# The longest window a command looks at: any longer, and composites no one reads cost a plan's time.
HOURS_A_YEAR = 366 * 24


def lock_timeout_option(waits_for: str) -> Callable[[FC], FC]:
    """`--lock-timeout`: how long to wait for the lock `waits_for` holds (another apply, say)."""
    return click.option(
        "--lock-timeout", type=Finite(min=0), default=0, help=f"Wait this long (s) for {waits_for}."
    )


now_option = click.option(
    "--now", type=TIMESTAMP, default=None, help="Check as of this moment instead of the clock (RFC 3339)."
)
desired_option = click.option(
    "--desired",
    "desired_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DESIRED,
    show_default=True,
    help="Directory of site files.",
)

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory of recorded-state files.  [default: <desired>/.state]",
)
force_option = click.option(
    "--force", is_flag=True, help="Plan past the safety rails (mass clears or changes)."
)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)?")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


_MAX_DURATION_S = 366 * 86_400


class Duration(click.ParamType):  # type: ignore[type-arg]
    """A duration such as `90`, `90s`, `15m`, `1h`, `2d`; with `never`, the word `never` too (None)."""

    name = "DURATION"

    def __init__(self, never: bool = False) -> None:
        self.never = never

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, timedelta):
            return value
        text = str(value).strip().lower()
        if self.never and text == "never":
            return None
        match = _DURATION.fullmatch(text)
        if match is None:
            also = ", or never" if self.never else ""
            self.fail(f"{value!r} is not a duration such as 90s, 15m, 1h or 2d{also}", param, ctx)
        seconds = float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
        if seconds > _MAX_DURATION_S:  # a longer wait is "never", and date arithmetic would overflow
            self.fail(f"{value!r} is longer than a year", param, ctx)
        return timedelta(seconds=seconds)


INBOX_VARIABLE = "RECONCILER_INBOX"
inbox_option = click.option(
    "--inbox",
    default=None,
    envvar=INBOX_VARIABLE,
    metavar="PATH|URL",
    help=(
        "Read the chargers' answers from this inbox: the database `reconciler receive` writes, or its "
        f"URL (reader token in $RECONCILER_INBOX_TOKEN).  [default: ${INBOX_VARIABLE}]"
    ),
)


def confirmation_options(command: FC) -> FC:
    """`--unconfirmed-after` and `--retry-rejected-after`: how plans treat unanswered and rejected calls."""
    command = click.option(
        "--retry-rejected-after",
        type=Duration(never=True),
        default="1h",
        show_default=True,
        help="Send a rejected profile again this long after the rejection, doubling with each further "
        "one (at most a day); never: only when desired changes.",
    )(command)
    return click.option(
        "--unconfirmed-after",
        type=Duration(),
        default="15m",
        show_default=True,
        help="With --inbox: a call still unanswered this long after it was sent is sent once more.",
    )(command)


def _inputs(ctx: click.Context) -> tuple[Path, Path | None]:
    # While completing, the flags typed so far are parsed (defaults included) into ctx.params.
    return Path(ctx.params.get("desired_dir") or DEFAULT_DESIRED), ctx.params.get("state_dir")


def complete_sites(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of site ids: the site files and recorded state under --desired / --state-dir."""
    desired_dir, state_dir = _inputs(ctx)
    try:
        return [site for site in site_ids(desired_dir, state_dir) if site.startswith(incomplete)]
    except OSError:
        return []


def complete_stations(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of station ids: those of the sites named so far (or of every site), read from
    their files' station keys alone."""
    desired_dir, state_dir = _inputs(ctx)
    site = ctx.params.get("site")
    # Sites typed before an option still waiting for its value are left unparsed, in ctx.args.
    named = [site] if site else [*(ctx.params.get("sites") or ()), *ctx.args]
    try:
        every = site_ids(desired_dir, state_dir)
        sites = [s for s in named if s in every] or every
        found = set().union(*(site_stations(desired_dir, state_dir, s) or () for s in sites))
    except OSError:
        return []
    return sorted(station for station in found if station.startswith(incomplete))


def sites_argument(command: FC) -> FC:
    """The `SITES` argument (none: every site), completing site ids."""
    return click.argument("sites", nargs=-1, shell_complete=complete_sites)(command)


def station_option(what: str) -> Callable[[FC], FC]:
    """`--station ID`: only that station (`what` says what is done to it); completes station ids."""
    return click.option(
        "--station",
        default=None,
        metavar="ID",
        shell_complete=complete_stations,
        help=f"{what} only this station (of the sites named, or of whichever site holds it); an unknown "
        "station is an error.",
    )


no_color_option = click.option(
    "--no-color",
    is_flag=True,
    help="No colour, even on a terminal (as when the NO_COLOR environment variable is set).",
)
verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="List every session cap waiting for a session, not only their count.",
)


def colour(no_color: bool) -> bool:
    """Whether to colour standard output: only on a terminal, never with --no-color or a non-empty
    NO_COLOR (no-color.org)."""
    return not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def echo_json(document: str | Iterable[str | bytes]) -> None:
    """Print a JSON document, or its pieces in turn, as it is: click searches text for colour codes to
    strip when it does not go to a terminal, and JSON holds none (it escapes control characters); a plan
    or a recorded state at its bound is tens of megabytes to search. Pieces of (ASCII) bytes go straight
    to the bytes under standard output, as text they would be copied twice more; to an output that takes
    text alone (a StringIO, as a program running the CLI in process gives it) they go as text."""
    binary = getattr(sys.stdout, "buffer", None)
    for piece in (document,) if isinstance(document, str) else document:
        if isinstance(piece, str) or binary is None:
            click.echo(piece if isinstance(piece, str) else piece.decode("ascii"), nl=False, color=True)
        else:
            sys.stdout.flush()  # whatever went out as text before goes first
            binary.write(piece)
    if binary is not None:
        binary.flush()


@contextlib.contextmanager
def hours_bounded() -> Iterator[None]:
    """`--hours` refused as a usage error (64) where the composites it asks for would lay out more
    pieces than a window of them may (`plan.window`), as `schedule` and `drift` ask."""
    try:
        yield
    except window.WindowTooLongError as err:
        raise click.BadParameter(f"{err}; {err.fix}", param_hint="--hours") from None


def format_option(*choices: str, help: str | None = None) -> Callable[[FC], FC]:
    """`--format` (as `fmt`) over `choices`, the first being the default."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True, help=help
    )


def load_sites(desired_dir: Path, sites: Sequence[str], now: datetime) -> Loaded:
    loaded = load(site_files(desired_dir, sites), now)
    if loaded.has_errors:
        raise DesiredStateError(loaded.problems)
    report(loaded.problems, sys.stderr)
    return loaded


def clock(now: str | None) -> datetime:
    """The moment a command works at: `--now` when given (for reproducible runs), else the clock."""
    return parse_timestamp(now) if now is not None else datetime.now(UTC)


def report(problems: Sequence[Problem], stream: Any) -> None:
    """Each problem on a line of its own (and its annotation under GitHub Actions), flushed: a command's
    two outputs often go to one file (`> log 2>&1`, as the action runs validate), where a redirected
    standard output would hold its last few kilobytes back until exit, after what is written to the
    other (validate's totals) had gone out."""
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    for problem in problems:
        print(problem, file=stream)
        if in_actions:
            print(annotation(problem), file=stream)
    stream.flush()


def warn(message: str) -> None:
    """A warning for the person running the command (and a GitHub annotation under Actions)."""
    click.echo(f"warning: {message}", err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        click.echo(f"::warning::{_escape(message)}", err=True)


def _escape(text: str) -> str:
    # GitHub workflow command; %, CR and LF must be escaped in the message and properties.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_annotation(err: ReconcilerError) -> str:
    """The GitHub annotation of an error; on its file and line when it has them (a state file's)."""
    where = ""
    if isinstance(err, StateFileError) and err.file is not None:
        where = f" file={_escape(err.file).replace(',', '%2C')}" + (f",line={err.line}" if err.line else "")
    return f"::error{where}::{_escape(str(err))}"


def annotation(problem: Problem) -> str:
    where = f"file={_escape(problem.file).replace(',', '%2C')}"
    if problem.line:
        where += f",line={problem.line},col={problem.column}"
    message = problem.message + (f" (fix: {problem.fix})" if problem.fix else "")
    return f"::{problem.severity} {where}::{_escape(message)}"


@contextlib.asynccontextmanager
async def interrupted() -> AsyncIterator[asyncio.Event]:
    """An event that Ctrl-C (SIGINT) or SIGTERM sets while the block runs, for servers run until then."""
    import asyncio  # noqa: PLC0415 - only the servers need an event loop; the other commands start faster

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
