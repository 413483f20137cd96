"""Helpers that fill real templates the way a school would, for tests of every stage.

``fill`` types data into the form's entry cells (as values: a string stays a string even if it
starts with "="); ``set_cells`` writes arbitrary cells with openpyxl's own rules (so "=A1" is a
formula), for tests that break a file on purpose. Both load and save with openpyxl, as a school's
spreadsheet program would rewrite the file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from forms import Collection, Form, Organisation, layout
from templates.school import entry_cell

SECRET = b"test-secret-not-for-production"

Value = str | int | float | date | datetime | bool | None


def sample_org(
    kind: str = "spo",
    number: int = 12,
    region: str = "77",
    specialities: Sequence[str] = ("38.02.01", "09.02.07", "99.99.99"),
    full_name: str | None = None,
) -> Organisation:
    """A plausible organisation; an spo one teaches ``specialities`` (the last one is a code
    the speciality list does not know, on purpose)."""
    login = f"{kind}{region}{number:04d}"
    names = {
        "spo": "Государственное бюджетное профессиональное образовательное учреждение «Колледж №{n}»",
        "edu": "Государственное бюджетное общеобразовательное учреждение «Школа №{n}»",
        "ksh": "Государственное казённое общеобразовательное учреждение «Кадетская школа №{n}»",
    }
    return Organisation(
        login=login,
        full_name=full_name or names[kind].format(n=number),
        short_name=f"{kind.upper()} №{number}",
        region_code=region,
        region_name="Москва" if region == "77" else f"Регион {region}",
        municipality_code=f"{region}01",
        municipality_name="Центральный административный округ",
        kind=kind,  # type: ignore[arg-type]
        specialities=tuple(specialities) if kind == "spo" else (),
    )


def org_for(collection: Collection, number: int = 12) -> Organisation:
    """A participant of ``collection``: the first kind it names, else an spo organisation."""
    kinds = collection.participants.kinds or ("spo",)
    return sample_org(kind=kinds[0], number=number)


def _put(cell: Cell, value: Value) -> None:
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # typed text, not a formula


def _save(wb: Any) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def fill(
    template: bytes,
    values: Mapping[str, Sequence[Mapping[str, Value]] | Mapping[str, Value]],
    form: Form | None = None,
    clear: bool = True,
) -> bytes:
    """Type ``values`` into the template: worksheet name → rows keyed by field number (a table),
    or one mapping (a card). ``clear`` empties the rest of each table's entry area first (the
    prefilled rows included), so the sheet holds exactly the rows given.

    Field positions come from the form; without ``form`` they are read from the template's own
    number row (tables) and number column (cards), as the layout places them."""
    wb = load_workbook(io.BytesIO(template))
    for title, given in values.items():
        ws = wb[title]
        sheet = form.sheet(title) if form is not None else None
        if isinstance(given, Mapping):
            _fill_card(ws, given)
            continue
        columns = _table_columns(ws)
        if sheet is not None:
            columns = {f.number: layout.column_of(sheet, f.number) for f in sheet.fields}
        if clear:
            for row in ws.iter_rows(min_row=layout.FIRST_ROW):
                for cell in row:
                    cell.value = None
        for i, row_values in enumerate(given):
            for number, value in row_values.items():
                address = f"{get_column_letter(columns[number])}{layout.FIRST_ROW + i}"
                _put(entry_cell(ws, address), value)
    return _save(wb)


def _table_columns(ws: Worksheet) -> dict[str, int]:
    return {str(c.value): c.column for c in ws[layout.NUMBER_ROW] if c.value is not None}


def _fill_card(ws: Worksheet, given: Mapping[str, Value]) -> None:
    rows = {
        str(ws.cell(row, 1).value): row
        for row in range(layout.CARD_FIRST_ROW, ws.max_row + 1)
        if ws.cell(row, 1).value is not None
    }
    for number, value in given.items():
        _put(ws.cell(rows[number], layout.CARD_VALUE_COLUMN), value)


def set_cells(template: bytes, sheet: str, cells: Mapping[str, object]) -> bytes:
    """Write ``cells`` (address → value) with openpyxl's rules: "=…" becomes a formula."""
    wb = load_workbook(io.BytesIO(template))
    ws = wb[sheet]
    for address, value in cells.items():
        entry_cell(ws, address).value = value
    return _save(wb)
