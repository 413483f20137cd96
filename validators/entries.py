"""A form filled on a web page, read as a workbook's reading reads it: per sheet, the entry rows
and their raw values column-wise (``SheetRead``), so the judge does the rest exactly as for a
returned workbook.

What a school types into a number or date input becomes what a spreadsheet stores for the same
typing (a number, a date); anything else stays text and is judged as text typed into such a cell
(«not a number» at its cell). Rows are numbered by their place in the grid, so a finding's cell
(``E7``) names the input the school typed it in (``input_of``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from forms import layout
from forms.spec import Field, Form, Sheet
from validators.reading import SheetRead, too_few_rows

_DMY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
_YMD = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_CELL = re.compile(r"^([A-Z]{1,3})([0-9]+)$")

# sheet.table → rows → field number → text as typed (a card has one row).
Values = Mapping[str, Sequence[Mapping[str, str]]]


def raw_value(field: Field, text: str | None) -> Any:
    """The value a spreadsheet would hold after the school typed ``text`` into this field."""
    if text is None or not text.strip():
        return ""
    if field.type in ("integer", "decimal"):
        compact = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
        try:
            return float(compact)
        except ValueError:
            return text
    if field.type == "date":
        for pattern, order in ((_DMY, (2, 1, 0)), (_YMD, (0, 1, 2))):
            m = pattern.match(text)
            if m:
                y, mo, d = (int(m.group(i + 1)) for i in order)
                try:
                    return date(y, mo, d)
                except ValueError:
                    return text
        return text
    return text


def sheet_entries(sheet: Sheet, rows: Sequence[Mapping[str, str]], file: str) -> SheetRead:
    """One sheet's rows as read from a workbook: empty rows skipped, each kept row numbered by
    its place in the grid (from 1)."""
    if sheet.kind == "card":
        given = rows[0] if rows else {}
        columns = tuple([raw_value(f, given.get(f.number))] for f in sheet.fields)
        return SheetRead(sheet, columns, [1], ())
    numbers: list[int] = []
    kept: list[list[Any]] = []
    for i, row in enumerate(rows[: sheet.max_rows]):
        values = [raw_value(f, row.get(f.number)) for f in sheet.fields]
        if any(v != "" for v in values):
            numbers.append(i + 1)
            kept.append(values)
    columns = tuple(list(c) for c in zip(*kept, strict=True)) if kept else tuple([] for _ in sheet.fields)
    return SheetRead(sheet, columns, numbers, tuple(too_few_rows(sheet, len(numbers), file)))


def form_entries(form: Form, values: Values, file: str) -> list[SheetRead]:
    return [sheet_entries(s, values.get(s.table, []), file) for s in form.sheets]


def input_id(sheet: Sheet, row_index: int, position: int) -> str:
    """The id of the web form's input for field ``position`` of grid row ``row_index``."""
    return f"c-{sheet.table}-{row_index}-{position}"


def input_of(form: Form, worksheet: str | None, cell: str | None) -> str | None:
    """The input a finding at ``worksheet``!``cell`` points to; None for a finding about a whole
    sheet or file."""
    if worksheet is None or cell is None or not (m := _CELL.match(cell)):
        return None
    try:
        sheet = form.sheet(worksheet)
    except KeyError:
        return None
    column = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(m.group(1))))
    row = int(m.group(2))
    if sheet.kind == "card":
        position = row - layout.CARD_FIRST_ROW
        return input_id(sheet, 0, position) if 0 <= position < len(sheet.fields) else None
    if row < layout.FIRST_ROW or not 1 <= column <= len(sheet.fields):
        return None
    return input_id(sheet, row - layout.FIRST_ROW, column - 1)
