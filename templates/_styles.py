"""The few cell styles every workbook sbor writes shares, and the number format per field type.

openpyxl style objects are immutable values, so module-level constants are safe to share.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from forms.spec import FieldType

DATE_FORMAT = "DD.MM.YYYY"
NUMBER_FORMATS: dict[FieldType, str] = {
    "integer": "0",
    "decimal": "General",  # a fixed number of decimals would hide what the school typed
    "date": DATE_FORMAT,
    # Text format keeps «+79991234567» or «01» as typed instead of turning them into numbers.
    "text": "@",
    "choice": "@",
    "yesno": "@",
}

TITLE_FONT = Font(bold=True, size=13)
BOLD = Font(bold=True)
SMALL_GREY = Font(size=9, color="FF595959")
HINT_FONT = Font(italic=True, color="FF404040")
LINK_FONT = Font(color="FF0563C1", underline="single")

HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
NUMBER_FILL = PatternFill("solid", fgColor="FFEDEDED")
ENTRY_FILL = PatternFill("solid", fgColor="FFFFFFF0")
ERROR_FILL = PatternFill("solid", fgColor="FFFF9999")
WARNING_FILL = PatternFill("solid", fgColor="FFFFEB84")
NOTE_FILL = PatternFill("solid", fgColor="FFDDEBF7")

_thin = Side(style="thin", color="FF9E9E9E")
BOX = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)

WRAP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTER = Alignment(wrap_text=True, vertical="center", horizontal="center")
CENTER = Alignment(horizontal="center", vertical="center")

LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)

DEFAULT_WIDTH = 16.0


def row_height(text: str, width: float, line: float = 15.0) -> float:
    """A row height that shows ``text`` wrapped in a column (or merged range) ``width`` characters
    wide: neither Excel nor LibreOffice grows a row for wrapped text written by a program."""
    chars_per_line = max(int(width * 1.1), 10)
    lines = 0
    for paragraph in text.split("\n"):
        lines += max(1, -(-len(paragraph) // chars_per_line))
    return round(max(1, lines) * line + 3, 1)
