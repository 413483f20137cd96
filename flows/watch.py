"""``sbor watch``: an always-on inbox that feeds stable files to the ingest in batches.

A file counts as arrived only when it is stable: its size and modification time unchanged for
``stable_seconds`` and, for a zip, its end record and central directory in place (a workbook is
written front to back, so a half-copied one has no central directory yet). A file that is not a
zip at all is stable after the interval too: the ingest refuses it with a finding. An empty file
or a zip that never completes (a truncated upload) is handed over after ``give_up_seconds``, so
its school is answered. ``sbor ingest`` applies the same rule (``flows.settle``).

inotify (``Observer``) or, on network shares where inotify sees nothing, a ``PollingObserver``
only records paths; a periodic rescan picks up files present at start and anything the observer
missed (an inotify queue overflow, a restart). The batches run one at a time on one worker thread
that the main thread waits for: Prefect swaps in its own SIGTERM handler while a flow runs in the
main thread and turns a stop into a crash, whereas here SIGINT and SIGTERM only set a flag and
the current batch finishes. A crash is safe anyway: the ingest claims files by an atomic rename
and the next run finishes what a dead process left behind.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from flows.inbox import claim_folder, ignored, scan
from flows.settings import Settings
from flows.settle import looks_whole, zip_complete  # noqa: F401 - zip_complete: as callers know it

log = logging.getLogger("sbor.watch")

Runner = Callable[[Settings, Sequence[Path]], Sequence[Any]]  # ingest(settings, only=paths)

@dataclass(frozen=True)
class _State:
    size: int
    mtime_ns: int
    since: float  # monotonic time this state was first seen


class StabilityTracker:
    """Which files have stopped changing. Pure bookkeeping: the caller gives it what it saw and
    when (monotonic seconds), so it is tested without threads or sleeps.

    ``trust_mtime`` (for ``--once``, which looks only once) counts a file as unchanged since its
    modification time; the always-on watcher sees each file unchanged for itself, which holds
    even when a network share's clock is off."""

    def __init__(self, stable_seconds: float, give_up_seconds: float, *, trust_mtime: bool = False) -> None:
        self.stable_seconds = stable_seconds
        self.give_up_seconds = max(give_up_seconds, stable_seconds)
        self.trust_mtime = trust_mtime
        self._states: dict[Path, _State] = {}

    def observe(self, path: Path, size: int, mtime_ns: int, now: float, wall: float | None = None) -> None:
        """Record what ``path`` looks like at ``now``; a change of size or mtime restarts its clock."""
        old = self._states.get(path)
        if old is not None and (old.size, old.mtime_ns) == (size, mtime_ns):
            return
        since = now
        if old is None and self.trust_mtime and wall is not None:
            since = now - max(0.0, wall - mtime_ns / 1e9)
        self._states[path] = _State(size, mtime_ns, since)

    def forget(self, path: Path) -> None:
        self._states.pop(path, None)

    def __contains__(self, path: object) -> bool:
        return path in self._states

    def __len__(self) -> int:
        return len(self._states)

    def paths(self) -> list[Path]:
        return list(self._states)

    def due(self, now: float, complete: Callable[[Path], bool] = lambda _: True) -> list[Path]:
        """Files unchanged for ``stable_seconds`` and complete (``complete(path)``, asked only of
        those), or unchanged for ``give_up_seconds`` whatever they hold; longest waiting first."""
        out: list[tuple[float, Path]] = []
        for path, state in self._states.items():
            quiet = now - state.since
            if quiet >= self.give_up_seconds or (quiet >= self.stable_seconds and complete(path)):
                out.append((state.since, path))
        out.sort(key=lambda pair: (pair[0], str(pair[1])))
        return [path for _, path in out]


