"""Byte-level facts of one worksheet's XML, found with regular expressions (no XML parser: the
part is hostile until the pre-check has passed it, and a regex over a few hundred KB costs
microseconds).

Cells carry their address in ``r="E7"``; Excel, LibreOffice and openpyxl always write it, as the
first attribute. A cell without one gets the next position from readers, so a row of such cells
could reach past XFD: those are reported as ``unaddressed`` and refused. Readers take addresses in
either case and with any number of letters (calamine places ``xfd1`` in column 16,384 and
``ZZZZ1`` in column 475,254), so every address that is not plainly within the limits is parsed.

Each fact is found by the fewest passes over the bytes that can answer it: an honest sheet costs
five passes of the regex engine or ``bytes.find`` and one ``memchr``, about 25 µs per 100 KB each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from openpyxl.utils.cell import get_column_letter

_P = rb"(?:[A-Za-z_][\w.\-]*:)?"  # an optional namespace prefix: <x:c …>
_CELL_ATTRS = re.compile(rb"<" + _P + rb"c(?=[\s/>])([^>]*)>")
_REF_ATTR = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{1,3})([0-9]{1,7})["']""")
_FORMULA = re.compile(rb"<" + _P + rb"f[\s/>]")
_CELL_BODY = re.compile(rb"<" + _P + rb"c(?=[\s>])([^>]*?)(?<!/)>(.*?)</" + _P + rb"c>", re.DOTALL)
_VALUE = re.compile(rb"<" + _P + rb"v>[^<]")
_MERGE = re.compile(rb"<" + _P + rb"""mergeCell\s[^>]*?\bref\s*=\s*["']([^"']+)["']""")
# Fast-path patterns for the usual writer, each starting with a literal so that the regex engine
# skips along the bytes: a cell tag not starting with its address, a prefixed tag, a formula
# (starting at its "f", rarer in a sheet than "<", and looking back for the "<").
_ODD_CELL = re.compile(rb'<c(?! r=")[\s/>]')
_PREFIXED = re.compile(rb":c[\s/>]")
_PLAIN_FORMULA = re.compile(rb"f(?<=<f)[\s/>]")
_PLAIN_MERGE = re.compile(rb'<mergeCell ref="([^"]+)"')
_PLAIN_ERROR = re.compile(rb'<c r="([A-Za-z]{1,3}[0-9]{1,7})"[^>]*? t="e"')
# A cell holding an error value (#DIV/0!, #N/A): readers give it as empty.
_ERROR_CELL = re.compile(rb"<" + _P + rb"""c\s[^>]*?\bt\s*=\s*["']e["'][^>]*>""")
_CELL_TAG = re.compile(rb"<" + _P + rb"c[\s/>]")
# The shortest cell tags: <c r="A1"/> from the usual writer, <c/> from any.
_SHORTEST_USUAL_CELL = 11
_SHORTEST_CELL = 4


@dataclass(frozen=True)
class SheetFacts:
    far: str | None = None  # a cell beyond the allowed rows or columns ("XFD1048576")
    unaddressed: bool = False  # some cell has no r="…"
    merges: tuple[str, ...] = ()  # "A5:B5"
    # Cells holding a formula but no stored result: readers see them as empty.
    formulas_without_value: tuple[str, ...] = ()
    error_cells: tuple[str, ...] = ()  # cells whose value is an Excel error
    # How many cells (<c> elements, filled or only formatted) the sheet holds; None when the part
    # is too short to hold more than the cap. An unusual writer's cells are counted up to the cap
    # + 1 only. A sheet over the cap gets no other facts: the scan stops there.
    cells: int | None = None


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _up_to(limit: str, first: bytes, digit: bytes) -> list[bytes]:
    """Regex branches matching the strings of an alphabet (``digit``, a class like ``[0-9]``;
    ``first``, the class allowed in the first place) that count no higher than ``limit``: the
    shorter ones, then the as long ones place by place. For 1304: [1-9][0-9]{0,2}, 1[0-2][0-9]{2},
    130[0-3], 1304."""

    def run(n: int) -> bytes:  # n characters of the alphabet
        return b"" if n == 0 else digit if n == 1 else digit + b"{%d}" % n

    def upto(start: int, ch: int) -> bytes:  # one character from start to just below ch
        return bytes([start]) if ch - 1 == start else b"[%c-%c]" % (start, ch - 1)

    size = len(limit)
    branches = []
    if size > 1:
        branches.append(first if size == 2 else first + digit + b"{0,%d}" % (size - 2))
    for i, ch in enumerate(limit.encode()):
        start = (first if i == 0 else digit)[1]  # "1" or "0", "A"
        if ch > start:
            branches.append(limit[:i].encode() + upto(start, ch) + run(size - i - 1))
    return [*branches, limit.encode()]


def _near(max_row: int, max_column: int) -> bytes:
    """Negative lookaheads that pass an address within the limits exactly as the usual writer
    puts it (upper case, no leading zero): "BH1304" under 1,304 rows and 60 columns. The first
    one takes the common case (fewer letters and digits than the limits have: "J54") quickly.
    Only other addresses are parsed one by one: none in an honest sheet, and the first far one
    ends the look."""
    columns = _up_to(get_column_letter(max_column), b"[A-Z]", b"[A-Z]")
    rows = _up_to(str(max_row), b"[1-9]", b"[0-9]")
    plain = b'(?! r="%s%s")' % (columns[0], rows[0]) if len(columns) > 1 and len(rows) > 1 else b""
    return plain + b'(?! r="(?:%s)(?:%s)")' % (b"|".join(columns), b"|".join(rows))


