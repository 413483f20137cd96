"""Ids become paths: collections, forms, coordinators and logins are plain names, checked where
they are read, and every write stays inside its root even when an id got past (a warehouse an
earlier sbor filled)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from flows.cli import main
from flows.errors import OperatorError
from flows.paths import inside
from flows.settings import load_settings
from flows.workspace import open_warehouse
from forms import SpecError, builtin_forms, generate_registry, load_collection
from forms.coordinators import CoordinatorFileError, load_coordinators
from forms.ids import id_problem
from tests.conftest import COLLECTIONS_DIR

SHIPPED = (COLLECTIONS_DIR / "spo_specialities_2026.yaml").read_text(encoding="utf-8")


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def sbor(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("value", ["../../../evil", "a/b", "..", ".hidden", "-rf", "Reg77",
                                   "x" * 65, "", "evil\x00", "спо"])
def test_an_id_that_is_not_a_plain_name_is_refused(value: str) -> None:
    assert id_problem("collection id", value) is not None


@pytest.mark.parametrize("value", ["spo-specialities-2026", "spo_specialities", "mun7701",
                                   "edu770001", "operator", "x" * 64])
def test_the_ids_sbor_uses_are_plain_names(value: str) -> None:
    assert id_problem("collection id", value) is None


def test_an_evil_collection_id_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("# a collection\n" + SHIPPED.replace("id: spo-specialities-2026", "id: ../../../evil"),
                    encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_collection(path)
    assert str(caught.value) == (
        f"{path}, line 2: collection id '../../../evil' is not a plain id (lower-case latin "
        "letters, digits, '-' and '_', starting with a letter or digit, at most 64): it names a "
        "folder or a file")


def test_a_participant_login_that_is_a_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "logins.yaml"
    path.write_text(SHIPPED.replace("participants: {kinds: [spo]}",
                                    "participants:\n  logins:\n    - spo770001\n    - ../../x"),
                    encoding="utf-8")
    with pytest.raises(SpecError, match=r"line 11: participant login '\.\./\.\./x' is not a plain id"):
        load_collection(path)


def test_publishing_an_evil_collection_writes_nothing(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = workspace / "home"
    path = workspace / "evil.yaml"
    path.write_text(SHIPPED.replace("id: spo-specialities-2026", "id: ../../../evil"), encoding="utf-8")
    before = files_under(workspace)
    assert main(["--home", str(home), "publish", str(path)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {path}, line 1: collection id '../../../evil' is not a plain id (lower-case latin "
        "letters, digits, '-' and '_', starting with a letter or digit, at most 64): it names a "
        "folder or a file"]
    assert files_under(workspace) - before == set()


def test_a_coordinators_file_with_bad_ids_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "coordinators.csv"
    path.write_text("id,kind,region_code,municipality_code,name\n"
                    "reg77,regional,77,,Москва\n"
                    "-rf,regional,50,,Дефис\n"
                    f"{'m' * 300},regional,51,,Длинное имя\n"
                    "Reg52,regional,52,,Регистр\n", encoding="utf-8")
    with pytest.raises(CoordinatorFileError) as caught:
        load_coordinators(path)
    assert [line for line, _ in caught.value.problems] == [3, 4, 5]
    assert all("is not a plain id" in problem for _, problem in caught.value.problems)


@pytest.fixture()
def evil_published(workspace: Path) -> Path:
    """A workspace whose warehouse holds a collection an earlier sbor published under a path."""
    home = workspace / "operator"
    settings = load_settings(home)
    wh = open_warehouse(settings)
    orgs = [o for o in generate_registry(60, seed=3) if o.kind == "spo"]
    wh.upsert_organisations(orgs)
    shipped = load_collection(COLLECTIONS_DIR / "spo_specialities_2026.yaml")
    for cid in ("../../x", "../../../evil"):
        wh.publish(replace(shipped, id=cid), builtin_forms()[shipped.form_id], [o.login for o in orgs])
    wh.engine.dispose()
    return home


def test_report_for_a_collection_id_that_is_a_path_is_refused(evil_published: Path) -> None:
    before = files_under(evil_published.parent)
    result = sbor(evil_published, "report", "--collection", "../../x")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: collection id '../../x' is not a plain id (lower-case latin letters, digits, '-' "
        "and '_', starting with a letter or digit, at most 64): it names a folder or a file"]
    assert files_under(evil_published.parent) - before == set()


def test_a_report_never_writes_outside_the_coordinators_folder(evil_published: Path) -> None:
    before = files_under(evil_published.parent)
    result = sbor(evil_published, "report", "--kind", "status", "--coordinator", "operator")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: refusing to write ")
    outside = {p for p in files_under(evil_published.parent) - before if p.suffix == ".xlsx"
               and not p.is_relative_to(evil_published / "outbox" / "reports" / "operator")}
    assert outside == set()


def test_inside_refuses_what_resolves_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "outbox" / "templates"
    assert inside(root, root / "spo-2026" / "spo770001.xlsx") == root / "spo-2026" / "spo770001.xlsx"
    for escape in (root / "../../../evil", root / "a" / ".." / "..", Path("/etc/passwd"), root,
                   Path(str(root) + "-next") / "x.xlsx"):
        with pytest.raises(OperatorError, match="lies outside"):
            inside(root, escape)
    relative = Path("outbox") / "templates"
    assert inside(relative, relative / "x.xlsx") == relative / "x.xlsx"
    with pytest.raises(OperatorError, match="lies outside"):
        inside(relative, relative / ".." / "x.xlsx")
