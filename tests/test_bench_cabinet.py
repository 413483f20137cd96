"""The cabinet's upload and monitoring benchmarks run at a tiny size against PostgreSQL: every
upload is answered on the page and accepted, the monitoring bench prints its in-process and HTTP
figures, and each removes its workspace. No time is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import bench_server, load_bench

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_bench_upload_runs_at_a_tiny_size() -> None:
    url = bench_server()
    result = load_bench("bench_upload").main(["--orgs", "2000", "--schools", "3", "--rate", "2", "--duration", "2",
                                        "--workers", "1", "--url", url])
    assert result["uploads"] == result["answered"] == 4, result
    assert sum(result["outcomes"].values()) == 4 and set(result["outcomes"]) <= {"accepted", "accepted_with_warnings"}
    assert not list((REPO / "bench").glob("sbor-bench-upload-*")), "the workspace was not removed"


@pytest.mark.postgres
def test_bench_monitor_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    url = bench_server(wrk=True)
    load_bench("bench_monitor").main(["--orgs", "2000", "--region-size", "50", "--repeat", "3", "--duration", "1",
                                "--connections", "2", "--think", "100", "--workers", "1", "--url", url])
    out = capsys.readouterr().out
    assert "region 77: 50 schools" in out and "operator's monitoring counts" in out and "over HTTP" in out
    assert not list((REPO / "bench").glob("sbor-bench-mon-*")), "the workspace was not removed"
