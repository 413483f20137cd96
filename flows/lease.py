"""Claim folders held by a lease: the owner renews it, anyone may take over one that lapsed.

A process's claims live in ``var/processing/<host>__<pid>/``. Whether that process still works on
them cannot be told from the name: the host may be another machine on shared storage, and a PID
is reused by an unrelated live process within minutes. So the owner touches its folder (its
modification time is the lease) every quarter of ``Settings.lease_seconds`` while it runs, and a
folder not touched for the whole period is stale: any later pass takes its claims over and says
so in ``var/recovered.jsonl``, which ``sbor status`` shows the operator. One shortcut stays: on
this very host, a folder whose PID no longer exists is stale at once (a crash drill's next run
need not wait out the lease).

At each start, the leftovers of killed processes go too: half-written answers in ``var/tmp`` and
empty claim folders, once older than the lease (a live process may be about to use them).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

SEP = "__"  # between host and pid in a claim folder's name
RECOVERED_LOG = "recovered.jsonl"


@dataclass(frozen=True)
class Takeover:
    """A stale claim taken over: the operator's record of it."""

    at: str  # ISO time, UTC
    folder: str  # the stale claim folder's name (host__pid)
    file: str
    sender: str | None
    why: str


def age(path: Path, now: float | None = None) -> float | None:
    """Seconds since ``path`` last changed (None if it is gone)."""
    try:
        mtime = os.lstat(path).st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - mtime


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def stale(folder: Path, lease_seconds: float, now: float | None = None) -> str | None:
    """Why ``folder``'s claims may be taken over, or None while its owner may still hold them."""
    host, _, pid = folder.name.rpartition(SEP)
    if host == socket.gethostname() and pid.isdigit() and _pid_gone(int(pid)):
        return f"its process {pid} on this host is gone"
    idle = age(folder, now)
    if idle is not None and idle >= lease_seconds:
        return f"its lease was not renewed for {idle:.0f} s (lease {lease_seconds:g} s)"
    return None


@contextmanager
def held(folder: Path, lease_seconds: float) -> Iterator[Path]:
    """Renew the lease on ``folder`` (already made) in the background while the block runs."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(max(lease_seconds / 4, 0.05)):
            try:
                os.utime(folder)
            except FileNotFoundError:  # released (empty) between two passes: nothing to hold
                pass

    os.utime(folder)
    thread = threading.Thread(target=renew, name="sbor-lease", daemon=True)
    thread.start()
    try:
        yield folder
    finally:
        stop.set()
        thread.join(timeout=5)


def log_takeovers(runtime: Path, takeovers: list[Takeover]) -> None:
    """Append what was taken over to the operator's record (one JSON object a line)."""
    if not takeovers:
        return
    runtime.mkdir(parents=True, exist_ok=True)
    with (runtime / RECOVERED_LOG).open("a", encoding="utf-8") as fh:
        for t in takeovers:
            fh.write(json.dumps(asdict(t), ensure_ascii=False) + "\n")


def read_takeovers(runtime: Path, last: int = 200) -> list[Takeover]:
    """The operator's record, the latest ``last`` entries, oldest first."""
    try:
        text = (runtime / RECOVERED_LOG).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines()[-last:]:
        try:
            out.append(Takeover(**json.loads(line)))
        except (ValueError, TypeError):  # a line cut by a crash mid-write
            continue
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def tidy(runtime: Path, processing: Path, mine: Path, lease_seconds: float) -> None:
    """Half-written answers in ``var/tmp`` and empty claim folders left by killed processes,
    removed once older than the lease."""
    now = time.time()
    scratch = runtime / "tmp"
    if scratch.is_dir():
        for entry in os.scandir(scratch):
            if entry.is_file(follow_symlinks=False) and (age(Path(entry.path), now) or 0) >= lease_seconds:
                Path(entry.path).unlink(missing_ok=True)
    if processing.is_dir():
        for entry in os.scandir(processing):
            folder = Path(entry.path)
            if folder != mine and entry.is_dir(follow_symlinks=False) and (age(folder, now) or 0) >= lease_seconds:
                try:
                    folder.rmdir()
                except OSError:  # not empty: its claims are recovered, not deleted
                    continue
