"""From a row of a frame back to the cell the school typed it in, via ``forms/layout.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from forms import layout
from forms.findings import Finding
from forms.spec import Sheet
from validators.rawframe import BOOLEAN, DATE, DATETIME, NUMBER


def address(sheet: Sheet, number: str, row_number: int) -> str:
    """The cell of field ``number`` in entry row ``row_number`` (from 1; a card has only row 1)."""
    return layout.cell_of(sheet, number, row_number - 1).address


def display(text: str | None, kind: str | None) -> str:
    """A cell's value as the school sees it in Excel: «12,5», «03.02.2027», «ИСТИНА»."""
    if text is None:
        return ""
    if kind == NUMBER:
        return text.replace(".", ",")
    if kind == DATE:
        return date.fromisoformat(text).strftime("%d.%m.%Y")
    if kind == DATETIME:
        return text[8:10] + "." + text[5:7] + "." + text[0:4] + " " + text[11:16]
    if kind == BOOLEAN:
        return "ИСТИНА" if text == "true" else "ЛОЖЬ"
    return text


@dataclass(frozen=True)
class Located:
    """A finding and the file (its position in the batch) it belongs to."""

    file_index: int
    finding: Finding
