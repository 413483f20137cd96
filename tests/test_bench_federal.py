"""The federal benchmark runs at a tiny size, every stage included (Prefect's server on
PostgreSQL and its work pool too), and writes its figures. No time is asserted: that is the
benchmark's job. It runs as the command it is, in a process of its own: its in-process Prefect
flow talks to a server that is gone once it ends, which must not stay in the test process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benches import bench_server

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_federal_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    server = bench_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SBOR_"))}
    out = tmp_path / "federal.json"
    argv = ["--orgs", "16", "--rows", "3", "--sample", "2", "--fill-sample", "6", "--naive-sample", "4",
            "--errors", "0.3", "--duplicates", "0.2", "--repeat", "1", "--rounds", "2", "--postgres", server,
            "--cache", str(tmp_path / "cache"), "--json", str(out)]
    done = subprocess.run([sys.executable, str(REPO / "bench" / "federal.py"), *argv], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout
    figures = json.loads(out.read_text())
    stages = {s["name"]: s for s in figures["stages"]}
    assert set(stages) == {
        "templates: fast path", "templates: openpyxl (naive)", "returns: openpyxl fill (setup)",
        "returns: replicated (setup)", "ingest: plain, 1 pass", "ingest: naive (openpyxl, pandera/file, ORM)",
        "ingest: plain, 2 processes", "ingest: Prefect flow, 1 pass", "ingest: Prefect work pool, 2 workers",
        "status workbook, all schools (operator)", "status workbook: openpyxl (naive)",
        "status workbooks, every coordinator",
    }
    # Every school's own file (replicated ones included) is judged on its own: none unreadable,
    # the duplicates recognised, and the same outcomes on every path.
    made = figures["outcomes"]
    assert "unreadable" not in made and made.get("duplicate", 0) >= 1 and made["accepted"] >= 1
    assert sum(made.values()) == stages["ingest: plain, 1 pass"]["items"]
    assert figures["flow_outcomes"] == made
    # Two rounds, each a fresh workspace over the same inbox: every round's work pool judges
    # every file as the plain pass did, and each round's share is reported.
    rounds = figures["pool_rounds"]
    assert len(rounds) == 2
    for r in rounds:
        assert r["pool"]["counts"] == made and r["pool"]["failed"] == [] and len(r["pool"]["by_worker"]) >= 1
        assert r["share"] is not None and set(r["pool_cpu_parts"]) == {"server", "workers", "dispatcher"}
    assert stages["ingest: Prefect work pool, 2 workers"]["prefect_share"] is not None
    assert "templates naive/fast" in printed and "Prefect's share" in printed and "figures:" in printed
