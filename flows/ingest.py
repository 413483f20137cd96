"""Ingest as a Prefect flow: the pipeline of ``flows.pipeline``, one Prefect task per batch.

Prefect sees coarse tasks, one per batch: one task per file costs 5–60 ms each and Prefect's
SQLite answered 503 after a thousand task runs here. A large pass runs its batches' tasks at
once, each handing its batch to a worker process (``flows.lanes``) and waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed, wait
from prefect.states import State
from prefect.utilities.annotations import quote

from flows import lanes as lanes_
from flows.inbox import Claim, claim_folder, release_folder
from flows.lease import held
from flows.pipeline import (  # noqa: F401 - FileOutcome: the pipeline's names, as callers know them
    FileOutcome, Progress, Timings, World, batches_of, claim_all, load_world, process_batch, stage,
)
from flows.settings import Settings
from flows.workspace import open_warehouse
from warehouse import DatabaseUnavailable, Warehouse


def ingest(
    settings: Settings,
    *,
    only: Sequence[Path] | None = None,
    progress: Progress | None = None,
    on_claimed: Callable[[int], None] | None = None,
    timings: Timings | None = None,
) -> list[FileOutcome]:
    """One pass over the inbox without Prefect, on ``settings.workers`` lanes when the pass is
    large (``flows.lanes``). ``timings``, if given, gathers the seconds spent per stage in this
    process (the benchmark's breakdown; run it with one worker to see every file's)."""
    with stage(timings, "open"):
        wh = open_warehouse(settings)
        world = load_world(wh, settings)
    with held(claim_folder(settings.processing), settings.lease_seconds):
        with stage(timings, "claim"):
            claims = claim_all(settings, only)
        if on_claimed is not None:
            on_claimed(len(claims))
        if lanes_.wanted(settings, len(claims)):
            with lanes_.lanes(settings, wh, world, timings) as lanes:
                out = lanes_.run_all(lanes, batches_of(claims, settings.batch_size, settings.workers), progress)
        else:
            out = []
            for batch in batches_of(claims, settings.batch_size):
                out += process_batch(settings, wh, world, batch, timings)
                if progress is not None:
                    progress(len(batch))
    release_folder(claim_folder(settings.processing))
    return out


def _transient(task: object, task_run: object, state: State) -> bool:
    """Retry a batch only when the database was out of reach; a bug or a bad file is terminal."""
    try:
        state.result()
    except DatabaseUnavailable:
        return True
    except Exception:  # noqa: BLE001 - anything else is terminal: no retry
        return False
    return False


@task(name="ingest batch", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=10,
      retry_condition_fn=_transient)
def ingest_batch_task(settings: Settings, world: World, claims: list[Claim],
                      wh: Warehouse | None = None, lanes: lanes_.Lanes | None = None) -> list[FileOutcome]:
    """One batch, on a free lane when the pass has lanes; else here, with ``wh`` the flow's
    warehouse (opening one costs 0.3 s: the schema check), or None to open one here."""
    if lanes is not None:
        return lanes.run(claims)
    return process_batch(settings, wh if wh is not None else open_warehouse(settings), world, claims)


@flow(name="ingest", validate_parameters=False)
def ingest_flow(
    settings: Settings,
    only: Sequence[Path] | None = None,
    progress: Progress | None = None,
    on_claimed: Callable[[int], None] | None = None,
) -> list[FileOutcome]:
    wh = open_warehouse(settings)
    world = load_world(wh, settings)
    # The claim folder's lease is renewed for as long as this flow runs (flows.lease).
    with held(claim_folder(settings.processing), settings.lease_seconds):
        return _ingest_flow_body(settings, wh, world, only, progress, on_claimed)


def _ingest_flow_body(settings: Settings, wh: Warehouse, world: World, only: Sequence[Path] | None,
                      progress: Progress | None, on_claimed: Callable[[int], None] | None) -> list[FileOutcome]:
    claims = claim_all(settings, only)
    if on_claimed is not None:
        on_claimed(len(claims))
    out: list[FileOutcome] = []
    # quote(): Prefect would otherwise walk every parameter for futures, twice per task: the
    # world's forms, schools and participants made that 70% of the flow's time.
    if not lanes_.wanted(settings, len(claims)):
        for batch in batches_of(claims, settings.batch_size):
            out += ingest_batch_task(quote(settings), quote(world), quote(batch), quote(wh))
            if progress is not None:
                progress(len(batch))
    else:
        # One task per batch, as many in flight as there are lanes, each handed to a free one;
        # all at once, the helper would queue every batch but the first while this process,
        # its first batch done, waited. A failed batch raises here once the others in flight
        # have settled; the batches not yet started stay claimed for the next run.
        batches = batches_of(claims, settings.batch_size, settings.workers)
        done: dict[int, list[FileOutcome]] = {}
        with lanes_.lanes(settings, wh, world) as lanes:
            waiting = list(range(len(batches)))
            running: dict[PrefectFuture[list[FileOutcome]], int] = {}
            while waiting or running:
                while waiting and len(running) < settings.workers:
                    i = waiting.pop(0)
                    future = ingest_batch_task.with_options(task_run_name=f"ingest batch {i + 1}/{len(batches)}").submit(
                        quote(settings), quote(world), quote(batches[i]), quote(wh), quote(lanes))
                    running[future] = i
                finished = next(as_completed(list(running)))
                i = running.pop(finished)
                try:
                    done[i] = finished.result()
                except BaseException:
                    wait(list(running))
                    raise
                if progress is not None:
                    progress(len(batches[i]))
        out = [outcome for i in sorted(done) for outcome in done[i]]
    release_folder(claim_folder(settings.processing))
    return out
