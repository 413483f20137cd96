"""The ВПР СПО schedule as strict as manual 001 (Рис. 14–16): participants are «Число*», an
empty sheet must say «не участвует», the five-day limit counts days, not rows. And the
specialities form's графа 3 names the collection's own school year."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from forms import Collection, Form, SpecError, load_form, school_year, worded
from forms.collection import MOSCOW
from templates import FeedbackFactory, render_template
from tests.workbooks import SECRET, fill, org_for
from validators import Context, Verdict, judge

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
PAPER, META, COMPUTER = "РАБОТЫ НА БЛАНКЕ", "МЕТАПРЕДМЕТ НА КОМПЬЮТЕРЕ", "РАБОТЫ НА КОМПЬЮТЕРЕ"
NOT_TAKING_PART = [{"1": "не участвует"}]
ON_PAPER = "Лист «РАБОТЫ НА БЛАНКЕ»"


@pytest.fixture(scope="module")
def form(forms_by_id: dict[str, Form]) -> Form:
    return forms_by_id["vpr_spo_schedule"]


@pytest.fixture(scope="module")
def collection(collections_by_form: dict[str, Collection]) -> Collection:
    return collections_by_form["vpr_spo_schedule"]


@pytest.fixture(scope="module")
def context(form: Form, collection: Collection) -> Context:
    return Context.build([collection], [form], {collection.id: [org_for(collection).login]}, SECRET, NOW)


def judged(tmp_path: Path, form: Form, collection: Collection, context: Context,
           paper: list[dict[str, Any]] | None, others: list[dict[str, Any]] | None = NOT_TAKING_PART) -> Verdict:
    """The schedule template filled with ``paper`` rows on the paper sheet and ``others`` on the
    two computer sheets (None: the sheet left as the template gives it)."""
    values = {name: rows for name, rows in ((PAPER, paper), (META, others), (COMPUTER, others)) if rows is not None}
    data = render_template(form, collection, org_for(collection), SECRET)
    if values:
        data = fill(data, values, form)
    path = tmp_path / "расписание.xlsx"
    path.write_bytes(data)
    return judge(path, context)


def found(verdict: Verdict) -> list[tuple[str, str | None, str]]:
    return [(f.code, f.cell, f.message) for f in verdict.findings]


def test_a_row_with_only_a_subject_is_refused_at_its_participant_cells(
        form: Form, collection: Collection, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, form, collection, context, [{"1": "Математика"}])
    assert verdict.outcome == "rejected"
    assert found(verdict) == [
        ("rule:participants-first-required", "D5",
         f"{ON_PAPER}, ячейка D5 (графа 4): не указано количество участников 1 курса. "
         "Укажите число (0, если участников 1 курса в этот день нет)."),
        ("rule:participants-final-required", "G5",
         f"{ON_PAPER}, ячейка G5 (графа 7): не указано количество участников «Завершившие». "
         "Укажите число (0, если таких участников в этот день нет)."),
    ]


def test_zero_participants_of_a_category_is_an_answer(form: Form, collection: Collection, context: Context,
                                                      tmp_path: Path) -> None:
    row = {"1": "Математика", "2": date(2027, 3, 2), "3": 2, "4": 40, "7": 0}
    verdict = judged(tmp_path, form, collection, context, [row])
    assert verdict.outcome == "accepted", found(verdict)
    assert verdict.frames["paper"]["participants_final"].to_list() == [0]


def test_an_empty_workbook_is_refused_sheet_by_sheet_saying_what_to_do(
        form: Form, collection: Collection, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, form, collection, context, None, None)
    assert verdict.outcome == "rejected"
    assert found(verdict) == [
        ("too-few-rows", "A5",
         f"Лист «{name}», ячейка A5 (графа 1): лист не заполнен. Заполните расписание; если работы "
         "этого листа в ОО не проводятся, выберите в графе 1 первой строки «не участвует».")
        for name in (PAPER, META, COMPUTER)
    ]


def test_one_empty_sheet_is_refused_and_not_taking_part_is_the_answer(
        form: Form, collection: Collection, context: Context, tmp_path: Path) -> None:
    row = {"1": "Математика", "2": date(2027, 3, 2), "3": 2, "4": 40, "7": 0}
    refused = judged(tmp_path, form, collection, context, [row], [])
    assert [(f.code, f.worksheet, f.cell) for f in refused.findings] == [
        ("too-few-rows", META, "A5"), ("too-few-rows", COMPUTER, "A5")]
    assert judged(tmp_path, form, collection, context, [row], NOT_TAKING_PART).outcome == "accepted"


def test_six_rows_on_one_day_are_one_day(form: Form, collection: Collection, context: Context,
                                         tmp_path: Path) -> None:
    """Six rooms' worth of rows on 2 March are one day of the five allowed."""
    six = [{"1": "Математика", "2": date(2027, 3, 2), "3": 1, "4": 10, "7": 0} for _ in range(6)]
    verdict = judged(tmp_path, form, collection, context, six)
    assert verdict.outcome == "accepted", found(verdict)
    assert verdict.frames["paper"].height == 6