class _Recorder(FileSystemEventHandler):
    """Runs on the observer's thread: only notes paths for the main loop, under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[Path] = set()
        self._rescan = False

    def dispatch(self, event: FileSystemEvent) -> None:
        with self._lock:
            if event.is_directory:
                self._rescan = True  # a new sender folder: its first files may predate the watch
                return
            for raw in (event.src_path, event.dest_path):
                if raw:
                    self._paths.add(Path(os.fsdecode(raw)))

    def drain(self) -> tuple[set[Path], bool]:
        with self._lock:
            paths, rescan = self._paths, self._rescan
            self._paths, self._rescan = set(), False
        return paths, rescan


@dataclass
class Health:
    """Counters for the health line."""

    seen: int = 0
    ingested: int = 0
    batches: int = 0
    errors: int = 0
    last_batch: str = "none yet"

    def line(self, pending: int) -> str:
        return (f"health: seen {self.seen}, pending {pending}, ingested {self.ingested} in "
                f"{self.batches} batches, last batch {self.last_batch}, errors {self.errors}")


@dataclass(frozen=True)
class WatchOptions:
    polling: bool = False
    interval: float = 2.0  # seconds between looks at the pending files
    stable_seconds: float = 2.0
    rescan_seconds: float = 30.0
    give_up_seconds: float = 60.0  # a zip that never completes is handed over after this
    health_seconds: float = 60.0
    once: bool = False


class Watcher:
    """The loop behind ``sbor watch``. ``runner`` is the ingest (plain function or flow)."""

    def __init__(self, settings: Settings, options: WatchOptions, runner: Runner) -> None:
        self.settings = settings
        self.options = options
        self.runner = runner
        self.tracker = StabilityTracker(options.stable_seconds, options.give_up_seconds,
                                        trust_mtime=options.once)
        self.health = Health()
        self.stop = threading.Event()
        self._recorder = _Recorder()
        self._known: set[Path] = set()
        self._inbox = settings.inbox  # resolved by load_settings, as the observer reports it

    # -- what is in the inbox -------------------------------------------------------------

    def _candidate(self, path: Path) -> bool:
        """A file the ingest's scan would pick up: in inbox/ or inbox/<folder>/, not a lock file."""
        if ignored(path.name):
            return False
        parent = path.parent
        return parent == self._inbox or parent.parent == self._inbox

    def _look(self, paths: Iterable[Path]) -> None:
        now, wall = time.monotonic(), time.time()
        for path in paths:
            try:
                st = os.lstat(path)
            except OSError:  # gone: claimed by an ingest, or deleted
                self.tracker.forget(path)
                continue
            if stat.S_ISDIR(st.st_mode):
                continue
            if path not in self._known:
                self._known.add(path)
                self.health.seen += 1
            self.tracker.observe(path, st.st_size, st.st_mtime_ns, now, wall)

    def rescan(self) -> None:
        self._look([a.path for a in scan(self.settings.inbox)])

    def _refresh(self) -> None:
        noted, rescan = self._recorder.drain()
        if rescan:
            self.rescan()
        self._look([p for p in noted if self._candidate(p)] + self.tracker.paths())

    # -- batches --------------------------------------------------------------------------

    def _recover(self, pool: ThreadPoolExecutor) -> None:
        """Claims left by processes that died (a crash, a kill) are finished by an ingest pass
        that takes no new file: the inbox may hold nothing that would start one."""
        mine = claim_folder(self.settings.processing)
        if any(p != mine and _holds_anything(p) for p in self.settings.processing.iterdir()):
            self._run_batch(pool, [], "recovery")

    def _run_batch(self, pool: ThreadPoolExecutor, paths: list[Path], label: str = "batch") -> None:
        started = time.monotonic()
        future: Future[Sequence[Any]] = pool.submit(self.runner, self.settings, paths)
        while not wait([future], timeout=0.5).done:  # wake up so that signals are handled
            pass
        try:
            outcomes = future.result()
        except Exception as exc:  # a failed batch must not stop the watcher
            self.health.errors += 1
            log.error("%s of %d files failed: %s: %s; its files stay claimed and the next ingest "
                      "run finishes them", label, len(paths), type(exc).__name__, exc)
            outcomes = []
        for path in paths:
            self.tracker.forget(path)
            self._known.discard(path)
        took = time.monotonic() - started
        if not paths and not outcomes:
            return  # a recovery pass that found nothing
        self.health.batches += 1
        self.health.ingested += len(outcomes)
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
            log.info("%s: %s %s %s", o.outcome, o.file, o.login or "?", o.feedback or "")
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing taken"
        self.health.last_batch = f"{len(outcomes)} files in {took:.1f} s ({summary})"
        log.info("%s: %s", label, self.health.last_batch)

    def _due(self) -> list[Path]:
        return self.tracker.due(time.monotonic(), _whole)[: self.settings.batch_size]

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> Health:
        """Watch until stopped (or, with ``once``, take what is stable now and return)."""
        self.settings.ensure_dirs()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sbor-ingest") as pool:
            if self.options.once:
                self._recover(pool)
                self.rescan()
                while not self.stop.is_set() and (due := self._due()):
                    self._run_batch(pool, due)
                log.info(self.health.line(len(self.tracker)))
                return self.health
            observer = self._observer()
            try:
                self._loop(pool)
            finally:
                observer.stop()
                observer.join(timeout=5)
        log.info("stopped; %s", self.health.line(len(self.tracker)))
        return self.health

    def _observer(self) -> BaseObserver:
        kind: type[BaseObserver] = PollingObserver if self.options.polling else Observer  # type: ignore[assignment]
        observer = kind(timeout=min(1.0, self.options.interval))
        observer.schedule(self._recorder, str(self.settings.inbox), recursive=True)
        observer.start()
        log.info("watching %s (%s), stable after %.1f s, rescan every %.0f s", self.settings.inbox,
                 "polling" if self.options.polling else "inotify", self.options.stable_seconds,
                 self.options.rescan_seconds)
        return observer

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        next_rescan = 0.0
        next_health = time.monotonic() + self.options.health_seconds
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_rescan:
                self._recover(pool)
                self.rescan()
                next_rescan = now + self.options.rescan_seconds
            self._refresh()
            while not self.stop.is_set() and (due := self._due()):
                self._run_batch(pool, due)
                self._refresh()
            if time.monotonic() >= next_health:
                log.info(self.health.line(len(self.tracker)))
                next_health = time.monotonic() + self.options.health_seconds
            self.stop.wait(self.options.interval)

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        log.info("%s received: finishing the current batch, then stopping", signal.Signals(signum).name)
        self.stop.set()


def _whole(path: Path) -> bool:
    try:
        size = os.lstat(path).st_size
    except OSError:  # gone: the ingest finds nothing to take
        return True
    return looks_whole(path, size)


def _holds_anything(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError:  # gone meanwhile, or not a folder
        return False


def plain_runner(settings: Settings, paths: Sequence[Path]) -> Sequence[Any]:
    from flows.ingest import ingest

    return ingest(settings, only=paths)


def flow_runner(settings: Settings, paths: Sequence[Path]) -> Sequence[Any]:
    from flows.ingest import ingest_flow

    return ingest_flow(settings, only=list(paths))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging() -> None:
    """The watcher's own lines on stderr, whatever Prefect did to the root logger."""
    root = logging.getLogger("sbor")
    if not root.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
