"""How much room a text takes in a cell: its width in column units, the lines it wraps to in a
column of a given width, and the row height those lines need.

Neither Excel nor LibreOffice grows a row for wrapped text a program wrote, and both break a word
in the middle when it is wider than its column, so every width and height sbor sets is computed
here from the text it must hold. The widths are the advances of Calibri (measured on Carlito,
its metric twin, which LibreOffice uses in Calibri's place), in units of the digit «0» at the
same size: the unit of a column width in a workbook whose default font is Calibri 11. A character
not in the table counts as a wide one, so the estimate errs towards room to spare.
"""

from __future__ import annotations

import math
from functools import lru_cache

FONT = "Calibri"  # the one font family of every workbook sbor writes
BASE_SIZE = 11.0
LINE = 15.0 / BASE_SIZE  # Excel's line for Calibri 11 is 15 pt
PADDING = 3.0  # points above and below the lines of a row
_SPARE = 1.06  # renderers differ in kerning and hinting: keep a little room
_MARGIN = 0.4  # a cell's inner margins, in column units
_UNKNOWN = 1.3

_CHARS = (' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
          'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмнопрстуфхцчшщъыьэюяЁёІі«»—–№…’“”„•°±×÷−')
_REGULAR = (
    45, 64, 79, 98, 100, 141, 135, 44, 60, 60, 98, 98, 49, 60, 50, 76, 100, 100, 100, 100, 100,
    100, 100, 100, 100, 100, 53, 53, 98, 98, 98, 91, 176, 114, 107, 105, 121, 96, 91, 124, 123,
    50, 63, 103, 83, 169, 127, 131, 102, 133, 107, 91, 96, 127, 112, 176, 102, 96, 92, 61, 76,
    61, 98, 98, 57, 95, 104, 83, 104, 98, 60, 93, 104, 45, 47, 90, 45, 158, 104, 104, 104, 104,
    69, 77, 66, 104, 89, 141, 85, 89, 78, 62, 91, 62, 98, 114, 106, 107, 85, 127, 96, 158, 93,
    127, 127, 107, 121, 169, 123, 131, 123, 102, 105, 96, 104, 138, 102, 126, 110, 171, 176,
    121, 150, 105, 108, 173, 110, 95, 105, 95, 68, 110, 98, 136, 83, 107, 107, 92, 101, 133,
    105, 104, 103, 104, 83, 76, 89, 123, 85, 107, 92, 144, 148, 106, 131, 93, 87, 142, 94, 96,
    98, 50, 45, 101, 101, 179, 98, 202, 136, 49, 83, 83, 83, 98, 67, 98, 98, 98, 98,
)
_BOLD = (
    45, 64, 87, 98, 100, 144, 139, 46, 61, 61, 98, 98, 51, 60, 53, 85, 100, 100, 100, 100, 100,
    100, 100, 100, 100, 100, 54, 54, 98, 98, 98, 91, 177, 120, 111, 104, 124, 96, 91, 126, 124,
    53, 65, 108, 83, 172, 130, 133, 105, 135, 111, 93, 98, 129, 117, 179, 109, 103, 94, 64, 85,
    64, 98, 98, 59, 97, 106, 83, 106, 99, 62, 94, 106, 48, 50, 95, 48, 161, 106, 106, 106, 106,
    70, 79, 68, 106, 93, 147, 91, 93, 78, 68, 94, 68, 98, 120, 110, 111, 85, 133, 96, 164, 95,
    129, 129, 111, 124, 172, 124, 133, 124, 105, 104, 98, 108, 143, 109, 130, 112, 177, 183,
    126, 158, 109, 106, 180, 113, 97, 105, 98, 70, 115, 99, 145, 84, 110, 110, 98, 104, 141,
    108, 106, 105, 106, 83, 77, 93, 133, 91, 111, 96, 151, 156, 110, 140, 98, 86, 149, 98, 96,
    99, 53, 48, 106, 106, 179, 98, 206, 140, 51, 86, 86, 86, 98, 68, 98, 98, 98, 98,
)
_WIDTHS = {False: dict(zip(_CHARS, (w / 100 for w in _REGULAR), strict=True)),
           True: dict(zip(_CHARS, (w / 100 for w in _BOLD), strict=True))}


@lru_cache(maxsize=8192)
def _word(word: str, bold: bool) -> float:
    table = _WIDTHS[bold]
    return sum(table.get(ch, _UNKNOWN) for ch in word)


def text_width(text: str, *, bold: bool = False, size: float = BASE_SIZE) -> float:
    """The width of ``text`` on one line, in column units."""
    return _word(text, bold) * size / BASE_SIZE * _SPARE


def longest_word(text: str, *, bold: bool = False, size: float = BASE_SIZE) -> float:
    """The widest word of ``text``: a column narrower than this breaks it in the middle."""
    return max((text_width(w, bold=bold, size=size) for w in text.split()), default=0.0)


def fit_width(text: str, width: float, *, bold: bool = False, size: float = BASE_SIZE) -> float:
    """``width``, widened where needed so that no word of ``text`` is broken in the middle."""
    need = longest_word(text, bold=bold, size=size) + _MARGIN + 0.2
    return width if need <= width else math.ceil(need * 2) / 2  # up to the next half unit


def lines(text: str, width: float, *, bold: bool = False, size: float = BASE_SIZE) -> int:
    """The lines ``text`` wraps to in a column ``width`` units wide, breaking at spaces as both
    programs do (a word wider than the column is broken, and counts its extra lines)."""
    room = max(width - _MARGIN, 1.0)
    space = text_width(" ", bold=bold, size=size)
    count = 0
    for paragraph in text.split("\n"):
        count += 1
        used = 0.0
        for word in paragraph.split():
            w = text_width(word, bold=bold, size=size)
            if used and used + space + w <= room:
                used += space + w
                continue
            if used:
                count += 1
            extra = int(w // room) if w > room else 0
            count += extra
            used = w - extra * room
    return max(count, 1)


def height(count: int, *, size: float = BASE_SIZE) -> float:
    """The row height in points for ``count`` lines at ``size`` points."""
    return round(max(count, 1) * LINE * size + PADDING, 1)


def row_height(text: str, width: float, *, bold: bool = False, size: float = BASE_SIZE) -> float:
    """The height of a row whose cell (or merged range) ``width`` units wide holds ``text``."""
    return height(lines(text, width, bold=bold, size=size), size=size)


def fits(text: str, width: float, row: float, *, bold: bool = False,
         size: float = BASE_SIZE) -> bool:
    """Whether ``text`` wrapped at ``width`` fits a row ``row`` points high without a word
    broken in the middle."""
    return (longest_word(text, bold=bold, size=size) + _MARGIN <= width
            and row_height(text, width, bold=bold, size=size) <= row + 0.05)