def test_six_days_are_refused_five_with_a_repeat_are_not(form: Form, collection: Collection, context: Context,
                                                         tmp_path: Path) -> None:
    days = [2, 3, 4, 5, 6, 6]
    five = [{"1": "Химия", "5": date(2027, 3, d), "6": 1, "7": 10, "4": 0} for d in days]
    assert judged(tmp_path, form, collection, context, five).outcome == "accepted"
    six = [{**row, "5": date(2027, 3, d)} for row, d in zip(five, [2, 3, 4, 5, 6, 9], strict=True)]
    verdict = judged(tmp_path, form, collection, context, six)
    assert [(f.code, f.cell) for f in verdict.findings] == [("rule:five-days-final", f"E{r}") for r in range(5, 11)]
    assert verdict.findings[0].message == (
        f"{ON_PAPER}, ячейка E5 (графа 5): по предмету «Химия» для категории «Завершившие» указано больше "
        "пяти разных дней. Проводите работу не больше чем в пять дней: оставьте не больше пяти разных дат в "
        "графе 5.")


# --- the school year of графа 3 ----------------------------------------------------------------

@pytest.mark.parametrize(("opens", "period", "year"), [
    (datetime(2026, 11, 1, 12, tzinfo=MOSCOW), None, "2026/2027"),
    (datetime(2026, 8, 31, 12, tzinfo=MOSCOW), None, "2025/2026"),
    (datetime(2026, 9, 1, 0, tzinfo=MOSCOW), None, "2026/2027"),
    (datetime(2026, 11, 15, 9, tzinfo=MOSCOW), date(2027, 2, 1), "2026/2027"),
    (datetime(2027, 8, 1, 9, tzinfo=MOSCOW), date(2027, 9, 15), "2027/2028"),
])
def test_school_year_starts_on_the_first_of_september(collection: Collection, opens: datetime,
                                                      period: date | None, year: str) -> None:
    own = replace(collection, opens=opens, period_start=period, period_end=period)
    assert school_year(own) == year


def test_specialities_header_names_the_collections_school_year(
        forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection], tmp_path: Path) -> None:
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    data = render_template(form, collection, org_for(collection), SECRET)
    path = tmp_path / "шаблон.xlsx"
    path.write_bytes(data)
    wb = load_workbook(path)
    expected = "Количество обучающихся на указанном в предыдущем пункте курсе в 2026/2027 учебном году"
    assert wb["Специальности"]["E3"].value == expected
    instruction = "\n".join(str(c.value) for row in wb["Инструкция"].iter_rows() for c in row if c.value)
    assert f"«{expected}»" in instruction and "{school_year}" not in instruction
    assert worded(form, None).sheets[0].field("3").title.endswith("в текущем учебном году")


def test_a_spec_naming_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "id: bad\nversion: 1\ntitle: Форма\nsheets:\n  - name: Лист\n    table: rows\n    fields:\n"
        "      - {number: \"1\", name: a, title: \"в {year} году\", type: text}\n", encoding="utf-8")
    with pytest.raises(SpecError) as error:
        load_form(spec)
    assert str(error.value) == (f"{spec}, line 8: field 1: unknown placeholder {{year}} in 'title' "
                                "(known: {school_year})")


def test_when_empty_needs_a_sheet_that_needs_rows(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "id: bad\nversion: 1\ntitle: Форма\nsheets:\n  - name: Лист\n    table: rows\n"
        "    when_empty: Выберите «нет».\n    fields:\n      - {number: \"1\", name: a, title: А, type: text}\n",
        encoding="utf-8")
    with pytest.raises(SpecError) as error:
        load_form(spec)
    assert str(error.value) == (f"{spec}, line 5: sheet 'Лист': when_empty needs a table sheet with "
                                "min_rows of 1 or more")


def test_the_answer_to_an_empty_workbook_marks_where_the_answer_goes(
        form: Form, collection: Collection, context: Context, tmp_path: Path) -> None:
    verdict = judged(tmp_path, form, collection, context, None, None)
    answer = FeedbackFactory(form, collection, SECRET).render(org_for(collection), verdict.cells,
                                                              verdict.findings, "расписание.xlsx")
    wb = load_workbook(io.BytesIO(answer))
    for name, finding in zip((PAPER, META, COMPUTER), verdict.findings, strict=True):
        comment = wb[name]["A5"].comment
        assert comment is not None and comment.text.startswith(f"Ошибка: {finding.message}")
