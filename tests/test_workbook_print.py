"""Every kind of workbook sbor writes, looked at as its reader would: printed on A4 by
LibreOffice (pages per sheet, one page wide, the header on every page), headers that fit their
rows at their columns' widths, one font family, the manual's status words, and document
properties that name sbor and the workbook.

The workbooks are built once per module from the real renderers: a template of every form, a
receipt, a refusal, an annotated workbook, and a status, results, statuses and group workbook
for a synthetic registry of a few hundred organisations."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import openpyxl
import polars as pl
import pytest
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from forms import MOSCOW, Collection, Form, builtin_forms, layout
from forms.coordinators import OPERATOR, coordinators_from_registry
from forms.findings import Finding
from forms.registry import generate_registry
from forms.status import OrgStatus
from forms.wording import worded
from templates import FeedbackFactory, TemplateFactory, render_feedback, render_receipt, render_refusal
from templates.coordinators import (
    render_group_report,
    render_results,
    render_status,
    render_statuses_export,
)
from templates.xlsx import fits, longest_word
from tests.workbooks import SECRET, org_for

FORM_IDS = sorted(builtin_forms())
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=MOSCOW)
STATUS_WORDS = {"Не приступило", "В работе", "Сдано", "Не сдано"}
FOOTER = re.compile(r"Лист «(.+?)», страница (\d+) из (\d+)")


@dataclass(frozen=True)
class Kind:
    """One workbook: its file stem, its bytes, and the title its properties must carry."""

    stem: str
    data: bytes
    title: str


def _statuses(collection: Collection, orgs: list[Any]) -> list[OrgStatus]:
    """A mix a coordinator sees in the middle of a collection: a third each not started, in
    work, submitted."""
    first = NOW - timedelta(days=20)
    out = []
    for i, org in enumerate(orgs):
        if i % 3 == 0:
            out.append(OrgStatus.of(org))
        elif i % 3 == 1:
            out.append(OrgStatus.of(org, first_received_at=first, files=1, last_errors=3))
        else:
            out.append(OrgStatus.of(org, first_received_at=first, last_accepted_at=first + timedelta(days=1),
                                    files=1, accepted=1))
    return out


def _results(form: Form, orgs: list[Any]) -> dict[str, pl.DataFrame]:
    frames = {}
    for sheet in form.sheets:
        data: dict[str, list[Any]] = {"login": [], "row_number": [], **{f.name: [] for f in sheet.fields}}
        for org in orgs:
            for n in (1, 2):
                data["login"].append(org.login)
                data["row_number"].append(n)
                for f in sheet.fields:
                    data[f.name].append({"integer": 10 * n, "decimal": 2.5 * n, "yesno": n == 1,
                                         "date": (NOW + timedelta(days=n)).date()}.get(f.type, f"{f.title[:20]} {n}"))
        frames[sheet.table] = pl.DataFrame(data)
    return frames


@pytest.fixture(scope="module")
def kinds(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> dict[str, Kind]:
    out: dict[str, Kind] = {}
    for form_id in FORM_IDS:
        form, collection = forms_by_id[form_id], collections_by_form[form_id]
        data = TemplateFactory(form, collection, SECRET).render(org_for(collection))
        out[f"template-{form_id}"] = Kind(f"template-{form_id}", data, collection.title)

    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    org = org_for(collection)
    received = NOW - timedelta(days=1)
    sheet = form.sheets[0].name
    note = Finding("rule:applications-vs-quota", "warning",
                   f"Лист «{sheet}», ячейка I6 (графа 5): заявлений (20) меньше, чем бюджетных мест (25). "
                   "Проверьте графы 4 и 5.", "отчёт.xlsx", sheet, "I6", "5", "20")
    out["receipt"] = Kind("receipt", render_receipt(
        collection, org, submission_id=1234567, file_name="Отчёт колледжа о специальностях (исправленный).xlsx",
        sha256="a" * 64, received_at=received, rows_loaded={sheet: 3}, findings=[note]),
        f"Квитанция: {collection.title}")
    refused = Finding("forged-identity", "error",
                      "Файл «отчёт.xlsx» не принят: служебный лист шаблона изменён. Заполните шаблон, "
                      "выданный вашей организации, и отправьте его снова.", "отчёт.xlsx")
    out["refusal"] = Kind("refusal", render_refusal(file_name="отчёт.xlsx", sha256="b" * 64,
                                                    received_at=received, findings=[refused]),
                          "Отказ: отчёт.xlsx")
    where = f"Лист «{sheet}»"
    findings = [
        Finding("rule:students-sum", "error", f"{where}, ячейка E5 (графа 3): сумма граф 3.1 и 3.2 (24 + 0) "
                "не равна графе 3 (30). Исправьте графу 3 или графы 3.1 и 3.2.", "отчёт.xlsx", sheet, "E5", "3", "30"),
        Finding("not-a-number", "error", f"{where}, ячейка D6 (графа 2): «два» — не число. Введите целое число "
                "цифрами, например 25.", "отчёт.xlsx", sheet, "D6", "2", "два"),
        note,
    ]
    cells = {sheet: {"A5": org.specialities[0], "E5": 30, "F5": 24, "G5": 0, "D6": "два", "I6": 20}}
    out["feedback"] = Kind("feedback", FeedbackFactory(form, collection, SECRET).render(
        org, cells, findings, "отчёт.xlsx"), collection.title)

    registry = [o for o in generate_registry(1500, seed=3) if collection.participants.includes(o)]
    statuses = _statuses(collection, registry)
    regional = next(c for c in coordinators_from_registry(registry) if c.kind == "regional"
                    and sum(c.sees(o) for o in registry) >= 5)
    out["status"] = Kind("status", render_status(collection, OPERATOR, statuses, now=NOW),
                         f"Статус сбора данных: {collection.title}")
    out["status-regional"] = Kind("status-regional", render_status(collection, regional, statuses, now=NOW),
                                  f"Статус сбора данных: {collection.title}")
    orgs = {o.login: o for o in registry}
    out["results"] = Kind("results", render_results(form, collection, OPERATOR, _results(form, registry), orgs,
                                                    now=NOW), f"Результаты сбора данных: {collection.title}")
    others = [c for c in collections_by_form.values() if c.id != collection.id]
    everyone = {c.id: _statuses(c, [o for o in registry if c.participants.includes(o)]) for c in [collection, *others]}
    out["group"] = Kind("group", render_group_report([collection, *others], regional, everyone, now=NOW),
                        "Групповой отчёт о статусах сбора данных")
    entries = [(collection, r, str(s)) for r, s in zip(statuses[:60], ["Сдано", "В работе", "Не приступал"] * 20,
                                                     strict=True)]
    out["statuses"] = Kind("statuses", render_statuses_export(entries), "Экспорт статусов")
    return out


def _book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _visible(wb: openpyxl.Workbook) -> list[Worksheet]:
    return [ws for ws in wb.worksheets if ws.sheet_state == "visible"]


# --- what a program can check without printing ----------------------------------------------

def test_document_properties_name_sbor_and_the_workbook(kinds: dict[str, Kind]) -> None:
    for kind in kinds.values():
        props = _book(kind.data).properties
        assert (props.creator, props.title) == ("sbor", kind.title), kind.stem


def test_one_font_family_every_font_named(kinds: dict[str, Kind]) -> None:
    for kind in kinds.values():
        with zipfile.ZipFile(io.BytesIO(kind.data)) as z:
            styles = z.read("xl/styles.xml").decode()
        fonts = re.findall(r"<font>.*?</font>|<font/>", styles, re.S)
        names = Counter(re.search(r'<name val="([^"]+)"', f).group(1) if "<name " in f else None  # type: ignore[union-attr]
                        for f in fonts)
        assert set(names) == {"Calibri"}, (kind.stem, names)


def test_every_sheet_prints_on_a4_one_page_wide(kinds: dict[str, Kind]) -> None:
    for kind in kinds.values():
        for ws in _visible(_book(kind.data)):
            setup = ws.page_setup
            assert ws.sheet_properties.pageSetUpPr.fitToPage, (kind.stem, ws.title)
            assert (str(setup.paperSize), setup.fitToWidth, setup.fitToHeight) == ("9", 1, 0), (kind.stem, ws.title)
            assert "&A" in (ws.oddFooter.center.text or ""), (kind.stem, ws.title)


def _header_row(ws: Worksheet) -> int:
    """The row of a table's headers: the row the print titles repeat."""
    titles = ws.print_title_rows or "1:1"
    return int(titles.split(":")[0].lstrip("$"))


