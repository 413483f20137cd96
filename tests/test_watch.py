"""``sbor watch``: a file is taken only once it has fully arrived, lock and temporary files are
left alone, files present at start and in new sender folders are found, and a stop signal lets
the current batch finish. The stability rules are checked on the pure tracker, without threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import Context
from flows.commands.watch import watch_command
from flows.watch import StabilityTracker, zip_complete
from flows.workspace import open_warehouse
from tests.hostile import NOW, Kit, make_kit
from tests.workbooks import SECRET

# The sbor command line with `watch` registered, whether or not flows/cli.py has done it yet.
SBOR = [sys.executable, "-c", "import sys; from flows.cli import cli, main; "
        "from flows.commands.watch import watch_command; "
        "cli.commands.setdefault('watch', watch_command); sys.exit(main(sys.argv[1:]))"]
LOCKS = ("~$spo770001.xlsx", ".~lock.spo770001.xlsx#", "spo770001.xlsx.tmp", "spo770001.xlsx.part",
         "spo770001.xlsx.crdownload")


# -- the tracker ----------------------------------------------------------------------------

P, Q = Path("inbox/a.xlsx"), Path("inbox/b.xlsx")


def test_a_file_is_due_once_unchanged_for_the_interval() -> None:
    t = StabilityTracker(stable_seconds=2, give_up_seconds=60)
    t.observe(P, 100, 1, now=10.0)
    assert t.due(11.9) == []
    t.observe(P, 100, 1, now=11.9)  # the same again does not restart the clock
    assert t.due(12.0) == [P]


@pytest.mark.parametrize("size, mtime", [(200, 1), (100, 2)], ids=["size", "mtime"])
def test_a_change_restarts_the_clock(size: int, mtime: int) -> None:
    t = StabilityTracker(stable_seconds=2, give_up_seconds=60)
    t.observe(P, 100, 1, now=10.0)
    t.observe(P, size, mtime, now=11.5)
    assert t.due(12.0) == []
    assert t.due(13.5) == [P]


def test_an_incomplete_zip_waits_until_it_completes_or_the_give_up_time() -> None:
    t = StabilityTracker(stable_seconds=2, give_up_seconds=30)
    t.observe(P, 100, 1, now=0.0)
    assert t.due(5.0, complete=lambda _: False) == []
    assert t.due(5.0, complete=lambda _: True) == [P]
    assert t.due(30.0, complete=lambda _: False) == [P]  # a truncated upload still gets its answer


def test_longest_waiting_first_and_forgotten_files_are_gone() -> None:
    t = StabilityTracker(stable_seconds=1, give_up_seconds=60)
    t.observe(Q, 1, 1, now=0.0)
    t.observe(P, 1, 1, now=0.5)
    assert t.due(5.0) == [Q, P]
    t.forget(Q)
    assert t.due(5.0) == [P] and len(t) == 1 and Q not in t


def test_once_trusts_the_modification_time() -> None:
    t = StabilityTracker(stable_seconds=2, give_up_seconds=60, trust_mtime=True)
    wall = 1_000_000.0
    t.observe(P, 1, int((wall - 10) * 1e9), now=50.0, wall=wall)  # written 10 s ago
    t.observe(Q, 1, int((wall - 0.5) * 1e9), now=50.0, wall=wall)  # still being written
    assert t.due(50.0) == [P]


# -- is the zip complete --------------------------------------------------------------------


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return make_kit(tmp_path_factory.mktemp("watch-kit"), participants=8)


def test_only_a_whole_zip_is_complete(kit: Kit, tmp_path: Path) -> None:
    data = kit.good(kit.orgs[0])
    whole = tmp_path / "whole.xlsx"
    whole.write_bytes(data)
    assert zip_complete(whole)
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        part = tmp_path / f"part-{cut}.xlsx"
        part.write_bytes(data[:cut])
        assert not zip_complete(part), cut


def test_what_is_not_a_zip_counts_as_complete(tmp_path: Path) -> None:
    csv = tmp_path / "a.xlsx"
    csv.write_text("a;b\n")
    empty = tmp_path / "b.xlsx"
    empty.write_bytes(b"")
    assert zip_complete(csv) and zip_complete(empty) and zip_complete(tmp_path / "gone.xlsx")


def test_an_empty_zip_and_a_zip64_are_complete(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    big = tmp_path / "zip64.zip"
    with zipfile.ZipFile(big, "w") as zf, zf.open("a.xml", "w", force_zip64=True) as fh:
        fh.write(b"<a/>")
    assert zip_complete(empty) and zip_complete(big)


# -- watch --once ---------------------------------------------------------------------------


def _accepted(kit: Kit) -> list[str]:
    _, rows = open_warehouse(kit.settings).sql(
        "SELECT login FROM submissions WHERE outcome = 'accepted' ORDER BY login")
    return [r[0] for r in rows]


def test_once_takes_what_has_arrived_and_leaves_lock_files(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=4)
    inbox = kit.settings.inbox
    old = time.time() - 60
    for org in kit.orgs[:2]:
        path = inbox / org.login / f"{org.login}.xlsx"
        path.parent.mkdir(parents=True)
        path.write_bytes(kit.good(org))
        os.utime(path, (old, old))
    for name in LOCKS:
        (inbox / name).write_bytes(b"lock")
        os.utime(inbox / name, (old, old))
    fresh = inbox / "fresh.xlsx"  # written just now: not yet stable
    fresh.write_bytes(kit.good(kit.orgs[2]))
    result = CliRunner().invoke(watch_command, ["--once", "--without-prefect", "--stable-seconds", "30"],
                                obj=Context(kit.settings), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "health: seen 3, pending 1, ingested 2" in result.output
    assert _accepted(kit) == [kit.orgs[0].login, kit.orgs[1].login]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == sorted([*LOCKS, "fresh.xlsx"])


# -- a running watcher ----------------------------------------------------------------------


def _wait(condition: Callable[[], bool], what: str, log: Callable[[], str], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}; the watcher's log:\n{log()}")
        time.sleep(0.1)


class Watching:
    """A watcher subprocess whose log lines are collected as they come."""

    def __init__(self, kit: Kit, *extra: str) -> None:
        env = {**os.environ, "SBOR_SECRET": SECRET.decode()}
        self.proc = subprocess.Popen(
            # Files dropped straight into inbox/ are credited by their signature (a trusted flat inbox).
            [*SBOR, "--home", str(kit.settings.home), "--now", NOW, "--trust-flat-inbox", "watch", "--without-prefect",
             "--interval", "0.1", "--stable-seconds", "0.5", "--rescan", "1", "--health", "1", *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        assert self.proc.returncode == 0, self.log()
        return self.log()


def _inbox_files(kit: Kit) -> list[Path]:
    return [p for p in kit.settings.inbox.rglob("*") if p.is_file()]


@pytest.mark.slow
def test_a_running_watcher_waits_for_whole_files_and_stops_cleanly(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=4)
    inbox = kit.settings.inbox
    a, b, c, d = kit.orgs
    (inbox / f"{a.login}.xlsx").write_bytes(kit.good(a))  # there before the watcher starts
    watcher = Watching(kit)
    try:
        _wait(lambda: _accepted(kit) == [a.login], "the file present at start", watcher.log)
        # A new sender folder, and a file in it.
        (inbox / b.login).mkdir()
        (inbox / b.login / "отчёт.xlsx").write_bytes(kit.good(b))
        _wait(lambda: len(_accepted(kit)) == 2, "the file in a new folder", watcher.log)
        # A file copied slowly: half of it sits still for 2 s (four times the interval).
        data = kit.good(c)
        slow = inbox / "медленный.xlsx"
        with slow.open("wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            time.sleep(2.0)
            assert slow.exists() and len(_accepted(kit)) == 2, "taken while half written"
            fh.write(data[len(data) // 2:])
        _wait(lambda: len(_accepted(kit)) == 3, "the slow file once whole", watcher.log)
        (inbox / LOCKS[0]).write_bytes(b"lock")
        (inbox / f"{d.login}.xlsx").write_bytes(kit.good(d))
        _wait(lambda: len(_accepted(kit)) == 4, "the last file", watcher.log)
    finally:
        err = watcher.stop()
    assert _accepted(kit) == sorted(o.login for o in kit.orgs)
    assert [p.name for p in _inbox_files(kit)] == [LOCKS[0]]
    assert "health: seen" in err and "SIGTERM received" in err and "stopped" in err
    assert [p for p in kit.settings.processing.rglob("*") if p.is_file()] == []


@pytest.mark.slow
def test_polling_finds_files_too(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=1)
    watcher = Watching(kit, "--polling", "--rescan", "3600")  # only the observer can find it
    try:
        _wait(lambda: "watching" in watcher.log(), "the watcher to start", watcher.log)
        org = kit.orgs[0]
        (kit.settings.inbox / f"{org.login}.xlsx").write_bytes(kit.good(org))
        _wait(lambda: _accepted(kit) == [org.login], "the file seen by polling", watcher.log)
    finally:
        err = watcher.stop()
    assert "(polling)" in err
