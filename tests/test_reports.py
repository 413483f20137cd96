"""The coordinators' workbooks, written for real and read back with openpyxl, python-calamine
and LibreOffice: status, results (workbook and analyst files), statuses export, group report,
and the atomic writing of them all."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from forms import MOSCOW, Organisation, builtin_forms, school_year, worded
from forms.collection import Collection, Participants
from forms.coordinators import OPERATOR, Coordinator, coordinators_from_registry
from forms.spec import Field, Form, Sheet
from forms.status import OrgStatus
from templates.coordinators import (
    render_group_report,
    render_results,
    render_status,
    render_statuses_export,
    report_file,
    write_results_files,
)
from templates.xlsx import Book, append_frame, write_atomic
from tests.benches import load_bench

REPO = Path(__file__).resolve().parents[1]
HYPERLINK = '=HYPERLINK("http://x","y")'
OPEN_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=MOSCOW)
CLOSED_NOW = datetime(2026, 12, 26, 9, 0, tzinfo=MOSCOW)
REG77 = Coordinator("reg77", "regional", "77", None, "Москва")
MUN7701 = Coordinator("mun7701", "municipal", "77", "7701", "Район 7701")


def org(login: str, region: str, municipality: str, short: str | None = None,
        full: str | None = None) -> Organisation:
    regions = {"77": "Москва", "50": "Московская область"}
    return Organisation(login, full or f"ГБПОУ «Колледж {login}»", short or f"Колледж {login}",
                        region, regions[region], municipality, f"Район {municipality}", "spo")


@pytest.fixture
def registry() -> list[Organisation]:
    return [
        org("spo770001", "77", "7701"),
        org("spo770002", "77", "7701", short=HYPERLINK, full="=1+1"),
        org("spo770003", "77", "7702"),
        org("spo500001", "50", "5001"),
        org("spo500002", "50", "5001"),
    ]


@pytest.fixture
def collection() -> Collection:
    return Collection("spo-2026", "Сведения о специальностях", "ВПР СПО", "spo_specialities",
                      datetime(2026, 11, 1, 12, 0, tzinfo=MOSCOW),
                      datetime(2026, 12, 25, 18, 0, tzinfo=MOSCOW), Participants(kinds=("spo",)))


@pytest.fixture
def rows(registry: list[Organisation]) -> list[OrgStatus]:
    # Times as the warehouse keeps them, in UTC: 06:15 UTC is 09:15 in Moscow.
    first = datetime(2026, 11, 3, 6, 15, tzinfo=UTC)
    accepted = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    return [
        OrgStatus.of(registry[0], first_received_at=first, last_accepted_at=accepted, files=2,
                     accepted=1),
        OrgStatus.of(registry[1], first_received_at=first, files=1, last_errors=4),
        OrgStatus.of(registry[2]),
        OrgStatus.of(registry[3], first_received_at=first, last_accepted_at=accepted, files=1,
                     accepted=1),
        OrgStatus.of(registry[4]),
    ]


def workbook(data: bytes) -> Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def values(ws: Worksheet) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


def table_after(ws: Worksheet, header: str) -> list[tuple[Any, ...]]:
    """The rows after the one whose first cell is ``header``, up to the first blank row."""
    found: list[tuple[Any, ...]] = []
    started = False
    for row in values(ws):
        if started:
            if row[0] is None and all(v is None for v in row):
                break
            found.append(row)
        started = started or row[0] == header
    return found


def all_strings(data: bytes) -> set[str]:
    return {c.value for ws in workbook(data) for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)}


# --- status workbook -----------------------------------------------------------------------

def test_status_workbook_for_a_regional_coordinator(collection: Collection,
                                                    rows: list[OrgStatus]) -> None:
    wb = workbook(render_status(collection, REG77, rows, now=OPEN_NOW))
    assert wb.sheetnames == ["Сводка", "Участники", "По муниципалитетам"]
    summary = wb["Сводка"]
    assert values(summary)[:3] == [
        ("Статус сбора данных", None, None),
        ("Координатор", "Региональный координатор: Москва (77)", None),
        ("Сформирован", datetime(2026, 12, 1, 9, 0), None)]
    assert ("Период сбора", "01.11.2026 12:00 – 25.12.2026 18:00", None) in values(summary)
    assert ("Состояние", "Открыт", None) in values(summary)
    assert [r[:2] for r in table_after(summary, "Показатель")] == [
        ("Всего", 3), ("Не приступило", 1), ("В работе", 1), ("Сдано", 1)]

    ws = wb["Участники"]
    # By status, those a coordinator must chase first: not started, in work, then done; the
    # manual's word «Не приступило», as on «Сводка».
    assert values(ws) == [
        ("Логин", "Наименование", "Муниципалитет", "Статус", "Дата начала работы",
         "Дата подачи", "Ошибок в последнем файле"),
        ("spo770003", "Колледж spo770003", "Район 7702", "Не приступило", None, None, None),
        ("spo770002", HYPERLINK, "Район 7701", "В работе", datetime(2026, 11, 3, 9, 15), None,
         4),
        ("spo770001", "Колледж spo770001", "Район 7701", "Сдано", datetime(2026, 11, 3, 9, 15),
         datetime(2026, 11, 4, 15, 0), 0),
    ]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:G4"
    assert ws["E4"].number_format == "DD.MM.YYYY HH:MM"
    assert ws["F4"].is_date
    assert ws.column_dimensions["B"].width == 60
    assert ws["A1"].font.b
    fills = {ws.cell(r, 4).value: ws.cell(r, 4).fill.fgColor.rgb for r in range(2, 5)}
    # Not started stands out (orange), not the quietest grey.
    assert fills == {"Сдано": "FFC6EFCE", "В работе": "FFFFEB9C", "Не приступило": "FFF8CBAD"}

    assert values(wb["По муниципалитетам"]) == [
        ("Код", "Муниципалитет", "Всего", "Не приступило", "В работе", "Сдано", "Доля сдавших"),
        ("7701", "Район 7701", 2, 0, 1, 1, 0.5),
        ("7702", "Район 7702", 1, 1, 0, 0, 0),
        (None, "Итого", 3, 1, 1, 1, pytest.approx(1 / 3)),
    ]


def test_status_workbook_after_closing(collection: Collection, rows: list[OrgStatus]) -> None:
    wb = workbook(render_status(collection, REG77, rows, now=CLOSED_NOW))
    summary = wb["Сводка"]
    assert ("Состояние", "Закрыт", None) in values(summary)
    assert [r[:2] for r in table_after(summary, "Показатель")] == [
        ("Всего", 3), ("Сдано", 1), ("Не сдано", 1), ("Не приступило", 1)]
    assert [r[3] for r in values(wb["Участники"])[1:]] == ["Не приступило", "Не сдано", "Сдано"]
    assert values(wb["По муниципалитетам"])[0] == (
        "Код", "Муниципалитет", "Всего", "Сдано", "Не сдано", "Не приступило", "Доля сдавших")
    ws = wb["Участники"]
    assert ws["D3"].fill.fgColor.rgb == "FFFFC7CE"
    assert ws["D2"].fill.fgColor.rgb == "FFF4A6A6"


def test_status_workbook_before_opening(collection: Collection,
                                        registry: list[Organisation]) -> None:
    before = datetime(2026, 10, 30, 9, 0, tzinfo=MOSCOW)
    wb = workbook(render_status(collection, MUN7701, [OrgStatus.of(o) for o in registry],
                                now=before))
    assert ("Состояние", "Ещё не открыт (откроется 01.11.2026 12:00)", None) in values(wb["Сводка"])
    assert [r[3] for r in values(wb["Участники"])[1:]] == ["Не приступило", "Не приступило"]


def test_municipal_and_operator_views(collection: Collection, rows: list[OrgStatus]) -> None:
    municipal = workbook(render_status(collection, MUN7701, rows, now=OPEN_NOW))
    assert municipal.sheetnames == ["Сводка", "Участники"]
    assert [r[0] for r in values(municipal["Участники"])[1:]] == ["spo770002", "spo770001"]  # in work first

    operator = workbook(render_status(collection, OPERATOR, rows, now=OPEN_NOW))
    assert operator.sheetnames == ["Сводка", "Участники", "По регионам"]
    participants = values(operator["Участники"])
    assert participants[0][:2] == ("Регион", "Логин")
    assert [r[1] for r in participants[1:]] == [
        "spo500002", "spo770003", "spo770002", "spo500001", "spo770001"]
    assert values(operator["По регионам"])[1:] == [
        ("77", "Москва", 3, 1, 1, 1, pytest.approx(1 / 3)),
        ("50", "Московская область", 2, 1, 0, 1, 0.5),
        (None, "Итого", 5, 2, 1, 2, 0.4),
    ]


def test_status_workbook_takes_the_warehouse_rows_as_they_are(collection: Collection,
                                                              rows: list[OrgStatus]) -> None:

    warehouse_rows = [OrgStatus(
        login=r.login, full_name=r.full_name, short_name=r.short_name,
        region_code=r.region_code, region_name=r.region_name,
        municipality_code=r.municipality_code, municipality_name=r.municipality_name,
        kind="spo", files=r.files, accepted=r.accepted, first_received_at=r.first_received_at,
        last_received_at=r.first_received_at, last_accepted_at=r.last_accepted_at,
        last_outcome=None, last_errors=r.last_errors if r.files else None, last_warnings=None,
        started_at=r.started_at,
    ) for r in rows]
    ours = workbook(render_status(collection, REG77, rows, now=OPEN_NOW))
    theirs = workbook(render_status(collection, REG77, warehouse_rows, now=OPEN_NOW))
    for sheet in ours.sheetnames:
        assert values(theirs[sheet]) == values(ours[sheet])


# --- scoping -------------------------------------------------------------------------------

def results_frames(registry: list[Organisation]) -> dict[str, pl.DataFrame]:
    form = builtin_forms()["spo_specialities"]
    fields = form.sheets[0].fields
    data: dict[str, list[Any]] = {"login": [], "row_number": [], **{f.name: [] for f in fields}}
    for o in registry:
        for n in (1, 2):
            data["login"].append(o.login)
            data["row_number"].append(n)
            for f in fields:
                data[f.name].append({"integer": 10 * n, "yesno": n == 1}.get(
                    f.type, HYPERLINK if o.login == "spo770002" and n == 1 else f"{f.name} {n}"))
    return {form.sheets[0].table: pl.DataFrame(data)}


def test_no_school_leaks_to_another_coordinator(registry: list[Organisation],
                                                collection: Collection,
                                                rows: list[OrgStatus]) -> None:
    form = builtin_forms()["spo_specialities"]
    frames = results_frames(registry)
    orgs = {o.login: o for o in registry}
    logins = set(orgs)
    for coordinator in coordinators_from_registry(registry, with_operator=True):
        own = {o.login for o in registry if coordinator.sees(o)}
        books = [
            render_status(collection, coordinator, rows, now=OPEN_NOW),
            render_results(form, collection, coordinator, frames, orgs),
            render_group_report([collection], coordinator, {collection.id: rows}, now=OPEN_NOW),
        ]
        for data in books:
            assert all_strings(data) & logins == own, coordinator.id
    assert {o.login for o in registry if REG77.sees(o)} == {"spo770001", "spo770002",
                                                           "spo770003"}


# --- strings from schools stay text --------------------------------------------------------

def test_formula_looking_strings_stay_text(registry: list[Organisation], collection: Collection,
                                           rows: list[OrgStatus]) -> None:
    form = builtin_forms()["spo_specialities"]
    orgs = {o.login: o for o in registry}
    books = {
        "status": render_status(collection, OPERATOR, rows, now=OPEN_NOW),
        "export": render_statuses_export([(collection, r, "Сдано") for r in rows]),
        "group": render_group_report([collection], OPERATOR, {collection.id: rows},
                                     now=OPEN_NOW),
        "results": render_results(form, collection, OPERATOR, results_frames(registry), orgs),
    }
    for name, data in books.items():
        found = [c for ws in workbook(data) for row in ws.iter_rows() for c in row
                 if c.value == HYPERLINK]
        assert found, name
        assert all(c.data_type == "s" for c in found), name
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as calamine:
            cells = [v for sheet in calamine.sheet_names
                     for row in calamine.get_sheet_by_name(sheet).to_python() for v in row]
        assert cells.count(HYPERLINK) == len(found), name
    # Neither file carries a formula element at all.
    import zipfile
    for data in books.values():
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in zf.namelist())


# --- results -------------------------------------------------------------------------------

def test_results_workbook_has_typed_cells(registry: list[Organisation],
                                          collection: Collection) -> None:
    form = builtin_forms()["spo_specialities"]
    orgs = {o.login: o for o in registry}
    wb = workbook(render_results(form, collection, REG77, results_frames(registry), orgs,
                                 now=OPEN_NOW))
    assert wb.sheetnames == ["Описание выгрузки", "Специальности"]
    ws = wb["Специальности"]
    header = values(ws)[0]
    assert header[:3] == ("Логин", "Наименование",
                          "1. Код и название профессии/ специальности")
    assert header[2:] == tuple(f.label for f in worded(form, collection).sheets[0].fields)
    assert header[6].endswith(f"курсе в {school_year(collection)} учебном году")
    first = values(ws)[1]
    assert first[:2] == ("spo770001", "Колледж spo770001")
    by_label = dict(zip(header, first, strict=True))
    assert by_label[header[6]] == 10
    assert isinstance(by_label[header[6]], int)
    assert by_label["6. " + form.sheets[0].field("6").title] == "Да"
    assert values(ws)[2][-1] == "Нет"
    assert [r[0] for r in values(ws)[1:]] == ["spo770001", "spo770001", "spo770002",
                                              "spo770002", "spo770003", "spo770003"]
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == f"A1:L{len(values(ws))}"
    about = values(wb["Описание выгрузки"])
    assert ("Координатор", "Региональный координатор: Москва (77)", None, None) in about
    assert table_after(wb["Описание выгрузки"], "Лист формы") == [
        ("Специальности", 6, 3, "«Специальности»")]


def custom_form(sheet_name: str = "Учёт") -> Form:
    return Form("custom", 2, "Учёт оборудования", (Sheet(sheet_name, "items", "table", (
        Field("1", "title", "Название", "text"),
        Field("2", "share", "Доля", "decimal"),
        Field("3", "day", "Дата поставки", "date"),
        Field("4", "ready", "Готово", "yesno"),
        Field("5", "count", "Количество", "integer"),
    )),))


def custom_frame(count: int) -> pl.DataFrame:
    return pl.DataFrame({
        "login": [f"spo77{i // 3:04d}" for i in range(count)],
        "row_number": [i % 3 + 1 for i in range(count)],
        "title": [f"Строка {i}" for i in range(count)],
        "share": [i / 4 for i in range(count)],
        "day": [date(2027, 2, 1) + timedelta(days=i) for i in range(count)],
        "ready": [None if i == 1 else i % 2 == 0 for i in range(count)],
        "count": [i for i in range(count)],
    })


def test_results_decimal_date_and_yes_no_cells(collection: Collection) -> None:
    orgs = {"spo770000": org("spo770000", "77", "7701")}
    wb = workbook(render_results(custom_form(), collection, OPERATOR,
                                 {"items": custom_frame(3)}, orgs))
    ws = wb["Учёт"]
    assert values(ws)[1:] == [
        ("spo770000", "Колледж spo770000", "Строка 0", 0, datetime(2027, 2, 1), "Да", 0),
        ("spo770000", "Колледж spo770000", "Строка 1", 0.25, datetime(2027, 2, 2), None, 1),
        ("spo770000", "Колледж spo770000", "Строка 2", 0.5, datetime(2027, 2, 3), "Да", 2),
    ]
    assert ws["E2"].number_format == "DD.MM.YYYY"
    assert ws["G2"].number_format == "0"


def test_results_split_beyond_the_row_limit(collection: Collection) -> None:
    long_name = "Оборудование кабинетов и лабор"  # 30 characters
    orgs = {f"spo77{i:04d}": org(f"spo77{i:04d}", "77", "7701") for i in range(3)}
    data = render_results(custom_form(long_name), collection, OPERATOR,
                          {"items": custom_frame(7)}, orgs, row_limit=4)
    wb = workbook(data)
    parts = ["Оборудование кабинетов и лабор", "Оборудование кабинетов и ла (2)",
             "Оборудование кабинетов и ла (3)"]
    assert wb.sheetnames == ["Описание выгрузки", *parts]
    assert [len(values(wb[p])) for p in parts] == [4, 4, 2]  # header + up to 3 rows each
    titles = [r[2] for p in parts for r in values(wb[p])[1:]]
    assert titles == [f"Строка {i}" for i in range(7)]
    about = values(wb["Описание выгрузки"])
    assert (f"Лист «{long_name}» содержит 7 строк — больше, чем помещается на одном листе Excel "
            "(4 строк вместе с заголовком). Данные продолжаются на листах "
            "«Оборудование кабинетов и ла (2)», «Оборудование кабинетов и ла (3)».",
            None, None, None) in about


def test_results_refuse_a_frame_without_the_fields(collection: Collection) -> None:
    frame = custom_frame(2).drop("share", "day")
    with pytest.raises(ValueError, match="the frame of sheet 'Учёт' lacks the columns share, "
                                         "day; it must have login, row_number"):
        render_results(custom_form(), collection, OPERATOR, {"items": frame}, {})


def test_results_files_for_analysts(tmp_path: Path) -> None:
    frame = custom_frame(3).with_columns(
        pl.Series("title", [HYPERLINK, "+7 999 123-45-67", "обычный"]))
    orgs = {"spo770000": org("spo770000", "77", "7701")}
    written = write_results_files(custom_form(), {"items": frame}, orgs, tmp_path)
    assert [p.name for p in written] == ["custom__items.parquet", "custom__items.csv"]
    parquet = pl.read_parquet(written[0])
    assert parquet.columns == ["login", "org_name", "region_code", "municipality_code",
                               "row_number", "title", "share", "day", "ready", "count"]
    assert parquet.drop("org_name", "region_code", "municipality_code").equals(frame)
    assert parquet["org_name"].to_list() == ["Колледж spo770000"] * 3
    raw = written[1].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == ("login;org_name;region_code;municipality_code;row_number;title;share;"
                        "day;ready;count")
    assert lines[1].split(";")[5:] == ['"\'=HYPERLINK(""http://x"",""y"")"', "0,0",
                                       "01.02.2027", "Да", "0"]
    assert lines[2].split(";")[5:] == ["'+7 999 123-45-67", "0,25", "02.02.2027", "", "1"]
    assert not list(tmp_path.glob(".*"))


# --- statuses export and group report ------------------------------------------------------

def test_statuses_export(collection: Collection, rows: list[OrgStatus]) -> None:
    other = Collection("vpr-2027", "Сведения об ОО", "ВПР", "vpr_org_info", collection.opens,
                       collection.closes, Participants(kinds=("spo",)))
    entries = [(c, r, "Сдано" if r.accepted else "Не приступал") for c in (collection, other)
               for r in rows[:2]]
    wb = workbook(render_statuses_export(entries))
    ws = wb["Статусы"]
    table = values(ws)
    assert table[0] == ("ID сбора", "Сбор", "Код региона", "Регион", "Код муниципалитета",
                        "Муниципалитет", "Логин", "Наименование", "Статус",
                        "Дата начала работы", "Дата подачи", "Файлов получено",
                        "Файлов принято", "Ошибок в последнем файле")
    assert [(r[0], r[6], r[8]) for r in table[1:]] == [
        ("spo-2026", "spo770001", "Сдано"), ("spo-2026", "spo770002", "Не приступило"),
        ("vpr-2027", "spo770001", "Сдано"), ("vpr-2027", "spo770002", "Не приступило")]
    assert table[1][9:] == (datetime(2026, 11, 3, 9, 15), datetime(2026, 11, 4, 15, 0), 2, 1, 0)
    assert ws.auto_filter.ref == "A1:N5"


def test_group_report(registry: list[Organisation], collection: Collection,
                      rows: list[OrgStatus]) -> None:
    closed = Collection("spo-2025", "Сведения 2025", "ВПР СПО", "spo_specialities",
                        datetime(2025, 11, 1, tzinfo=MOSCOW), datetime(2025, 12, 1, tzinfo=MOSCOW),
                        Participants(kinds=("spo",)))
    last_year = [OrgStatus.of(registry[0], first_received_at=rows[0].first_received_at,
                              last_accepted_at=rows[0].last_accepted_at, files=1, accepted=1),
                 OrgStatus.of(registry[2], first_received_at=rows[0].first_received_at, files=1)]
    elsewhere = Collection("spo-50", "Сбор только для региона 50", "ВПР СПО", "spo_specialities",
                           collection.opens, collection.closes, Participants(regions=("50",)))
    data = render_group_report([collection, closed, elsewhere], REG77,
                               {collection.id: rows, closed.id: last_year,
                                elsewhere.id: [r for r in rows if r.region_code == "50"]},
                               now=OPEN_NOW)
    wb = workbook(data)
    assert wb.sheetnames == ["Сводка", "Статусы"]
    assert table_after(wb["Сводка"], "ID сбора") == [
        ("spo-2026", "Сведения о специальностях", "ВПР СПО", "01.11.2026 12:00 – 25.12.2026 18:00",
         "Открыт", 3, 1, 1, 1, None),
        ("spo-2025", "Сведения 2025", "ВПР СПО", "01.11.2025 00:00 – 01.12.2025 00:00",
         "Закрыт", 2, 0, None, 1, 1),
        ("spo-50", "Сбор только для региона 50", "ВПР СПО", "01.11.2026 12:00 – 25.12.2026 18:00",
         "Открыт", 0, None, None, None, None),
    ]
    notes = [r[1] for r in values(wb["Сводка"]) if r[0] == "Пояснение" or (r[0] is None and r[1])]
    # Why «Не сдано» is empty while a collection is open, and which collection has no one here.
    assert any("у открытого сбора столбец «Не сдано» пуст" in n for n in notes)
    assert any("нет участников сбора «Сбор только для региона 50» (ID spo-50)" in n for n in notes)
    ws = wb["Статусы"]
    grid = values(ws)
    assert grid[0] == ("Регион", "Муниципалитет", "Логин", "Наименование",
                       "Сведения о специальностях (ID spo-2026)", "Сведения 2025 (ID spo-2025)")
    assert [r[2:] for r in grid[1:4]] == [
        ("spo770001", "Колледж spo770001", "Сдано", "Сдано"),
        ("spo770002", HYPERLINK, "В работе", "—"),
        ("spo770003", "Колледж spo770003", "Не приступило", "Не сдано"),
    ]
    assert grid[5:] == [
        (None, None, None, "Итого: Всего участников", 3, 2),
        (None, None, None, "Итого: Не приступило", 1, 0),
        (None, None, None, "Итого: В работе", 1, None),
        (None, None, None, "Итого: Сдано", 1, 1),
        (None, None, None, "Итого: Не сдано", None, 1),
    ]
    assert ws.freeze_panes == "E2"
    assert ws.auto_filter.ref == "A1:F4"  # the totals stay out of the filter
    assert ws["F4"].fill.fgColor.rgb == "FFFFC7CE"
    assert ws["F3"].fill.fgColor.rgb == "00000000"


# --- atomic writing ------------------------------------------------------------------------

def test_write_atomic_keeps_versions_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "reg77" / "status_spo-2026.xlsx"
    start = datetime(2026, 12, 1, 8, 0, tzinfo=MOSCOW)
    for day in range(7):
        assert write_atomic(f"v{day}".encode(), target, keep=5,
                            now=start + timedelta(days=day)) == target
    assert target.read_bytes() == b"v6"
    names = sorted(p.name for p in target.parent.iterdir())
    assert names == ["status_spo-2026.xlsx"] + [
        f"status_spo-2026_202612{d:02d}-080000.xlsx" for d in range(3, 8)]
    assert (target.parent / "status_spo-2026_20261207-080000.xlsx").read_bytes() == b"v6"
    assert (target.parent / "status_spo-2026_20261203-080000.xlsx").read_bytes() == b"v2"


def test_report_file_names(tmp_path: Path) -> None:
    assert report_file(tmp_path, REG77, "status", "spo-2026") == (
        tmp_path / "reg77" / "status_spo-2026.xlsx")
    assert report_file(tmp_path, OPERATOR, "group") == tmp_path / "operator" / "group.xlsx"
    with pytest.raises(ValueError, match="unknown report kind 'stat'"):
        report_file(tmp_path, REG77, "stat", "spo-2026")


def test_write_atomic_twice_in_one_second_and_keep_zero(tmp_path: Path) -> None:
    target = tmp_path / "status_x.xlsx"
    moment = datetime(2026, 12, 1, 8, 0, tzinfo=MOSCOW)
    for i in range(3):
        write_atomic(f"v{i}".encode(), target, keep=2, now=moment)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "status_x.xlsx", "status_x_20261201-080000-1.xlsx", "status_x_20261201-080000-2.xlsx"]
    write_atomic(b"last", target, keep=0, now=moment)
    assert [p.name for p in tmp_path.iterdir()] == ["status_x.xlsx"]
    assert target.read_bytes() == b"last"


# --- the writer ----------------------------------------------------------------------------

_XML_ILLEGAL = {*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF}
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(c) for c in _XML_ILLEGAL]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(texts, min_size=1, max_size=6))
@example(["_x0041_", " lead", "trail ", "a\r\nb\rc", "<b>&amp;</b>", "=1+1", "\u00a0"])
def test_any_text_reads_back_unchanged(cells: list[str]) -> None:
    book = Book()
    book.sheet("Т").append(cells)
    with CalamineWorkbook.from_filelike(io.BytesIO(book.finish())) as wb:
        got = wb.get_sheet_by_name("Т").to_python(skip_empty_area=False)
    first = list(got[0]) if got else []  # an all-empty row is no row at all
    assert first + [""] * (len(cells) - len(first)) == cells


rows_strategy = st.lists(st.tuples(
    st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.none() | st.integers(-(2**53), 2**53),
    st.none() | st.floats(),
    st.none() | st.dates(date(1900, 3, 1), date(2200, 1, 1)),
    st.none() | st.datetimes(datetime(1900, 3, 1), datetime(2200, 1, 1)).map(
        lambda d: d.replace(microsecond=0)),
    st.none() | st.booleans(),
), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(rows_strategy)
@example([("_x0041_ a\r\n\x00<&>", 1, 0.1, date(2027, 2, 1), datetime(2027, 2, 1, 9, 30), True),
          (" \x01 ", None, float("inf"), None, None, False)])
def test_frame_rows_are_written_as_row_by_row(rows: list[tuple[Any, ...]]) -> None:
    frame = pl.DataFrame(rows, orient="row", schema={
        "t": pl.String(), "i": pl.Int64(), "f": pl.Float64(), "d": pl.Date(),
        "dt": pl.Datetime("us"), "b": pl.Boolean()})
    by_row, by_frame = Book(), Book()
    sheet = by_row.sheet("Т")
    for row in rows:
        sheet.append(row)
    append_frame(by_frame.sheet("Т"), frame, [])

    def read(data: bytes) -> list[list[Any]]:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as wb:
            return wb.get_sheet_by_name("Т").to_python(skip_empty_area=False)

    assert read(by_frame.finish()) == read(by_row.finish())


def test_characters_xml_cannot_carry_are_dropped() -> None:
    book = Book()
    book.sheet("Т").append(["a\x00b\x1fc", "\x01", "x\ty\nz"])
    wb = workbook(book.finish())
    assert values(wb["Т"]) == [("abc", None, "x\ty\nz")]


# --- LibreOffice ---------------------------------------------------------------------------

def rounded(ws: Worksheet) -> list[tuple[Any, ...]]:
    return [tuple(round(v, 12) if isinstance(v, float) else v for v in row) for row in values(ws)]


@pytest.fixture
def soffice() -> Iterator[str]:
    found = shutil.which("soffice")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("soffice is missing on CI: install libreoffice-calc-nogui")
        pytest.skip("soffice (LibreOffice) is not installed")
    yield found


@pytest.mark.libreoffice
def test_libreoffice_opens_every_workbook(tmp_path: Path, soffice: str,
                                          registry: list[Organisation], collection: Collection,
                                          rows: list[OrgStatus]) -> None:
    form = builtin_forms()["spo_specialities"]
    orgs = {o.login: o for o in registry}
    books = {
        "status_open.xlsx": render_status(collection, REG77, rows, now=OPEN_NOW),
        "status_closed.xlsx": render_status(collection, OPERATOR, rows, now=CLOSED_NOW),
        "export.xlsx": render_statuses_export([(collection, r, "Сдано") for r in rows]),
        "group.xlsx": render_group_report([collection], OPERATOR, {collection.id: rows},
                                          now=OPEN_NOW),
        "results.xlsx": render_results(form, collection, OPERATOR, results_frames(registry),
                                       orgs, row_limit=5),
    }
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for name, data in books.items():
        write_atomic(data, source / name, keep=0)
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), *sorted(map(str, source.iterdir()))],
        check=True, capture_output=True, timeout=180)
    for name, data in books.items():
        ours, theirs = workbook(data), openpyxl.load_workbook(out / name)
        assert theirs.sheetnames == ours.sheetnames, name
        for sheet in ours.sheetnames:
            # LibreOffice keeps 15 significant digits (0.333333333333333).
            assert rounded(theirs[sheet]) == rounded(ours[sheet]), (name, sheet)
        hyperlink = [c for ws in theirs for row in ws.iter_rows() for c in row
                     if c.value == HYPERLINK]
        assert hyperlink and all(c.data_type == "s" for c in hyperlink), name


# --- bench ---------------------------------------------------------------------------------

def test_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench("bench_reports")
    assert bench.main(["--orgs", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "status workbook (operator view, all 50 organisations)" in out
    assert "cells/s" in out
