"""Where things stand in a template: the one agreement between the code that writes workbooks
(templates/) and the code that reads them back (validators/).

A table sheet:                              A card sheet:
  row 1  title                                row 1  title
  row 2  the sheet hint                       row 2  the sheet hint
  row 3  field titles ("Количество …")        row 3  "№" | "Показатель" | "Значение"
  row 4  field numbers ("3.1")                row 4… one field a row: number | title | value
  row 5… entry rows, one field a column
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils.cell import get_column_letter

from forms.spec import Field, Sheet

TITLE_SHEET = "Титул"
INSTRUCTION_SHEET = "Инструкция"
LISTS_SHEET = "_lists"  # hidden: the dropdown sources, too long for inline lists
IDENTITY_SHEET = "_sbor"  # very hidden: the signed identity

TITLE_ROW = 1
HINT_ROW = 2
HEADER_ROW = 3
NUMBER_ROW = 4
FIRST_ROW = 5  # first entry row of a table sheet
CARD_FIRST_ROW = 4  # first answer row of a card sheet
CARD_VALUE_COLUMN = 3  # column C holds a card's answers
CARD_HEADERS = ("№", "Показатель", "Значение")

# Identity sheet: one key per row, key in column A, value in column B, in this order.
IDENTITY_KEYS = ("collection", "login", "form", "version", "fingerprint", "signature")


@dataclass(frozen=True)
class CellRef:
    row: int  # 1-based, as Excel counts
    column: int  # 1-based

    @property
    def address(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}"


def column_of(sheet: Sheet, number: str) -> int:
    """The 1-based column of a table field."""
    for i, f in enumerate(sheet.fields, start=1):
        if f.number == number:
            return i
    raise KeyError(number)


def table_cell(sheet: Sheet, number: str, row_index: int) -> CellRef:
    """The cell of field ``number`` in the ``row_index``-th entry row (0-based) of a table."""
    return CellRef(FIRST_ROW + row_index, column_of(sheet, number))


def card_cell(sheet: Sheet, number: str) -> CellRef:
    """The answer cell of a card field."""
    for i, f in enumerate(sheet.fields):
        if f.number == number:
            return CellRef(CARD_FIRST_ROW + i, CARD_VALUE_COLUMN)
    raise KeyError(number)


def cell_of(sheet: Sheet, number: str, row_index: int = 0) -> CellRef:
    """Where the school types field ``number`` (of row ``row_index`` for a table)."""
    if sheet.kind == "card":
        return card_cell(sheet, number)
    return table_cell(sheet, number, row_index)


def last_row(sheet: Sheet) -> int:
    """The last row of the entry area."""
    if sheet.kind == "card":
        return CARD_FIRST_ROW + len(sheet.fields) - 1
    return FIRST_ROW + sheet.max_rows - 1


def last_column(sheet: Sheet) -> int:
    return CARD_VALUE_COLUMN if sheet.kind == "card" else len(sheet.fields)


def entry_fields(sheet: Sheet) -> tuple[Field, ...]:
    return sheet.fields
