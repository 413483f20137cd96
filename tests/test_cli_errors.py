"""Every error of ours reaches the operator as one line with a non-zero exit: the command line
catches their one base (forms.errors.SborError) at its edge."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "--home", str(home), *args],
        capture_output=True, text=True, timeout=300,
    )


def test_bad_coordinators_file_is_one_line_per_problem_with_exit_1(workspace: Path) -> None:
    coordinators = workspace / "coordinators.csv"
    coordinators.write_text("id,kind,region_code,municipality_code,name\n"
                            "reg77,regional,77,,Москва\n"
                            "reg78,capital,78,,Санкт-Петербург\n", encoding="utf-8")
    result = run(workspace, "report", "--coordinators-file", str(coordinators))
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {coordinators}: 1 bad line, fix them and retry:",
        "  line 3: kind 'capital' is not one of regional, municipal, operator",
    ]
