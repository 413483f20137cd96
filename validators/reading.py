"""Reading the form sheets of a returned workbook into polars, as text, and checking that their
structure is the template's.

No reader is allowed to cast: calamine hands over each cell as it is stored (text, number, date,
boolean); those raw values are kept column-wise, to become two strings per cell, its canonical
text and its kind (``validators/rawframe.py``), so that casting can tell a number from a number
stored as text and report both. The raw values are kept by address too, for the annotated
workbook sent back to the school.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import get_column_letter, range_boundaries
from python_calamine import CalamineWorkbook

from forms import layout
from forms.findings import Finding, finding, place
from forms.spec import Form, Sheet
from validators import messages as msg
from validators._xmlscan import SheetFacts
from validators.rawframe import number_text

SERVICE_SHEETS = frozenset({layout.TITLE_SHEET, layout.INSTRUCTION_SHEET, layout.LISTS_SHEET,
                            layout.IDENTITY_SHEET})
MAX_OUTSIDE = 10  # values outside the table reported per sheet; more add nothing for the school


@dataclass(frozen=True)
class SheetRead:
    """One form sheet as read: for each non-empty entry row its number (from 1) and, per field,
    the raw values as calamine gave them (column-wise, so that a batch concatenates them cheaply
    and encodes them once: ``validators/rawframe.py``); None when the structure is broken."""

    sheet: Sheet
    columns: tuple[list[Any], ...] | None
    rows: list[int]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class WorkbookRead:
    sheets: tuple[SheetRead, ...]
    findings: tuple[Finding, ...]  # every structure finding, the sheets' included
    cells: Mapping[str, Mapping[str, Any]]


class EntryCells(Mapping[str, Any]):
    """Raw values of an entry area by address ("E7"), built on first use: only the feedback
    workbook of a rejected file needs them, and most files are accepted.

    ``positioned()`` gives the same values as (row, column, value) without building the mapping:
    the feedback writer places cells by position, and formatting 500 addresses only for it to
    parse them again was most of a rejected file's answer."""

    def __init__(self, sheet: Sheet, read: SheetRead) -> None:
        self._sheet, self._read = sheet, read
        self._cells: dict[str, Any] | None = None

    def positioned(self) -> Iterator[tuple[int, int, Any]]:
        """(row, column, value) of every filled cell, field by field, rows in order."""
        if self._read.columns is None:
            return
        # A table field's cell moves down with the row; a card's answer has one row of its own.
        step = 1 if self._sheet.kind == "table" else 0
        for field, column in zip(self._sheet.fields, self._read.columns, strict=True):
            first = layout.cell_of(self._sheet, field.number, 0)
            top, col = first.row - step, first.column
            for row_number, value in zip(self._read.rows, column, strict=True):
                if value is not None and not (isinstance(value, str) and not value.strip()):
                    yield top + step * row_number, col, value

    def _build(self) -> dict[str, Any]:
        if self._cells is None:
            letters: dict[int, str] = {}
            cells: dict[str, Any] = {}
            for row, column, value in self.positioned():
                letter = letters.get(column)
                if letter is None:
                    letter = letters[column] = get_column_letter(column)
                cells[f"{letter}{row}"] = value
            self._cells = cells
        return self._cells

    def __getitem__(self, address: str) -> Any:
        return self._build()[address]

    def __iter__(self) -> Iterator[str]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())

    def __bool__(self) -> bool:
        # Without this, ``cells or {}`` would build the whole mapping to learn it is not empty.
        return next(self.positioned(), None) is not None


def _norm(value: Any) -> str:
    text = number_text(value) if isinstance(value, float | int) and not isinstance(value, bool) else str(value)
    return " ".join(text.split())


def _at(rows: list[list[Any]], row: int, column: int) -> Any:
    """The value at a 1-based (row, column), '' when outside what calamine returned."""
    if row - 1 < len(rows):
        cells = rows[row - 1]
        if column - 1 < len(cells):
            return cells[column - 1]
    return ""


def _filled(value: Any) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip()))


