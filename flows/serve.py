"""``sbor serve``: the coordinators' status workbooks on a schedule, as a Prefect deployment.

Prefect's ephemeral mode cannot schedule: a schedule needs a running Prefect API. When none is
configured (``PREFECT_API_URL``), ``sbor serve`` starts Prefect's own server for the workspace
(its home in ``var/prefect``) and stops it on exit, so one command is enough.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from flows.errors import OperatorError
from flows.prefect_local import bound_to_this_process
from flows.settings import Settings

DEFAULT_CRON = "0 8 * * *"  # daily at 08:00 Moscow time
DEPLOYMENT = "coordinator-status"


@dataclass(frozen=True)
class Served:
    api_url: str
    ui_url: str
    started_server: bool
    log: Path | None


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def prefect_server(settings: Settings, port: int, startup_timeout: float = 180.0) -> Iterator[Served]:
    """The Prefect API to use: the configured one, or a server of our own for as long as the
    block runs."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if not _healthy(configured):
            raise OperatorError(f"PREFECT_API_URL is {configured}, but no Prefect server answers there")
        yield Served(configured, configured.removesuffix("/api"), False, None)
        return
    api_url = f"http://127.0.0.1:{port}/api"
    if _healthy(api_url):
        raise OperatorError(f"port {port} is taken by another Prefect server: "
                            f"pass --port, or set PREFECT_API_URL={api_url}")
    log = settings.runtime / "prefect-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
            preexec_fn=bound_to_this_process(),  # noqa: PLW1509 - dies with sbor, even on a kill -9
        )
    try:
        deadline = time.monotonic() + startup_timeout
        while not _healthy(api_url):
            if proc.poll() is not None:
                raise OperatorError(f"the Prefect server stopped while starting (exit {proc.returncode}); see {log}")
            if time.monotonic() > deadline:
                raise OperatorError(f"the Prefect server did not answer within {startup_timeout:.0f} s; see {log}")
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = api_url
        yield Served(api_url, f"http://127.0.0.1:{port}", True, log)
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def serve_schedules(settings: Settings, cron: str, explicit_database_url: str | None) -> None:
    """Register the status deployment with its cron (Moscow time) and run it until stopped."""
    from prefect import serve
    from prefect.schedules import Cron

    from flows.report import scheduled_status_flow

    parameters: dict[str, str] = {"home": str(settings.home)}
    if explicit_database_url:
        # Stored by Prefect with the deployment: prefer SBOR_DATABASE_URL for URLs with passwords.
        parameters["database_url"] = explicit_database_url
    deployment = scheduled_status_flow.to_deployment(
        name=DEPLOYMENT, schedule=Cron(cron, timezone="Europe/Moscow"), parameters=parameters,
    )
    serve(deployment, print_starting_message=False)
