"""Federal scale on Prefect's own engine: a Prefect server on PostgreSQL, a process work pool,
process workers on as many machines as needed, ingest batches as flow runs of one deployment.

We write no scheduler and no queue: the dispatcher lists the inbox, cuts it into batches and asks
Prefect for one flow run per batch; the workers take runs from the pool; each run claims its own
files by atomic rename (flows/inbox.py), so a file listed twice is still processed once. The
warehouse is PostgreSQL and the workspace (inbox, archive, outbox, results) sits on storage every
machine mounts at the same path.

Prefect is imported only inside functions: ``sbor`` sets Prefect's home before Prefect reads its
settings, and the command line imports this module at start. The flow itself is built on first
use (PEP 562 ``__getattr__``), so ``flows.scale.ingest_batch_flow`` is still the importable
entrypoint the workers load.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from flows.errors import OperatorError
from flows.settings import Settings, load_settings

if TYPE_CHECKING:
    from prefect import Flow

    ingest_batch_flow: Flow[..., dict[str, Any]]

T = TypeVar("T")
POOL = "sbor"
FLOW_NAME = "ingest-batch"
DEPLOYMENT = "sbor-ingest"
FULL_NAME = f"{FLOW_NAME}/{DEPLOYMENT}"
PREFECT_DB_ENV = "PREFECT_SERVER_DATABASE_CONNECTION_URL"
# A flow run costs 2-4 s besides its files on this machine (a fresh process, Prefect's engine,
# sbor's imports): by default each worker gets one run, or the same number of runs of at most
# this many files each, so that a run that fails leaves at most this many files for the next
# dispatch. The list itself travels as a file (see write_manifests), never as a parameter.
MAX_AUTO_BATCH = 25_000
BATCHES_DIR = "scale-batches"  # in var/: one folder of manifests per dispatch
# The flow runs' command: Prefect's engine itself. Left unset, a process worker starts a
# workspace supervisor that imports Prefect, asks the API for the run and its deployment, and
# then execs a second interpreter for the engine: 1.5-2 s more per run, for pull steps and
# dependency installs that sbor's module-path deployment does not have. "python" is the worker's
# own interpreter: worker_env puts its folder first on PATH.
ENGINE_COMMAND = "python -m prefect.engine"


# --- the flow a worker runs ------------------------------------------------------------------


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


def _make_flow() -> Any:
    from prefect import flow

    # Results are kept so that the dispatcher can sum them; where they are kept is
    # PREFECT_LOCAL_STORAGE_PATH, which the workers and the dispatcher share (see worker_env).
    @flow(name=FLOW_NAME, persist_result=True, result_serializer="json")
    def ingest_batch_flow(home: str, batch: str, database_url: str | None = None) -> dict[str, Any]:
        """One batch of the inbox, on whichever worker took the run."""
        return ingest_batch(home, batch, database_url)

    return ingest_batch_flow


def __getattr__(name: str) -> Any:
    if name == "ingest_batch_flow":
        made = _make_flow()
        globals()[name] = made
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the parts: Prefect's database, the server, the pool, the deployment, the workers ---------


def results_dir(settings: Settings) -> Path:
    return settings.runtime / "prefect-results"


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names if it does not exist yet; True if created.
    Prefect's server migrates its own tables into it when it starts."""
    import psycopg
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise OperatorError(f"not a database URL: {url!r}; use postgresql+asyncpg://user@host:5432/prefect") from exc
    if parsed.get_backend_name() != "postgresql":
        raise OperatorError(f"Prefect's server here runs on PostgreSQL (on SQLite it answers 503 under load), "
                            f"not {parsed.get_backend_name()}: use postgresql+asyncpg://user@host:5432/prefect")
    if not parsed.database:
        raise OperatorError(f"the Prefect database URL names no database: {parsed.render_as_string()}")
    params = {"host": parsed.host or "127.0.0.1", "port": parsed.port or 5432,
              "user": parsed.username or "postgres", "dbname": "postgres", "connect_timeout": 10}
    if parsed.password:
        params["password"] = parsed.password
    try:
        with psycopg.connect(**params, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
                return False
            conn.execute(f'CREATE DATABASE "{parsed.database}"')
            return True
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OperatorError(f"cannot reach or create the Prefect database {parsed.database} on "
                            f"{params['host']}:{params['port']}: {first}") from exc


def require_postgres_warehouse(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        raise OperatorError("scale-out needs the warehouse on PostgreSQL (workers on several machines write "
                            "to it at once): set SBOR_DATABASE_URL=postgresql+psycopg://user@host:5432/sbor")


@contextmanager
def _api(api_url: str) -> Iterator[None]:
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

    with _api(api_url), get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
        except ObjectAlreadyExists:
            pass


def deploy_ingest(api_url: str, pool: str = POOL) -> str:
    """The ingest-batch deployment on ``pool``; returns its full name. The entrypoint is the
    module path ``flows.scale.ingest_batch_flow``: every worker machine has sbor installed, so
    there is no code to ship (no image, no copy of the repository at a fixed path)."""
    from prefect.types.entrypoint import EntrypointType

    flow_obj = __getattr__("ingest_batch_flow")
    with _api(api_url):
        deployment = flow_obj.to_deployment(DEPLOYMENT, entrypoint_type=EntrypointType.MODULE_PATH,
                                            job_variables={"command": ENGINE_COMMAND},
                                            description="One batch of the sbor inbox (sbor scale ingest).")
        # Not prefect.deploy(): on this server it fails asking for the pool's workers
        # (422, "limit: Input should be a valid integer"); apply() registers the same deployment.
        deployment.apply(work_pool_name=pool)
    return FULL_NAME


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


# --- dispatch --------------------------------------------------------------------------------


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


def online_workers(api_url: str, pool: str = POOL) -> list[str]:
    from prefect import get_client

    with _api(api_url), get_client(sync_client=True) as client:
        # Every argument given: this server refuses an explicit null (422) where it has a default.
        return sorted(w.name for w in client.read_workers_for_work_pool(pool, offset=0, limit=200)
                      if w.status == "ONLINE")


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
    with _api(api_url):
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


def write_manifests(settings: Settings, batches: Sequence[Sequence[str]]) -> tuple[Path, list[str]]:
    """Each batch's list of inbox paths as a JSON file on the shared storage, in a folder of its
    own for this dispatch; returns the folder and the manifests' paths relative to the
    workspace. A flow run gets the manifest's name, not the list: Prefect stores and sends a
    run's parameters with the run (every poll of its state carried 5,000 paths, and the server
    spent seconds compressing them), and refuses them over 512 KB (about 12,000 paths)."""
    folder = settings.runtime / BATCHES_DIR / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    names = []
    for i, paths in enumerate(batches, start=1):
        target = folder / f"batch-{i:05d}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(list(paths), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)  # a worker never reads half a list
        names.append(str(target.relative_to(settings.home)))
    return folder, names


def read_manifest(path: Path) -> list[str]:
    """A batch manifest's inbox paths; a clear error when it is gone or not a list of paths."""
    try:
        paths = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OperatorError(f"batch manifest {path} is missing: is the workspace on storage shared with "
                            "the dispatcher, at the same path?") from exc
    except (OSError, ValueError) as exc:
        raise OperatorError(f"batch manifest {path} cannot be read: {exc}") from exc
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise OperatorError(f"batch manifest {path} is not a JSON list of inbox paths")
    return paths


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


# --- the command line ------------------------------------------------------------------------

API_FILE = "scale-api-url"  # in var/: where `sbor scale up` serves, for `sbor scale ingest`


def _api_url(settings: Settings) -> str:
    url = os.environ.get("PREFECT_API_URL")
    recorded = settings.runtime / API_FILE
    if not url and recorded.is_file():
        url = recorded.read_text().strip()
    if not url:
        raise OperatorError("no Prefect server for this workspace: start one with `sbor scale up`, or set PREFECT_API_URL")
    return url


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _hold(processes: Sequence[subprocess.Popen[bytes]], names: Sequence[str]) -> None:
    """Until Ctrl+C or SIGTERM (a service manager's stop), so that the server and the workers
    are stopped with us; a worker that stops on its own is an error."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            for name, p in zip(names, processes, strict=True):
                if p.poll() is not None:
                    raise OperatorError(f"worker {name} stopped (exit {p.returncode}); see its log in var/")
            time.sleep(1.0)
    except KeyboardInterrupt:
        click.echo("stopping")


@click.group("scale")
def scale_command() -> None:
    """Federal scale on Prefect's own engine: Prefect's server on PostgreSQL, a process work pool,
    workers on several machines sharing the workspace, the inbox dispatched over them in batches.

    Example: sbor scale up --workers 2 --prefect-database-url postgresql+asyncpg://postgres@127.0.0.1:5432/prefect_sbor
    """


@scale_command.command("up")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0, 256),
              help="Process workers to start on this machine (one per core suits ingest).")
@click.option("--port", default=4200, show_default=True, help="Port of Prefect's server.")
@click.option("--prefect-database-url", envvar=PREFECT_DB_ENV, metavar="URL",
              help=f"Prefect's own PostgreSQL database, created if missing (default: ${PREFECT_DB_ENV}).")
@click.option("--pool", default=POOL, show_default=True, help="Work pool name.")
@click.pass_obj
def scale_up(obj: Any, workers: int, port: int, prefect_database_url: str | None, pool: str) -> None:
    """Start Prefect's server on PostgreSQL, the process work pool, the ingest deployment and
    WORKERS workers here; print where they are; Ctrl+C stops them all.

    Example: SBOR_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/sbor sbor scale up --workers 2 --prefect-database-url postgresql+asyncpg://postgres@127.0.0.1:5432/prefect_sbor
    """
    from sqlalchemy import make_url

    from warehouse import safe_url

    settings: Settings = obj.settings()
    with cluster(settings, workers=workers, port=port, pool=pool, prefect_database_url=prefect_database_url) as cl:
        recorded = settings.runtime / API_FILE
        recorded.write_text(cl.api_url)
        try:
            click.echo(f"Prefect API: {cl.api_url}" + (f" (server pid {cl.server_pid})" if cl.server_pid else ""))
            click.echo(f"Prefect UI: {cl.ui_url}")
            if cl.server_log:
                click.echo(f"server log: {cl.server_log}")
            click.echo(f"work pool: {pool} (process); deployment: {cl.deployment}")
            for name, pid in cl.workers.items():
                click.echo(f"worker {name}: pid {pid}, log {settings.runtime / f'worker-{name}.log'}")
            click.echo(f"more machines: PREFECT_API_URL={cl.api_url} SBOR_DATABASE_URL={safe_url(make_url(settings.database_url))} "
                       f"sbor --home {settings.home} scale worker")
            click.echo(f"dispatch the inbox: sbor --home {settings.home} scale ingest")
            click.echo("press Ctrl+C to stop")
            sys.stdout.flush()
            _hold(cl.processes, list(cl.workers))
        finally:
            recorded.unlink(missing_ok=True)


@scale_command.command("worker")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Process workers to start on this machine.")
@click.option("--pool", default=POOL, show_default=True, help="Work pool name.")
@click.pass_obj
def scale_worker(obj: Any, workers: int, pool: str) -> None:
    """Start workers on this machine for the pool of a running `sbor scale up` (PREFECT_API_URL
    names its server; the workspace is on storage every machine mounts at the same path).

    Example: PREFECT_API_URL=http://10.0.0.5:4200/api sbor --home /mnt/sbor scale worker --workers 8
    """
    settings: Settings = obj.settings()
    require_postgres_warehouse(settings)
    api_url = _api_url(settings)
    names = [f"{socket.gethostname()}-{i + 1}" for i in range(workers)]
    procs = [start_worker(settings, api_url, n, pool) for n in names]
    try:
        wait_for_workers(api_url, names, pool, procs=procs)
        for n, p in zip(names, procs, strict=True):
            click.echo(f"worker {n}: pid {p.pid}, log {settings.runtime / f'worker-{n}.log'}")
        click.echo("press Ctrl+C to stop")
        sys.stdout.flush()
        _hold(procs, names)
    finally:
        stop(procs)


@scale_command.command("ingest")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=None,
              help=f"Files per flow run (default: one run per online worker, or the same number each of at "
                   f"most {MAX_AUTO_BATCH} files).")
@click.option("--timeout", type=float, default=None, help="Give up waiting after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--pool", default=POOL, show_default=True, help="Work pool name.")
@click.pass_context
def scale_ingest(ctx: click.Context, batch_size: int | None, timeout: float | None, as_json: bool, pool: str) -> None:
    """Dispatch the inbox over the work pool: one flow run per batch, each file claimed by exactly
    one worker; wait for every run and print what happened.

    Example: sbor scale ingest --batch-size 500
    """
    import json

    settings: Settings = ctx.obj.settings()
    api_url = _api_url(settings)
    explicit_url = ctx.find_root().params.get("database_url")
    files = inbox_listing(settings)
    if batch_size is None:
        online = online_workers(api_url, pool)
        if not online:
            raise OperatorError(f"no worker is online in pool {pool}: start some with `sbor scale up` or `sbor scale worker`")
        batch_size = auto_batch_size(len(files), len(online))
    done = run_batches(settings, chunk(files, batch_size), api_url=api_url, database_url=explicit_url,
                       timeout=timeout)
    if as_json:
        click.echo(json.dumps(done.as_json(), ensure_ascii=False))
    elif not done.files:
        click.echo("the inbox is empty")
    else:
        click.echo(f"{done.files} files in {done.batches} batches of up to {batch_size}: {done.wall:.1f} s, "
                   f"{done.wall * 1000 / done.files:.1f} ms per file")
        click.echo("  ".join(f"{k}: {v}" for k, v in sorted(done.counts.items())))
        for name, n in sorted(done.by_worker.items()):
            click.echo(f"  worker {name}: {n} files")
    if done.failed:
        raise OperatorError(f"{len(done.failed)} of {done.batches} batches did not complete ({done.failed[0]}, …); "
                            "run `sbor scale ingest` again to finish their files")
