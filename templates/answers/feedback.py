"""The school's own data handed back with every finding marked.

openpyxl drops some data validations when it re-saves a user's file, so the school's file is not
edited: a fresh signed template is rendered and refilled with the values the school typed. The
corrected file can go straight back into the inbox.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from copy import copy
from datetime import date, datetime, time, timedelta

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from forms import layout
from forms.collection import Collection
from forms.findings import SEVERITY_ORDER, Finding
from forms.organisations import Organisation
from forms.spec import Form, Sheet
from templates.answers.findings_table import (
    FILLS,
    SEVERITY_TEXT,
    cell_position,
    plural,
    rule_marks,
    sort_findings,
    text,
    write_findings,
)
from templates.school import build_workbook, personal_cells, print_setup, wrap_columns
from templates.xlsx import styles as st

FINDINGS_SHEET = "Ошибки"
FINDINGS_HEADER_ROW = 4
# Marks go no further than this beyond a sheet's area: a finding about a far-away cell is listed
# on the «Ошибки» sheet only, so the returned file never grows cells the reader would refuse.
MARK_ROW_MARGIN = 500
MARK_COLUMN_MARGIN = 20

_PLAIN = (int, float, bool, date, datetime, time, timedelta)


def _entry_area(sheet: Sheet) -> tuple[int, int, int]:
    """(first row, last row, last column) where a school's values may be written."""
    if sheet.kind == "card":
        return layout.CARD_FIRST_ROW, layout.last_row(sheet), layout.CARD_VALUE_COLUMN
    return layout.FIRST_ROW, layout.last_row(sheet), layout.last_column(sheet)


def _cell(ws: Worksheet, row: int, column: int) -> Cell:
    """The cell, with its column's style if it had none of its own: openpyxl gives a new cell the
    default style, locked, where Excel shows the column's (an open entry cell)."""
    cell = ws.cell(row, column)
    if not cell.has_style:
        dim = ws.column_dimensions.get(get_column_letter(column))
        if dim is not None and dim.has_style:
            cell._style = copy(dim._style)
    return cell


def _write_value(ws: Worksheet, row: int, column: int, value: object) -> None:
    """A value as the school typed it: numbers and dates as such, everything else as text —
    never a formula."""
    cell = _cell(ws, row, column)
    if isinstance(value, _PLAIN):
        cell.value = value
    else:
        cell.value = text(value)[:32767]
        cell.data_type = "s"


def _refill(wb: Workbook, form: Form, cells: Mapping[str, Mapping[str, object]]) -> None:
    wrapping = wrap_columns(form)
    for sheet in form.sheets:
        values = cells.get(sheet.name)
        if not values:
            continue
        ws = wb[sheet.name]
        first, last, width = _entry_area(sheet)
        wrap = wrapping.get(sheet.name)
        for address, value in values.items():
            position = cell_position(address)
            if value is None or position is None:
                continue
            row, column = position
            inside = first <= row <= last and (
                column == layout.CARD_VALUE_COLUMN if sheet.kind == "card" else column <= width)
            if inside:
                _write_value(ws, row, column, value)
                # A long name in the wrapping column gets its row's height, as in the template.
                if wrap is not None and column == wrap.column and isinstance(value, str):
                    height = wrap.height(text(value)[:32767])
                    if height:
                        ws.row_dimensions[row].height = height


def _mark(wb: Workbook, form: Form, findings: Sequence[Finding]) -> None:
    """Fill each cell with a finding (the worst severity's colour) and put every message on it
    as a comment, above the hint the cell may already carry."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.worksheet in wb.sheetnames and cell_position(finding.cell) is not None:
            by_cell.setdefault((finding.worksheet, str(finding.cell)), []).append(finding)
    for (title, address), found in by_cell.items():
        row, column = cell_position(address) or (0, 0)
        try:
            sheet = form.sheet(title)
            _, last, width = _entry_area(sheet)
        except KeyError:
            last, width = 60, 10  # title or instruction sheet
        if row > last + MARK_ROW_MARGIN or column > width + MARK_COLUMN_MARGIN:
            continue
        cell = _cell(wb[title], row, column)
        worst = min(found, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
        cell.fill = FILLS.get(worst.severity, st.NOTE_FILL)
        notes = "\n".join(f"{SEVERITY_TEXT.get(f.severity, f.severity).capitalize()}: {text(f.message)}"
                          for f in found)
        if cell.comment is not None:
            notes += "\n\n" + cell.comment.text
        comment = Comment(notes, "sbor")
        comment.width, comment.height = 360, max(90, 22 * (len(notes) // 45 + 2))
        cell.comment = comment


def _summary(file_name: str, findings: Sequence[Finding]) -> tuple[str, str]:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    if errors:
        head = (f"Файл «{file_name}» не принят: {plural(errors, 'ошибка', 'ошибки', 'ошибок')}"
                + (f", {plural(warnings, 'предупреждение', 'предупреждения', 'предупреждений')}" if warnings else "")
                + ". Исправьте ошибки в этом файле и отправьте его снова.")
    else:
        head = (f"Файл «{file_name}»: ошибок нет, "
                f"{plural(warnings, 'предупреждение', 'предупреждения', 'предупреждений')}.")
    how = ("Ячейки с ошибками закрашены красным, с предупреждениями — жёлтым; у каждой — примечание "
           "с объяснением. Ссылка в столбце «Ячейка» ведёт к ячейке. Этот лист при повторной "
           "отправке можно не удалять.")
    return head, how


def _findings_sheet(wb: Workbook, form: Form, findings: Sequence[Finding], file_name: str) -> None:
    ws = wb.create_sheet(FINDINGS_SHEET, 0)
    head, how = _summary(file_name, findings)
    ws.cell(1, 1, head).font = st.TITLE_FONT
    ws.cell(2, 1, how).font = st.HINT_FONT
    ordered = sort_findings(findings, [s.name for s in form.sheets])
    last = write_findings(ws, ordered, FINDINGS_HEADER_ROW, linkable=set(wb.sheetnames))
    ws.freeze_panes = f"A{FINDINGS_HEADER_ROW + 1}"
    ws.auto_filter.ref = f"A{FINDINGS_HEADER_ROW}:G{max(last, FINDINGS_HEADER_ROW + 1)}"
    print_setup(ws, "landscape", f"{FINDINGS_HEADER_ROW}:{FINDINGS_HEADER_ROW}")
    ws.sheet_properties.tabColor = "FFC00000"


def render_feedback(
    form: Form,
    collection: Collection,
    org: Organisation,
    secret: bytes,
    cells: Mapping[str, Mapping[str, object]],
    findings: Sequence[Finding],
    file_name: str,
) -> bytes:
    """A fresh signed template of ``org`` refilled with ``cells`` (worksheet → {"E7": value} as
    the school typed them), every finding marked on its cell, and an «Ошибки» sheet first that
    lists them all (file-level ones too) with links to their cells."""
    form_sheets = {s.name for s in form.sheets}
    # The prefilled rows are not restored: the school's values say what the sheets hold now.
    personal = {t: v for t, v in personal_cells(form, collection, org, secret).items() if t not in form_sheets}
    wb = build_workbook(form, collection, personal)
    _refill(wb, form, cells)
    _mark(wb, form, rule_marks(form, findings))
    _findings_sheet(wb, form, findings, file_name)
    wb.active = 0
    for ws in wb.worksheets:  # else Excel opens with the title sheet still selected: grouped
        ws.sheet_view.tabSelected = ws.title == FINDINGS_SHEET
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