@lru_cache(maxsize=8)
def _unplain_cell(max_row: int, max_column: int) -> re.Pattern[bytes]:
    """A cell tag that is not ``<c r="`` followed by an address within the limits: in an honest
    sheet, none. One pass of this answers both "is every cell tag the usual writer's?" and "does
    any address need a look?"."""
    return re.compile(rb"<c(?=[\s/>])" + _near(max_row, max_column))


@lru_cache(maxsize=8)
def _unplain_ref(max_row: int, max_column: int) -> re.Pattern[bytes]:
    """The usual writer's addresses that are not within the limits as it writes them: only those
    are parsed."""
    return re.compile(rb'<c(?= r=")' + _near(max_row, max_column) + rb' r="([^"]*)"')


_ADDRESS = re.compile(rb"([A-Za-z]{1,10})([0-9]{1,10})")


def _is_far(letters: bytes, row: bytes, max_row: int, max_column: int) -> bool:
    return int(row) > max_row or column_number(letters.decode()) > max_column


def count_cells(data: bytes, usual: bool, max_cells: int) -> int | None:
    """The number of cell tags, or None when ``data`` is too short to hold more than
    ``max_cells``. ``<c r="`` tags (every cell of the usual writer, a lower bound for any other)
    are counted at memory speed; with ``usual`` false, all cell tags one by one, stopping past the
    cap, so that a sheet of millions of odd tags costs no more than the cap."""
    if len(data) < (_SHORTEST_USUAL_CELL if usual else _SHORTEST_CELL) * (max_cells + 1):
        return None
    if usual:
        return data.count(b'<c r="')
    n = 0
    for n, _ in enumerate(_CELL_TAG.finditer(data), start=1):
        if n > max_cells:
            break
    return n


def scan_sheet(data: bytes, max_row: int, max_column: int, max_cells: int) -> SheetFacts:
    """The facts of one worksheet's XML. A sheet over ``max_cells`` gets only its count."""
    # First the count of <c r=" tags, before any pass that stops at each cell: a sheet crowded
    # with cells is refused after one pass at memory speed.
    cells = count_cells(data, True, max_cells)
    if cells is not None and cells > max_cells:
        return SheetFacts(cells=cells)
    unplain = _unplain_cell(max_row, max_column).search(data)
    usual = _PREFIXED.search(data) is None and (
        unplain is None or _ODD_CELL.search(data, unplain.start()) is None)
    if not usual:
        cells = count_cells(data, False, max_cells)
        if cells is not None and cells > max_cells:
            return SheetFacts(cells=cells)
    far: str | None = None
    unaddressed = False
    if usual and unplain is not None:
        # The usual writer with some address not plainly within the limits: parse those only.
        for ref in _unplain_ref(max_row, max_column).findall(data, unplain.start()):
            address = _ADDRESS.fullmatch(ref)
            if address is None:  # "$A$1", "A", "": no reader can place it
                unaddressed = True
            elif _is_far(address.group(1), address.group(2), max_row, max_column):
                far = ref.decode().upper()
                break
    elif not usual:
        # An unusual writer (prefixes, attributes in another order): look at every cell tag.
        for attrs in _CELL_ATTRS.findall(data):
            match = _REF_ATTR.search(b" " + attrs)
            if match is None:
                unaddressed = True
            elif far is None and _is_far(match.group(1).upper(), match.group(2), max_row, max_column):
                far = (match.group(1) + match.group(2)).decode().upper()
    formulas: list[str] = []
    if (_PLAIN_FORMULA if usual else _FORMULA).search(data):
        for attrs, body in _CELL_BODY.findall(data):
            if _FORMULA.search(body) and not _VALUE.search(body):
                match = _REF_ATTR.search(b" " + attrs)
                if match is not None:
                    formulas.append((match.group(1) + match.group(2)).decode().upper())
    merges: tuple[str, ...] = ()
    if not usual:
        merges = tuple(m.decode() for m in _MERGE.findall(data))
    elif (first := data.find(b"<mergeCell ")) >= 0:
        merges = tuple(m.decode() for m in _PLAIN_MERGE.findall(data, first))
    errors: list[str] = []
    # Every error value starts with "#" (#N/A, #DIV/0!): that byte is found at memory speed and
    # most sheets have none, sparing the slower search for t="e". (A t="e" cell with no "#"
    # value is not an error to readers: empty, or a file they refuse.)
    if usual and b"#" in data and b't="e"' in data:
        errors = [ref.decode().upper() for ref in _PLAIN_ERROR.findall(data)]
    elif not usual:
        for tag in _ERROR_CELL.findall(data):
            match = _REF_ATTR.search(b" " + tag)
            if match is not None:
                errors.append((match.group(1) + match.group(2)).decode().upper())
    return SheetFacts(far, unaddressed, merges, tuple(formulas), tuple(errors), cells)
