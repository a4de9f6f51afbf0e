"""The example network in a scratch directory, a sandbox simulating its stations eDRV-like, and the
webhook receiver its answers go to: the whole loop over real loopback sockets, for end-to-end tests.

`network` (in `conftest`) is the fixture; `Network` applies through the real client, ingests, and reads
the sandbox's ground truth. A test that needs other site files calls `start_network` with `edit`, which
changes them before the sandbox starts (its stations come from them).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from reconciler.edrv.client import EdrvSettings
from reconciler.edrv.inbox import Inbox
from reconciler.ocpp.profile import Json
from reconciler.plan.confirm import IngestReport
from reconciler.plan.site import SitePlan
from reconciler.sandbox.background import BackgroundSandbox
from reconciler.sandbox.config import DEFAULT_API_KEY, SandboxConfig, stations_from_desired
from reconciler.shell.apply import SiteResult
from reconciler.shell.apply_sites import apply_with_client
from reconciler.shell.ingest import ingest
from reconciler.shell.network import site_ids
from reconciler.shell.reconcile import plan_sites
from reconciler.state import store as state
from reconciler.state.recorded import RecordedState

from .conftest import DESIRED, NOW
from .sandbox_harness import Clock, receiver_config


@dataclass
class Network:
    """The example network's site files in a scratch directory, a sandbox simulating its stations, and
    the receiver its webhooks go to."""

    desired_dir: Path
    inbox: Path
    sandbox: BackgroundSandbox
    http: httpx.Client

    def plan(self, now: datetime = NOW) -> list[SitePlan]:
        return plan_sites(self.desired_dir, [], now)

    def apply(self) -> list[SiteResult]:
        """Apply at NOW; return once the chargers answered every call and the webhooks are delivered."""
        settings = EdrvSettings(
            api_key=DEFAULT_API_KEY, api_url=self.sandbox.api_url, rate_per_s=1000, burst=100
        )
        results = apply_with_client(
            self.plan(), settings, desired_dir=self.desired_dir, state_dir=None, now=NOW, source="the plan"
        )
        self.sandbox.settle()
        return results

    def ingest(self) -> IngestReport:
        with Inbox(self.inbox) as inbox:
            return ingest(inbox, self.desired_dir, site_ids(self.desired_dir), None, now=NOW)

    def recorded(self, site: str) -> RecordedState:
        found = state.load(state.state_path(self.desired_dir, site), site)
        assert found is not None
        return found

    def truth(self) -> dict[str, Json]:
        stations: dict[str, Json] = self.http.get("/_sandbox/stations").json()["stations"]
        return stations

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.http.get("/_sandbox/stats").json()["requests"]
        return counts


def start_network(tmp_path: Path, edit: Callable[[Path], None] | None = None) -> Generator[Network]:
    """The example network copied to `tmp_path`, edited by `edit` (given the desired directory), with
    its sandbox and receiver running until the generator is closed."""
    desired_dir = tmp_path / "desired"
    desired_dir.mkdir()
    for path in DESIRED.glob("*.yaml"):
        shutil.copy(path, desired_dir / path.name)
    if edit is not None:
        edit(desired_dir)
    config = SandboxConfig(stations_from_desired(desired_dir, NOW), port=0, ocpp_port=0, clock=Clock(NOW))
    hooks = receiver_config(tmp_path)
    with BackgroundSandbox(config, receiver=hooks) as sandbox:
        headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        with httpx.Client(base_url=sandbox.api_url, headers=headers) as http:
            yield Network(desired_dir, hooks.db_path, sandbox, http)
