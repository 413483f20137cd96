"""`sbor scale`: federal scale on Prefect's own engine (the machinery is flows/scale/)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

import click

from flows.commands.context import Context, pass_ctx, settings_of
from flows.errors import OperatorError
from flows.scale import (
    MAX_AUTO_BATCH,
    POOL,
    PREFECT_DB_ENV,
    auto_batch_size,
    chunk,
    cluster,
    inbox_listing,
    online_workers,
    require_postgres_warehouse,
    run_batches,
    start_worker,
    stop,
    wait_for_workers,
)
from flows.settings import Settings

API_FILE = "scale-api-url"  # in var/: where `sbor scale up` serves, for `sbor scale ingest`


def _api_url(settings: Settings) -> str:
    url = os.environ.get("PREFECT_API_URL")
    recorded = settings.runtime / API_FILE
    if not url and recorded.is_file():
        url = recorded.read_text().strip()
    if not url:
        raise OperatorError("no Prefect server for this workspace: start one with `sbor scale up`, "
                            "or set PREFECT_API_URL")
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
@pass_ctx
def scale_up(ctx: Context, workers: int, port: int, prefect_database_url: str | None, pool: str) -> None:
    """Start Prefect's server on PostgreSQL, the process work pool, the ingest deployment and
    WORKERS workers here; print where they are; Ctrl+C stops them all.

    Example: SBOR_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/sbor sbor scale up --workers 2 --prefect-database-url postgresql+asyncpg://postgres@127.0.0.1:5432/prefect_sbor
    """  # noqa: E501 - the help's last line is its example, one command (tests/test_cli.py)
    from sqlalchemy import make_url

    from warehouse import safe_url

    settings = ctx.settings()
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
            click.echo(f"more machines: PREFECT_API_URL={cl.api_url} "
                       f"SBOR_DATABASE_URL={safe_url(make_url(settings.database_url))} "
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
@pass_ctx
def scale_worker(ctx: Context, workers: int, pool: str) -> None:
    """Start workers on this machine for the pool of a running `sbor scale up` (PREFECT_API_URL
    names its server; the workspace is on storage every machine mounts at the same path).

    Example: PREFECT_API_URL=http://10.0.0.5:4200/api sbor --home /mnt/sbor scale worker --workers 8
    """
    settings = ctx.settings()
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
    settings = settings_of(ctx)
    api_url = _api_url(settings)
    explicit_url = ctx.find_root().params.get("database_url")
    files = inbox_listing(settings)
    if batch_size is None:
        online = online_workers(api_url, pool)
        if not online:
            raise OperatorError(f"no worker is online in pool {pool}: "
                                "start some with `sbor scale up` or `sbor scale worker`")
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
