"""Lanes: the batches of a large ingest pass spread over processes.

A second core is only reached by a second process: calamine, zipfile, the XML scans and the
answer writers hold the GIL (threads gained nothing here). So a pass of
``settings.parallel_from`` files or more (default 400: starting a helper costs about a second of
a core, which a few hundred files at a few ms each do not win back) runs its batches on ``settings.workers`` lanes: this process is one, and
``workers - 1`` helper processes are the others. Each batch goes whole to one lane and is
archived, judged, recorded and answered there, exactly as in one process; the claims stay in
this process's claim folder, so a crash anywhere leaves them for the next run.

The helpers are spawned, never forked: polars' thread pool is not fork-safe, and a forked
Prefect process holds threads it cannot take along. A helper imports the pipeline without
Prefect (about a second, while this process already works), opens its own warehouse connection
and loads its own view of the collections, and is killed with this process (Linux's
PR_SET_PDEATHSIG): a helper never outlives a killed ingest and never races the run that
recovers its claims.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from flows.children import die_with, ready
from flows.inbox import Claim
from flows.pipeline import FileOutcome, Timings, World, load_world, process_batch
from flows.settings import Settings
from forms import builtin_forms
from warehouse import Warehouse, connect

class Lanes:
    """Where a batch runs: here when this process's lane is free, else in a helper."""

    def __init__(self, settings: Settings, wh: Warehouse, world: World, pool: ProcessPoolExecutor,
                 timings: Timings | None = None) -> None:
        self.settings, self.wh, self.world, self.pool, self.timings = settings, wh, world, pool, timings
        self._here = threading.Lock()  # this process runs one batch at a time

    def run(self, batch: Sequence[Claim]) -> list[FileOutcome]:
        """One batch, processed on a free lane; blocks until it is done. Called from as many
        threads as there are lanes; the batch's errors are raised here as they were there."""
        if self._here.acquire(blocking=False):
            try:
                return process_batch(self.settings, self.wh, self.world, batch, self.timings)
            finally:
                self._here.release()
        return self.pool.submit(_run_batch, list(batch)).result()


def wanted(settings: Settings, files: int) -> bool:
    """Whether a pass of ``files`` files is worth lanes."""
    return settings.workers > 1 and files >= settings.parallel_from


@contextmanager
def lanes(settings: Settings, wh: Warehouse, world: World, timings: Timings | None = None) -> Iterator[Lanes]:
    """``settings.workers`` lanes for the block: this process and its helpers, started now (so
    they start while this process works) and stopped at the end."""
    helpers = max(1, settings.workers - 1)
    pool = ProcessPoolExecutor(helpers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start, initargs=(settings, os.getpid()))
    try:
        # Start every helper now, from this thread: a helper is bound to the thread that
        # started it (PR_SET_PDEATHSIG fires when that thread ends), and this one outlives the pool.
        for _ in range(helpers):
            pool.submit(ready)
        yield Lanes(settings, wh, world, pool, timings)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_all(lanes_: Lanes, batches: Sequence[Sequence[Claim]],
            progress: Callable[[int], None] | None = None) -> list[FileOutcome]:
    """Every batch on the lanes, outcomes in the batches' order. The first failed batch stops
    the pass: batches not yet started stay claimed for the next run, then its error is raised."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, as_completed, wait

    threads = ThreadPoolExecutor(lanes_.settings.workers, thread_name_prefix="sbor-lane")
    with threads:
        futures = {threads.submit(lanes_.run, batch): i for i, batch in enumerate(batches)}
        done: dict[int, list[FileOutcome]] = {}
        try:
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if progress is not None:
                    progress(len(batches[futures[future]]))
        except BaseException:
            for future in futures:
                future.cancel()
            wait(futures, return_when=FIRST_EXCEPTION)
            raise
    return [outcome for i in sorted(done) for outcome in done[i]]


# -- in a helper process ------------------------------------------------------------------------

_HELPER: list[tuple[Settings, Warehouse, World] | BaseException] = []


def _start(settings: Settings, parent: int) -> None:
    die_with(parent)
    try:
        # The tables exist (the pass that started us made them): registered, not created.
        wh = Warehouse(connect(settings.database_url), builtin_forms().values())
        _HELPER.append((settings, wh, load_world(wh, settings)))
    except Exception as error:  # noqa: BLE001 - raised with the first batch, as here
        # An exception in an initializer breaks the whole pool with a bare BrokenProcessPool;
        # kept, it reaches the caller as itself (a DatabaseUnavailable is retried).
        _HELPER.append(error)


def _run_batch(batch: list[Claim]) -> list[FileOutcome]:
    state = _HELPER[0]
    if isinstance(state, BaseException):
        raise state
    settings, wh, world = state
    return process_batch(settings, wh, world, batch)
