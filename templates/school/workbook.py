"""The school's workbook with openpyxl: the reference renderer, and the base of the fast path.

A template is a per-collection workbook plus a handful of per-organisation cells
(``templates/school/personal.py``). ``build_workbook`` renders everything and, given ``personal``,
writes the organisation's cells; the fast path (``templates/school/factory.py``) splices the very same
cells into a base rendered without them, so the two paths cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import copy

from openpyxl import Workbook
from openpyxl.utils.cell import coordinate_from_string, get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.worksheet import Worksheet

from forms import layout
from forms.collection import Collection
from forms.spec import Form
from forms.wording import worded
from templates.school.instruction import write_instruction
from templates.school.personal import IDENTITY_ROWS, wrap_columns
from templates.school.sheets import protect, write_sheet
from templates.school.title import write_title
from templates.school.validation import list_range_name


def _write_lists(ws: Worksheet, form: Form) -> None:
    """One column per choice list, its name in row 1, a workbook name over its values."""
    wb = ws.parent
    for col, choice_list in enumerate(form.lists, start=1):
        letter = get_column_letter(col)
        ws.cell(1, col, choice_list.name)
        for row, value in enumerate(choice_list.values, start=2):
            ws.cell(row, col, value).data_type = "s"
        ws.column_dimensions[letter].width = min(80, max(len(v) for v in choice_list.values) + 2)
        name = list_range_name(choice_list)
        ref = f"'{layout.LISTS_SHEET}'!${letter}$2:${letter}${len(choice_list.values) + 1}"
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    ws.sheet_state = "hidden"
    protect(ws)


def _write_identity(ws: Worksheet, form: Form, collection: Collection) -> None:
    """The identity rows; login and signature stay empty here (they are per organisation).
    Every value is text, the version too, so every reader gets back exactly what was signed."""
    fixed = {"collection": collection.id, "form": form.id, "version": str(form.version),
             "fingerprint": form.fingerprint}
    for key, row in IDENTITY_ROWS.items():
        ws.cell(row, 1, key)
        value = ws.cell(row, 2, fixed.get(key))
        value.number_format = "@"
        if key in fixed:
            value.data_type = "s"
    ws.column_dimensions["B"].width = 70
    ws.sheet_state = "veryHidden"
    protect(ws)


def write_personal(wb: Workbook, form: Form, cells: Mapping[str, Mapping[str, str]]) -> None:
    """Write the organisation's cells into a workbook from ``build_workbook``. A cell below the
    header of a table sheet takes its column's entry style, as Excel would show it."""
    wrapping = wrap_columns(form)
    for title, values in cells.items():
        ws = wb[title]
        if title in wrapping:
            for row, height in wrapping[title].heights(values).items():
                ws.row_dimensions[row].height = height
        for address, text in values.items():
            cell = ws[address]
            if not cell.has_style:
                letter, _ = coordinate_from_string(address)
                cell._style = copy(ws.column_dimensions[letter]._style)
            cell.value = text
            cell.data_type = "s"  # never a formula, whatever the registry holds


def build_workbook(form: Form, collection: Collection,
                   personal: Mapping[str, Mapping[str, str]] | None = None) -> Workbook:
    """The whole template; without ``personal`` the organisation's cells are left empty."""
    form = worded(form, collection)  # «в 2026/2027 учебном году» wherever the spec says {school_year}
    wb = Workbook()
    title_ws = wb.active
    assert title_ws is not None
    title_ws.title = layout.TITLE_SHEET
    write_title(title_ws, form, collection)
    write_instruction(wb.create_sheet(layout.INSTRUCTION_SHEET), form, collection)
    for sheet in form.sheets:
        write_sheet(wb.create_sheet(sheet.name), sheet, form, collection)
    _write_lists(wb.create_sheet(layout.LISTS_SHEET), form)
    _write_identity(wb.create_sheet(layout.IDENTITY_SHEET), form, collection)
    wb.active = 0
    wb.properties.title = collection.title
    wb.properties.subject = form.title
    wb.properties.creator = "sbor"
    wb.properties.lastModifiedBy = "sbor"
    # Sheets cannot be added, removed, renamed or unhidden by accident; no password (a guard).
    wb.security = WorkbookProtection(lockStructure=True)
    if personal:
        write_personal(wb, form, personal)
    return wb