def test_every_header_fits_its_row_at_its_columns_width(kinds: dict[str, Kind]) -> None:
    """The text-fit check: each header's wrapped lines fit the row's height at the column's
    width, and no word of it is wider than its column (it would be broken in the middle)."""
    checked = 0
    for kind in kinds.values():
        for ws in _visible(_book(kind.data)):
            if not ws.print_title_rows:
                continue
            row = _header_row(ws)
            height = ws.row_dimensions[row].height
            assert height, (kind.stem, ws.title, "the header row has no height")
            for cell in ws[row]:
                if not isinstance(cell.value, str) or not cell.font.b:
                    continue
                width = ws.column_dimensions[get_column_letter(cell.column)].width
                assert fits(cell.value, width, height, bold=True), (kind.stem, ws.title, cell.coordinate, cell.value,
                                                                     width, height)
                checked += 1
    assert checked > 60


def test_card_rows_hold_their_titles_and_answers(kinds: dict[str, Kind], forms_by_id: dict[str, Form]) -> None:
    form = forms_by_id["vpr_org_info"]
    wb = _book(kinds["template-vpr_org_info"].data)
    for sheet in form.sheets:
        ws = wb[sheet.name]
        value_width = ws.column_dimensions["C"].width
        for field in sheet.fields:
            ref = layout.card_cell(sheet, field.number)
            height = ws.row_dimensions[ref.row].height
            assert fits(field.title, ws.column_dimensions["B"].width, height, bold=field.required), field.number
            if field.name == "comment":  # the 1,000-character comment is not clipped
                assert fits("слово " * 166, value_width, height), height
    # The prefilled full name on the title sheet, as long as registries write them.
    title = wb[layout.TITLE_SHEET]
    name = "Государственное бюджетное профессиональное образовательное учреждение города Москвы " * 2
    assert fits(name, title.column_dimensions["B"].width, title.row_dimensions[4].height, bold=True)


