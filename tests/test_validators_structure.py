"""Structure findings on a real template: sheets renamed, columns moved or inserted, headers
edited, too many rows, values beside the table, merged cells, formulas without a value."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from forms import MOSCOW, Collection, Form
from templates import render_template
from tests.workbooks import SECRET, fill, org_for, set_cells
from validators import Context, Verdict, judge

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
SPEC = "Специальности"
P = "Лист «Специальности», ячейка"
KEEP = ("Не переименовывайте, не удаляйте и не переставляйте листы, строки и столбцы шаблона; "
        "верните их или перенесите данные в новый шаблон.")
ROW = {"1.1": "Математика", "1.2": "Математика", "2": 1, "3": 24, "3.1": 24, "3.2": 0, "4": 25, "5": 25,
       "6": "Нет"}


@pytest.fixture(scope="module")
def form(forms_by_id: dict[str, Form]) -> Form:
    return forms_by_id["spo_specialities"]


@pytest.fixture(scope="module")
def context(form: Form, collections_by_form: dict[str, Collection]) -> Context:
    collection = collections_by_form[form.id]
    return Context.build([collection], [form], {collection.id: [org_for(collection).login]}, SECRET, NOW)


@pytest.fixture(scope="module")
def good(form: Form, collections_by_form: dict[str, Collection]) -> bytes:
    """Two correct rows: the organisation's prefilled specialities, completed."""
    collection = collections_by_form[form.id]
    template = render_template(form, collection, org_for(collection), SECRET)
    values = form.choices_for(form.sheets[0].field("1"))
    rows = [{"1": next(v for v in values if v.startswith(code)), **ROW} for code in ("38.02.01", "09.02.07")]
    return fill(template, {SPEC: rows}, form)


