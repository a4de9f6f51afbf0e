"""No input ends in a traceback: hypothesis mutates site files, state files, saved plans, key files and
flags of the example network, runs the commands on them as a user would (in process), and checks that
each exits with a documented code (0, 1, 2 or 64). Anything else escaping `main` fails the test with
its traceback. Bounded: a few dozen examples each, a few seconds in all.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.state import store

from .conftest import DESIRED, NOW
from .mutations import (
    DOCUMENTED_EXIT_CODES,
    FLAG_VALUES,
    FLAGS,
    exit_code,
    mutate_plan,
    mutate_state,
    mutate_yaml,
    prepare_network,
)

NOW_ARG = "2026-11-23T12:00:00Z"
DOCUMENTED = DOCUMENTED_EXIT_CODES
SITES = ("edrv-examples", "harbour-depot")
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_FILES = settings(FUZZ, max_examples=40)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example network recorded as applied, then edited, with a saved plan of the edit in `plan.json`."""
    return prepare_network(tmp_path_factory.mktemp("network"), DESIRED, NOW)


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """A key and an eDRV URL nothing listens on: no command here can reach a network, nor needs to."""
    saved = {name: os.environ.get(name) for name in ("EDRV_API_KEY", "EDRV_API_URL", "GITHUB_ACTIONS")}
    os.environ.update(EDRV_API_KEY="a-key-of-no-account", EDRV_API_URL="http://127.0.0.1:9")
    os.environ.pop("GITHUB_ACTIONS", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextlib.contextmanager
def _copy(network: Path) -> Iterator[Path]:
    """A scratch copy of the network for one example (hypothesis reuses function-scoped fixtures)."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "net"
        shutil.copytree(network, target)
        yield target


@FUZZ_FILES
@given(rng=st.randoms(use_true_random=False), site=st.sampled_from(SITES))
def test_a_mutated_site_file_ends_in_a_documented_exit_code(
    network: Path, rng: random.Random, site: str
) -> None:
    """validate, plan and payloads on a mutated site file exit 0, 1, 2 or 64, never with a traceback."""
    with _copy(network) as net:
        path = net / "desired" / f"{site}.yaml"
        path.write_text(mutate_yaml(path.read_text(), rng))
        desired = str(net / "desired")
        assert exit_code(["validate", desired, "--now", NOW_ARG]) in DOCUMENTED
        assert (
            exit_code(["plan", "--desired", desired, "--now", NOW_ARG, "--detailed-exitcode"]) in DOCUMENTED
        )
        assert exit_code(["payloads", site, "--desired", desired, "--now", NOW_ARG]) in DOCUMENTED


@FUZZ_FILES
@given(
    rng=st.randoms(use_true_random=False),
    site=st.sampled_from(SITES),
    fmt=st.sampled_from(["text", "json", "markdown"]),
)
def test_a_mutated_state_file_ends_in_a_documented_exit_code(
    network: Path, rng: random.Random, site: str, fmt: str
) -> None:
    """plan and state show on a mutated state file exit 0, 1, 2 or 64, never with a traceback."""
    with _copy(network) as net:
        path = store.state_path(net / "desired", site)
        path.write_text(mutate_state(path.read_text(), rng))
        desired = str(net / "desired")
        assert (
            exit_code(["plan", "--desired", desired, "--now", NOW_ARG, "--force", "--format", fmt])
            in DOCUMENTED
        )
        assert exit_code(["state", "show", site, "--desired", desired]) in DOCUMENTED


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_a_mutated_saved_plan_ends_in_a_documented_exit_code(network: Path, rng: random.Random) -> None:
    """apply --plan on a mutated saved plan exits with a documented code before sending anything."""
    with _copy(network) as net:
        plan = net / "plan.json"
        plan.write_text(mutate_plan(plan.read_text(), rng))
        # No terminal to confirm on and no --auto-approve: apply reads, checks and shows, then stops.
        assert exit_code(["apply", "--desired", str(net / "desired"), "--plan", str(plan)]) in DOCUMENTED


@FUZZ
@given(
    key=st.binary(max_size=64) | st.sampled_from([b"", b" \n", b"\xff\xfe", b"k" * 5000, b"a b", b"k\x00y"])
)
def test_any_key_file_ends_in_a_documented_exit_code(network: Path, key: bytes) -> None:
    """Whatever a key file holds, apply refuses it or goes on to its next step, never with a traceback."""
    with _copy(network) as net:
        (net / "key").write_bytes(key)
        assert (
            exit_code(["apply", "--desired", str(net / "desired"), "--key-file", str(net / "key")])
            in DOCUMENTED
        )


_VALUES = st.sampled_from(FLAG_VALUES)


@FUZZ
@given(command=st.sampled_from(sorted(FLAGS)), data=st.data())
def test_odd_flag_values_end_in_a_documented_exit_code(
    network: Path, command: str, data: st.DataObject
) -> None:
    """Odd values of numeric, time and choice flags are usage errors or work; never a traceback."""
    flags = data.draw(st.lists(st.sampled_from(FLAGS[command]), min_size=1, max_size=3, unique=True))
    argv = [
        command,
        *(["harbour-depot"] if command == "schedule" else []),
        "--desired",
        str(network / "desired"),
    ]
    for flag in flags:
        argv += [flag, data.draw(_VALUES)]
    assert exit_code(argv) in DOCUMENTED
