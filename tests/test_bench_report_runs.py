"""The background reports' benchmark runs at a tiny size against PostgreSQL and Chromium: the
export is made through the report runner, the bell shows it on the open page, and each figure is
printed. No time is asserted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benches import bench_server
from tests.browser import CHROMIUM

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
@pytest.mark.browser
def test_bench_report_runs_at_a_tiny_size() -> None:
    url = bench_server()
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}  # Prefect as `sbor web` has it
    done = subprocess.run([sys.executable, str(REPO / "bench" / "bench_report_runs.py"), "--orgs", "300",
                           "--repeat", "1", "--rounds", "1", "--url", url, "--chromium", CHROMIUM],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in ("300 schools on PostgreSQL", "results export through ReportRunner", "the same work without Prefect",
                 "Prefect's start of a run", "of which up to its body", "with Prefect's start up to the body only",
                 "status workbook, bench_reports.py's operator view of 300",
                 "notification (flow run finished → the bell's badge on the open page), 1 rounds"):
        assert line in out, out
