"""Shared fixtures. In CI (env CI set) the real parts are required: PostgreSQL, LibreOffice and
Chromium tests fail instead of skipping when their part is missing."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from forms import Collection, Form, builtin_forms, load_collection
from forms.loader import DATA_DIR

COLLECTIONS_DIR = DATA_DIR.parent / "collections"
# The cabinet's fixtures (site, sqlite_site, database_url, the upload site) for the web tests; the
# browser tests' (Chromium by path, console_errors).
pytest_plugins = ["tests.cabinet_site", "tests.collect_site", "tests.upload_site", "tests.browser"]

# Prefect's home for the whole test session: never the operator's ~/.prefect. Run logs stay
# local: shipping them to a test server's API only adds a drain that can stall its teardown.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="sbor-tests-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# argon2id with its cheapest parameters for the cabinet's test passwords (warehouse/credentials.py).
os.environ.setdefault("SBOR_CHEAP_PASSWORD_HASH", "1")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI"):
        missing = []
        if not os.environ.get("SBOR_TEST_POSTGRES_URL"):
            missing.append("SBOR_TEST_POSTGRES_URL (PostgreSQL)")
        if shutil.which("soffice") is None:
            missing.append("soffice (LibreOffice)")
        if shutil.which(os.environ.get("SBOR_TEST_CHROMIUM", "/usr/bin/chromium")) is None:
            missing.append("chromium (the cabinet's browser tests)")
        if shutil.which("wrk") is None:
            missing.append("wrk (the cabinet's benchmarks, run at a tiny size)")
        if missing:
            raise pytest.UsageError(f"CI requires {', '.join(missing)}; run tests through .ci/run")


@pytest.fixture(scope="session")
def forms_by_id() -> dict[str, Form]:
    return builtin_forms()


@pytest.fixture(scope="session")
def collections_by_form() -> dict[str, Collection]:
    out: dict[str, Collection] = {}
    for path in sorted(COLLECTIONS_DIR.glob("*.yaml")):
        c = load_collection(path)
        out[c.form_id] = c
    return out


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty sbor workspace with its own secret, isolated from the environment."""
    for name in ("SBOR_HOME", "SBOR_DATABASE_URL", "SBOR_NOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SBOR_SECRET", "test-secret-not-for-production")
    yield tmp_path
