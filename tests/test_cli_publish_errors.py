"""An operator's mistake in a collection file (a form that does not exist, participants that
match nobody) is one line on stderr and a non-zero exit: no Prefect traceback before it, no
progress bar."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from forms.loader import DATA_DIR

SHIPPED = (DATA_DIR.parent / "collections" / "spo_specialities_2026.yaml").read_text(encoding="utf-8")


def sbor(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("change", "error"), [
    (("form: spo_specialities", "form: spo_specialitis"),
     "error: collection spo-specialities-2026 names form 'spo_specialitis', which is not one of: "
     "spo_specialities, vpr_org_info, vpr_spo_schedule"),
    (("participants: {kinds: [spo]}", "participants: {logins: [spo999999]}"),
     "error: collection spo-specialities-2026: no organisation in the registry matches its participants"),
], ids=["form-typo", "participants-match-nobody"])
def test_a_collection_mistake_is_one_line(workspace: Path, change: tuple[str, str], error: str) -> None:
    assert change[0] in SHIPPED
    collection = workspace / "collection.yaml"
    collection.write_text(SHIPPED.replace(*change), encoding="utf-8")
    registry = workspace / "registry.csv"
    assert sbor(workspace, "registry", "generate", "--size", "30", str(registry)).returncode == 0

    result = sbor(workspace, "publish", str(collection), "--registry", str(registry))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [error]
    assert not (workspace / "outbox" / "templates" / "spo-specialities-2026").exists()


def test_an_empty_registry_is_one_line(workspace: Path) -> None:
    result = sbor(workspace, "publish", "spo-specialities-2026")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: the registry is empty: load one first with `sbor registry load FILE.csv`"]
