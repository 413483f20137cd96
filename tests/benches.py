"""bench/ holds scripts, not a package: the tests that run a benchmark at a tiny size load its
file with ``load_bench``, and ask ``bench_server`` for the PostgreSQL server it runs against."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench(name: str) -> ModuleType:
    """``bench/<name>.py`` as a module named ``name``."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def bench_server(*, wrk: bool = False) -> str:
    """The PostgreSQL server of SBOR_TEST_POSTGRES_URL, or the test skips; with ``wrk`` it skips
    too when the load generator is missing (tests/conftest.py makes both required in CI)."""
    url = os.environ.get("SBOR_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SBOR_TEST_POSTGRES_URL is not set")
    if wrk and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (the benchmark's load generator)")
    return url
