"""Writing every school's template: on lanes (this process and a spawned helper) for a large
publish, with the same files as in one process."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import load_workbook

from flows.writing import write_templates
from forms import Collection, Form, generate_registry
from templates import TemplateFactory
from tests.workbooks import SECRET


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def test_templates_written_on_two_lanes_are_the_ones_written_in_one(
        tmp_path: Path, forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> None:
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    orgs = [o for o in generate_registry(400, seed=11) if o.kind == "spo"][:30]
    factory = TemplateFactory(form, collection, SECRET)
    ticks: list[int] = []
    total = write_templates(factory, orgs, tmp_path / "lanes", ticks.append, workers=2, parallel_from=2)
    write_templates(factory, orgs, tmp_path / "one", workers=1)
    written = sorted(p.name for p in (tmp_path / "lanes").iterdir())
    assert written == sorted(f"{o.login}.xlsx" for o in orgs)  # every school, no temporary left
    assert total == sum(p.stat().st_size for p in (tmp_path / "lanes").iterdir()) and sum(ticks) == len(orgs)
    for org in orgs:  # the same parts, bar the moment of writing in the document's properties
        assert _parts(tmp_path / "lanes" / f"{org.login}.xlsx") == _parts(tmp_path / "one" / f"{org.login}.xlsx")
    title = load_workbook(tmp_path / "lanes" / f"{orgs[-1].login}.xlsx", read_only=True)["Титул"]
    assert any(orgs[-1].full_name in str(c) for row in title.iter_rows(values_only=True) for c in row)
