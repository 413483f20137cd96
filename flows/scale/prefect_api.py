"""Prefect's API as sbor uses it: the process work pool, the ingest deployment, the workers
online. Prefect is imported only inside functions (see flows/scale/__init__.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flows.scale.flow import FLOW_NAME, batch_flow

POOL = "sbor"
DEPLOYMENT = "sbor-ingest"
FULL_NAME = f"{FLOW_NAME}/{DEPLOYMENT}"
# The flow runs' command: Prefect's engine itself. Left unset, a process worker starts a
# workspace supervisor that imports Prefect, asks the API for the run and its deployment, and
# then execs a second interpreter for the engine: 1.5-2 s more per run, for pull steps and
# dependency installs that sbor's module-path deployment does not have. "python" is the worker's
# own interpreter: worker_env puts its folder first on PATH.
ENGINE_COMMAND = "python -m prefect.engine"


@contextmanager
def using_api(api_url: str) -> Iterator[None]:
    """Prefect reads its settings when first imported: point this process at the server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield


def ensure_pool(api_url: str, pool: str = POOL) -> None:
    """A work pool of type process named ``pool`` (kept if it exists)."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.workers.process import ProcessWorker

    with using_api(api_url), get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
        except ObjectAlreadyExists:
            pass


def deploy_ingest(api_url: str, pool: str = POOL) -> str:
    """The ingest-batch deployment on ``pool``; returns its full name. The entrypoint is the
    module path ``flows.scale.flow.ingest_batch_flow``: every worker machine has sbor installed, so
    there is no code to ship (no image, no copy of the repository at a fixed path)."""
    from prefect.types.entrypoint import EntrypointType

    flow_obj = batch_flow()
    with using_api(api_url):
        deployment = flow_obj.to_deployment(DEPLOYMENT, entrypoint_type=EntrypointType.MODULE_PATH,
                                            job_variables={"command": ENGINE_COMMAND},
                                            description="One batch of the sbor inbox (sbor scale ingest).")
        # Not prefect.deploy(): on this server it fails asking for the pool's workers
        # (422, "limit: Input should be a valid integer"); apply() registers the same deployment.
        deployment.apply(work_pool_name=pool)
    return FULL_NAME


def online_workers(api_url: str, pool: str = POOL) -> list[str]:
    from prefect import get_client

    with using_api(api_url), get_client(sync_client=True) as client:
        # Every argument given: this server refuses an explicit null (422) where it has a default.
        return sorted(w.name for w in client.read_workers_for_work_pool(pool, offset=0, limit=200)
                      if w.status == "ONLINE")
