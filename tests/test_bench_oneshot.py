"""The one-shot benchmark runs at its smallest: one run of each command, each ingest answering
what it should (the benchmark stops otherwise). No time is asserted: that is the benchmark's job."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench_module() -> ModuleType:
    """bench/ is scripts, not a package: load the file itself."""
    spec = importlib.util.spec_from_file_location("bench_oneshot", REPO / "bench" / "bench_oneshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_oneshot_runs_once(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench_module().main(["--runs", "1", "--size", "20"]) == 0
    out = capsys.readouterr().out
    assert "1 runs each" in out
    for label in ("sbor --help (baseline)", "sbor ingest, empty inbox", "sbor ingest, one file"):
        assert label in out
    assert out.count("x baseline") == 2
