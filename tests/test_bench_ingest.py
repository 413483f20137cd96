"""The ingest benchmark runs at a tiny size: every path (real, naive, bare read) over the same
filled inbox, and a table of the figures. No time is asserted: that is the benchmark's job."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.benches import load_bench

REPO = Path(__file__).resolve().parents[1]


def _bench_module() -> ModuleType:
    return load_bench("bench_ingest")


def test_bench_ingest_runs_at_a_tiny_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = _bench_module().main
    argv = ["--files", "6", "--rows", "3", "--repeat", "1", "--no-prefect", "--cache", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "6 workbooks, 3 rows each" in out
    assert "real: flows.ingest.ingest" in out and "naive:" in out and "bare: fastexcel" in out
    assert "real/naive" in out and "real/bare" in out and "peak RSS" in out
    # Every workbook is answered by the real path: accepted or rejected, none unreadable.
    [run] = [line for line in out.splitlines() if line.startswith("  real run 1:")]
    assert "unreadable" not in run and "accepted" in run
    # The filled inbox is kept for the next run, under a key of the parameters.
    [cached] = tmp_path.glob("ingest-*")
    assert len(list(cached.glob("*/*.xlsx"))) >= 6 and (cached / "made.json").is_file()
