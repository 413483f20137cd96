"""Every cell finding on a real template: fill it correctly, break one cell, judge it, and assert
the exact cell, code, severity and whole message a school reads. Normalisations come back as
notes, never silently."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

from forms import MOSCOW, Collection, Form
from templates import render_template
from tests.workbooks import SECRET, fill, org_for, set_cells
from validators import Context, Verdict, judge

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
SPEC = "Специальности"
PAPER = "РАБОТЫ НА БЛАНКЕ"
CARD = "Сведения об ОО"
# Manual 001, Рис. 23: the data of one organisation as the coordinator sees it.
MANUAL_ROWS = [
    ("38.02.01", "Математика", "Математика", 1, 24, 24, 0, 25, 25, "Нет"),
    ("38.02.05", "Математика", "Биология", 1, 24, 24, 0, 25, 25, "Нет"),
    ("40.02.03", "—", "Математика", 1, 25, 0, 25, 0, 25, "Нет"),
    ("40.02.04", "Обществознание", "—", 1, 0, 0, 0, 0, 0, "Нет"),
    ("43.02.17", "Химия", "—", 1, 0, 0, 0, 0, 0, "Да"),
]
PAPER_ROW = {"1": "Математика", "2": date(2027, 3, 2), "3": 2, "4": 40, "5": date(2027, 3, 3), "6": 1, "7": 20}
NOT_TAKING_PART = [{"1": "не участвует"}]
CARD_VALUES: dict[str, Any] = {
    "2": "Иванова Мария Петровна", "3": "Заместитель директора", "4": "+79161234567",
    "5": "school@example.ru", "6": 20, "7": 15, "8": 3, "9": "На компьютерах",
    **{str(n): "Да" for n in range(10, 17)}, "17": 850, "18": date(2027, 3, 1),
}


def speciality(form: Form, code: str) -> str:
    """The list value «code name» of a speciality code, as the dropdown shows it."""
    return next(v for v in form.choices_for(form.sheets[0].field("1")) if v.startswith(code + " "))


def manual_rows(form: Form) -> list[dict[str, Any]]:
    numbers = [f.number for f in form.sheets[0].fields]
    return [dict(zip(numbers, (speciality(form, row[0]), *row[1:]), strict=True)) for row in MANUAL_ROWS]


@pytest.fixture(scope="module")
def context(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> Context:
    collections = list(collections_by_form.values())
    participants = {c.id: [org_for(c).login] for c in collections}
    return Context.build(collections, forms_by_id.values(), participants, SECRET, NOW)


@pytest.fixture(scope="module")
def good(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> dict[str, bytes]:
    """A correctly filled workbook of every form, by form id."""
    values: dict[str, dict[str, Any]] = {
        "spo_specialities": {SPEC: manual_rows(forms_by_id["spo_specialities"])},
        "vpr_spo_schedule": {PAPER: [PAPER_ROW], "МЕТАПРЕДМЕТ НА КОМПЬЮТЕРЕ": NOT_TAKING_PART,
                             "РАБОТЫ НА КОМПЬЮТЕРЕ": NOT_TAKING_PART},
        "vpr_org_info": {CARD: CARD_VALUES},
    }
    out = {}
    for form_id, given in values.items():
        form, collection = forms_by_id[form_id], collections_by_form[form_id]
        out[form_id] = fill(render_template(form, collection, org_for(collection), SECRET), given, form)
    return out


def judged(tmp_path: Path, data: bytes, context: Context) -> Verdict:
    path = tmp_path / "отчёт.xlsx"
    path.write_bytes(data)
    return judge(path, context)


@pytest.mark.parametrize("form_id", ["spo_specialities", "vpr_spo_schedule", "vpr_org_info"])
def test_a_correct_workbook_is_accepted_without_findings(good: dict[str, bytes], context: Context,
                                                         tmp_path: Path, form_id: str) -> None:
    verdict = judged(tmp_path, good[form_id], context)
    assert (verdict.outcome, verdict.findings) == ("accepted", ())


P = "Лист «Специальности», ячейка"
B = "Лист «РАБОТЫ НА БЛАНКЕ», ячейка"
K = "Лист «Сведения об ОО», ячейка"

CASES: list[tuple[str, str, str, Any, str, str, str, str]] = [
    # form, worksheet, cell, typed value → outcome, severity, code, message
    ("spo_specialities", SPEC, "E5", "abc", "rejected", "error", "not-a-number",
     f"{P} E5 (графа 3): «abc» — не число. Введите целое число цифрами, например 25."),
    ("spo_specialities", SPEC, "D5", 1.5, "rejected", "error", "not-an-integer",
     f"{P} D5 (графа 2): «1,5» — не целое число. Введите целое число, например 25."),
    ("spo_specialities", SPEC, "E6", "25,5", "rejected", "error", "not-an-integer",
     f"{P} E6 (графа 3): «25,5» — не целое число. Введите целое число, например 25."),
    ("spo_specialities", SPEC, "E5", 10**20, "rejected", "error", "number-too-large",
     f"{P} E5 (графа 3): число 1e+20 слишком велико для этой графы. Проверьте значение."),
    ("spo_specialities", SPEC, "J5", "может быть", "rejected", "error", "not-yes-no",
     f"{P} J5 (графа 6): «может быть» — нужно «Да» или «Нет». Выберите значение из списка."),
    ("spo_specialities", SPEC, "B5", "Алгебра", "rejected", "error", "not-in-list",
     f"{P} B5 (графа 1.1): значения «Алгебра» нет в списке. Выберите значение из выпадающего списка."),
    ("spo_specialities", SPEC, "H7", None, "rejected", "error", "required",
     f"{P} H7 (графа 4): графа не заполнена. Заполните ячейку."),
    ("spo_specialities", SPEC, "D5", 0, "rejected", "error", "below-minimum",
     f"{P} D5 (графа 2): значение 0 меньше допустимого. Введите число не меньше 1."),
    ("spo_specialities", SPEC, "D5", 5, "rejected", "error", "above-maximum",
     f"{P} D5 (графа 2): значение 5 больше допустимого. Введите число не больше 4."),
    ("spo_specialities", SPEC, "E5", 30, "rejected", "error", "rule:students-sum",
     f"{P} E5 (графа 3): сумма граф 3.1 и 3.2 (24 + 0) не равна графе 3 (30). Исправьте графу 3 "
     "или графы 3.1 и 3.2."),
    ("spo_specialities", SPEC, "I5", 20, "accepted_with_warnings", "warning", "rule:applications-vs-quota",
     f"{P} I5 (графа 5): заявлений (20) меньше, чем бюджетных мест (25). Проверьте графы 4 и 5."),
    # notes: read after a friendly normalisation, and said so
    ("spo_specialities", SPEC, "E5", "24,0", "accepted", "note", "decimal-comma",
     f"{P} E5 (графа 3): число «24,0» записано как текст с десятичной запятой; принято как 24."),
    ("spo_specialities", SPEC, "E5", " 24 ", "accepted", "note", "number-as-text",
     f"{P} E5 (графа 3): число « 24 » записано как текст; принято как 24."),
    ("spo_specialities", SPEC, "I5", "1 025", "accepted", "note", "number-as-text",
     f"{P} I5 (графа 5): число «1 025» записано как текст; принято как 1025."),
    ("spo_specialities", SPEC, "J5", "ДА", "accepted", "note", "yes-no-normalised",
     f"{P} J5 (графа 6): «ДА» принято как «Да»."),
    ("spo_specialities", SPEC, "J6", "нет ", "accepted", "note", "yes-no-normalised",
     f"{P} J6 (графа 6): «нет » принято как «Нет»."),
    ("spo_specialities", SPEC, "B5", " математика ", "accepted", "note", "choice-normalised",
     f"{P} B5 (графа 1.1): « математика » принято как «Математика» из списка."),
    ("spo_specialities", SPEC, "A5", "38.02.01", "accepted", "note", "choice-normalised",
     f"{P} A5 (графа 1): «38.02.01» принято как «38.02.01 Экономика и бухгалтерский учет "
     "(по отраслям)» из списка."),
    ("vpr_spo_schedule", PAPER, "B5", "02.03.2027", "accepted", "note", "date-as-text",
     f"{B} B5 (графа 2): дата «02.03.2027» записана как текст; принята как 02.03.2027."),
    ("vpr_spo_schedule", PAPER, "B5", "2027-03-02", "accepted", "note", "date-as-text",
     f"{B} B5 (графа 2): дата «2027-03-02» записана как текст; принята как 02.03.2027."),
    ("vpr_spo_schedule", PAPER, "B5", datetime(2027, 3, 2, 10, 30), "accepted", "note", "time-dropped",
     f"{B} B5 (графа 2): у даты «02.03.2027 10:30» отброшено время; принята как 02.03.2027."),
    ("vpr_spo_schedule", PAPER, "B5", "32.03.2027", "rejected", "error", "not-a-date",
     f"{B} B5 (графа 2): «32.03.2027» — не дата. Введите дату в формате ДД.ММ.ГГГГ, например 03.02.2027."),
    ("vpr_spo_schedule", PAPER, "B5", "02.03.27", "rejected", "error", "not-a-date",
     f"{B} B5 (графа 2): «02.03.27» — не дата. Введите дату в формате ДД.ММ.ГГГГ, например 03.02.2027."),
    ("vpr_spo_schedule", PAPER, "B5", date(2027, 4, 2), "rejected", "error", "outside-period",
     f"{B} B5 (графа 2): дата 02.04.2027 вне периода проведения. Введите дату с 01.02.2027 по 31.03.2027."),
    ("vpr_spo_schedule", PAPER, "C5", None, "rejected", "error", "rule:first-needs-rooms",
     f"{B} C5 (графа 3): указаны участники 1 курса (40), но не указано количество аудиторий. "
     "Заполните графу 3."),
    ("vpr_spo_schedule", PAPER, "A5", "Астрономия", "rejected", "error", "not-in-list",
     f"{B} A5 (графа 1): значения «Астрономия» нет в списке. Выберите значение из выпадающего списка."),
    ("vpr_org_info", CARD, "C7", "8 916 123-45-67", "rejected", "error", "rule:phone-format",
     f"{K} C7 (строка 4): телефон «8 916 123-45-67» не в формате +7XXXXXXXXXX. Исправьте строку 4."),
    ("vpr_org_info", CARD, "C10", 25, "rejected", "error", "rule:online-not-above-total",
     f"{K} C10 (строка 7): компьютеров с доступом в Интернет (25) больше, чем всего компьютеров (20). "
     "Исправьте строку 7 или 6."),
    ("vpr_org_info", CARD, "C6", "д" * 201, "rejected", "error", "too-long",
     f"{K} C6 (строка 3): текст длиннее 200 символов (201). Сократите его."),
    ("vpr_org_info", CARD, "C5", "  Иванова Мария Петровна ", "accepted", "note", "spaces-trimmed",
     f"{K} C5 (строка 2): лишние пробелы в «  Иванова Мария Петровна » удалены; принято «Иванова "
     "Мария Петровна»."),
    ("vpr_org_info", CARD, "C8", None, "rejected", "error", "required",
     f"{K} C8 (строка 5): графа не заполнена. Заполните ячейку."),
]


@pytest.mark.parametrize(("form_id", "worksheet", "cell", "value", "outcome", "severity", "code", "message"),
                         CASES, ids=[f"{c[6]}-{c[2]}" for c in CASES])
def test_one_broken_cell(good: dict[str, bytes], context: Context, tmp_path: Path, form_id: str,
                         worksheet: str, cell: str, value: Any, outcome: str, severity: str, code: str,
                         message: str) -> None:
    verdict = judged(tmp_path, set_cells(good[form_id], worksheet, {cell: value}), context)
    assert [(f.severity, f.code, f.worksheet, f.cell, f.message) for f in verdict.findings] == [
        (severity, code, worksheet, cell, message)]
    assert verdict.outcome == outcome
    assert verdict.findings[0].file == "отчёт.xlsx"


def test_a_negative_term_of_a_sum_is_written_in_parentheses(good: dict[str, bytes], context: Context,
                                                            tmp_path: Path) -> None:
    verdict = judged(tmp_path, set_cells(good["spo_specialities"], SPEC, {"G5": -3}), context)
    rule = [f.message for f in verdict.findings if f.code == "rule:students-sum"]
    assert rule == [f"{P} E5 (графа 3): сумма граф 3.1 и 3.2 (24 + (-3)) не равна графе 3 (24). "
                    "Исправьте графу 3 или графы 3.1 и 3.2."]


def test_a_date_typed_as_a_serial_number(good: dict[str, bytes], context: Context, tmp_path: Path) -> None:
    wb = load_workbook(io.BytesIO(good["vpr_spo_schedule"]))
    cell = wb[PAPER]["B5"]
    cell.value, cell.number_format = 46448, "General"  # 2027-03-02 as Excel counts days
    buffer = io.BytesIO()
    wb.save(buffer)
    verdict = judged(tmp_path, buffer.getvalue(), context)
    assert [(f.severity, f.code, f.cell, f.message) for f in verdict.findings] == [
        ("note", "date-as-number", "B5",
         f"{B} B5 (графа 2): дата записана числом 46448; принята как 02.03.2027.")]
    assert verdict.frames["paper"]["date_first"].to_list() == [date(2027, 3, 2)]


def test_a_repeated_key(good: dict[str, bytes], forms_by_id: dict[str, Form], context: Context,
                        tmp_path: Path) -> None:
    again = speciality(forms_by_id["spo_specialities"], "38.02.01")
    verdict = judged(tmp_path, set_cells(good["spo_specialities"], SPEC, {"A7": again}), context)
    assert [(f.code, f.cell, f.message) for f in verdict.findings] == [
        ("duplicate-key", "A7",
         f"{P} A7 (графа 1): значение «{again}» уже указано в строке 5. Каждое значение указывается "
         "один раз: удалите повторную строку или исправьте значение.")]


def test_a_group_rule_marks_every_row_of_the_group(good: dict[str, bytes], forms_by_id: dict[str, Form],
                                                   collections_by_form: dict[str, Collection],
                                                   context: Context, tmp_path: Path) -> None:
    form, collection = forms_by_id["vpr_spo_schedule"], collections_by_form["vpr_spo_schedule"]
    six = [{"1": "Математика", "2": date(2027, 3, day), "3": 1, "4": 10, "7": 0} for day in range(2, 8)]
    data = fill(render_template(form, collection, org_for(collection), SECRET),
                {PAPER: six, "МЕТАПРЕДМЕТ НА КОМПЬЮТЕРЕ": NOT_TAKING_PART,
                 "РАБОТЫ НА КОМПЬЮТЕРЕ": NOT_TAKING_PART}, form)
    verdict = judged(tmp_path, data, context)
    assert verdict.outcome == "rejected"
    assert [(f.code, f.cell) for f in verdict.findings] == [("rule:five-days-first", f"B{r}") for r in range(5, 11)]
    assert verdict.findings[0].message == (
        f"{B} B5 (графа 2): по предмету «Математика» для 1 курса указано больше пяти разных дней. "
        "Проводите работу не больше чем в пять дней: оставьте не больше пяти разных дат в графе 2.")


def test_a_cell_that_cannot_be_read_is_reported_once(good: dict[str, bytes], context: Context,
                                                     tmp_path: Path) -> None:
    """«32.03.2027» is not a date; the rule «participants need a date» does not add «не указана
    дата» at the same cell."""
    verdict = judged(tmp_path, set_cells(good["vpr_spo_schedule"], PAPER, {"B5": "32.03.2027"}), context)
    assert [f.code for f in verdict.findings] == ["not-a-date"]


def test_every_error_of_a_workbook_is_collected(good: dict[str, bytes], context: Context, tmp_path: Path) -> None:
    broken = set_cells(good["spo_specialities"], SPEC, {"E5": "abc", "D6": 9, "J7": "?", "B8": "Алгебра"})
    verdict = judged(tmp_path, broken, context)
    assert [(f.code, f.cell) for f in verdict.findings] == [
        ("not-a-number", "E5"), ("above-maximum", "D6"), ("not-yes-no", "J7"), ("not-in-list", "B8")]


@pytest.fixture(scope="module")
def decimal_form(forms_by_id: dict[str, Form]) -> Form:
    """The specialities form with graph 5 as a decimal field: no shipped form has one yet."""
    from dataclasses import replace
    form = forms_by_id["spo_specialities"]
    sheet = form.sheets[0]
    fields = tuple(replace(f, type="decimal") if f.number == "5" else f for f in sheet.fields)
    return replace(form, sheets=(replace(sheet, fields=fields),))


@pytest.mark.parametrize(("typed", "value", "found"), [
    (12.5, 12.5, []),
    ("12,5", 12.5, [("note", "decimal-comma", f"{P} I5 (графа 5): число «12,5» записано как текст с "
                                              "десятичной запятой; принято как 12,5.")]),
    ("1 200,75", 1200.75, [("note", "decimal-comma", f"{P} I5 (графа 5): число «1 200,75» записано как "
                                                     "текст с десятичной запятой; принято как 1200,75.")]),
    ("двенадцать", None, [("error", "not-a-number", f"{P} I5 (графа 5): «двенадцать» — не число. Введите "
                                                    "число цифрами, например 25 или 12,5.")]),
])
def test_decimals_are_never_truncated(decimal_form: Form, collections_by_form: dict[str, Collection],
                                      tmp_path: Path, typed: Any, value: float | None,
                                      found: list[tuple[str, str, str]]) -> None:
    collection = collections_by_form[decimal_form.id]
    context = Context.build([collection], [decimal_form], {collection.id: [org_for(collection).login]},
                            SECRET, NOW)
    row = dict(manual_rows(decimal_form)[0], **{"4": 10, "5": typed})
    template = render_template(decimal_form, collection, org_for(collection), SECRET)
    verdict = judged(tmp_path, fill(template, {SPEC: [row]}, decimal_form), context)
    assert [(f.severity, f.code, f.message) for f in verdict.findings] == found
    assert verdict.frames["specialities"]["applications"].to_list() == [value]
    assert verdict.frames["specialities"].schema["applications"] == pl.Float64


def test_a_failure_of_no_check_the_field_lists_is_shown_as_invalid(forms_by_id: dict[str, Form],
                                                                   collections_by_form: dict[str, Collection]) -> None:
    """pandera may fail a cell by a check the field's spec does not list (none does today): the
    school is still told which cell, with the value as typed, never a check's internal name."""
    from validators.rawframe import FILE, ROW, TEXT, kind_column, text_column
    from validators.schema import failures_to_findings

    form = forms_by_id["spo_specialities"]
    sheet = next(s for s in form.sheets if s.name == SPEC)
    field = sheet.fields[2]
    typed = pl.DataFrame({FILE: [0], ROW: [1], field.name: [7]})
    raw = pl.DataFrame({FILE: [0], ROW: [1], text_column(2): ["семь"], kind_column(2): [TEXT]})
    failures = pl.DataFrame({"index": [0], "column": [field.name], "check": ["some_check"],
                             "check_number": [None]}, schema_overrides={"check_number": pl.Int64})
    found = failures_to_findings(failures, typed, raw, form, sheet, collections_by_form[form.id], ["отчёт.xlsx"])
    assert [(x.finding.code, x.finding.severity, x.finding.message) for x in found] == [
        ("invalid", "error", f"{P} C5 (графа 1.2): значение «семь» не подходит для этой графы. "
                             "Исправьте его.")]
