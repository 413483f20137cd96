"""Lanes: a large job list spread over this process and spawned helper processes.

A second core is only reached by a second process: calamine, zipfile, the XML scans and the
workbook writers hold the GIL (threads gained nothing here). The helpers are spawned, never
forked (polars' thread pool is not fork-safe, and a forked Prefect process holds threads it
cannot take along), and bound to their parent with Linux's PR_SET_PDEATHSIG: killed with it, a
helper never keeps working on claims or files a later run has taken over. Used by an ingest
pass's batches (``flows/lanes.py``) and a large publish's templates (``flows/writing.py``).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from typing import Generic, TypeVar

_PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Be killed when the process that started this one dies (Linux); elsewhere a no-op."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)


def ready() -> None:
    """A no-op job: submitting one starts a helper."""
    return None


J = TypeVar("J")
R = TypeVar("R")


class Lanes(Generic[J, R]):
    """This process and its helpers, each doing one job at a time: a job runs here when this
    process's lane is free, else in a helper (``there``, a picklable function of the job)."""

    def __init__(self, here: Callable[[J], R], there: Callable[[J], R], pool: ProcessPoolExecutor,
                 workers: int) -> None:
        self.here, self.there, self.pool, self.workers = here, there, pool, workers
        self._free = threading.Lock()  # this process's lane

    def run(self, job: J) -> R:
        """One job on a free lane; blocks until it is done. Called from as many threads as there
        are lanes; a job's error is raised here as it was there."""
        if self._free.acquire(blocking=False):
            try:
                return self.here(job)
            finally:
                self._free.release()
        return self.pool.submit(self.there, job).result()

    def map(self, jobs: Sequence[J], done: Callable[[J], None] | None = None) -> list[R]:
        """Every job on the lanes, results in the jobs' order, ``done`` called as each ends. The
        first failed job stops the rest (those not started are never started), then its error
        is raised."""
        results: dict[int, R] = {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sbor-lane") as threads:
            futures = {threads.submit(self.run, job): i for i, job in enumerate(jobs)}
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    if done is not None:
                        done(jobs[futures[future]])
            except BaseException:
                for future in futures:
                    future.cancel()
                wait(futures)
                raise
        return [results[i] for i in range(len(jobs))]


@contextmanager
def lanes(workers: int, here: Callable[[J], R], there: Callable[[J], R],
          start: Callable[..., None], *args: object) -> Iterator[Lanes[J, R]]:
    """``workers`` lanes for the block: this process and ``workers - 1`` spawned helpers, each
    running ``start(*args)`` first and bound to this process (see ``die_with``). The helpers
    start now, while this process works, and stop at the end."""
    helpers = max(1, workers - 1)
    pool = ProcessPoolExecutor(helpers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_helper_start, initargs=(os.getpid(), start, args))
    try:
        # Every helper started now, from this thread: a helper is bound to the thread that
        # started it (PR_SET_PDEATHSIG fires when that thread ends), and this one outlives the pool.
        for _ in range(helpers):
            pool.submit(ready)
        yield Lanes(here, there, pool, workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _helper_start(parent: int, start: Callable[..., None], args: tuple[object, ...]) -> None:
    die_with(parent)
    start(*args)
