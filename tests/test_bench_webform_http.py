"""The web form's HTTP benchmark runs at a tiny size against PostgreSQL: the saves are answered
back to back and at a pace (none refused, none in conflict), the full form is accepted and the
300-row one refused, and the workspace is removed. No time is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import bench_server, load_bench

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_bench_webform_http_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    url = bench_server(wrk=True)
    module = load_bench("bench_webform_http")
    result = module.main(["--orgs", "2000", "--connections", "2", "--paced", "2", "--think", "50",
                          "--submits", "2", "--rounds", "1", "--duration", "1", "--workers", "1", "--url", url])
    [saves] = [r["draft save"] for r in result["rounds"]]
    [paced] = [r["paced save"] for r in result["rounds"]]
    assert saves["requests"] > 0 and paced["saved"] > 0, (saves, paced)
    assert result["save_conflicts"] == 0 and result["save_other"] == 0, (saves, paced)
    # The paced schools wait 50 ms between saves: two of them cannot save 40 times a second.
    assert paced["saves_per_s"] <= 2 * 1000 / 50, paced
    assert result["outcomes"].get("accepted", 0) + result["outcomes"].get("accepted_with_warnings", 0) == 2
    assert "«Сдать отчёт»" in capsys.readouterr().out
    assert not list((REPO / "bench").glob("sbor-bench-wfh-*")), "the workspace was not removed"
