"""One-worksheet workbooks written many times over: the receipt every accepted file earns, and
the refusal of a file that is not a template.

Why not openpyxl: a receipt with it cost 15-30 ms (building style objects, serialising through
ElementTree, recompressing every part), more than all the rest of ingesting a file. Here the
fixed parts (styles, workbook, relationships, content types) are written once per layout by the
streaming writer and kept compressed in a ``ZipSkeleton``; each workbook writes only its
worksheet (and its properties, which name the file) and deflates those few kilobytes.

Nine files in ten are answered with a receipt, so it is kept cheap: the worksheet's rows are
written here rather than through ``SheetWriter`` (the same XML: text as inline strings, whole
numbers as numbers), keeping the cell text of labels and values that come back in every receipt
(the labels, the collection, the advice); the worksheet is stored, not compressed (a receipt of
5 KB instead of 4); the properties part is kept compressed per title, which is the collection's
for every receipt. A receipt costs about 0.04 ms here, against 0.12 ms before
(``bench/bench_answers.py``), and 0.09 ms against 0.19 ms among the other stages of ingest.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import IO, cast

from openpyxl.utils.cell import get_column_letter

from templates.xlsx.stream import (
    _EDGE_SPACE,
    _SPECIAL,
    CORE_PART,
    MAX_CELL_TEXT,
    Book,
    SheetWriter,
    Style,
    Value,
    core_xml,
    xml_text,
)
from templates.xlsx.zipsplice import ZipSkeleton, read_members, stored

SHEET_PART = "xl/worksheets/sheet1.xml"
_SHEET_DATA_END = b"</sheetData>"
_KEPT = 4096  # cell texts kept per layout; beyond them, each is written afresh
_KEPT_LENGTH = 300  # longer texts (a finding's message) rarely come back word for word

Cell = tuple[Value, int]  # a value and its style id (from ``OneSheet.styles``)


class _Sink(list[bytes]):
    """The stream a ``SheetWriter`` writes to: kept in memory, never really closed."""

    def write(self, data: bytes) -> int:
        self.append(data)
        return len(data)

    def close(self) -> None:
        pass


def _deflate(data: bytes) -> tuple[bytes, int, int]:
    # Level 1: a small part shrinks nearly as well, at a fraction of the time.
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


@lru_cache(maxsize=64)
def _core_part(title: str, creator: str) -> tuple[bytes, int, int]:
    """The properties part, compressed: a receipt's title is its collection's, the same for
    thousands of files."""
    return _deflate(core_xml(title, creator).encode())


def _text_cell(text: str) -> str:
    """A string cell after its address and style, exactly as ``SheetWriter.append`` writes it
    (its quick path for plain text, ``xml_text`` for the rest); "" when nothing is left."""
    if (_SPECIAL.search(text) or "_x" in text or text[0] == " " or text[-1] == " "
            or len(text) > MAX_CELL_TEXT):
        shown = xml_text(text)
        space = ' xml:space="preserve"' if _EDGE_SPACE.search(shown) else ""
        return f' t="inlineStr"><is><t{space}>{shown}</t></is></c>' if shown else ""
    return f' t="inlineStr"><is><t>{text}</t></is></c>'


class OneSheet:
    """Workbooks of one worksheet ``name`` with column ``widths`` and the cell ``styles`` given
    (``self.styles[i]`` is the id of ``styles[i]``)."""

    def __init__(self, name: str, styles: Sequence[Style], widths: Sequence[float]) -> None:
        self.name = name
        self.widths = tuple(widths)
        self._book = Book()
        self.styles = tuple(self._book.style(s) for s in styles)
        self._book.sheet(name, widths=self.widths).append(["-"])
        members = read_members(self._book.finish())
        self._skeleton = ZipSkeleton(members, {SHEET_PART, CORE_PART})
        # The worksheet around its rows, as the streaming writer frames it.
        sink = _Sink()
        self._writer(sink).close()
        frame = b"".join(sink)
        cut = frame.index(_SHEET_DATA_END)
        self._head, self._tail = frame[:cut].decode(), frame[cut:].decode()
        self._texts: dict[str, str] = {}

    def _writer(self, sink: _Sink) -> SheetWriter:
        return SheetWriter(self._book, 1, self.name, cast("IO[bytes]", sink), widths=self.widths, freeze=(0, 0),
                           autofilter_row=None)

    def render(self, rows: Sequence[tuple[Sequence[Cell], float | None]], *, title: str,
               creator: str = "sbor") -> bytes:
        """The workbook with ``rows`` from row 1 down, each (cells from column A, height or
        None); an empty row is ``((), None)``."""
        sheet = self._rows(rows)
        if sheet is None:  # a value beyond text and whole numbers: the streaming writer's own way
            sink = _Sink()
            writer = self._writer(sink)
            for cells, height in rows:
                writer.append([v for v, _ in cells], [s for _, s in cells], height=height)
            writer.close()
            sheet = b"".join(sink)
        # Stored, not compressed: deflating the worksheet's three kilobytes was 40% of a receipt
        # (0.05 ms in ingest), to save under two.
        return self._skeleton.write({SHEET_PART: stored(sheet), CORE_PART: _core_part(title, creator)})

    def _rows(self, rows: Sequence[tuple[Sequence[Cell], float | None]]) -> bytes | None:
        """The worksheet with ``rows`` written as ``SheetWriter.append`` writes text and whole
        numbers; None when a row holds anything else."""
        texts = self._texts
        out = [self._head]
        for r, (cells, height) in enumerate(rows, start=1):
            ht = f' ht="{height:g}" customHeight="1"' if height else ""
            out.append(f'<row r="{r}"{ht}>')
            for column, (value, style) in enumerate(cells, start=1):
                if value is None or value == "":
                    continue
                opening = f'<c r="{get_column_letter(column)}{r}"' + (f' s="{style}"' if style else "")
                if type(value) is str:
                    rest = texts.get(value)
                    if rest is None:
                        rest = _text_cell(value)
                        if len(texts) < _KEPT and len(value) <= _KEPT_LENGTH:
                            texts[value] = rest
                    if rest:
                        out.append(opening + rest)
                elif type(value) is int:
                    out.append(f"{opening}><v>{value}</v></c>")
                else:
                    return None
            out.append("</row>")
        out.append(self._tail)
        return "".join(out).encode()


@lru_cache(maxsize=8)
def one_sheet(name: str, styles: tuple[Style, ...], widths: tuple[float, ...]) -> OneSheet:
    """The writer for a layout, built once per process (a few milliseconds)."""
    return OneSheet(name, styles, widths)
