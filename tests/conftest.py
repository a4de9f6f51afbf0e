"""Shared fixtures: a fixed `now` so expiry rules do not drift with the calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DESIRED = ROOT / "desired"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW
