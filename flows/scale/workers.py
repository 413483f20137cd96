"""Process management: Prefect's process workers on this machine, and the whole cluster (server,
pool, deployment, workers) for as long as a block runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flows.errors import OperatorError
from flows.scale.database import (
    PREFECT_DB_ENV,
    ensure_database,
    require_postgres_warehouse,
)
from flows.scale.prefect_api import POOL, deploy_ingest, ensure_pool, online_workers
from flows.settings import Settings


def results_dir(settings: Settings) -> Path:
    return settings.runtime / "prefect-results"


def worker_env(settings: Settings, api_url: str) -> dict[str, str]:
    """The environment of a worker and so of every flow run it starts: the API, the workspace,
    the warehouse, the clock, and the shared place for flow results."""
    env = dict(os.environ)
    env.update({
        "PREFECT_API_URL": api_url,
        "SBOR_HOME": str(settings.home),
        "SBOR_DATABASE_URL": settings.database_url,
        "PREFECT_LOCAL_STORAGE_PATH": str(results_dir(settings)),
        # ENGINE_COMMAND's "python" is this interpreter, with sbor and Prefect installed.
        "PATH": os.pathsep.join([str(python_dir(settings)), env.get("PATH", os.defpath)]),
        # Take new runs within a second of their submission (the default polls every 10 s).
        "PREFECT_WORKER_QUERY_SECONDS": env.get("PREFECT_WORKER_QUERY_SECONDS", "1"),
    })
    env.setdefault("PREFECT_HOME", str(settings.runtime / "prefect"))
    if settings.fixed_now is not None:
        env["SBOR_NOW"] = settings.fixed_now.isoformat()
    return env


def python_dir(settings: Settings) -> Path:
    """A folder whose ``python`` is this interpreter: its own folder (a virtual environment's
    bin/), or else var/bin/ with a link to it."""
    here = Path(sys.executable).parent
    named = here / "python"
    if named.exists() and os.path.samefile(named, sys.executable):
        return here
    shim = settings.runtime / "bin"
    shim.mkdir(parents=True, exist_ok=True)
    link = shim / "python"
    if not (link.exists() and os.path.samefile(link, sys.executable)):
        tmp = shim / f"python.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(sys.executable)
        os.replace(tmp, link)
    return shim


def start_worker(settings: Settings, api_url: str, name: str, pool: str = POOL, limit: int = 1,
                 log: Path | None = None) -> subprocess.Popen[bytes]:
    """``prefect worker start`` for ``pool``; at most ``limit`` flow runs at once (one per core
    suits ingest, which is CPU-bound)."""
    log = log or settings.runtime / f"worker-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    results_dir(settings).mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
             "--name", name, "--limit", str(limit)],
            stdout=out, stderr=subprocess.STDOUT, env=worker_env(settings, api_url),
        )


def wait_for_workers(api_url: str, names: Sequence[str], pool: str = POOL, timeout: float = 180.0,
                     procs: Sequence[subprocess.Popen[bytes]] = ()) -> None:
    """Until every named worker has said hello to the server."""
    deadline = time.monotonic() + timeout
    while True:
        online = set(online_workers(api_url, pool))
        if set(names) <= online:
            return
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise OperatorError(f"a worker stopped while starting (exit {dead[0].returncode}); see its log in var/")
        if time.monotonic() > deadline:
            raise OperatorError(f"workers {', '.join(sorted(set(names) - online))} did not come online "
                                f"within {timeout:.0f} s")
        time.sleep(1.0)


def stop(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 30.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@dataclass(frozen=True)
class Cluster:
    api_url: str
    ui_url: str
    deployment: str
    server_pid: int | None
    server_log: Path | None
    workers: dict[str, int]  # name → pid
    processes: tuple[subprocess.Popen[bytes], ...] = field(default=(), repr=False)


@contextmanager
def cluster(settings: Settings, *, workers: int = 2, port: int = 4200, pool: str = POOL,
            prefect_database_url: str | None = None, limit: int = 1) -> Iterator[Cluster]:
    """Prefect's server on PostgreSQL (unless PREFECT_API_URL names a running one), the process
    pool, the ingest deployment and ``workers`` workers on this machine, for as long as the block
    runs."""
    from flows.serve import prefect_server

    require_postgres_warehouse(settings)
    db_url = None
    if not os.environ.get("PREFECT_API_URL"):
        db_url = prefect_database_url or os.environ.get(PREFECT_DB_ENV)
        if not db_url:
            raise OperatorError(f"Prefect's server needs a PostgreSQL database: pass --prefect-database-url "
                                f"postgresql+asyncpg://postgres@127.0.0.1:5432/prefect_sbor or set {PREFECT_DB_ENV}")
        ensure_database(db_url)
    host = socket.gethostname()
    procs: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        if db_url:  # the server takes its database from the environment it starts with
            stack.callback(_restore, PREFECT_DB_ENV, os.environ.get(PREFECT_DB_ENV))
            os.environ[PREFECT_DB_ENV] = db_url
        served = stack.enter_context(prefect_server(settings, port))
        stack.callback(stop, procs)
        ensure_pool(served.api_url, pool)
        name = deploy_ingest(served.api_url, pool)
        names = [f"{host}-{i + 1}" for i in range(workers)]
        for n in names:
            procs.append(start_worker(settings, served.api_url, n, pool, limit))
        wait_for_workers(served.api_url, names, pool, procs=procs)
        yield Cluster(served.api_url, served.ui_url, name, getattr(served, "pid", None), served.log,
                      {n: p.pid for n, p in zip(names, procs, strict=True)}, tuple(procs))


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
