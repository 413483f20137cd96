"""Federal scale on Prefect's own engine: a Prefect server on PostgreSQL, a process work pool,
process workers on as many machines as needed, ingest batches as flow runs of one deployment.

We write no scheduler and no queue: the dispatcher lists the inbox, cuts it into batches and asks
Prefect for one flow run per batch; the workers take runs from the pool; each run claims its own
files by atomic rename (flows/inbox.py), so a file listed twice is still processed once. The
warehouse is PostgreSQL and the workspace (inbox, archive, outbox, results) sits on storage every
machine mounts at the same path.

Prefect is imported only inside functions: ``sbor`` sets Prefect's home before Prefect reads its
settings, and the command line imports this module at start. The flow itself is built on first
use (PEP 562 ``__getattr__``), so ``flows.scale.flow.ingest_batch_flow`` is the importable
entrypoint the workers load (and ``flows.scale.ingest_batch_flow`` the same flow).

By concern: ``flow`` (what a worker runs), ``manifests`` (the batches' lists on shared storage),
``database`` (PostgreSQL for Prefect and the warehouse), ``prefect_api`` (pool, deployment,
workers online), ``workers`` (processes and the cluster), ``dispatch`` (batches as flow runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows.scale.database import (
    PREFECT_DB_ENV,
    ensure_database,
    require_postgres_warehouse,
)
from flows.scale.dispatch import (
    MAX_AUTO_BATCH,
    Dispatched,
    auto_batch_size,
    chunk,
    dispatch_ingest,
    inbox_listing,
    run_batches,
)
from flows.scale.flow import FLOW_NAME, batch_flow, ingest_batch
from flows.scale.manifests import BATCHES_DIR, read_manifest, write_manifests
from flows.scale.prefect_api import (
    DEPLOYMENT,
    ENGINE_COMMAND,
    FULL_NAME,
    POOL,
    deploy_ingest,
    ensure_pool,
    online_workers,
    using_api,
)
from flows.scale.workers import (
    Cluster,
    cluster,
    python_dir,
    results_dir,
    start_worker,
    stop,
    wait_for_workers,
    worker_env,
)

if TYPE_CHECKING:
    from prefect import Flow

    ingest_batch_flow: Flow[..., dict[str, Any]]

__all__ = [
    "BATCHES_DIR", "DEPLOYMENT", "ENGINE_COMMAND", "FLOW_NAME", "FULL_NAME", "MAX_AUTO_BATCH", "POOL",
    "PREFECT_DB_ENV", "Cluster", "Dispatched", "auto_batch_size", "batch_flow", "chunk", "cluster",
    "deploy_ingest", "dispatch_ingest", "ensure_database", "ensure_pool", "inbox_listing", "ingest_batch",
    "online_workers", "python_dir", "read_manifest", "require_postgres_warehouse", "results_dir",
    "run_batches", "start_worker", "stop", "using_api", "wait_for_workers", "worker_env", "write_manifests",
]


def __getattr__(name: str) -> Any:
    if name == "ingest_batch_flow":  # the deployment's entrypoint, flows.scale.ingest_batch_flow
        made = batch_flow()
        globals()[name] = made
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