def test_status_words_are_the_manuals(kinds: dict[str, Kind]) -> None:
    for stem, column in (("status", "Статус"), ("statuses", "Статус")):
        wb = _book(kinds[stem].data)
        ws = wb["Участники"] if "Участники" in wb.sheetnames else wb["Статусы"]
        header = [c.value for c in ws[1]]
        col = header.index(column) + 1
        words = {ws.cell(r, col).value for r in range(2, ws.max_row + 1)} - {None}
        assert words and words <= STATUS_WORDS, (stem, words)
    group = _book(kinds["group"].data)["Статусы"]
    cells = {c.value for row in group.iter_rows(min_row=2, min_col=5) for c in row if isinstance(c.value, str)}
    assert cells - {"—"} <= STATUS_WORDS and "Не приступило" in cells
    summary = _book(kinds["status"].data)["Сводка"]
    assert "Не приступило" in {c.value for row in summary.iter_rows() for c in row}


def test_participants_sorted_by_status_not_started_first(kinds: dict[str, Kind]) -> None:
    ws = _book(kinds["status-regional"].data)["Участники"]
    header = [c.value for c in ws[1]]
    words = [ws.cell(r, header.index("Статус") + 1).value for r in range(2, ws.max_row + 1)]
    order = {"Не приступило": 0, "В работе": 1, "Сдано": 2}
    assert words == sorted(words, key=order.__getitem__) and words[0] == "Не приступило"
    grey = {"FFE7E6E6", "FFD9D9D9", "FFF2F2F2"}
    assert ws.cell(2, header.index("Статус") + 1).fill.fgColor.rgb not in grey


def test_dates_and_numbers_are_stored_as_such(kinds: dict[str, Kind]) -> None:
    about = _book(kinds["results"].data)["Описание выгрузки"]
    made = next(r[1] for r in about.iter_rows() if r[0].value == "Сформирован")
    assert made.is_date and made.value == datetime(2026, 12, 1, 9, 0)
    width = about.column_dimensions[made.column_letter].width
    assert width >= longest_word("01.12.2026 09:00") + 1  # not «###»
    errors = _book(kinds["feedback"].data)["Ошибки"]
    values = {r[2].value: r[4].value for r in errors.iter_rows(min_row=5) if r[2].value}
    assert values["E5"] == 30 and values["D6"] == "два"


