"""The flow a worker runs: one batch of the inbox, named by its manifest."""

from __future__ import annotations

import os
import resource
import socket
import time
from collections import Counter
from dataclasses import replace
from functools import cache
from typing import Any

from flows.scale.manifests import read_manifest
from flows.settings import load_settings

FLOW_NAME = "ingest-batch"


def ingest_batch(home: str, batch: str, database_url: str | None = None) -> dict[str, Any]:
    """Ingest the inbox files a batch manifest lists (``batch``: a JSON list of paths relative
    to the inbox, the manifest's own path relative to the workspace) and say what happened:
    counts per outcome, the seconds spent inside ingest, who ran it. Plain JSON, since Prefect
    keeps it as the flow run's result."""
    from flows.ingest import ingest

    # One lane per flow run: here Prefect's workers are the lanes (flows/lanes.py would add a
    # helper per run, two processes per core on a machine sized for its workers).
    settings = replace(load_settings(home, database_url), workers=1)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    paths = read_manifest(settings.home / batch)
    outcomes = ingest(settings, only=[settings.inbox / p for p in paths], timings=timings)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "counts": dict(Counter(o.outcome for o in outcomes)),
        "files": len(outcomes),
        "seconds": time.perf_counter() - start,
        "open_seconds": timings.get("open", 0.0),
        # This run's own process, from its start (Prefect's engine and the imports included).
        "peak_mb": usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "worker": os.environ.get("PREFECT__WORKER_NAME"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


@cache
def batch_flow() -> Any:
    """The ingest-batch flow, built on first use (Prefect is imported then, not before)."""
    from prefect import flow

    # Results are kept so that the dispatcher can sum them; where they are kept is
    # PREFECT_LOCAL_STORAGE_PATH, which the workers and the dispatcher share (see worker_env).
    @flow(name=FLOW_NAME, persist_result=True, result_serializer="json")
    def ingest_batch_flow(home: str, batch: str, database_url: str | None = None) -> dict[str, Any]:
        """One batch of the inbox, on whichever worker took the run."""
        return ingest_batch(home, batch, database_url)

    return ingest_batch_flow


def __getattr__(name: str) -> Any:
    # The deployment names the flow by its module path, flows.scale.flow.ingest_batch_flow (Prefect
    # takes it from the flow function's own module): built on first use, as batch_flow().
    if name == "ingest_batch_flow":
        return batch_flow()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
