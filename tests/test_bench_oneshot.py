"""The one-shot benchmark runs at its smallest: one run of each command, each ingest answering
what it should (the benchmark stops otherwise). No time is asserted: that is the benchmark's job."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.benches import load_bench

REPO = Path(__file__).resolve().parents[1]


def _bench_module() -> ModuleType:
    return load_bench("bench_oneshot")


def test_bench_oneshot_runs_once(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench_module().main(["--runs", "1", "--size", "20"]) == 0
    out = capsys.readouterr().out
    assert "1 runs each" in out
    for label in ("sbor --help (baseline)", "sbor ingest, empty inbox", "sbor ingest, one file"):
        assert label in out
    assert out.count("x baseline") == 2
