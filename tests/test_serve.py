"""`sbor serve` for real: one command starts Prefect's server, registers the status schedule,
and the schedule fires and writes the coordinators' status workbooks; Ctrl+C stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flows.settings import load_settings
from flows.workspace import open_warehouse
from forms import MOSCOW, Collection, builtin_forms, generate_registry

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_status_schedule(workspace: Path, collections_by_form: dict[str, Collection]) -> None:
    settings = load_settings(workspace)
    wh = open_warehouse(settings)
    orgs = generate_registry(40, seed=3)
    wh.upsert_organisations(orgs)
    now = datetime.now(MOSCOW)
    collection = replace(collections_by_form["spo_specialities"], opens=now - timedelta(days=1),
                         closes=now + timedelta(days=1))
    spo = [o.login for o in orgs if o.kind == "spo"]
    wh.publish(collection, builtin_forms()["spo_specialities"], spo)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--home", str(workspace), "serve", "--port", str(_free_port()),
         "--cron", "* * * * *"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        first = [proc.stdout.readline() for _ in range(2)]
        assert first[0].startswith("sbor serve: started a Prefect server at http://127.0.0.1:"), first
        assert first[1].startswith("Prefect UI: http://127.0.0.1:"), first
        target = settings.reports_dir / "operator" / f"status_{collection.id}.xlsx"
        expected = {f"reg{o.region_code}" for o in orgs if o.kind == "spo"}

        def regional() -> set[str]:
            return {p.parent.name for p in settings.reports_dir.glob("reg*/status_*.xlsx")}

        # The run writes the operator's workbook first and the regions' after it: wait for the
        # run, not for its first file.
        deadline = time.monotonic() + 240
        while (not target.exists() or regional() != expected) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(2)
        assert target.exists(), "the scheduled run wrote no status workbook"
        assert regional() == expected
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
    log = (settings.runtime / "prefect-server.log").read_text(errors="replace")
    assert "Can't evaluate bulk DML" not in log
