"""The batches of a large ingest pass on lanes (``flows/children.py``).

A pass of ``settings.parallel_from`` files or more (default 400: starting a helper costs about a
second of a core, which a few hundred files at a few ms each do not win back) runs its batches on
``settings.workers`` lanes: this process and ``workers - 1`` helpers. Each batch goes whole to one
lane and is archived, judged, recorded and answered there, exactly as in one process; the claims
stay in this process's claim folder, so a crash anywhere leaves them for the next run. A helper
imports the pipeline without Prefect (about a second, while this process already works), opens
its own warehouse connection and loads its own view of the collections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from flows import children
from flows.inbox import Claim
from flows.pipeline import FileOutcome, Timings, World, load_world, process_batch
from flows.settings import Settings
from forms import builtin_forms
from warehouse import Warehouse, connect

Lanes = children.Lanes[list[Claim], list[FileOutcome]]


def wanted(settings: Settings, files: int) -> bool:
    """Whether a pass of ``files`` files is worth lanes."""
    return settings.workers > 1 and files >= settings.parallel_from


@contextmanager
def lanes(settings: Settings, wh: Warehouse, world: World, timings: Timings | None = None) -> Iterator[Lanes]:
    """``settings.workers`` lanes for the block; a batch run here uses this pass's warehouse and
    world (and gathers ``timings``), one run in a helper the helper's own."""
    def here(batch: list[Claim]) -> list[FileOutcome]:
        return process_batch(settings, wh, world, batch, timings)

    with children.lanes(settings.workers, here, _run_batch, _start, settings) as made:
        yield made


def run_all(lanes_: Lanes, batches: Sequence[list[Claim]],
            progress: Callable[[int], None] | None = None) -> list[FileOutcome]:
    """Every batch on the lanes, outcomes in the batches' order. The first failed batch stops
    the pass: batches not yet started stay claimed for the next run, then its error is raised."""
    done = None if progress is None else (lambda batch: progress(len(batch)))
    return [outcome for outcomes in lanes_.map(batches, done) for outcome in outcomes]


# -- in a helper process ------------------------------------------------------------------------

_HELPER: list[tuple[Settings, Warehouse, World] | BaseException] = []


def _start(settings: Settings) -> None:
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
