"""Spliced templates open in LibreOffice: every form's fast-path template is converted, every
sheet to CSV, in one soffice run (it is slow to start), and what LibreOffice read is checked."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from forms import Collection, Form, Identity, builtin_forms, layout, worded
from templates import TemplateFactory
from tests.workbooks import SECRET, org_for

pytestmark = pytest.mark.libreoffice

# Comma, double quote, UTF-8, from line 1, …, token 12 = -1: every sheet to its own file,
# named "<file>-<sheet>.csv".
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
FORM_IDS = sorted(builtin_forms())


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory, forms_by_id: dict[str, Form],
              collections_by_form: dict[str, Collection]) -> Path:
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) must be installed in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    root = tmp_path_factory.mktemp("libreoffice")
    sources, out = root / "in", root / "out"
    sources.mkdir()
    files = []
    for form_id in FORM_IDS:
        form = forms_by_id[form_id]
        collection = collections_by_form[form_id]
        path = sources / f"{form_id}.xlsx"
        path.write_bytes(TemplateFactory(form, collection, SECRET).render(org_for(collection)))
        files.append(str(path))
    # A profile of its own, so parallel runs and a user's LibreOffice do not clash.
    profile = (root / "profile").as_uri()
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", CSV_FILTER,
         "--outdir", str(out), *files],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def _rows(out: Path, form_id: str, sheet: str) -> list[list[str]]:
    path = out / f"{form_id}-{sheet}.csv"
    assert path.exists(), f"LibreOffice did not export sheet {sheet!r}: {sorted(p.name for p in out.iterdir())}"
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_libreoffice_reads_the_spliced_template(converted: Path, form_id: str, forms_by_id: dict[str, Form],
                                               collections_by_form: dict[str, Collection]) -> None:
    collection = collections_by_form[form_id]
    form = worded(forms_by_id[form_id], collection)
    org = org_for(collection)
    title = [cell for row in _rows(converted, form_id, layout.TITLE_SHEET) for cell in row]
    assert collection.title in title and org.full_name in title and org.login in title
    for sheet in form.sheets:
        rows = _rows(converted, form_id, sheet.name)
        assert rows[layout.TITLE_ROW - 1][0] == sheet.name
        if sheet.kind == "table":
            assert rows[layout.HEADER_ROW - 1][: len(sheet.fields)] == [f.title for f in sheet.fields]
            assert rows[layout.NUMBER_ROW - 1][: len(sheet.fields)] == [f.number for f in sheet.fields]
            if sheet.prefill_field:
                col = layout.column_of(sheet, sheet.prefill_field) - 1
                assert rows[layout.FIRST_ROW - 1][col].startswith(org.specialities[0] + " ")
        else:
            for field in sheet.fields:
                ref = layout.card_cell(sheet, field.number)
                assert rows[ref.row - 1][:2] == [field.number, field.title]
                if field.prefill:
                    assert rows[ref.row - 1][2] == getattr(org, field.prefill)
    identity = {row[0]: row[1] for row in _rows(converted, form_id, layout.IDENTITY_SHEET) if row}
    assert list(identity) == list(layout.IDENTITY_KEYS)
    signed = Identity(identity["collection"], identity["login"], identity["form"],
                      int(identity["version"]), identity["fingerprint"])
    assert identity["login"] == org.login and signed.verify(SECRET, identity["signature"])
