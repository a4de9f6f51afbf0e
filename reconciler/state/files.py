"""State files on disk: atomic writes, the per-site lock, and the removal of what crashes leave.

`write_atomically` is how `store` writes (a temporary file beside the state, synced, renamed over it).
`lock` keeps two applies (or anything else that writes a site's state) off one site at a time; the
reconcile shell takes it before reading the state and holds it until the last outcome is written.
Whoever holds it removes the temporary files of writes a crash interrupted. Edge: files and `flock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from reconciler.errors import StateFileError

_LOCK_POLL_S = 0.1


def stamp(path: Path) -> tuple[int, ...]:
    """What tells one version of a file from the next without reading it: device, inode, size, time."""
    found = os.stat(path)
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


def write_atomically(path: Path, text: str) -> None:
    # A temporary file in the same directory, synced, then renamed over the old one: a crash leaves
    # either the old file or the new one, never half of either (and perhaps the temporary file,
    # which the next holder of the site's lock removes: see `lock`).
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)  # keep the file as readable as before
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    # The rename is durable only once the directory entry itself is on disk.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def temporary_files(path: Path) -> list[Path]:
    """Temporary files of writes of `path` that never finished (the writer was killed before its rename).

    Named `.<name>.<16 hex digits>.tmp`, or `.<name>.<8 characters>.tmp` by earlier versions.
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:[0-9a-f]{{16}}|[a-z0-9_]{{8}})\.tmp")
    try:
        return sorted(p for p in path.parent.iterdir() if pattern.fullmatch(p.name))
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def lock(path: Path, timeout_s: float = 0) -> Iterator[None]:
    """Hold an exclusive advisory lock on `<path>.lock` for the block.

    Fails at once when another process holds it and `timeout_s` is 0, else polls until `timeout_s`
    seconds have passed. The lock file names its holder (pid and start) for the refusal message, and
    is deleted on release, so it exists only while the lock is held (or, after a crash, until the next
    holder deletes it). Deleting a locked file would let a process that opened it just before lock
    the deleted file while a third creates a new one: so a holder checks, once locked, that the file
    it locked is still the one at the path, and tries again if not. Holding the lock, it removes the
    temporary files of this state's writes that a crash left.
    """
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _take(fd, lock_path, deadline, timeout_s)
            if _is_at(fd, lock_path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the lock of a deleted file: the path has a new one, or none yet
    try:
        for leftover in temporary_files(path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": since}).encode() + b"\n", 0)
        yield
    finally:
        # Deleted while still held, then released by closing: see the docstring.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


def _take(fd: int, lock_path: Path, deadline: float, timeout_s: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                raise StateFileError(_held(lock_path, fd, timeout_s)) from None
            time.sleep(min(_LOCK_POLL_S, left_s))
        else:
            return


def _is_at(fd: int, lock_path: Path) -> bool:
    try:
        at_path = os.stat(lock_path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)


def _held(lock_path: Path, fd: int, timeout_s: float) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
        who = f"pid {int(holder['pid'])} since {holder['since']}"
    except (ValueError, KeyError, TypeError):
        who = "holder not yet written"  # it took the lock a moment ago
    if timeout_s <= 0:
        return f"another apply holds the lock on {lock_path} ({who}); retry, or wait with --lock-timeout"
    return (
        f"another apply still holds the lock on {lock_path} ({who}) after {timeout_s:g} s; "
        "retry, or wait longer with --lock-timeout"
    )
