"""Which program saved a returned file, and the note when it dropped the template's settings,
on files changed the way a spreadsheet program changes them (openpyxl here; LibreOffice itself
in tests/test_libreoffice_roundtrip.py)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl import load_workbook

from forms import Collection, Form, layout
from forms.collection import MOSCOW
from templates import TemplateFactory
from tests.workbooks import SECRET, fill, org_for
from validators import Context, Verdict, judge
from validators.saving import SavedWith

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
OPENPYXL = f"Microsoft Excel Compatible / Openpyxl {openpyxl.__version__}"  # what openpyxl writes
ORG_SHEET = "Сведения об ОО"


@pytest.fixture(scope="module")
def case(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> tuple[Form, Collection, bytes]:
    form, collection = forms_by_id["vpr_org_info"], collections_by_form["vpr_org_info"]
    template = TemplateFactory(form, collection, SECRET).render(org_for(collection))
    return form, collection, template


def _judged(tmp_path: Path, data: bytes, form: Form, collection: Collection) -> Verdict:
    path = tmp_path / "сведения.xlsx"
    path.write_bytes(data)
    context = Context.build([collection], [form], {collection.id: [org_for(collection).login]}, SECRET, NOW)
    return judge(path, context)


def test_a_file_that_keeps_the_templates_settings_gets_no_note(case: tuple[Form, Collection, bytes],
                                                              tmp_path: Path) -> None:
    form, collection, template = case
    verdict = _judged(tmp_path, fill(template, {ORG_SHEET: {"2": "Иванова Мария Петровна"}}, form), form, collection)
    assert verdict.saved_by == OPENPYXL
    assert "saved-by-program" not in {f.code for f in verdict.findings}


def test_what_the_program_dropped_is_named_in_a_note(case: tuple[Form, Collection, bytes], tmp_path: Path) -> None:
    form, collection, template = case
    wb = load_workbook(io.BytesIO(template))
    wb.security.lockStructure = False  # type: ignore[union-attr]
    wb[layout.IDENTITY_SHEET].sheet_state = "hidden"
    wb[ORG_SHEET].freeze_panes = None
    buffer = io.BytesIO()
    wb.save(buffer)
    verdict = _judged(tmp_path, buffer.getvalue(), form, collection)
    notes = [(f.severity, f.code, f.worksheet, f.cell, f.message) for f in verdict.findings
             if f.code == "saved-by-program"]
    assert notes == [(
        "note", "saved-by-program", None, None,
        f"Файл «сведения.xlsx» сохранён в программе {OPENPYXL}: выпадающие "
        "списки сохранены; не сохранены: защита структуры книги, закрепление строк заголовка (листы "
        f"«{ORG_SHEET}») и скрытие служебного листа «_sbor» (теперь его можно показать и случайно изменить). "
        "На проверку данных это не влияет. Книга с ошибками, которую присылает система, и шаблон, скачанный "
        "заново, выдаются с исходными настройками: продолжайте работу в них.")]


@pytest.mark.parametrize(("application", "version", "program"), [
    ("LibreOffice/7.4.7.2$Linux_X86_64 LibreOffice_project/40$Build-2", "15.0000", "LibreOffice 7.4.7.2"),
    ("Microsoft Excel", "16.0300", "Microsoft Excel 16.0300"),
    ("Microsoft Excel Compatible / Openpyxl 3.1.5", "3.1", "Microsoft Excel Compatible / Openpyxl 3.1.5"),
    (None, "16.0300", None),
    ("x" * 500, None, "x" * 120),
])
def test_the_program_as_analysts_group_by_it(application: str | None, version: str | None,
                                             program: str | None) -> None:
    assert SavedWith(application=application, version=version).program == program
