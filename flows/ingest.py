"""Ingest passes over the inbox: the pipeline of ``flows.pipeline``, plain or as Prefect's flow.

``ingest_pass`` is the body of the ingest flow (``flows.ingest_flow``); ``run_batch`` the body of
its task. Called directly, they run the same pass without Prefect's engine: the one-shot ``sbor
ingest`` does so on the embedded default (``flows.oneshot``). This module does not import Prefect
(about 2 s of CPU); ``ingest_flow`` and ``ingest_batch_task`` are still found here, imported from
``flows.ingest_flow`` on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from flows import lanes as lanes_
from flows.inbox import Claim, claim_folder, release_folder
from flows.lease import held
from flows.pipeline import (  # noqa: F401 - FileOutcome: the pipeline's names, as callers know them
    FileOutcome,
    Progress,
    Timings,
    World,
    batches_of,
    claim_all,
    load_world,
    process_batch,
    stage,
)
from flows.settings import Settings
from flows.workspace import open_warehouse
from warehouse import Warehouse


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


OneBatch = Callable[[Settings, World, list[Claim], Warehouse], list[FileOutcome]]
OnLanes = Callable[[Settings, Warehouse, World, list[list[Claim]], Progress | None], list[FileOutcome]]


def run_batch(settings: Settings, world: World, claims: list[Claim],
              wh: Warehouse | None = None, lanes: lanes_.Lanes | None = None) -> list[FileOutcome]:
    """One batch (the ingest flow's task): on a free lane when the pass has lanes; else here,
    with ``wh`` the pass's warehouse (opening one costs 0.3 s: the schema check), or None to
    open one here."""
    if lanes is not None:
        return lanes.run(claims)
    return process_batch(settings, wh if wh is not None else open_warehouse(settings), world, claims)


def _lanes_here(settings: Settings, wh: Warehouse, world: World, batches: list[list[Claim]],
                progress: Progress | None) -> list[FileOutcome]:
    with lanes_.lanes(settings, wh, world) as lanes:
        return lanes_.run_all(lanes, batches, progress)


def ingest_pass(settings: Settings, only: Sequence[Path] | None, progress: Progress | None,
                on_claimed: Callable[[int], None] | None, *, one_batch: OneBatch = run_batch,
                on_lanes: OnLanes = _lanes_here) -> list[FileOutcome]:
    """The ingest flow's body: claim what has arrived, run its batches (``one_batch`` each, or
    ``on_lanes`` all of them when the pass is worth lanes), release the claim folder. Called
    directly, it runs without Prefect; ``flows.ingest_flow`` passes Prefect's task wrappers."""
    wh = open_warehouse(settings)
    world = load_world(wh, settings)
    # The claim folder's lease is renewed for as long as this pass runs (flows.lease).
    with held(claim_folder(settings.processing), settings.lease_seconds):
        claims = claim_all(settings, only)
        if on_claimed is not None:
            on_claimed(len(claims))
        if lanes_.wanted(settings, len(claims)):
            out = on_lanes(settings, wh, world, batches_of(claims, settings.batch_size, settings.workers), progress)
        else:
            out = []
            for batch in batches_of(claims, settings.batch_size):
                out += one_batch(settings, world, batch, wh)
                if progress is not None:
                    progress(len(batch))
        release_folder(claim_folder(settings.processing))
    return out


def __getattr__(name: str) -> object:
    """``ingest_flow`` and ``ingest_batch_task`` as before, Prefect imported on first use."""
    if name in ("ingest_flow", "ingest_batch_task"):
        from flows import ingest_flow as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
