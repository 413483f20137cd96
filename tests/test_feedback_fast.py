"""The spliced annotated workbook (FeedbackFactory) against the reference renderer
(render_feedback): the same sheets, values, fills, comments, links, validations and layout, read
back with openpyxl, for every form; the one intended difference (a marked empty entry cell stays
unlocked); the fall-back; and the corrected file going straight back in."""

from __future__ import annotations

import io
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from flows.simulate import fill as simulate_fill
from flows.simulate import good_values, spoil
from forms import MOSCOW, Collection, Finding, Form, layout
from templates import FINDINGS_SHEET, FeedbackFactory, TemplateFactory, render_feedback
from tests.workbooks import SECRET, fill, org_for, sample_org
from validators import Context, judge

SHEET = "Специальности"
SPECIALITY = "38.02.01 Экономика и бухгалтерский учет (по отраслям)"


def _dump(data: bytes) -> dict[str, Any]:
    """Everything a school sees in the workbook, as openpyxl reads it."""
    wb = load_workbook(io.BytesIO(data))
    out: dict[str, Any] = {"sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets],
                           "active": wb.active.title if wb.active else None,
                           "names": sorted(wb.defined_names)}
    for ws in wb.worksheets:
        out[ws.title] = {
            c.coordinate: (c.value, c.fill.fgColor.rgb if c.fill.fill_type else None,
                           c.comment.text if c.comment else None, c.number_format, c.protection.locked,
                           c.font.b, c.hyperlink.location if c.hyperlink else None)
            for row in ws.iter_rows() for c in row
            if c.value is not None or c.comment is not None or c.fill.fill_type
        }
        out[f"{ws.title}: layout"] = (
            sorted(str(dv.sqref) for dv in ws.data_validations.dataValidation),
            sorted(str(m) for m in ws.merged_cells.ranges),
            {k: v.height for k, v in ws.row_dimensions.items() if v.height},
            {k: v.width for k, v in ws.column_dimensions.items()},
            ws.auto_filter.ref, ws.freeze_panes, ws.protection.sheet, ws.sheet_view.tabSelected,
        )
    return out


