"""Ingest as a Prefect flow: the pass of ``flows.ingest.ingest_pass``, one Prefect task per batch.

Prefect sees coarse tasks, one per batch: one task per file costs 5–60 ms each and Prefect's
SQLite answered 503 after a thousand task runs here. A large pass runs its batches' tasks at
once, each handing its batch to a worker process (``flows.lanes``) and waiting for it.

Only this module imports Prefect (about 2 s of CPU): ``flows.ingest`` runs the same pass, with
the same batch function, without it when no Prefect server is there to record the run.
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
from flows.inbox import Claim
from flows.ingest import ingest_pass, run_batch
from flows.pipeline import FileOutcome, Progress, World
from flows.settings import Settings
from warehouse import DatabaseUnavailable, Warehouse


def _transient(task: object, task_run: object, state: State) -> bool:
    """Retry a batch only when the database was out of reach; a bug or a bad file is terminal."""
    try:
        state.result()
    except DatabaseUnavailable:
        return True
    except Exception:  # noqa: BLE001 - anything else is terminal: no retry
        return False
    return False


ingest_batch_task = task(name="ingest batch", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=10,
                         retry_condition_fn=_transient)(run_batch)


def _batch_as_task(settings: Settings, world: World, claims: list[Claim], wh: Warehouse) -> list[FileOutcome]:
    # quote(): Prefect would otherwise walk every parameter for futures, twice per task: the
    # world's forms, schools and participants made that 70% of the flow's time.
    return ingest_batch_task(quote(settings), quote(world), quote(claims), quote(wh))


def _lanes_as_tasks(settings: Settings, wh: Warehouse, world: World, batches: list[list[Claim]],
                    progress: Progress | None) -> list[FileOutcome]:
    """One task per batch, as many in flight as there are lanes, each handed to a free one; all
    at once, the helper would queue every batch but the first while this process, its first
    batch done, waited. A failed batch raises here once the others in flight have settled; the
    batches not yet started stay claimed for the next run."""
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
    return [outcome for i in sorted(done) for outcome in done[i]]


@flow(name="ingest", validate_parameters=False)
def ingest_flow(
    settings: Settings,
    only: Sequence[Path] | None = None,
    progress: Progress | None = None,
    on_claimed: Callable[[int], None] | None = None,
) -> list[FileOutcome]:
    return ingest_pass(settings, only, progress, on_claimed, one_batch=_batch_as_task, on_lanes=_lanes_as_tasks)
