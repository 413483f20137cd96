"""A table of findings, as the «Ошибки» sheet of a returned workbook and the receipt list them:
№, Лист, Ячейка, Графа, Значение, Сообщение, Серьёзность, with a link to each cell."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from forms import layout
from forms.findings import SEVERITY_ORDER, Finding
from forms.spec import Form
from templates.school import clean
from templates.xlsx import styles as st

SEVERITY_TEXT = {"error": "ошибка", "warning": "предупреждение", "note": "замечание"}
HEADERS = ("№", "Лист", "Ячейка", "Графа", "Значение", "Сообщение", "Серьёзность")
WIDTHS = (6.0, 26.0, 10.0, 9.0, 24.0, 90.0, 16.0)
FILLS = {"error": st.ERROR_FILL, "warning": st.WARNING_FILL, "note": st.NOTE_FILL}


def plural(n: int, one: str, few: str, many: str) -> str:
    """«1 ошибка», «3 ошибки», «11 ошибок»: Russian agrees the noun with the number."""
    if n % 10 == 1 and n % 100 != 11:
        word = one
    elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        word = few
    else:
        word = many
    return f"{n} {word}"


def text(value: object) -> str:
    """Any value as cell text XML can hold."""
    return clean("" if value is None else str(value))


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:[.,][0-9]{1,15})?")


def value_cell(value: str | None) -> str | int | float | None:
    """A finding's value as the «Значение» column holds it: a number the school typed («34»,
    «12,5») as a number, so it reads and sorts as one; anything else («01», «abc») as text."""
    if value is None or not _NUMBER.fullmatch(value):
        return value
    if "," in value or "." in value:
        return float(value.replace(",", "."))
    return int(value)


def finding_height(finding: Finding) -> float:
    """A findings-table row tall enough for its message and its value, wrapped."""
    return max(st.row_height(finding.message, WIDTHS[5]), st.row_height(text(finding.value), WIDTHS[4]),
               st.row_height(text(finding.worksheet), WIDTHS[1]))


def rule_marks(form: Form, findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` and, for each row rule's finding, the same finding at every other cell of
    its row that the rule names: a sum is wrong in all its terms, not only in its total."""
    out = list(findings)
    for finding in findings:
        if not finding.code.startswith("rule:") or finding.worksheet is None:
            continue
        position = cell_position(finding.cell)
        try:
            sheet = form.sheet(finding.worksheet)
        except KeyError:
            continue
        check = next((c for c in sheet.checks if f"rule:{c.id}" == finding.code), None)
        if check is None or check.kind != "row" or position is None or sheet.kind != "table":
            continue
        numbers = {f.number for f in sheet.fields}
        for number in check.fields:
            if number == finding.field or number not in numbers:
                continue
            cell = f"{get_column_letter(layout.column_of(sheet, number))}{position[0]}"
            out.append(replace(finding, cell=cell, field=number))
    return out


def cell_position(address: str | None) -> tuple[int, int] | None:
    """(row, column) of an address like "E7"; None for no address or a malformed one."""
    if not address:
        return None
    try:
        letters, row = coordinate_from_string(address)
        return row, column_index_from_string(letters)
    except ValueError:
        return None


def sort_findings(findings: Sequence[Finding], sheet_order: Sequence[str]) -> list[Finding]:
    """Errors first; then file-level findings, then by worksheet in the form's order, row, column."""
    order = {name: i for i, name in enumerate(sheet_order)}

    def key(f: Finding) -> tuple[int, int, int, int]:
        position = cell_position(f.cell) or (0, 0)
        sheet = -1 if f.worksheet is None else order.get(f.worksheet, len(order))
        return SEVERITY_ORDER.get(f.severity, 3), sheet, position[0], position[1]

    return sorted(findings, key=key)


def write_findings(ws: Worksheet, findings: Sequence[Finding], header_row: int,
                   linkable: set[str]) -> int:
    """The table from ``header_row`` down; a finding's cell links to it when its worksheet is in
    ``linkable``. Returns the last row written."""
    for col, (title, width) in enumerate(zip(HEADERS, WIDTHS, strict=True), start=1):
        cell = ws.cell(header_row, col, title)
        cell.font, cell.fill, cell.border, cell.alignment = st.BOLD, st.HEADER_FILL, st.BOX, st.WRAP_CENTER
        ws.column_dimensions[cell.column_letter].width = width
    ws.row_dimensions[header_row].height = max(st.row_height(t, w, bold=True)
                                               for t, w in zip(HEADERS, WIDTHS, strict=True))
    row = header_row
    for n, finding in enumerate(findings, start=1):
        row += 1
        values = (n, finding.worksheet, finding.cell, finding.field, value_cell(finding.value), finding.message,
                  SEVERITY_TEXT.get(finding.severity, finding.severity))
        for col, value in enumerate(values, start=1):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            cell = ws.cell(row, col, value if number else (text(value) or None))
            cell.alignment, cell.border = st.WRAP, st.BOX
            if isinstance(value, str):
                cell.data_type = "s"  # the school's text, never a formula
        ws.cell(row, 7).fill = FILLS.get(finding.severity, st.NOTE_FILL)
        if finding.worksheet in linkable and cell_position(finding.cell) is not None:
            target = ws.cell(row, 3)
            target.hyperlink = Hyperlink(ref=target.coordinate, location=f"'{finding.worksheet}'!{finding.cell}",
                                         display=finding.cell)
            target.font = st.LINK_FONT
        ws.row_dimensions[row].height = finding_height(finding)
    return row