def edit(data: bytes, change: Callable[[Workbook], Any]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    change(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def on_sheet(change: Callable[[Worksheet], Any]) -> Callable[[Workbook], Any]:
    return lambda wb: change(wb[SPEC])


def judged(tmp_path: Path, data: bytes, context: Context) -> Verdict:
    path = tmp_path / "отчёт.xlsx"
    path.write_bytes(data)
    return judge(path, context)


def findings(verdict: Verdict) -> list[tuple[str, str, str | None, str]]:
    return [(f.severity, f.code, f.cell, f.message) for f in verdict.findings]


def test_the_good_workbook_is_accepted(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, good, context)
    assert (verdict.outcome, verdict.findings) == ("accepted", ())
    assert verdict.frames["specialities"].height == 2


def test_renamed_sheet(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, edit(good, lambda wb: setattr(wb[SPEC], "title", "Лист1")), context)
    assert verdict.outcome == "rejected"
    assert findings(verdict) == [(
        "error", "missing-sheet", None,
        f"Файл «отчёт.xlsx»: нет листа «Специальности» (возможно, он переименован в «Лист1»). {KEEP}")]
    assert verdict.frames == {}


def test_removed_sheet(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, edit(good, lambda wb: wb.remove(wb[SPEC])), context)
    assert findings(verdict) == [(
        "error", "missing-sheet", None, f"Файл «отчёт.xlsx»: нет листа «Специальности». {KEEP}")]


def _swap_e_and_f(ws: Worksheet) -> None:
    for row in range(3, 7):
        ws[f"E{row}"].value, ws[f"F{row}"].value = ws[f"F{row}"].value, ws[f"E{row}"].value


def test_columns_moved(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, edit(good, on_sheet(_swap_e_and_f)), context)
    assert findings(verdict) == [(
        "error", "column-moved", "E4",
        f"{P} E4: здесь должна быть графа 3, а стоит «3.1» — столбцы переставлены или удалены. {KEEP}")]


def test_column_deleted(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, edit(good, on_sheet(lambda ws: ws.delete_cols(2))), context)
    assert [(f.code, f.cell, f.field, f.value) for f in verdict.findings] == [("column-moved", "B4", "1.1", "1.2")]


def test_column_inserted(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, edit(good, on_sheet(lambda ws: ws.insert_cols(3))), context)
    assert findings(verdict) == [(
        "error", "column-inserted", "C4",
        f"{P} C4: вставлен лишний столбец. Удалите его: не переименовывайте, не удаляйте и не "
        "переставляйте листы, строки и столбцы шаблона; верните их или перенесите данные в новый шаблон.")]


def test_column_added_after_the_table(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, set_cells(good, SPEC, {"K4": "7", "K5": 1}), context)
    assert [(f.code, f.cell) for f in verdict.findings] == [("column-inserted", "K4")]


def test_header_edited_is_a_warning(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, set_cells(good, SPEC, {"E3": "Количество студентов"}), context)
    assert verdict.outcome == "accepted_with_warnings"
    assert findings(verdict) == [(
        "warning", "header-changed", "E3",
        f"{P} E3 (графа 3): заголовок изменён: «Количество студентов» вместо «Количество обучающихся на "
        f"указанном в предыдущем пункте курсе в 2026/2027 учебном году». {KEEP}")]


def test_more_rows_than_the_form_allows(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, set_cells(good, SPEC, {"A305": "38.02.01", "B306": "Химия"}), context)
    assert verdict.outcome == "rejected"
    assert findings(verdict) == [(
        "error", "too-many-rows", "A305",
        f"{P} A305: заполнено больше строк, чем допускает форма (не больше 300, строки 5–304). Удалите "
        "лишние строки или обратитесь к координатору.")]


def test_value_beside_the_table_is_a_warning(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, set_cells(good, SPEC, {"L6": "см. примечание"}), context)
    assert verdict.outcome == "accepted_with_warnings"
    assert findings(verdict) == [(
        "warning", "outside-table", "L6",
        f"{P} L6: значение «см. примечание» вне таблицы формы не будет учтено. Перенесите его в нужную "
        "графу или удалите.")]


def test_merged_cells_in_the_entry_area(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, edit(good, on_sheet(lambda ws: ws.merge_cells("B6:C6"))), context)
    assert findings(verdict) == [
        ("error", "merged-cells", "B6",
         f"{P} B6: ячейки B6:C6 объединены. Отмените объединение (Главная → Объединить и поместить в "
         "центре) и заполните каждую ячейку отдельно."),
        ("error", "required", "C6", f"{P} C6 (графа 1.2): графа не заполнена. Заполните ячейку."),
    ]


def test_formula_without_a_stored_value(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, set_cells(good, SPEC, {"E5": "=F5+G5"}), context)
    assert findings(verdict) == [(
        "error", "formula-without-value", "E5",
        f"{P} E5 (графа 3): в ячейке формула без вычисленного значения. Пересчитайте книгу в Excel (F9) "
        "и сохраните её или введите значение вместо формулы.")]


def test_formula_with_its_value_is_read(good: bytes, context: Context, tmp_path: Path) -> None:
    """A formula Excel has calculated carries its value: that value is what the school sees."""
    verdict = judged(tmp_path, _with_e5(good, rb'<c r="E5"\1><f>F5+G5</f><v>24</v></c>'), context)
    assert (verdict.outcome, verdict.findings) == ("accepted", ())


def test_formula_error_value(good: bytes, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, _with_e5(good, rb'<c r="E5"\1 t="e"><f>1/0</f><v>#DIV/0!</v></c>'), context)
    assert findings(verdict) == [(
        "error", "formula-error", "E5",
        f"{P} E5 (графа 3): в ячейке ошибка вычисления формулы (#ДЕЛ/0!, #Н/Д или подобная). Исправьте "
        "формулу или введите значение вместо неё.")]


SHEET_PART = "xl/worksheets/sheet3.xml"


def _with_e5(data: bytes, cell: bytes) -> bytes:
    """The workbook with cell E5 (24, as openpyxl wrote it) replaced in the sheet's XML, the way
    Excel stores a calculated formula: what openpyxl cannot write."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            part = zin.read(info.filename)
            if info.filename == SHEET_PART:
                part, count = re.subn(rb'<c r="E5"([^>]*?) t="n"><v>24</v></c>', cell, part)
                assert count == 1
            zout.writestr(info.filename, part)
    return out.getvalue()


def test_empty_rows_in_the_entry_area_are_skipped(good: bytes, form: Form, context: Context,
                                                  tmp_path: Path) -> None:
    first = load_workbook(io.BytesIO(good))[SPEC]["A5"].value
    spaced = edit(good, on_sheet(lambda ws: ws.move_range("A6:J6", rows=10)))
    verdict = judged(tmp_path, spaced, context)
    assert verdict.outcome == "accepted"
    frame = verdict.frames["specialities"]
    assert frame["row_number"].to_list() == [1, 12]
    assert frame["speciality"].to_list()[0] == first
    assert set(verdict.cells[SPEC]) == {f"{c}{r}" for c in "ABCDEFGHIJ" for r in (5, 16)}


def test_fewer_rows_than_the_form_needs(good: bytes, form: Form, collections_by_form: dict[str, Collection],
                                        tmp_path: Path) -> None:
    from dataclasses import replace
    needy = replace(form, sheets=(replace(form.sheets[0], min_rows=3),))
    collection = collections_by_form[form.id]
    context = Context.build([collection], [needy], {collection.id: [org_for(collection).login]}, SECRET, NOW)
    verdict = judged(tmp_path, good, context)
    assert findings(verdict) == [(
        "error", "too-few-rows", None,
        "Лист «Специальности»: заполнено строк: 2, а нужно не меньше 3. Заполните недостающие строки.")]
