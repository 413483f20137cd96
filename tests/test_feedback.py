"""What a school gets back: its own values in a fresh signed template with every finding marked
and listed, or a receipt for an accepted file."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from python_calamine import CalamineWorkbook

from forms import MOSCOW, Collection, Finding, Form, Identity, layout
from templates import (
    FINDINGS_SHEET,
    RECEIPT_SHEET,
    REFUSAL_SHEET,
    TemplateFactory,
    render_feedback,
    render_receipt,
    render_refusal,
)
from templates.answers import HEADERS, plural
from tests.workbooks import SECRET, fill, sample_org

SHEET = "Специальности"
SPECIALITY = "38.02.01 Экономика и бухгалтерский учет (по отраслям)"


def _open(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


@pytest.fixture()
def spo(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> tuple[Form, Collection]:
    return forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]


def _school_cells() -> dict[str, dict[str, object]]:
    # Two rows as typed: numbers as numbers, a wrong text in a number column, a formula-like text.
    return {SHEET: {
        "A5": SPECIALITY, "B5": "Математика", "C5": "—", "D5": 2, "E5": 34, "F5": 20, "G5": 10,
        "H5": 25, "I5": 40, "J5": "Нет",
        "A6": SPECIALITY, "B6": "Физика", "C6": "—", "D6": "два", "E6": "=1+1", "F6": 12.5,
        "H6": 10, "I6": 5, "J6": "да",
    }}


def _findings(file: str) -> list[Finding]:
    where = f"Лист «{SHEET}»"
    return [
        Finding("rule:applications-vs-quota", "warning", f"{where}, ячейка I6 (графа 5): заявлений меньше.",
                file, SHEET, "I6", "5", "5"),
        Finding("rule:students-sum", "error", f"{where}, ячейка E5 (графа 3): сумма граф 3.1 и 3.2 не равна графе 3.",
                file, SHEET, "E5", "3", "34"),
        Finding("not-a-number", "error", f"{where}, ячейка D6 (графа 2): «два» — не число.",
                file, SHEET, "D6", "2", "два"),
        Finding("duplicate-key", "error", f"{where}, ячейка A6 (графа 1): строка повторяется.",
                file, SHEET, "A6", "1", SPECIALITY),
        Finding("yes-no-case", "note", f"{where}, ячейка J6 (графа 6): «да» прочитано как «Да».",
                file, SHEET, "J6", "6", "да"),
        Finding("header-changed", "warning", f"{where}, ячейка C3: заголовок изменён.", file, SHEET, "C3", "1.2"),
        Finding("too-many-rows", "error", f"{where}, ячейка A100000: больше строк, чем можно.",
                file, SHEET, "A100000"),
        Finding("missing-sheet", "error", "Лист «Старый» не найден.", file, "Старый", None),
        Finding("window-closed", "error", "Сбор закрыт.", file),
    ]


def test_feedback_refills_marks_and_lists_every_finding(spo: tuple[Form, Collection]) -> None:
    form, collection = spo
    org = sample_org("spo")
    findings = _findings("отчёт.xlsx")
    data = render_feedback(form, collection, org, SECRET, _school_cells(), findings, "отчёт.xlsx")
    wb = _open(data)

    assert wb.sheetnames[0] == FINDINGS_SHEET and wb.active.title == FINDINGS_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [FINDINGS_SHEET]
    assert wb.sheetnames[1:] == [layout.TITLE_SHEET, layout.INSTRUCTION_SHEET, SHEET,
                                 layout.LISTS_SHEET, layout.IDENTITY_SHEET]

    # The school's values, as typed; text that looks like a formula stays text.
    ws = wb[SHEET]
    for address, value in _school_cells()[SHEET].items():
        assert ws[address].value == value, address
    assert ws["E6"].data_type == "s"
    # Only the school's rows: the registry's prefill (three specialities) is not restored.
    assert ws["A7"].value is None and ws.max_row < 100

    # Marks: red for errors, yellow for warnings, the message as a comment.
    assert ws["E5"].fill.fgColor.rgb == "FFFF9999"
    assert "сумма граф 3.1 и 3.2" in ws["E5"].comment.text
    assert ws["I6"].fill.fgColor.rgb == "FFFFEB84"
    assert ws["I6"].comment.text.startswith("Предупреждение: ")
    assert ws["D6"].comment.text.startswith("Ошибка: ")
    assert ws["C3"].fill.fgColor.rgb == "FFFFEB84"
    assert "заголовок изменён" in ws["C3"].comment.text
    assert "Если профильного предмета нет" in ws["C3"].comment.text  # the hint is kept below
    # A row rule marks every cell it adds up (3.1 in F5, 3.2 in G5), not only its total in E5.
    for address in ("F5", "G5"):
        assert ws[address].fill.fgColor.rgb == "FFFF9999", address
        assert "сумма граф 3.1 и 3.2" in ws[address].comment.text, address
    # Unmarked cells keep the template's look; the entry area stays open.
    assert ws["H5"].fill.fgColor.rgb != "FFFF9999"
    assert not ws["E5"].protection.locked and ws.protection.sheet

    # The «Ошибки» sheet: every finding, errors first, with links to the cells.
    errors = wb[FINDINGS_SHEET]
    header = layout_row(errors, 4)
    assert header == list(HEADERS)
    listed = [layout_row(errors, r) for r in range(5, 5 + len(findings))]
    assert [r[0] for r in listed] == list(range(1, len(findings) + 1))
    assert [r[6] for r in listed] == ["ошибка"] * 6 + ["предупреждение"] * 2 + ["замечание"]
    assert listed[0][1:4] == [None, None, None] and listed[0][5] == "Сбор закрыт."
    assert {tuple(r[1:3]) for r in listed} == {(f.worksheet, f.cell) for f in findings}
    row_e5 = next(r for r in range(5, 5 + len(findings)) if errors.cell(r, 3).value == "E5")
    assert errors.cell(row_e5, 3).hyperlink.location == f"'{SHEET}'!E5"
    # The value typed as a number is stored as a number; the field number stays text.
    assert errors.cell(row_e5, 5).value == 34 and errors.cell(row_e5, 4).value == "3"
    assert errors.freeze_panes == "A5"
    assert errors.auto_filter.ref == f"A4:G{4 + len(findings)}"
    assert "не принят: 6 ошибок, 2 предупреждения" in str(errors["A1"].value)

    # A fresh signed template: the identity verifies, so the corrected file can be sent back.
    ids = {str(c.value): str(v.value) for c, v in wb[layout.IDENTITY_SHEET].iter_rows(max_col=2)}
    identity = Identity(ids["collection"], ids["login"], ids["form"], int(ids["version"]), ids["fingerprint"])
    assert ids["login"] == org.login and identity.verify(SECRET, ids["signature"])
    assert wb[layout.IDENTITY_SHEET].sheet_state == "veryHidden"
    assert wb[SHEET].data_validations.dataValidation  # dropdowns and checks are back in place

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_name(SHEET).to_python()
    assert rows[4][:5] == [SPECIALITY, "Математика", "—", 2, 34]


def test_a_marked_empty_entry_cell_stays_open(spo: tuple[Form, Collection]) -> None:
    # G6 (графа 3.2) was left empty: marked as required, the school must still be able to type.
    form, collection = spo
    missing = Finding("required", "error", f"Лист «{SHEET}», ячейка G6 (графа 3.2): не заполнено.",
                      "отчёт.xlsx", SHEET, "G6", "3.2")
    ws = _open(render_feedback(form, collection, sample_org("spo"), SECRET, _school_cells(), [missing],
                               "отчёт.xlsx"))[SHEET]
    assert ws["G6"].value is None and ws["G6"].fill.fgColor.rgb == "FFFF9999"
    assert not ws["G6"].protection.locked and ws.protection.sheet
    assert ws["G6"].number_format == ws["G5"].number_format


def layout_row(ws: object, row: int) -> list[object]:
    return [ws.cell(row, c).value for c in range(1, 8)]  # type: ignore[attr-defined]


def test_feedback_on_a_card(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> None:
    form = forms_by_id["vpr_org_info"]
    collection = collections_by_form["vpr_org_info"]
    sheet = form.sheets[0]
    phone = layout.card_cell(sheet, "4").address
    ready = layout.card_cell(sheet, "18").address
    cells = {sheet.name: {layout.card_cell(sheet, "1").address: "Школа №1", phone: "8 (495) 123",
                          ready: date(2027, 3, 1), "D7": "вне области", "C2": "поверх подсказки"}}
    message = f"Лист «{sheet.name}», ячейка {phone} (строка 4): телефон не в формате +7XXXXXXXXXX."
    finding = Finding("rule:phone-format", "error", message, "f.xlsx", sheet.name, phone, "4", "8 (495) 123")
    wb = _open(render_feedback(form, collection, sample_org("edu"), SECRET, cells, [finding], "f.xlsx"))
    ws = wb[sheet.name]
    assert ws[phone].value == "8 (495) 123" and ws[phone].fill.fgColor.rgb == "FFFF9999"
    assert message in ws[phone].comment.text
    assert ws[ready].value == datetime(2027, 3, 1) and ws[ready].number_format == "DD.MM.YYYY"
    assert ws["D7"].value is None  # outside the answers: not written
    assert ws["C2"].value is None
    assert ws[layout.card_cell(sheet, "1").address].value == "Школа №1"
    assert wb[FINDINGS_SHEET]["C5"].hyperlink.location == f"'{sheet.name}'!{phone}"


def test_receipt_says_what_was_loaded_and_when(spo: tuple[Form, Collection]) -> None:
    _, collection = spo
    org = sample_org("spo")
    warning = Finding("rule:applications-vs-quota", "warning", "Лист «Специальности», ячейка I6 (графа 5): проверьте.",
                      "f.xlsx", SHEET, "I6", "5", "5")
    note = Finding("decimal-comma", "note", "Лист «Специальности», ячейка F6: «12,5» прочитано как 12.5.",
                   "f.xlsx", SHEET, "F6", "3.1", "12,5")
    data = render_receipt(collection, org, submission_id=417, file_name="отчёт.xlsx", sha256="ab" * 32,
                          received_at=datetime(2026, 11, 21, 21, 30, tzinfo=UTC),
                          rows_loaded={SHEET: 3}, findings=[note, warning])
    wb = _open(data)
    assert wb.sheetnames == [RECEIPT_SHEET]
    values = {str(r[0].value): r[1].value for r in wb[RECEIPT_SHEET].iter_rows(max_col=2) if r[0].value}
    assert values["Статус"] == "Принят с предупреждениями"
    assert values["Номер приёма"] == 417
    assert values["SHA-256 файла"] == "ab" * 32
    assert values["Получен"] == "22.11.2026 00:30 (мск)"
    assert values["Логин"] == org.login and values["Файл"] == "отчёт.xlsx"
    assert values[f"Лист «{SHEET}»"] == "3 строки"
    assert values["Предупреждения и замечания"] == "2"
    assert values["Лист «Специальности», ячейка I6 (графа 5)"].startswith("Предупреждение: ")
    assert values["Лист «Специальности», ячейка F6 (графа 3.1)"].startswith("Замечание: ")
    plain = render_receipt(collection, org, submission_id=1, file_name="f.xlsx", sha256="0" * 64,
                           received_at=datetime(2026, 11, 22, 0, 30), rows_loaded={SHEET: 1}, findings=[])
    rows = CalamineWorkbook.from_filelike(io.BytesIO(plain)).get_sheet_by_name(RECEIPT_SHEET).to_python()
    flat = [c for row in rows for c in row]
    assert "Принят" in flat and "1 строка" in flat and "22.11.2026 00:30 (мск)" in flat


def test_corrected_feedback_goes_straight_back(spo: tuple[Form, Collection], tmp_path: Path) -> None:
    """Template → school fills with a mistake → rejected → feedback → the school fixes the
    marked cell in that very file → accepted (the «Ошибки» sheet may stay)."""
    from validators import Context, judge

    form, collection = spo
    org = sample_org("spo", specialities=("38.02.01",))
    context = Context.build([collection], [form], {collection.id: [org.login]}, SECRET,
                            datetime(2026, 11, 20, 12, tzinfo=MOSCOW))
    row = {"1": SPECIALITY, "1.1": "Математика", "1.2": "—", "2": 2, "3": 34, "3.1": 20, "3.2": 10,
           "4": 25, "5": 40, "6": "Нет"}
    sent = tmp_path / "sent.xlsx"
    sent.write_bytes(fill(TemplateFactory(form, collection, SECRET).render(org), {SHEET: [row]}))
    verdict = judge(sent, context)
    assert verdict.outcome == "rejected" and [f.cell for f in verdict.findings] == ["E5"]
    back = _open(render_feedback(form, collection, org, SECRET, verdict.cells, verdict.findings, sent.name))
    assert back[SHEET]["E5"].fill.fgColor.rgb == "FFFF9999"
    back[SHEET]["E5"] = 30
    fixed = tmp_path / "fixed.xlsx"
    back.save(fixed)
    assert judge(fixed, context).outcome == "accepted"


def test_refusal_lists_every_reason() -> None:
    findings = [Finding("forged-identity", "error", "Файл «x.xlsx»: подпись шаблона не сходится.", "x.xlsx"),
                Finding("not-xlsx", "error", "Файл «x.xlsx»: это не книга Excel (.xlsx).", "x.xlsx")]
    data = render_refusal(file_name="x.xlsx", sha256="cd" * 32,
                          received_at=datetime(2026, 11, 22, 9, 5), findings=findings)
    ws = _open(data)[REFUSAL_SHEET]
    values = [(r[0].value, r[1].value) for r in ws.iter_rows(max_col=2)]
    assert ws["A1"].value == "Файл не принят"
    assert ("Получен", "22.11.2026 09:05 (мск)") in values and ("SHA-256 файла", "cd" * 32) in values
    assert ("Причины", "2") in values
    assert [v for k, v in values if k == "Файл"][1:] == [f.message for f in findings]


@pytest.mark.parametrize(("n", "expected"), [(1, "1 ошибка"), (2, "2 ошибки"), (5, "5 ошибок"),
                                             (11, "11 ошибок"), (21, "21 ошибка"), (112, "112 ошибок"),
                                             (24, "24 ошибки")])
def test_russian_plural(n: int, expected: str) -> None:
    assert plural(n, "ошибка", "ошибки", "ошибок") == expected