def read_form(workbook: CalamineWorkbook, form: Form, file: str,
              facts: Mapping[str, SheetFacts]) -> WorkbookRead:
    """Every form sheet of ``workbook``: raw frames, structure findings and raw cells."""
    names = workbook.sheet_names
    strangers = [n for n in names if n not in SERVICE_SHEETS and n not in {s.name for s in form.sheets}]
    reads: list[SheetRead] = []
    findings: list[Finding] = []
    cells: dict[str, Mapping[str, Any]] = {}
    for sheet in form.sheets:
        if sheet.name not in names:
            guess = strangers[0] if len(strangers) == 1 else None
            found = finding("missing-sheet", file=file, worksheet=sheet.name, sheet=sheet.name,
                            guess=f" (возможно, он переименован в «{guess}»)" if guess else "")
            reads.append(SheetRead(sheet, None, [], (found,)))
            findings.append(found)
            continue
        rows = workbook.get_sheet_by_name(sheet.name).to_python(skip_empty_area=False)
        read = _read_sheet(sheet, rows, file, facts.get(sheet.name, SheetFacts()))
        cells[sheet.name] = EntryCells(sheet, read)
        reads.append(read)
        findings.extend(read.findings)
    return WorkbookRead(tuple(reads), tuple(findings), cells)


def _read_sheet(sheet: Sheet, rows: list[list[Any]], file: str, facts: SheetFacts) -> SheetRead:
    header = _check_table_header if sheet.kind == "table" else _check_card_header
    findings = header(sheet, rows, file)
    if any(f.blocks for f in findings):
        return SheetRead(sheet, None, [], tuple(findings))
    findings += _check_area(sheet, rows, file, facts)
    numbers, columns = _table_entries(sheet, rows) if sheet.kind == "table" else _card_entries(sheet, rows)
    findings += too_few_rows(sheet, len(numbers), file)
    # Cell-level structure errors (merged cells, formulas, extra rows) reject the file but do not
    # stop the reading: the school sees every other finding of the sheet at once.
    return SheetRead(sheet, columns, numbers, tuple(findings))


def too_few_rows(sheet: Sheet, count: int, file: str) -> list[Finding]:
    """A table sheet with fewer than ``min_rows`` rows (a workbook's or a web form's)."""
    if sheet.kind != "table" or count >= sheet.min_rows:
        return []
    # An empty sheet that must say why is marked where the answer goes: the first entry cell.
    first = sheet.fields[0].number
    cell = layout.cell_of(sheet, first, 0).address if not count and sheet.when_empty else None
    located = {"worksheet": sheet.name, "cell": cell, "field": first if cell else None}
    if not count and sheet.when_empty:
        return [finding("too-few-rows", file=file, wording="empty", **located, where=msg.where(sheet, cell, first),
                        when_empty=sheet.when_empty)]
    return [finding("too-few-rows", file=file, **located, sheet=sheet.name, found=count, min_rows=sheet.min_rows)]


def _check_table_header(sheet: Sheet, rows: list[list[Any]], file: str) -> list[Finding]:
    """Row 4 holds the field numbers: a mismatch there means moved, inserted or deleted columns,
    and the values cannot be placed (error). A changed title with the numbers intact is shown as
    a warning: the values are still read by their field numbers."""
    expected = [f.number for f in sheet.fields]
    width = max(len(expected), len(rows[layout.NUMBER_ROW - 1]) if len(rows) >= layout.NUMBER_ROW else 0)
    found = [_norm(_at(rows, layout.NUMBER_ROW, c)) for c in range(1, width + 1)]
    if found[: len(expected)] != expected or any(found[len(expected):]):
        return [_column_finding(sheet, file, found, expected)]
    findings: list[Finding] = []
    for col, field in enumerate(sheet.fields, start=1):
        title = _norm(_at(rows, layout.HEADER_ROW, col))
        if title != _norm(field.title):
            address = f"{get_column_letter(col)}{layout.HEADER_ROW}"
            findings.append(_header_changed(sheet, file, address, field.number, title, field.title))
    return findings


def _header_changed(sheet: Sheet, file: str, address: str, number: str, title: str, expected: str) -> Finding:
    """A changed title: a warning, the values are still read by their field numbers."""
    return finding("header-changed", file=file, worksheet=sheet.name, cell=address, field=number, value=title,
                   where=msg.where(sheet, address, number), found=title, expected=expected)


def _column_finding(sheet: Sheet, file: str, found: list[str], expected: list[str]) -> Finding:
    found = found + [""] * (len(expected) - len(found))
    col = next((i for i, number in enumerate(expected) if found[i] != number), len(expected))
    got = found[col]
    address = f"{get_column_letter(col + 1)}{layout.NUMBER_ROW}"
    shifted = found[col + 1: len(expected) + 1] == expected[col:]
    if col == len(expected) or (got not in expected and shifted):
        return finding("column-inserted", file=file, worksheet=sheet.name, cell=address, value=got,
                       where=place(sheet.name, address, None), named=f" «{got}»" if got else "")
    return finding("column-moved", file=file, worksheet=sheet.name, cell=address, field=expected[col], value=got,
                   where=place(sheet.name, address, None), found=got or "пусто", expected=expected[col])