# --- printed by LibreOffice -----------------------------------------------------------------

@pytest.fixture(scope="module")
def printed(kinds: dict[str, Kind], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    """Each workbook printed to PDF by LibreOffice: per kind, its pages as (sheet, text)."""
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice is None or pdftotext is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) and poppler-utils (pdftotext) must be installed in CI")
        pytest.skip("LibreOffice or pdftotext is not installed")
    root = tmp_path_factory.mktemp("print")
    files = []
    for kind in kinds.values():
        path = root / f"{kind.stem}.xlsx"
        path.write_bytes(kind.data)
        files.append(str(path))
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={(root / 'profile').as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(root), *files], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    pages: dict[str, list[tuple[str, str]]] = {}
    for stem in kinds:
        text = subprocess.run([pdftotext, "-layout", str(root / f"{stem}.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        own = []
        for page in text.split("\f"):
            footer = FOOTER.search(page)
            if footer is not None:
                own.append((footer.group(1), page))
        pages[stem] = own
    return pages


def _count(pages: list[tuple[str, str]]) -> Counter[str]:
    return Counter(sheet for sheet, _ in pages)


@pytest.mark.libreoffice
def test_answers_print_on_one_page(printed: dict[str, list[tuple[str, str]]]) -> None:
    assert _count(printed["receipt"]) == {"Квитанция": 1}
    receipt = printed["receipt"][0][1]
    # Labels and values on the same page, the number and the school's full name whole.
    assert "Номер приёма" in receipt and "1234567" in receipt and "Колледж №12" in receipt
    assert _count(printed["refusal"]) == {"Отказ": 1}


@pytest.mark.libreoffice
@pytest.mark.parametrize("form_id", FORM_IDS)
def test_a_template_prints_each_sheet_one_page_wide(printed: dict[str, list[tuple[str, str]]],
                                                    forms_by_id: dict[str, Form],
                                                    collections_by_form: dict[str, Collection],
                                                    form_id: str) -> None:
    # The headers as the template printed them, the collection's school year filled in.
    form = worded(forms_by_id[form_id], collections_by_form[form_id])
    pages = printed[f"template-{form_id}"]
    counts = _count(pages)
    assert counts[layout.TITLE_SHEET] == 1
    assert set(counts) == {layout.TITLE_SHEET, layout.INSTRUCTION_SHEET, *(s.name for s in form.sheets)}
    for sheet in form.sheets:
        if sheet.kind == "table":
            # An empty or prefilled table fits one page, every column on it.
            assert counts[sheet.name] == 1, (sheet.name, counts)
            page = next(text for name, text in pages if name == sheet.name)
            assert sheet.fields[-1].number in page.split()
            # As LibreOffice wrapped them: every word of every header whole, none broken in the
            # middle («общеобразовате/льных», «Завершивши/е»).
            printed_words = set(re.findall(r"[\w-]+", page))
            for field in sheet.fields:
                for word in re.findall(r"\w{4,}", field.title):
                    assert word in printed_words, (sheet.name, field.number, word)
        else:
            assert counts[sheet.name] <= 2, counts


@pytest.mark.libreoffice
def test_coordinator_workbooks_print_one_page_wide(printed: dict[str, list[tuple[str, str]]]) -> None:
    status = printed["status"]
    assert _count(status)["Сводка"] == 1
    # Every page of the participant list carries the header, first column to last: one page wide.
    for sheet, page in status:
        if sheet == "Участники":
            assert "Логин" in page and "Ошибок" in page
    group = printed["group"]
    assert _count(group)["Сводка"] == 1
    for sheet, page in group:
        if sheet == "Статусы":
            assert "Регион" in page and "ID" in page
    results = printed["results"]
    assert _count(results)["Описание выгрузки"] == 1
    for sheet, page in results:
        if sheet != "Описание выгрузки":
            assert "Логин" in page and "6. " in page  # the last field of the form's sheet
    assert "###" not in "".join(p for _, p in results)
    for _sheet, page in printed["statuses"]:
        assert "ID сбора" in page and "Ошибок в" in page


@pytest.mark.libreoffice
def test_annotated_workbook_prints_its_findings_one_page_wide(printed: dict[str, list[tuple[str, str]]]) -> None:
    findings = [page for sheet, page in printed["feedback"] if sheet == "Ошибки"]
    assert len(findings) == 1 and "Серьёзность" in findings[0] and "Сообщение" in findings[0]


# --- the school's template ------------------------------------------------------------------

def test_entry_area_is_filled_and_boxed(kinds: dict[str, Kind], forms_by_id: dict[str, Form]) -> None:
    """A school sees where to type: entry cells are filled and have thin borders, headers not."""
    for form_id in FORM_IDS:
        wb = _book(kinds[f"template-{form_id}"].data)
        for sheet in forms_by_id[form_id].sheets:
            ws = wb[sheet.name]
            if sheet.kind == "table":
                for col in range(1, len(sheet.fields) + 1):
                    dim = ws.column_dimensions[get_column_letter(col)]
                    assert dim.fill.fgColor.rgb == "FFFFF8DC" and dim.border.left.style == "thin", (form_id, col)
                    assert ws.cell(layout.HEADER_ROW, col).fill.fgColor.rgb != "FFFFF8DC"
            else:
                for field in sheet.fields:
                    cell = ws[layout.card_cell(sheet, field.number).address]
                    assert cell.fill.fgColor.rgb == "FFFFF8DC" and cell.border.left.style == "thin"


def test_a_number_hint_states_its_bounds_once(kinds: dict[str, Kind]) -> None:
    ws = _book(kinds["template-spo_specialities"].data)["Специальности"]
    prompts = [dv.prompt for dv in ws.data_validations.dataValidation if dv.prompt]
    course = next(p for p in prompts if p.startswith("Целое число от 1 до 4"))
    assert course == "Целое число от 1 до 4."


def test_the_title_sheet_lists_the_publications_files_by_title_and_name(
        kinds: dict[str, Kind], collections_by_form: dict[str, Collection]) -> None:
    collection = collections_by_form["spo_specialities"]
    ws = _book(kinds["template-spo_specialities"].data)[layout.TITLE_SHEET]
    rows = [(r[0].value, r[1].value) for r in ws.iter_rows(max_col=2)]
    start = next(i for i, (label, _) in enumerate(rows) if label == "Файлы публикации")
    listed = [value for _, value in rows[start:start + len(collection.files)]]
    assert listed == [
        "1. Порядок проведения ВПР СПО — PDF, файл «Порядок проведения ВПР СПО.pdf» в файлах публикации",
        "2. Инструкция по заполнению формы — PDF, файл «Инструкция по заполнению формы.pdf» в файлах публикации",
    ]


def test_a_long_name_returned_by_the_school_keeps_its_rows_height(forms_by_id: dict[str, Form],
                                                                   collections_by_form: dict[str, Collection]) -> None:
    """In the annotated workbook as in the template, a long speciality name wraps in a row as
    tall as it needs; the fast path and the reference agree."""
    form, collection = forms_by_id["spo_specialities"], collections_by_form["spo_specialities"]
    sheet = form.sheets[0]
    longest = max(form.choices_for(sheet.fields[0]), key=len)
    cells = {sheet.name: {"A5": longest, "A6": "38.02.01", "E5": 30}}
    finding = Finding("rule:students-sum", "error", "сумма не равна", "отчёт.xlsx", sheet.name, "E5", "3", "30")
    fast = FeedbackFactory(form, collection, SECRET).render(org_for(collection), cells, [finding], "отчёт.xlsx")
    reference = render_feedback(form, collection, org_for(collection), SECRET, cells, [finding], "отчёт.xlsx")
    for data in (fast, reference):
        ws = _book(data)[sheet.name]
        height = ws.row_dimensions[5].height
        assert height and fits(longest, ws.column_dimensions["A"].width, height), (longest, height)
        assert ws.row_dimensions[6].height is None  # one line: the default height
