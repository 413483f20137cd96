"""The few cell styles every workbook sbor writes shares, and the number format per field type.

openpyxl style objects are immutable values, so module-level constants are safe to share.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from forms.spec import FieldType
from forms.types import TYPES
from templates.xlsx import textfit
from templates.xlsx.textfit import FONT

DATE_FORMAT = "DD.MM.YYYY"
NUMBER_FORMATS: dict[FieldType, str] = {name: info.number_format for name, info in TYPES.items()}

# Every font is named: a font entry without a name is drawn in the program's default, a serif
# in LibreOffice, beside the sans-serif of the cells around it.
TITLE_SIZE = 13.0
PLAIN = Font(name=FONT, size=11)
TITLE_FONT = Font(name=FONT, bold=True, size=TITLE_SIZE)
BOLD = Font(name=FONT, bold=True, size=11)
SMALL_GREY = Font(name=FONT, size=9, color="FF595959")
HINT_FONT = Font(name=FONT, italic=True, size=11, color="FF404040")
LINK_FONT = Font(name=FONT, size=11, color="FF0563C1", underline="single")

HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
NUMBER_FILL = PatternFill("solid", fgColor="FFEDEDED")
# Where a school types: a light yellow that tells entry cells from the locked ones.
ENTRY_FILL = PatternFill("solid", fgColor="FFFFF8DC")
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


def row_height(text: str, width: float, *, bold: bool = False, size: float = 11.0) -> float:
    """A row height that shows ``text`` wrapped in a column (or merged range) ``width`` units
    wide: neither Excel nor LibreOffice grows a row for wrapped text written by a program."""
    return textfit.row_height(text, width, bold=bold, size=size)
