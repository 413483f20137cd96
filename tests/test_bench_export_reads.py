"""The export reads' benchmark runs at a tiny size against PostgreSQL and prints every way's
figure. No time is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.benches import bench_server

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_bench_export_reads_at_a_tiny_size() -> None:
    url = bench_server()
    done = subprocess.run([sys.executable, str(REPO / "bench" / "bench_export_reads.py"), "--orgs", "300",
                           "--rounds", "1", "--url", url], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for line in ("300 schools on PostgreSQL, medians of 1 rounds", "before: all rows + registry + participants",
                 "cursor, operator", "copy, operator", "cursor, region", "copy, region"):
        assert line in done.stdout, done.stdout
