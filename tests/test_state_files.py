"""State files on disk leave nothing behind: the lock file goes with its holder, and the temporary files
of writes a crash interrupted go with the next holder of the lock."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from reconciler.state.files import lock, temporary_files, write_atomically
from reconciler.state.store import state_path

SITE = "harbour-depot"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = state_path(tmp_path, SITE)
    write_atomically(target, "{}\n")
    return target


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_the_lock_file_exists_only_while_the_lock_is_held(path: Path) -> None:
    """The lock file names its holder while held and is deleted on release: the directory is left clean."""
    with lock(path):
        assert (path.parent / f"{SITE}.json.lock").read_text().startswith('{"pid": ')
    assert _names(path.parent) == [f"{SITE}.json"]


def test_the_next_holder_removes_what_an_interrupted_write_left(path: Path) -> None:
    """Temporary files of this state (either naming) go; other sites' files and look-alikes stay."""
    leftovers = [f".{SITE}.json.0123456789abcdef.tmp", f".{SITE}.json.k2j_9x0a.tmp"]
    others = [
        f".{SITE}-b.json.0123456789abcdef.tmp",  # another site's
        f".{SITE}.json.0123456789abcdef.tmp.keep",  # not a temporary file of ours
        f"{SITE}.json.0123456789abcdef.tmp",  # not hidden: not ours either
    ]
    for name in leftovers + others:
        (path.parent / name).write_text("half a file")
    assert temporary_files(path) == sorted(path.parent / name for name in leftovers)
    with lock(path):
        pass
    assert _names(path.parent) == sorted([f"{SITE}.json", *others])


def test_a_write_leaves_only_the_state_file(path: Path) -> None:
    """After a write there is no temporary file, and the temporary name is one the cleanup recognises."""
    renamed: list[Path] = []
    real_replace = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        renamed.append(Path(source))
        real_replace(source, target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", replace)
        write_atomically(path, '{"a": 1}\n')
    assert _names(path.parent) == [f"{SITE}.json"]
    assert path.read_text() == '{"a": 1}\n'
    (temporary,) = renamed
    temporary.write_text("as a kill would leave it")
    assert temporary_files(path) == [temporary]


def test_a_waiter_and_a_newcomer_never_hold_the_lock_together(path: Path) -> None:
    """Deleting the lock file on release lets no one hold a lock on the deleted file beside the new one.

    A waiter opened the old lock file before its holder deleted it; a newcomer arrives after. The
    waiter finds the file it locked gone and locks the path's new file instead, so the two take turns.
    """
    held: list[tuple[str, float, float]] = []
    release_first, waiting = threading.Event(), threading.Event()

    def hold(name: str, pause_s: float) -> None:
        with lock(path, timeout_s=10):
            start = time.monotonic()
            time.sleep(pause_s)
            held.append((name, start, time.monotonic()))

    def first() -> None:
        with lock(path):
            waiting.wait(5)
            release_first.wait(5)

    holder = threading.Thread(target=first)
    holder.start()
    time.sleep(0.05)
    waiter = threading.Thread(target=hold, args=("waiter", 0.3))
    waiter.start()
    time.sleep(0.15)  # the waiter has opened the lock file and polls it
    waiting.set()
    release_first.set()
    holder.join()
    hold("newcomer", 0.3)
    waiter.join()
    (_, _, first_end), (_, second_start, _) = sorted(held, key=lambda h: h[1])
    assert first_end <= second_start, f"held together: {held}"
    assert _names(path.parent) == [f"{SITE}.json"]
