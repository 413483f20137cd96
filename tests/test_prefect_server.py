"""Prefect's temporary API server dies with the sbor command that started it, even on kill -9
(it was found alive minutes later, about 190 MB each)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has died; only its entry waits


def _servers_of(parent: int) -> list[int]:
    """Prefect's uvicorn children of ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"uvicorn" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_killed_ingest_takes_its_prefect_server_with_it(workspace: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(workspace / "prefect")  # a fresh one: nothing shared is left half-migrated
    # A pass worth lanes runs through Prefect's temporary server (an empty inbox or a small pass
    # starts none: flows.oneshot): one file, lanes from one file on.
    env.update(SBOR_WORKERS="2", SBOR_PARALLEL_FROM="1", SBOR_QUIET_SECONDS="0")
    sent = workspace / "ws" / "inbox" / "spo770001" / "отчет.xlsx"
    sent.parent.mkdir(parents=True)
    sent.write_bytes(b"not a workbook")
    ingest = subprocess.Popen([sys.executable, "-m", "flows.cli", "--home", str(workspace / "ws"), "ingest"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not servers and ingest.poll() is None and time.monotonic() < deadline:
            servers = _servers_of(ingest.pid)
            time.sleep(0.05)
        assert servers, "sbor ingest ended (or took 120 s) before its Prefect server was seen"
        ingest.send_signal(signal.SIGKILL)
        ingest.wait()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in servers if _alive(pid)] == [], "the Prefect server outlived sbor ingest"
    finally:
        if ingest.poll() is None:
            ingest.kill()
            ingest.wait()
        for pid in servers:  # a server left by a failure here: stopped, not left to the machine
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
