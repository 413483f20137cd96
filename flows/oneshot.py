"""The one-shot ``sbor ingest``: how one pass runs, chosen before anything heavy is imported.

A single file took about 16 s, most of it importing Prefect (about 2 s of CPU) and starting its
temporary API server, which nobody looks at on the embedded default. So: an empty inbox ends
after a few directory listings (the pipeline not even imported); with a Prefect server
configured, or a pass large enough for lanes, the pass runs as Prefect's ingest flow (recorded,
its batches retried when the database is away); a small pass on the embedded default calls the
flow's own functions (``flows.ingest.ingest_pass``, ``run_batch``) in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from flows.inbox import claim_folder, release_folder, scan
from flows.lease import tidy
from flows.prefect_local import bind_temporary_server, server_configured
from flows.settings import Settings

if TYPE_CHECKING:
    from flows.pipeline import FileOutcome, Progress


def waiting(settings: Settings) -> int:
    """Files a pass could take, counted without taking any: every file in the inbox (whole or
    not yet) and every claim in the processing folder (a dead process's, or one that another
    may still hold). An upper bound of what a pass claims, read in a few directory listings."""
    count = sum(1 for _ in scan(settings.inbox))
    if settings.processing.is_dir():
        for entry in os.scandir(settings.processing):
            if entry.is_dir(follow_symlinks=False):
                count += sum(1 for _ in os.scandir(entry.path))
    return count


def ingest_once(settings: Settings, *, without_prefect: bool = False, progress: Progress | None = None,
                on_claimed: Callable[[int], None] | None = None) -> list[FileOutcome]:
    """One pass over the inbox, as ``sbor ingest`` runs it (``--without-prefect``: the plain pass
    of ``flows.ingest.ingest``). Call it from the main thread: a temporary Prefect server, when
    one is started, is bound to it (``flows.prefect_local``)."""
    if without_prefect:
        from flows.ingest import ingest

        return ingest(settings, progress=progress, on_claimed=on_claimed)
    files = waiting(settings)
    if files == 0:
        # A pass's own housekeeping (half-written answers, empty claim folders of dead runs).
        mine = claim_folder(settings.processing)
        tidy(settings.runtime, settings.processing, mine, settings.lease_seconds)
        release_folder(mine)
        if on_claimed is not None:
            on_claimed(0)
        return []
    from flows import lanes

    if not server_configured() and not lanes.wanted(settings, files):
        from flows.ingest import ingest_pass

        return ingest_pass(settings, None, progress, on_claimed)
    from flows.ingest_flow import ingest_flow

    bind_temporary_server()  # dies with this command, even on a kill -9
    return ingest_flow(settings, progress=progress, on_claimed=on_claimed)