def _differences(reference: dict[str, Any], fast: dict[str, Any]) -> list[str]:
    """What differs, but the style of marked empty cells (see the next-but-one test)."""
    found = []
    for dump in (reference, fast):
        for _key, cells in dump.items():
            if isinstance(cells, dict):
                for address, (value, fill, *rest) in list(cells.items()):
                    if value is None and fill is not None:
                        cells[address] = (value, fill, rest[0], None, None, *rest[3:])
    for key in sorted(set(reference) | set(fast)):
        a, b = reference.get(key), fast.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += [f"{key}!{k}: {a.get(k)} != {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            found.append(f"{key}: {a} != {b}")
    return found


def _judged(form: Form, collection: Collection, rng: random.Random, tmp_path: Path, mistakes: int) -> Any:
    """A school's template filled by the simulated school, with ``mistakes``, and judged."""
    org = org_for(collection, number=rng.randint(1, 999))
    template = TemplateFactory(form, collection, SECRET).render(org)
    values = spoil(form, good_values(form, collection, org, rng), rng, mistakes)
    path = tmp_path / f"{form.id}.xlsx"
    path.write_bytes(simulate_fill(template, form, values))
    moment = collection.opens if collection.opens.tzinfo else collection.opens.replace(tzinfo=MOSCOW)
    context = Context.build([collection], [form], {collection.id: [org.login]}, SECRET, moment)
    return org, judge(path, context), context


@pytest.mark.parametrize("form_id", ["spo_specialities", "vpr_org_info", "vpr_spo_schedule"])
def test_spliced_feedback_is_the_reference_workbook(form_id: str, forms_by_id: dict[str, Form],
                                                    collections_by_form: dict[str, Collection],
                                                    tmp_path: Path) -> None:
    form, collection = forms_by_id[form_id], collections_by_form[form_id]
    factory = FeedbackFactory(form, collection, SECRET)
    assert factory.spliced
    rng = random.Random(form_id)
    for mistakes in (1, 4):
        org, verdict, _ = _judged(form, collection, rng, tmp_path, mistakes)
        assert verdict.cells and verdict.findings
        reference = render_feedback(form, collection, org, SECRET, verdict.cells, verdict.findings, "отчёт.xlsx")
        fast = factory.render(org, verdict.cells, verdict.findings, "отчёт.xlsx")
        assert _differences(_dump(reference), _dump(fast)) == []


def test_marks_on_headers_far_cells_and_other_sheets(forms_by_id: dict[str, Form],
                                                     collections_by_form: dict[str, Collection]) -> None:
    """A mark on a commented header cell keeps the hint below it; a far cell is listed, not
    marked; an unknown sheet and file-level findings are listed without links."""
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    where = f"Лист «{SHEET}»"
    cells = {SHEET: {"A5": SPECIALITY, "B5": "Математика", "D5": "два", "E5": "=1+1", "F5": 12.5, "J5": "да",
                     "L7": "заметка"}}
    findings = [
        Finding("not-a-number", "error", f"{where}, ячейка D5 (графа 2): «два» — не число.", "f.xlsx", SHEET, "D5", "2",
                "два"),
        Finding("header-changed", "warning", f"{where}, ячейка C3: заголовок изменён.", "f.xlsx", SHEET, "C3", "1.2"),
        Finding("header-changed", "error", f"{where}, ячейка C3: и ещё <раз> & «так».", "f.xlsx", SHEET, "C3", "1.2"),
        Finding("outside", "warning", f"{where}, ячейка L7: значение вне таблицы.", "f.xlsx", SHEET, "L7"),
        Finding("too-many-rows", "error", f"{where}, ячейка A100000: больше строк.", "f.xlsx", SHEET, "A100000"),
        Finding("missing-sheet", "error", "Лист «Старый» не найден.", "f.xlsx", "Старый", "B2"),
        Finding("window-closed", "error", "Сбор закрыт.", "f.xlsx"),
    ]
    org = sample_org()
    reference = _dump(render_feedback(form, collection, org, SECRET, cells, findings, "f.xlsx"))
    fast = _dump(FeedbackFactory(form, collection, SECRET).render(org, cells, findings, "f.xlsx"))
    assert _differences(reference, fast) == []
    header = fast[SHEET]["C3"]  # the worst severity's colour, every message, the hint kept below
    assert header[0] == "Профильный предмет (завершившие)" and header[1] == "FFFF9999"
    assert header[2].startswith("Предупреждение: ") and "\nОшибка: " in header[2] and "\n\n" in header[2]
    assert "L7" not in fast[SHEET] or fast[SHEET]["L7"][0] is None  # outside the table: not refilled


def test_a_marked_empty_cell_can_be_typed_into(forms_by_id: dict[str, Form],
                                              collections_by_form: dict[str, Collection]) -> None:
    """The one difference from the reference: a required cell left empty is marked with its
    column's style under the fill (unlocked, its number format), not the locked default."""
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    cells = {SHEET: {"A5": SPECIALITY, "B5": "Математика", "C5": "—", "D5": 2, "F5": 20, "G5": 10}}
    findings = [Finding("required", "error", f"Лист «{SHEET}», ячейка E5 (графа 3): не заполнено.",
                        "f.xlsx", SHEET, "E5", "3")]
    org = sample_org()
    fast = load_workbook(io.BytesIO(FeedbackFactory(form, collection, SECRET).render(org, cells, findings, "f.xlsx")))
    cell = fast[SHEET]["E5"]
    assert cell.value is None and cell.fill.fgColor.rgb == "FFFF9999"
    assert cell.protection.locked is False and cell.number_format == "0"
    assert cell.comment is not None and cell.comment.text.startswith("Ошибка: ")
    assert fast[SHEET].protection.sheet


def test_a_mark_on_a_service_sheet_falls_back_to_the_reference(forms_by_id: dict[str, Form],
                                                               collections_by_form: dict[str, Collection]) -> None:
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    cells = {SHEET: {"A5": SPECIALITY}}
    findings = [Finding("title-changed", "error", "Лист «Титул», ячейка B5: изменено.", "f.xlsx",
                        layout.TITLE_SHEET, "B5")]
    org = sample_org()
    fast = _dump(FeedbackFactory(form, collection, SECRET).render(org, cells, findings, "f.xlsx"))
    assert fast[layout.TITLE_SHEET]["B5"][1] == "FFFF9999"
    assert _differences(_dump(render_feedback(form, collection, org, SECRET, cells, findings, "f.xlsx")), fast) == []


def test_the_corrected_spliced_feedback_is_accepted(forms_by_id: dict[str, Form],
                                                   collections_by_form: dict[str, Collection],
                                                   tmp_path: Path) -> None:
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    org = sample_org("spo", specialities=("38.02.01",))
    context = Context.build([collection], [form], {collection.id: [org.login]}, SECRET,
                            datetime(2026, 11, 20, 12, tzinfo=MOSCOW))
    row = {"1": SPECIALITY, "1.1": "Математика", "1.2": "—", "2": 2, "3": 34, "3.1": 20, "3.2": 10,
           "4": 25, "5": 40, "6": "Нет"}
    sent = tmp_path / "sent.xlsx"
    sent.write_bytes(fill(TemplateFactory(form, collection, SECRET).render(org), {SHEET: [row]}))
    verdict = judge(sent, context)
    assert verdict.outcome == "rejected" and [f.cell for f in verdict.findings] == ["E5"]
    back = load_workbook(io.BytesIO(FeedbackFactory(form, collection, SECRET).render(
        org, verdict.cells, verdict.findings, sent.name)))
    assert back.sheetnames[0] == FINDINGS_SHEET and back[FINDINGS_SHEET]["C5"].hyperlink.location == f"'{SHEET}'!E5"
    assert back[SHEET]["E5"].fill.fgColor.rgb == "FFFF9999"
    back[SHEET]["E5"] = 30
    fixed = tmp_path / "fixed.xlsx"
    back.save(fixed)
    assert judge(fixed, context).outcome == "accepted"
    # Untouched, the spliced file is the school's own template again: identified and read.
    again = tmp_path / "again.xlsx"
    again.write_bytes(FeedbackFactory(form, collection, SECRET).render(org, verdict.cells, verdict.findings, sent.name))
    assert judge(again, context).outcome == "rejected"
