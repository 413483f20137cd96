"""A small streaming XLSX writer for the coordinators' workbooks.

Why not openpyxl: its write-only mode writes about 35,000 cells a second on this machine (no
lxml), so a status workbook for 40,000 organisations took 9 s against a target of 3 s. This
writer streams each worksheet's XML straight into the zip, one sheet at a time, so memory stays
flat for a million-row results sheet, and it is an order of magnitude faster.

It writes only what the reports need: text, numbers, dates, booleans, a handful of styles
(font, fill, border, number format, wrap), column widths, row heights, frozen panes and
autofilters. Text is always an inline string and no cell ever carries a formula, so a school's
«=HYPERLINK(…)» arrives in the coordinator's workbook as the text it typed.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO
from xml.sax.saxutils import escape

from openpyxl.utils.cell import get_column_letter

from templates.xlsx.parts import CORE_PART, CORE_REL, CORE_TYPE, attr, core_xml, page_setup_xml

EXCEL_MAX_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767
MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = set("[]:*?/\\")

Value = str | int | float | Decimal | date | datetime | bool | None

_EPOCH = datetime(1899, 12, 30)
_EPOCH_DAY = _EPOCH.date()
# Characters XML 1.0 cannot carry at all; dropped rather than failing the whole workbook.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads "_x0041_" in a string as an escaped character; escape the underscore so the
# text arrives as typed.
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
# A string needs more than copying when it has XML specials or characters XML cannot carry
# (one fast character-class scan), Excel's "_x" escapes, a space at either end (xml:space) or
# is too long for a cell; the other checks are cheap and done separately.
_SPECIAL = re.compile("[&<>\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_EDGE_SPACE = re.compile(r"^\s|\s$")
_FLUSH_ROWS = 2000

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass(frozen=True)
class Style:
    bold: bool = False
    size: float | None = None  # points; None: the default 11
    color: str | None = None  # font colour, RGB hex "9C0006"
    fill: str | None = None  # solid background, RGB hex "C6EFCE"
    number_format: str | None = None  # "DD.MM.YYYY HH:MM"
    wrap: bool = False
    border: bool = False  # thin on all sides
    horizontal: str | None = None  # "center", "left", …
    vertical: str | None = None  # "top", "center", …


def xml_text(text: str) -> str:
    """A string as the content of an inline-string ``<t>`` element."""
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    if not text.isprintable() and _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    if "\r" in text:
        # XML turns a carriage return into a line feed on reading; Excel's escape keeps it.
        text = text.replace("\r", "_x000D_")
    if "&" in text or "<" in text or ">" in text:
        text = escape(text)
    return text


def check_sheet_name(name: str) -> str:
    if not name or len(name) > MAX_SHEET_NAME or _BAD_SHEET_CHARS & set(name):
        raise ValueError(f"worksheet name {name!r} must be 1-{MAX_SHEET_NAME} characters "
                         f"without {''.join(sorted(_BAD_SHEET_CHARS))}")
    return name


class SheetWriter:
    """Appends rows to one worksheet; created by ``Book.sheet``. Closed when the next sheet is
    started or the book is finished."""

    def __init__(self, book: Book, index: int, name: str, stream: IO[bytes], *,
                 widths: Sequence[float | None], freeze: tuple[int, int],
                 autofilter_row: int | None, landscape: bool = False,
                 print_titles: tuple[int, int] | None = None) -> None:
        self.book, self.index, self.name = book, index, name
        self.landscape = landscape
        self.print_titles = print_titles
        self.rows = 0
        self._stream = stream
        self._autofilter_row = autofilter_row
        self._filter_columns = 0
        self._filter_last: int | None = None
        self._letters: list[str] = []
        self._heads: dict[tuple[tuple[int, ...], int], list[tuple[str, str]]] = {}
        self._pending: list[str] = []
        self._closed = False
        # Fit to the page's width: printed on A4, every column of a sheet on one page across.
        head = [_XML, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">',
                '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>', _sheet_view(*freeze)]
        cols = "".join(f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
                       for i, w in enumerate(widths, start=1) if w)
        if cols:
            head.append(f"<cols>{cols}</cols>")
        head.append("<sheetData>")
        self._stream.write("".join(head).encode())

    def cell_heads(self, styles: Sequence[int], count: int) -> list[tuple[str, str]]:
        """Per column, the cell's opening up to the row number and the style attribute."""
        key = (tuple(styles), count)
        found = self._heads.get(key)
        if found is None:
            while len(self._letters) < count:
                self._letters.append(get_column_letter(len(self._letters) + 1))
            attrs = self.book._style_attrs
            found = [(f'<c r="{self._letters[i]}', attrs[styles[i]] if i < len(styles) else "")
                     for i in range(count)]
            self._heads[key] = found
        return found

    def append(self, values: Sequence[Value], styles: Sequence[int] = (), *,
               height: float | None = None) -> int:
        """Write the next row; ``styles[i]`` (from ``Book.style``) styles ``values[i]``.
        Returns the row's 1-based number."""
        if self._closed:
            raise RuntimeError(f"worksheet {self.name!r} is already closed")
        if self.rows >= EXCEL_MAX_ROWS:
            raise ValueError(f"worksheet {self.name!r} is full ({EXCEL_MAX_ROWS} rows)")
        self.rows += 1
        r = str(self.rows)
        cells: list[str] = []
        add = cells.append
        # The hot loop of every report: one type test per cell, no calls on the common path.
        for (head, s), v in zip(self.cell_heads(styles, len(values)), values, strict=True):
            t = type(v)
            if t is str:
                if not v:
                    continue
                if (_SPECIAL.search(v) or "_x" in v or v[0] == " "  # type: ignore[call-overload]
                        or v[-1] == " " or len(v) > MAX_CELL_TEXT):  # type: ignore[index,arg-type]
                    v = xml_text(v)  # type: ignore[arg-type]
                    space = ' xml:space="preserve"' if _EDGE_SPACE.search(v) else ""
                    if v:
                        add(f'{head}{r}"{s} t="inlineStr"><is><t{space}>{v}</t></is></c>')
                else:
                    add(f'{head}{r}"{s} t="inlineStr"><is><t>{v}</t></is></c>')
            elif v is None:
                continue
            elif t is int or t is Decimal:
                add(f'{head}{r}"{s}><v>{v}</v></c>')
            elif t is datetime:
                if v.tzinfo is not None:  # type: ignore[union-attr]
                    raise TypeError(f"convert {v!r} to local time without tzinfo before writing")
                serial = (v - _EPOCH).total_seconds() / 86400  # type: ignore[operator]
                add(f'{head}{r}"{s or self.book.datetime_attr}><v>{serial!r}</v></c>')
            elif t is float:
                if math.isfinite(v):  # type: ignore[arg-type]
                    add(f'{head}{r}"{s}><v>{v!r}</v></c>')
            elif t is date:
                day = (v - _EPOCH_DAY).days  # type: ignore[operator]
                add(f'{head}{r}"{s or self.book.date_attr}><v>{day}</v></c>')
            elif t is bool:
                add(f'{head}{r}"{s} t="b"><v>{int(v)}</v></c>')  # type: ignore[arg-type]
            else:
                raise TypeError(f"cannot write {t.__name__} value {v!r} to a cell")
        ht = f' ht="{height:g}" customHeight="1"' if height else ""
        self._pending.append(f'<row r="{r}"{ht}>{"".join(cells)}</row>')
        if self._autofilter_row == self.rows:
            self._filter_columns = len(values)
        if len(self._pending) >= _FLUSH_ROWS:
            self._flush()
        return self.rows

    def append_xml(self, rows_xml: str, count: int) -> None:
        """Rows rendered elsewhere (``_xlsxframe``), numbered from ``self.rows + 1``."""
        if self._closed:
            raise RuntimeError(f"worksheet {self.name!r} is already closed")
        self._flush()
        self._stream.write(rows_xml.encode("utf-8"))
        self.rows += count

    def _flush(self) -> None:
        self._stream.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def end_filter(self) -> None:
        """End the autofilter range at the current row, so totals written below it stay put
        when the coordinator sorts or filters."""
        self._filter_last = self.rows

    @property
    def filter_ref(self) -> str | None:
        if not self._autofilter_row or not self._filter_columns:
            return None
        last_row = self.rows if self._filter_last is None else self._filter_last
        last = get_column_letter(self._filter_columns)
        return f"A{self._autofilter_row}:{last}{max(last_row, self._autofilter_row)}"

    def close(self) -> None:
        if self._closed:
            return
        self._flush()
        tail = ["</sheetData>"]
        if self.filter_ref:
            tail.append(f'<autoFilter ref="{self.filter_ref}"/>')
        tail.append(page_setup_xml(self.landscape) + "</worksheet>")
        self._stream.write("".join(tail).encode())
        self._stream.close()
        self._closed = True


