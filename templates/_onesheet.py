"""One-worksheet workbooks written many times over: the receipt every accepted file earns, and
the refusal of a file that is not a template.

Why not openpyxl: a receipt with it cost 15-30 ms (building style objects, serialising through
ElementTree, recompressing every part), more than all the rest of ingesting a file. Here the
fixed parts (styles, workbook, relationships, content types) are written once per layout by the
streaming writer and kept compressed in a ``ZipSkeleton``; each workbook writes only its
worksheet (and its properties, which name the file) and deflates those few kilobytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import lru_cache

from templates._xlsxwrite import Book, SheetWriter, Style, Value, attr
from templates._zip import ZipSkeleton, read_members

SHEET_PART = "xl/worksheets/sheet1.xml"
CORE_PART = "docProps/core.xml"
_CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
_CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

Cell = tuple[Value, int]  # a value and its style id (from ``OneSheet.styles``)


class _Sink(list[bytes]):
    """The stream a ``SheetWriter`` writes to: kept in memory, never really closed."""

    def write(self, data: bytes) -> int:
        self.append(data)
        return len(data)

    def close(self) -> None:
        pass


def _core(title: str, creator: str) -> bytes:
    return (f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{attr(title)}</dc:title><dc:creator>{attr(creator)}</dc:creator>"
            "</cp:coreProperties>").encode()


def _deflate(data: bytes) -> tuple[bytes, int, int]:
    # Level 1: a receipt's few kilobytes shrink nearly as well, at a fraction of the time.
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


class OneSheet:
    """Workbooks of one worksheet ``name`` with column ``widths`` and the cell ``styles`` given
    (``self.styles[i]`` is the id of ``styles[i]``)."""

    def __init__(self, name: str, styles: Sequence[Style], widths: Sequence[float]) -> None:
        self.name = name
        self.widths = tuple(widths)
        self._book = Book()
        self.styles = tuple(self._book.style(s) for s in styles)
        self._book.sheet(name, widths=self.widths).append(["-"])
        members = read_members(self._with_core(self._book.finish()))
        self._skeleton = ZipSkeleton(members, {SHEET_PART, CORE_PART})

    @staticmethod
    def _with_core(data: bytes) -> bytes:
        """The streaming writer's workbook with a core-properties part added (title, creator)."""
        import io
        import zipfile

        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                text = src.read(info.filename)
                if info.filename == "[Content_Types].xml":
                    text = text.replace(b"</Types>", f'<Override PartName="/{CORE_PART}" '
                                                     f'ContentType="{_CORE_TYPE}"/></Types>'.encode())
                elif info.filename == "_rels/.rels":
                    text = text.replace(b"</Relationships>", f'<Relationship Id="rId2" Type="{_CORE_REL}" '
                                                             f'Target="{CORE_PART}"/></Relationships>'.encode())
                dst.writestr(info.filename, text)
            dst.writestr(CORE_PART, _core("", ""))
        return out.getvalue()

    def render(self, rows: Sequence[tuple[Sequence[Cell], float | None]], *, title: str,
               creator: str = "sbor") -> bytes:
        """The workbook with ``rows`` from row 1 down, each (cells from column A, height or
        None); an empty row is ``((), None)``."""
        sink = _Sink()
        sheet = SheetWriter(self._book, 1, self.name, sink, widths=self.widths, freeze=(0, 0),
                            autofilter_row=None)
        for cells, height in rows:
            sheet.append([v for v, _ in cells], [s for _, s in cells], height=height)
        sheet.close()
        return self._skeleton.write({SHEET_PART: _deflate(b"".join(sink)),
                                     CORE_PART: _deflate(_core(title, creator))})


@lru_cache(maxsize=8)
def one_sheet(name: str, styles: tuple[Style, ...], widths: tuple[float, ...]) -> OneSheet:
    """The writer for a layout, built once per process (a few milliseconds)."""
    return OneSheet(name, styles, widths)
