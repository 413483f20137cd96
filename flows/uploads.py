"""Excel through the cabinet: a school's upload put into its own inbox folder, and judged at once
by the inbox's own pipeline in a background worker of the web process.

The upload is written to ``inbox/<login>/`` of the signed-in school (the login of the session, never
one the file or the form names), so the pipeline credits it exactly as a file the school put there
itself (``flows.senders``). The worker then claims and processes that file alone, with the same
``claim_all(only=…)`` and ``process_batch`` a dispatched batch of ``sbor ingest`` uses. If the web
process dies first, the file waits in the inbox (or in its dead claim folder) and the next
``sbor ingest`` or ``sbor watch`` takes it: nothing is lost.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from flows.inbox import _safe as safe_name  # the inbox's own cleaning of a sent file's name
from flows.inbox import claim_folder, release_folder
from flows.pipeline import FileOutcome, World, claim_all, load_world, process_batch
from flows.settings import Settings
from flows.workspace import open_warehouse
from validators import DEFAULT_LIMITS
from warehouse import Warehouse

log = logging.getLogger(__name__)

# The pipeline refuses a file above this (validators.safety): the cabinet does not even take in
# a larger body, while it streams.
MAX_UPLOAD = DEFAULT_LIMITS.max_file_bytes
# A world older than this is read again (a collection published meanwhile); its clock is set at
# every batch anyway, so a window closing is seen at once.
WORLD_TTL = 60.0


def save_upload(settings: Settings, login: str, file_name: str, data: bytes) -> Path:
    """``data`` placed in ``inbox/<login>/`` whole or not at all: written under a ``.part`` name
    the inbox ignores, then linked to its real name (a link never replaces a file of the same
    name still waiting there; a second copy gets « (2)», « (3)» …)."""
    folder = settings.inbox / login
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_name(os.path.basename(file_name.replace("\\", "/")))[:150] or "file.xlsx"
    tmp = folder / f".upload-{uuid.uuid4().hex}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    try:
        for n in range(1, 1000):
            candidate = name if n == 1 else f"{stem} ({n}){'.' + ext if ext else ''}"
            try:
                os.link(tmp, folder / candidate)
            except FileExistsError:
                continue
            return folder / candidate
        raise FileExistsError(f"{folder}: too many waiting files named {name}")
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Job:
    path: Path
    collection_id: str  # the collection the school uploaded for (a hint for the world's freshness)


class UploadWorker:
    """One thread and one queue per web process: uploads are judged one batch at a time, in
    order; what arrives while a batch is judged waits in the queue and forms the next batch."""

    def __init__(self, settings: Settings, batch_size: int = 50) -> None:
        self.settings, self.batch_size = settings, batch_size
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wh: Warehouse | None = None
        self._world: World | None = None
        self._world_at = 0.0

    def submit(self, job: Job) -> None:
        self._start()
        self._queue.put(job)

    def warm(self) -> None:
        """Start the thread now and have it read the world (the registry's participants: about
        a second for 40,000), so that the first upload does not wait for it."""
        self._start(warm=True)

    def _start(self, warm: bool = False) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                # Started in the process that serves (never before a fork).
                self._thread = threading.Thread(target=self._run, args=(warm,), name="sbor-uploads", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then end the thread."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
        if self._wh is not None:
            self._wh.engine.dispose()

    def _run(self, warm: bool) -> None:
        if warm:
            try:
                self._wh = self._wh or open_warehouse(self.settings)
                self._world_for(self._wh, set())
            except Exception:  # noqa: BLE001 - the first upload reads the world again
                log.exception("could not read the world ahead of the first upload")
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            while len(jobs) < self.batch_size:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                jobs.append(more)
            try:
                self.process(jobs)
            except Exception:  # noqa: BLE001 - the worker outlives any one batch
                # The files keep their claims (or stay in the inbox): the next pass of this worker,
                # or the next `sbor ingest`/`sbor watch`, finishes them. The school's page keeps
                # saying «проверяется» until then.
                log.exception("upload batch of %d files failed; they wait for the next pass", len(jobs))

    def _world_for(self, wh: Warehouse, collection_ids: set[str]) -> World:
        stale = time.monotonic() - self._world_at > WORLD_TTL
        if self._world is None or stale or not collection_ids <= set(self._world.collections):
            self._world, self._world_at = load_world(wh, self.settings), time.monotonic()
        # The judge's clock is now, not when the world was read.
        return replace(self._world, context=replace(self._world.context, now=self.settings.now()))

    def process(self, jobs: list[Job]) -> list[FileOutcome]:
        """The uploaded files of ``jobs`` through the inbox's pipeline (this thread only)."""
        if self._wh is None:
            self._wh = open_warehouse(self.settings)
        world = self._world_for(self._wh, {j.collection_id for j in jobs})
        # In the order of their school: two web processes recording batches that touch the same
        # schools' current submissions then lock those rows in one order (in arrival order they
        # deadlocked on PostgreSQL in the bench, and the later batch waited for a retry).
        claims = sorted(claim_all(self.settings, [j.path for j in jobs], whole=True),
                        key=lambda c: (c.sender or "", c.name))
        outcomes = process_batch(self.settings, self._wh, world, claims) if claims else []
        release_folder(claim_folder(self.settings.processing))
        return outcomes
