"""The loop at the command line, as an operator runs it against the sandbox and its receiver: `apply
--inbox`, `ingest` (from the database or the receiver's URL), `plan --inbox`, `state show`."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from reconciler.sandbox.background import BackgroundSandbox
from reconciler.sandbox.config import DEFAULT_API_KEY, SandboxConfig, stations_from_desired
from reconciler.state import store
from reconciler.state.recorded import Status

from .conftest import DESIRED, NOW
from .sandbox_harness import Clock, receiver_config

TOKEN = "reader-token-for-tests"
SITES = ("edrv-examples", "harbour-depot", "lakeside-offices")
AT = "2026-11-23T12:00:00Z"


def _run(
    capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


class Loop:
    """A copy of the example network, a sandbox for its stations and the receiver its webhooks reach."""

    def __init__(self, desired: Path, inbox: Path, sandbox: BackgroundSandbox) -> None:
        self.desired, self.inbox, self.sandbox = desired, inbox, sandbox

    @property
    def url(self) -> str:
        receiver = self.sandbox.receiver
        assert receiver is not None
        return receiver.url

    def state_text(self) -> dict[str, str]:
        return {site: store.state_path(self.desired, site).read_text() for site in SITES}


@pytest.fixture
def loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loop]:
    desired = tmp_path / "desired"
    shutil.copytree(DESIRED, desired, ignore=shutil.ignore_patterns(".state"))
    config = SandboxConfig(stations_from_desired(desired, NOW), port=0, ocpp_port=0, clock=Clock(NOW))
    hooks = receiver_config(tmp_path, TOKEN)
    with BackgroundSandbox(config, receiver=hooks) as sandbox:
        monkeypatch.setenv("EDRV_API_URL", sandbox.api_url)
        monkeypatch.setenv("EDRV_API_KEY", DEFAULT_API_KEY)
        monkeypatch.setenv("RECONCILER_INBOX_TOKEN", TOKEN)
        monkeypatch.delenv("RECONCILER_INBOX", raising=False)
        yield Loop(desired, hooks.db_path, sandbox)


def test_apply_ingest_and_plan_close_the_loop(loop: Loop, capsys: pytest.CaptureFixture[str]) -> None:
    """Applied calls are requested; ingest (by URL) makes them accepted once; plans say how answers stand."""
    where = ("--desired", str(loop.desired), "--now", AT)
    code, out, _ = _run(
        capsys, "apply", "--auto-approve", "--rate", "1000", "--inbox", str(loop.inbox), *where
    )
    assert code == EXIT_OK, out
    sent = int(re.search(r"Apply: (\d+) sent", out).group(1))  # type: ignore[union-attr]
    assert out.startswith(f"Ingest from {loop.inbox}: 0 answer(s) folded")
    # Without a terminal, a line per call as its answer is recorded, then the summary.
    calls = re.findall(
        r"^\[(\d+)\] (?:set|clear) .*: requested \(eDRV action \S+\), the charger's answer to come$",
        out,
        re.M,
    )
    assert [int(n) for n in calls] == list(range(1, sent + 1))
    assert out.rindex("the charger's answer to come") < out.index("Apply: ")
    loop.sandbox.settle()

    before = loop.state_text()
    code, out, _ = _run(capsys, "plan", *where)
    waiting = re.findall(r"Confirmations are not being received \(no --inbox\): (\d+) call\(s\) await", out)
    assert sum(int(n) for n in waiting) == sent
    code, out, _ = _run(capsys, "plan", "--inbox", str(loop.inbox), *where)
    assert code == EXIT_OK
    assert "accepted, 0 awaiting an answer, 0 rejected" in out
    assert loop.state_text() == before, "plan --inbox folds in memory only"

    code, out, _ = _run(capsys, "ingest", "--inbox", loop.url, *where)
    assert code == EXIT_OK, out
    assert (
        f"Ingest from {loop.url}: {sent} answer(s) folded into 3 site(s) ({sent} accepted), 0 unmatched"
        in out
    )
    assert out.count("\naccepted ") + out.startswith("accepted ") == sent
    after = loop.state_text()
    assert after != before
    code, out, _ = _run(capsys, "ingest", "--inbox", str(loop.inbox), *where)
    assert "0 answer(s) folded into 0 site(s), 0 unmatched; 0 call(s) still await an answer" in out
    assert loop.state_text() == after, "a second ingest writes nothing"

    code, out, _ = _run(capsys, "state", "show", "harbour-depot", "--desired", str(loop.desired))
    assert "accepted  confirmed 2026-11-23 13:00 CET" in out  # the depot is in Berlin
    code, out, _ = _run(capsys, "plan", *where)
    assert "(no --inbox)" not in out, "nothing awaits an answer any more"


def test_ingest_refuses_what_it_cannot_read_and_changes_nothing(
    loop: Loop, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No inbox given, none at the path, a token the receiver refuses, the site's lock held: 64 or 1."""
    where = ("--desired", str(loop.desired), "--now", AT)
    assert _run(capsys, "apply", "--auto-approve", "--rate", "1000", *where)[0] == EXIT_OK
    loop.sandbox.settle()
    before = loop.state_text()
    code, _, err = _run(capsys, "ingest", *where)
    assert (code, "--inbox" in err) == (EXIT_USAGE, True)
    code, _, err = _run(capsys, "ingest", "--inbox", str(tmp_path / "none.sqlite3"), *where)
    assert (code, err.count("\n")) == (EXIT_ERROR, 1)
    assert "no inbox here" in err
    code, _, err = _run(
        capsys, "ingest", "--inbox", loop.url, *where, env={"RECONCILER_INBOX_TOKEN": "guess"}
    )
    assert (code, f"the inbox at {loop.url} refused the reader token (HTTP 401)" in err) == (EXIT_ERROR, True)
    with store.lock(store.state_path(loop.desired, "harbour-depot")):
        code, _, err = _run(capsys, "ingest", "--inbox", str(loop.inbox), *where)
    assert (code, "holds the lock" in err) == (EXIT_ERROR, True)
    assert store.load(store.state_path(loop.desired, "harbour-depot"), "harbour-depot") is not None
    changed = loop.state_text()
    assert changed["harbour-depot"] == before["harbour-depot"], "the locked site was left alone"


def test_a_saved_plan_is_applied_first_and_the_answers_folded_after(
    loop: Loop, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Folding before would move the serial the saved plan is bound to; apply sends it, then folds."""
    where = ("--desired", str(loop.desired), "--now", AT)
    assert _run(capsys, "apply", "--auto-approve", "--rate", "1000", *where)[0] == EXIT_OK
    loop.sandbox.settle()
    path = loop.desired / "harbour-depot.yaml"
    path.write_text(path.read_text().replace("{startPeriod: 0, limit: 32}", "{startPeriod: 0, limit: 31}", 1))
    saved = tmp_path / "plan.json"
    assert _run(capsys, "plan", "harbour-depot", "--out", str(saved), *where)[0] == EXIT_OK
    code, out, err = _run(
        capsys,
        "apply",
        "--plan",
        str(saved),
        "--auto-approve",
        "--rate",
        "1000",
        "--inbox",
        str(loop.inbox),
        *where,
    )
    assert code == EXIT_OK, err
    assert out.index("Plan: ") < out.index("Ingest from") < out.index("Apply: ")
    assert re.search(r"Ingest from .*: (\d+) answer\(s\) folded into 1 site\(s\)", out)
    recorded = store.load(store.state_path(loop.desired, "harbour-depot"), "harbour-depot")
    assert recorded is not None
    assert {r.status for _, _, r in recorded.records()} >= {Status.ACCEPTED}