def _sheet_view(rows: int, columns: int) -> str:
    if not rows and not columns:
        return '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    top_left = f"{get_column_letter(columns + 1)}{rows + 1}"
    pane = {(True, True): "bottomRight", (True, False): "bottomLeft",
            (False, True): "topRight"}[(rows > 0, columns > 0)]
    split = (f' xSplit="{columns}"' if columns else "") + (f' ySplit="{rows}"' if rows else "")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{top_left}" '
            f'activePane="{pane}" state="frozen"/><selection pane="{pane}" '
            f'activeCell="{top_left}" sqref="{top_left}"/></sheetView></sheetViews>')


class Book:
    """An XLSX workbook written as it goes. Use ``sheet`` to start each worksheet in turn,
    then ``finish`` for the bytes."""

    def __init__(self, *, title: str = "", compresslevel: int = 1) -> None:
        """``title``: the document's title in its properties (their creator is always sbor)."""
        self.title = title
        # Level 1 deflate: the XML is repetitive, so it still shrinks ~8x, at a third of the
        # time of the default level.
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buffer, "w", zipfile.ZIP_DEFLATED,
                                    compresslevel=compresslevel)
        self._styles: dict[Style, int] = {Style(): 0}
        self._style_attrs: list[str] = [""]
        self._sheets: list[SheetWriter] = []
        self._order: list[int] = []
        self._current: SheetWriter | None = None
        self.date_attr = self._style_attrs[self.style(Style(number_format="DD.MM.YYYY"))]
        self.datetime_attr = self._style_attrs[
            self.style(Style(number_format="DD.MM.YYYY HH:MM"))]

    def style(self, style: Style) -> int:
        """The id of ``style`` for ``SheetWriter.append``, registering it once."""
        if style not in self._styles:
            self._styles[style] = len(self._styles)
            self._style_attrs.append(f' s="{self._styles[style]}"')
        return self._styles[style]

    def sheet(self, name: str, *, widths: Sequence[float | None] = (),
              freeze: tuple[int, int] = (0, 0), autofilter_row: int | None = None,
              position: int | None = None, landscape: bool = False,
              print_titles: tuple[int, int] | None = None) -> SheetWriter:
        """Start a worksheet (closing the previous one). ``freeze`` = (rows, columns) kept in
        view; ``autofilter_row`` = the header row the filter buttons go on; ``position`` puts
        the tab before others (0 = first) although it is written later; ``landscape`` prints
        across the page; ``print_titles`` = (first, last) rows repeated on every printed page."""
        check_sheet_name(name)
        if any(s.name.lower() == name.lower() for s in self._sheets):
            raise ValueError(f"worksheet name {name!r} is used twice")
        if self._current is not None:
            self._current.close()
        index = len(self._sheets) + 1
        stream = self._zip.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True)
        sheet = SheetWriter(self, index, name, stream, widths=widths, freeze=freeze,
                            autofilter_row=autofilter_row, landscape=landscape,
                            print_titles=print_titles)
        self._sheets.append(sheet)
        self._order.insert(len(self._order) if position is None else position, index)
        self._current = sheet
        return sheet

    def finish(self) -> bytes:
        if self._current is not None:
            self._current.close()
        if not self._sheets:
            raise ValueError("a workbook needs at least one worksheet")
        by_index = {s.index: s for s in self._sheets}
        ordered = [by_index[i] for i in self._order]
        sheets = "".join(f'<sheet name="{attr(s.name)}" sheetId="{s.index}" r:id="rId{s.index}"/>'
                         for s in ordered)
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{pos}" hidden="1">'
            f"{attr(_quoted(s.name))}!{_absolute(s.filter_ref)}</definedName>"
            for pos, s in enumerate(ordered) if s.filter_ref)
        names += "".join(
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{pos}">'
            f"{attr(_quoted(s.name))}!${s.print_titles[0]}:${s.print_titles[1]}</definedName>"
            for pos, s in enumerate(ordered) if s.print_titles)
        workbook = (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews>'
                    f'<workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
                    + (f"<definedNames>{names}</definedNames>" if names else "")
                    + "</workbook>")
        count = len(self._sheets)
        rels = "".join(
            f'<Relationship Id="rId{s.index}" Type="{_REL}/worksheet" '
            f'Target="worksheets/sheet{s.index}.xml"/>' for s in self._sheets)
        rels += f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{s.index}.xml" '
                            f'ContentType="{sheet_type}"/>' for s in self._sheets)
        office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        parts = {
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": f'{_XML}<Relationships xmlns="{_PKG_REL}">{rels}'
                                          "</Relationships>",
            "xl/styles.xml": _styles_xml(list(self._styles)),
            "_rels/.rels": f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
                           f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
                           f'<Relationship Id="rId2" Type="{CORE_REL}" Target="{CORE_PART}"/>'
                           "</Relationships>",
            CORE_PART: core_xml(self.title),
            "[Content_Types].xml": (
                f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                'content-types"><Default Extension="rels" ContentType="application/'
                'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
                f'ContentType="{office}.sheet.main+xml"/><Override PartName="/xl/styles.xml" '
                f'ContentType="{office}.styles+xml"/>{overrides}<Override PartName="/{CORE_PART}" '
                f'ContentType="{CORE_TYPE}"/></Types>'),
        }
        for name, text in parts.items():
            self._zip.writestr(name, text)
        self._zip.close()
        return self._buffer.getvalue()


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str | None) -> str:
    assert ref is not None
    start, end = ref.split(":")
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in (start, end))


