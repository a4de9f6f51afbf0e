"""Shared fixtures: a fixed `now` so expiry rules do not drift with the calendar; the CLI run in-process;
and the example network running end to end against the sandbox (`network`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reconciler.cli.main import main

if TYPE_CHECKING:
    from .sandbox_network import Network


def pytest_configure(config: pytest.Config) -> None:
    """Keep the schema cache of every run the tests make (in this process or a child) out of the
    user's own cache directory."""
    os.environ["RECONCILER_CACHE_DIR"] = tempfile.mkdtemp(prefix="reconciler-test-cache-")


ROOT = Path(__file__).resolve().parent.parent
DESIRED = ROOT / "desired"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `reconciler ARGV` in this process: its exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    """The example network, applied to nothing yet, with its sandbox and receiver running."""
    from .sandbox_network import start_network

    yield from start_network(tmp_path)