def _check_card_header(sheet: Sheet, rows: list[list[Any]], file: str) -> list[Finding]:
    findings: list[Finding] = []
    for field in sheet.fields:
        ref = layout.card_cell(sheet, field.number)
        number = _norm(_at(rows, ref.row, 1))
        if number != field.number:
            address = f"A{ref.row}"
            # a card's field number changed: its values cannot be placed
            return [finding("header-changed", file=file, severity="error", worksheet=sheet.name, cell=address,
                            field=field.number, value=number, where=msg.where(sheet, address, None),
                            found=number or "пусто", expected=field.number)]
        title = _norm(_at(rows, ref.row, 2))
        if title != _norm(field.title):
            address = f"B{ref.row}"
            findings.append(_header_changed(sheet, file, address, field.number, title, field.title))
    return findings


def _check_area(sheet: Sheet, rows: list[list[Any]], file: str, facts: SheetFacts) -> list[Finding]:
    """Values below the last entry row (too many rows), values beside the table, merged cells
    and formulas without a stored value inside the entry area."""
    first = layout.FIRST_ROW if sheet.kind == "table" else layout.CARD_FIRST_ROW
    last, width = layout.last_row(sheet), layout.last_column(sheet)
    findings: list[Finding] = []
    outside = 0
    for r in range(first, len(rows) + 1):
        # Inside the entry area only the cells right of the table matter: most rows are no wider.
        start = width if r <= last else 0
        row = rows[r - 1]
        if len(row) <= start or row.count("") == len(row) - start:
            continue
        for c, value in enumerate(row[start:], start=start + 1):
            if not _filled(value):
                continue
            address = f"{get_column_letter(c)}{r}"
            if c <= width and sheet.kind == "table":
                findings.append(finding("too-many-rows", file=file, worksheet=sheet.name, cell=address,
                                        where=place(sheet.name, address, None), max_rows=sheet.max_rows,
                                        first=first, last=last))
                return findings
            outside += 1
            if outside <= MAX_OUTSIDE:
                findings.append(finding("outside-table", file=file, worksheet=sheet.name, cell=address,
                                        value=_norm(value), where=place(sheet.name, address, None),
                                        v=_norm(value)))
    for merged in facts.merges:
        min_col, min_row, max_col, max_row = range_boundaries(merged)
        if min_row is None or min_col is None or max_row is None or max_col is None:
            continue
        if max_row >= first and min_row <= last and min_col <= width:
            address = f"{get_column_letter(min_col)}{min_row}"
            findings.append(finding("merged-cells", file=file, worksheet=sheet.name, cell=address,
                                    where=place(sheet.name, address, None), merged=merged))
    for address, code in [(a, "formula-without-value") for a in facts.formulas_without_value] + [
            (a, "formula-error") for a in facts.error_cells]:
        min_col, min_row, _, _ = range_boundaries(address)
        if min_row is None or min_col is None or not (first <= min_row <= last and min_col <= width):
            continue
        number = _field_at(sheet, min_row, min_col)
        findings.append(finding(code, file=file, worksheet=sheet.name, cell=address, field=number,
                                where=msg.where(sheet, address, number)))
    return findings


def _field_at(sheet: Sheet, row: int, column: int) -> str | None:
    if sheet.kind == "card":
        index = row - layout.CARD_FIRST_ROW
        return sheet.fields[index].number if 0 <= index < len(sheet.fields) else None
    return sheet.fields[column - 1].number if column <= len(sheet.fields) else None


def _table_entries(sheet: Sheet, rows: list[list[Any]]) -> tuple[list[int], tuple[list[Any], ...]]:
    n = len(sheet.fields)
    numbers: list[int] = []
    kept: list[list[Any]] = []
    for r in range(layout.FIRST_ROW, min(len(rows), layout.last_row(sheet)) + 1):
        values = rows[r - 1][:n]
        blanks = values.count("")
        if blanks == len(values) or not any(_filled(v) for v in values):
            continue  # an empty row in the entry area is skipped
        if len(values) < n:
            values = values + [""] * (n - len(values))
        numbers.append(r - layout.FIRST_ROW + 1)
        kept.append(values)
    columns = tuple(list(column) for column in zip(*kept, strict=True)) if kept else tuple([] for _ in range(n))
    return numbers, columns


def _card_entries(sheet: Sheet, rows: list[list[Any]]) -> tuple[list[int], tuple[list[Any], ...]]:
    columns = tuple([_at(rows, layout.card_cell(sheet, f.number).row, layout.CARD_VALUE_COLUMN)]
                    for f in sheet.fields)
    return [1], columns
