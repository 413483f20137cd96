"""Dispatch: the inbox cut into batches, one flow run per batch, waited for and summed."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flows.errors import OperatorError
from flows.scale.manifests import write_manifests
from flows.scale.prefect_api import FULL_NAME, using_api
from flows.settings import Settings

T = TypeVar("T")
# A flow run costs 2-4 s besides its files on this machine (a fresh process, Prefect's engine,
# sbor's imports): by default each worker gets one run, or the same number of runs of at most
# this many files each, so that a run that fails leaves at most this many files for the next
# dispatch. The list itself travels as a file (see write_manifests), never as a parameter.
MAX_AUTO_BATCH = 25_000


@dataclass(frozen=True)
class Dispatched:
    """What one dispatch did: files and batches sent, outcomes summed over the runs that
    finished, files per worker, and the runs that did not finish."""

    files: int
    batches: int
    counts: dict[str, int]
    by_worker: dict[str, int]  # worker name → files its runs ingested
    failed: tuple[str, ...]  # "run name: state" of runs that did not complete
    wall: float  # seconds from the first submission to the end of the last run
    inside: float  # seconds spent inside ingest, summed over the runs
    opening: float  # of which: opening the warehouse and loading the published collections
    runs: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "batches": self.batches, "counts": self.counts,
                "by_worker": self.by_worker, "failed": list(self.failed), "wall_seconds": round(self.wall, 3),
                "inside_seconds": round(self.inside, 3), "opening_seconds": round(self.opening, 3)}


def inbox_listing(settings: Settings) -> list[str]:
    """The files waiting, oldest first, as paths relative to the inbox (each machine may mount
    the shared workspace elsewhere; the flow joins them to its own inbox)."""
    from flows.inbox import scan

    return [str(a.path.relative_to(settings.inbox)) for a in scan(settings.inbox)]


def auto_batch_size(files: int, workers: int, most: int = MAX_AUTO_BATCH) -> int:
    """Files per run so that every worker gets the same number of runs (one if it can), each of
    at most ``most`` files (see MAX_AUTO_BATCH)."""
    workers = max(1, workers)
    runs = max(workers, -(-files // most))
    runs = -(-runs // workers) * workers
    return max(1, -(-files // runs))


def dispatch_ingest(settings: Settings, batch_size: int, deployment: str = FULL_NAME, *,
                    api_url: str | None = None, database_url: str | None = None, poll: float = 5.0,
                    timeout: float | None = None) -> Dispatched:
    """List the inbox, submit one flow run of ``deployment`` per batch of ``batch_size`` files,
    wait until every run has ended and sum what the runs report."""
    if batch_size < 1:
        raise OperatorError(f"the batch size must be at least 1, got {batch_size}")
    files = inbox_listing(settings)
    return run_batches(settings, chunk(files, batch_size), deployment, api_url=api_url,
                       database_url=database_url, poll=poll, timeout=timeout)


def chunk(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def run_batches(settings: Settings, batches: Sequence[Sequence[str]], deployment: str = FULL_NAME, *,
                api_url: str | None = None, database_url: str | None = None, poll: float = 5.0,
                timeout: float | None = None) -> Dispatched:
    """One flow run per batch, then wait and sum. Batches may overlap: whichever run claims a
    file first processes it, the other skips it. ``database_url`` goes to the runs only when
    given, since Prefect stores parameters (prefer the workers' SBOR_DATABASE_URL)."""
    from prefect.deployments import run_deployment

    api_url = api_url or os.environ.get("PREFECT_API_URL")
    if not api_url:
        raise OperatorError("no Prefect server to dispatch to: start one with `sbor scale up`, or set PREFECT_API_URL")
    start = time.perf_counter()
    ids = []
    folder, manifests = write_manifests(settings, batches)
    with using_api(api_url):
        for i, (paths, manifest) in enumerate(zip(batches, manifests, strict=True), start=1):
            params: dict[str, Any] = {"home": str(settings.home), "batch": manifest}
            if database_url:
                params["database_url"] = database_url
            run = run_deployment(deployment, parameters=params, timeout=0, as_subflow=False,
                                 flow_run_name=f"batch {i} of {len(batches)} ({len(paths)} files)")
            ids.append(run.id)
        finished = _wait(ids, poll, timeout, start)
        wall = time.perf_counter() - start
    # Only once every run has ended: a run still queued after a timeout reads its manifest later.
    shutil.rmtree(folder, ignore_errors=True)
    return _summarise(len({p for b in batches for p in b}), finished, wall)


def _wait(ids: Sequence[Any], poll: float, timeout: float | None, start: float) -> list[Any]:
    """Until every run has ended; the runs as they ended. Woken by Prefect's own events for these
    runs (one websocket, as prefect.flow_runs.wait_for_flow_run does for one run), with a read
    every ``poll`` seconds as a safety net: polling every run's state was a steady load on a
    server that shares the workers' cores."""
    if not ids:
        return []
    deadline = None if timeout is None else start + timeout
    return asyncio.run(_await_runs(list(ids), poll, deadline, timeout))


async def _await_runs(ids: list[Any], poll: float, deadline: float | None, timeout: float | None) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.events.clients import get_events_subscriber
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    ours = EventFilter(event=EventNameFilter(prefix=["prefect.flow-run."]),
                       resource=EventResourceFilter(id=[f"prefect.flow-run.{i}" for i in ids]))
    # Subscribed before the first read: an event that comes between a read and the wait that
    # follows it is kept by the socket, so no end is missed.
    async with get_client() as client, get_events_subscriber(filter=ours) as events:
        stream = aiter(events)
        while True:
            runs = []
            for part in chunk(ids, 200):  # the server answers at most 200 runs a request
                runs += await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=part)),
                                                    sort=FlowRunSort.ID_DESC, limit=len(part), offset=0)
            going = [r for r in runs if r.state is None or not r.state.is_final()]
            if len(runs) == len(ids) and not going:
                return runs
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                raise OperatorError(f"{len(going)} of {len(ids)} batches still running after {timeout:.0f} s; "
                                    "the workers go on with them (see the Prefect UI)")
            try:
                await asyncio.wait_for(anext(stream), timeout=poll if left is None else min(poll, left))
            except TimeoutError:
                pass


def _summarise(files: int, runs: Sequence[Any], wall: float) -> Dispatched:
    counts: Counter[str] = Counter()
    by_worker: Counter[str] = Counter()
    failed: list[str] = []
    reported: list[dict[str, Any]] = []
    for run in runs:
        if run.state is None or not run.state.is_completed():
            failed.append(f"{run.name}: {run.state.name if run.state else 'no state'}")
            continue
        try:
            result = {**run.state.result(), "flow_run": str(run.id), "name": run.name}
        except Exception as exc:  # noqa: BLE001 - reported as a failed batch, with its cause
            failed.append(f"{run.name}: its result cannot be read ({exc}); PREFECT_LOCAL_STORAGE_PATH must be "
                          "the same shared folder for the workers and sbor scale ingest")
            continue
        reported.append(result)
        counts.update(result["counts"])
        by_worker[result.get("worker") or f"{result['host']}:{result['pid']}"] += result["files"]
    return Dispatched(files, len(runs), dict(counts), dict(by_worker), tuple(failed), wall,
                      sum(r["seconds"] for r in reported), sum(r["open_seconds"] for r in reported),
                      tuple(reported))