def _styles_xml(styles: list[Style]) -> str:
    formats: dict[str, int] = {}
    fonts: dict[tuple[bool, float | None, str | None], int] = {(False, None, None): 0}
    fills: dict[str, int] = {}
    xfs: list[str] = []
    for st in styles:
        num = 0
        if st.number_format:
            num = formats.setdefault(st.number_format, 164 + len(formats))
        font = fonts.setdefault((st.bold, st.size, st.color), len(fonts))
        fill = fills.setdefault(st.fill, 2 + len(fills)) if st.fill else 0
        align = ""
        if st.wrap or st.horizontal or st.vertical:
            align = ("<alignment"
                     + (f' horizontal="{st.horizontal}"' if st.horizontal else "")
                     + (f' vertical="{st.vertical}"' if st.vertical else "")
                     + (' wrapText="1"' if st.wrap else "") + "/>")
        xfs.append(
            f'<xf numFmtId="{num}" fontId="{font}" fillId="{fill}" '
            f'borderId="{1 if st.border else 0}" xfId="0"'
            + (' applyNumberFormat="1"' if num else "") + (' applyFont="1"' if font else "")
            + (' applyFill="1"' if fill else "") + (' applyBorder="1"' if st.border else "")
            + (f' applyAlignment="1">{align}</xf>' if align else "/>"))
    num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{attr(code)}"/>'
                       for code, i in formats.items())
    font_xml = "".join(
        "<font>" + ("<b/>" if bold else "") + f'<sz val="{size or 11:g}"/>'
        + (f'<color rgb="FF{color}"/>' if color else "")
        + '<name val="Calibri"/><family val="2"/></font>'
        for (bold, size, color) in fonts)
    fill_xml = ('<fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill>'
                + "".join(f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>'
                          '<bgColor indexed="64"/></patternFill></fill>' for rgb in fills))
    thin = "".join(f'<{side} style="thin"><color rgb="FFBFBFBF"/></{side}>'
                   for side in ("left", "right", "top", "bottom"))
    return (f'{_XML}<styleSheet xmlns="{_MAIN}">'
            + (f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>' if formats else "")
            + f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
            f'<fills count="{len(fills) + 2}">{fill_xml}</fills>'
            f'<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
            f'<border>{thin}<diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>")
