"""«Скачать в Excel»: the school's own template holding its draft, so that it can go on in Excel
with what it typed on the web page (and send the file back by any channel).

The template is the same as ``render_template``'s (signed, personalised); the draft's values
replace the prefilled rows of each sheet it fills. Values arrive as a spreadsheet would hold
them (numbers, dates, text: the caller types them); text is always written as text, never as a
formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import copy
from datetime import date

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from forms.collection import Collection
from forms.organisations import Organisation
from forms.spec import Form
from templates.school.personal import personal_cells
from templates.school.render import workbook_bytes
from templates.school.workbook import build_workbook

CellValue = str | float | int | date


def render_with_values(form: Form, collection: Collection, org: Organisation, secret: bytes,
                       values: Mapping[str, Mapping[str, CellValue]]) -> bytes:
    """``org``'s template with ``values`` (worksheet → address → value) in its entry cells. A
    worksheet named in ``values`` keeps none of its prefilled entry cells: the values say what
    the sheet holds now."""
    personal = {title: dict(cells) for title, cells in personal_cells(form, collection, org, secret).items()}
    for sheet in form.sheets:
        if sheet.name in values:
            personal.pop(sheet.name, None)
    wb = build_workbook(form, collection, personal)
    for title, cells in values.items():
        ws = wb[title]
        for address, value in cells.items():
            _put(entry_cell(ws, address), value)
    return workbook_bytes(wb)


def entry_cell(ws: Worksheet, address: str) -> Cell:
    """The cell as a spreadsheet program makes it when a user types there: with its column's
    style (number format, unlocked) when it has none of its own."""
    cell = ws[address]
    if not cell.has_style:
        dim = ws.column_dimensions.get(address.rstrip("0123456789"))
        if dim is not None and dim.has_style:
            cell._style = copy(dim._style)
    return cell


def _put(cell: Cell, value: CellValue) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # a school's «=…» is text, never a formula
