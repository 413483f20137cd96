"""The cabinet's benchmark runs at a tiny size against PostgreSQL: every endpoint answers (no
non-2xx under load), and the table says what it measured. No time is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import bench_server, load_bench

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_bench_web_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    url = bench_server(wrk=True)
    module = load_bench("bench_web")
    result = module.main(["--orgs", "400", "--region-size", "30", "--downloads", "10", "--duration", "1",
                          "--connections", "4", "--also-think", "200", "--file-mb", "1", "--workers", "1",
                          "--url", url])
    assert result["region_schools"] == 30 and result["orgs"] == 400
    assert all(run["requests"] > 0 and run["non_2xx"] == 0 for run in result["runs"].values()), result["runs"]
    # Every page ran at saturation and as users at both think times, beside the bare endpoint.
    for mode in ("saturation, 4 conns", "4 users, 100 ms think", "4 users, 200 ms think"):
        assert {f"{page} [{mode}]" for page in ("bare /health", "school home page", "publication page")} <= set(
            result["runs"]), (mode, list(result["runs"]))
    out = capsys.readouterr().out
    assert "download report, region of 30" in out and "of the plain FileResponse rate" in out
    assert not list((REPO / "bench").glob("sbor-bench-web-*")), "the workspace was not removed"
