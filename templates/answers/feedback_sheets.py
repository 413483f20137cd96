"""The form sheets of an annotated workbook, spliced: a sheet of the probe (the reference
renderer's output, see ``templates/answers/feedback_fast.py``) taken apart once, then per file its
rows with the school's values and the marks, its comments and their drawing.

The cell XML follows openpyxl's, which wrote the probe: inline strings, numbers with 16
significant digits where that is exact, a marked cell's style being its own with the severity's
fill. Whatever a cell needs beyond that (a time of day, a date in a cell without a date format)
makes the splice give up for that file (None), and the reference renderer takes it.

Writing the cells is most of a rejected file's answer, so it is kept lean: the values come by
position (``EntryCells.positioned``), never as addresses to parse, and what one file's cells
wrote (a cell's opening, a value's XML) is kept on the sheet for the next file.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from xml.etree import ElementTree as ET

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import to_excel

from forms import layout
from forms.errors import SborError
from forms.findings import SEVERITY_ORDER, Finding, Severity
from forms.spec import Sheet
from templates.answers.feedback import _entry_area
from templates.answers.findings_table import FILLS, SEVERITY_TEXT, cell_position, text
from templates.school import WrapColumn
from templates.xlsx import Member, attr, xml_text

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")

ROW = re.compile(r'<row r="(\d+)"([^>]*?)(?:/>|>(.*?)</row>)', re.S)
CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>.*?</c>)', re.S)
_S_ATTR = re.compile(r' s="(\d+)"')
DIMENSION = re.compile(r'<dimension ref="[^"]*" ?/>')
_COL = re.compile(r"<col ([^>]*)/>")
_ATTR = re.compile(r'([a-zA-Z:]+)="([^"]*)"')
_XF = re.compile(r"<xf [^>]*?(?:/>|>.*?</xf>)", re.S)
_FILL = re.compile(r"<fill>.*?</fill>|<fill/>", re.S)
_NUMFMT = re.compile(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"')
_SHAPE = re.compile(r"<ns1:shape .*?</ns1:shape>", re.S)
_SHAPE_SIZE = re.compile(r"width:(\d+)px;height:(\d+)px")
_SHAPE_ID = re.compile(r'id="_x0000_s\d+"')
_SHAPE_PLACE = re.compile(r"<ns2:Row>(\d+)</ns2:Row><ns2:Column>(\d+)</ns2:Column>")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class NotSpliceable(SborError):
    """The probe lacks a part the splice needs: use the reference renderer for this form."""


_ADDRESS = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})$")


@lru_cache(maxsize=4096)
def column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def inflate(member: Member) -> str:
    data = member.compressed if member.method == zipfile.ZIP_STORED else zlib.decompress(member.compressed, -15)
    return data.decode("utf-8")


def deflate(xml: str) -> tuple[bytes, int, int]:
    data = xml.encode("utf-8")
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def inline_string(value: str) -> str:
    """A string cell after its style attribute: ' t="inlineStr"><is><t>…</t></is></c>'."""
    shown = xml_text(value)
    space = ' xml:space="preserve"' if shown.strip() != shown else ""
    return f' t="inlineStr"><is><t{space}>{shown}</t></is></c>'


def string_cell(address: str, style: int, value: str) -> str:
    return f'<c r="{address}" s="{style}"{inline_string(value)}'


@dataclass(frozen=True)
class Styles:
    """The probe's cell styles, each also filled in each severity's colour."""

    xml: str
    count: int  # styles in the probe; style i filled for severity k is count + 3 i + k
    dates: frozenset[int]  # styles whose number format shows a date

    def marked(self, style: int, severity: str) -> int:
        return self.count + 3 * style + SEVERITIES.index(severity)


def extend_styles(xml: str) -> Styles:
    fills = _FILL.findall(xml[xml.index("<fills"):xml.index("</fills>")])
    fill_ids: dict[str, int] = {}
    for severity in SEVERITIES:
        rgb = FILLS[severity].fgColor.rgb
        found = [i for i, f in enumerate(fills) if f'rgb="{rgb}"' in f]
        if not found:
            raise NotSpliceable(f"the probe has no {severity} fill")
        fill_ids[severity] = found[0]
    start, end = xml.index("<cellXfs"), xml.index("</cellXfs>")
    xfs = _XF.findall(xml[start:end])
    formats = {int(i): code for i, code in _NUMFMT.findall(xml)}
    dates: set[int] = set()
    for i, xf in enumerate(xfs):
        number = int(re.search(r'numFmtId="(\d+)"', xf).group(1))  # type: ignore[union-attr]
        if is_date_format(formats.get(number, BUILTIN_FORMATS.get(number))):
            dates.add(i)
    extra = [re.sub(r'fillId="\d+"', f'fillId="{fill_ids[s]}"', xf) for xf in xfs for s in SEVERITIES]
    dates |= {len(xfs) + 3 * i + k for i in dates for k in range(3)}
    body = f'<cellXfs count="{len(xfs) + len(extra)}">{"".join(xfs)}{"".join(extra)}'
    return Styles(xml[:start] + body + xml[end:], len(xfs), frozenset(dates))


@dataclass(frozen=True)
class _Comments:
    """A sheet's comment and drawing parts, taken apart: the comments by cell, and the
    drawing's shapes by cell with the text around them."""

    path: str
    vml_path: str
    head: str  # the comment part up to the first comment
    texts: dict[tuple[int, int], str]  # (row, column) → text
    vml_head: str
    shapes: dict[tuple[int, int], str]
    shape: str  # one shape, to draw new ones from


def _comments(members: Mapping[str, Member], sheet_path: str) -> _Comments | None:
    rels_path = sheet_path.replace("worksheets/", "worksheets/_rels/") + ".rels"
    if rels_path not in members:
        return None
    targets = {r.get("Type", "").rsplit("/", 1)[-1]: r.get("Target", "").lstrip("/")
               for r in ET.fromstring(inflate(members[rels_path])).iter(f"{_PKG_REL}Relationship")}
    if "comments" not in targets or "vmlDrawing" not in targets:
        return None
    xml, vml = inflate(members[targets["comments"]]), inflate(members[targets["vmlDrawing"]])
    texts: dict[tuple[int, int], str] = {}
    for comment in ET.fromstring(xml).iter(f"{_MAIN}comment"):
        row, column = cell_position(comment.get("ref")) or (0, 0)
        texts[(row, column)] = "".join(t.text or "" for t in comment.iter(f"{_MAIN}t"))
    shapes: dict[tuple[int, int], str] = {}
    for shape in _SHAPE.findall(vml):
        place = _SHAPE_PLACE.search(shape)
        assert place is not None
        shapes[(int(place.group(1)) + 1, int(place.group(2)) + 1)] = shape
    if not shapes or set(shapes) != set(texts):
        return None
    if not vml.endswith("</xml>"):
        return None
    first = vml.index("<ns1:shape ")
    return _Comments(targets["comments"], targets["vmlDrawing"], xml[:xml.index("<commentList>")],
                     texts, vml[:first], shapes, next(iter(shapes.values())))


@dataclass(frozen=True)
class FormSheet:
    """A form sheet of the probe, taken apart once."""

    sheet: Sheet
    path: str
    head: str  # up to <sheetData>, the dimension left out (written per file)
    tail: str  # from </sheetData>
    rows: dict[int, tuple[str, dict[int, str]]]  # row → (its attributes, column → cell XML)
    columns: dict[int, int]  # column → its style
    comments: _Comments | None
    styles: dict[tuple[int, int], int]  # (row, column) → the style of the probe's cell there
    # What earlier files wrote, kept for the next (a cell is most of a rejected file's answer):
    # (row, column) → (the cell's opening '<c r="E7" s="12"', its style), filled as cells are
    # written rather than for the whole entry area, which may be many thousand rows; and a
    # value's cell after its opening, by value, as schools type the same list entries, subjects
    # and counts over and over.
    openings: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict, compare=False)
    strings: dict[str, str] = field(default_factory=dict, compare=False)
    numbers: dict[float, str] = field(default_factory=dict, compare=False)
    wrap: WrapColumn | None = None  # the prefilled column, whose long values set their row's height

    def style_at(self, row: int, column: int) -> int:
        """The style of a value written at (row, column): the probe's cell's, else its column's."""
        style = self.styles.get((row, column))
        return self.columns.get(column, 0) if style is None else style

    def opening(self, row: int, column: int) -> tuple[str, int]:
        """(the opening '<c r="E7" s="12"', the style 12) of a value's cell at (row, column)."""
        found = self.openings.get((row, column))
        if found is None:
            style = self.style_at(row, column)
            found = (f'<c r="{get_column_letter(column)}{row}" s="{style}"', style)
            if len(self.openings) < _KEPT_OPENINGS:
                self.openings[(row, column)] = found
        return found


def form_sheet(sheet: Sheet, path: str, xml: str, members: Mapping[str, Member],
               wrap: WrapColumn | None = None) -> FormSheet:
    start, end = xml.index("<sheetData>") + len("<sheetData>"), xml.index("</sheetData>")
    head = DIMENSION.sub("{dimension}", xml[:start].replace("{", "{{").replace("}", "}}"), count=1)
    rows: dict[int, tuple[str, dict[int, str]]] = {}
    for m in ROW.finditer(xml[start:end]):
        cells = {column_index(c.group(1)): c.group(0) for c in CELL.finditer(m.group(3) or "")}
        rows[int(m.group(1))] = (m.group(2), cells)
    columns: dict[int, int] = {}
    for m in _COL.finditer(xml[:start]):
        attrs = dict(_ATTR.findall(m.group(1)))
        if "style" in attrs:
            for col in range(int(attrs["min"]), int(attrs["max"]) + 1):
                columns[col] = int(attrs["style"])
    styles = {(row, column): style_of(cell) for row, (_, cells) in rows.items() for column, cell in cells.items()}
    return FormSheet(sheet, path, head, xml[end:], rows, columns, _comments(members, path), styles,
                     wrap=wrap)


def style_of(cell_xml: str) -> int:
    m = _S_ATTR.search(cell_xml)
    return int(m.group(1)) if m else 0


def _restyled(cell_xml: str, style: int) -> str:
    if _S_ATTR.search(cell_xml):
        return _S_ATTR.sub(f' s="{style}"', cell_xml, count=1)
    return cell_xml.replace("<c ", f'<c s="{style}" ', 1)


def number_text(value: float) -> str:
    """A number as openpyxl writes it."""
    return str(value) if isinstance(value, int) else _number(value)


def _number(value: float) -> str:
    """As openpyxl writes a number (16 significant digits) where that is exact, else exactly."""
    short = f"{value:.16g}"
    return short if float(short) == value else repr(value)


def _value_cell(address: str, style: int, value: object, dates: frozenset[int]) -> str | None:
    """A value as the reference writes it; None when it cannot be written here."""
    if isinstance(value, bool):
        return f'<c r="{address}" s="{style}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{address}" s="{style}" t="n"><v>{value}</v></c>'
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return f'<c r="{address}" s="{style}" t="n"><v>{_number(value)}</v></c>'
    if isinstance(value, (date, datetime)):
        if style not in dates:
            return None  # the reference would give the cell a date format of its own
        return f'<c r="{address}" s="{style}" t="n"><v>{_number(to_excel(value))}</v></c>'
    if isinstance(value, (time, timedelta)):
        return None
    return string_cell(address, style, text(value)[:32767])


_INF = float("inf")
_KEPT_OPENINGS = 65536  # cells whose opening is kept per sheet: a few megabytes at most
_KEPT = 4096  # values kept per sheet and kind; beyond them, each is written afresh
_KEPT_LENGTH = 200  # longer texts are rarely typed twice


def _positions(values: Mapping[str, object]) -> Iterator[tuple[int, int, object]]:
    """(row, column, value) of a mapping by address; what is not an address is left out."""
    for address, value in values.items():
        m = _ADDRESS.match(address) if value is not None else None
        if m is not None:
            yield int(m.group(2)), column_index(m.group(1)), value


def sheet_parts(part: FormSheet, styles: Styles, values: Mapping[str, object] | None,
                marks: Mapping[tuple[int, int], list[Finding]]) -> dict[str, str] | None:
    """The sheet's XML with the school's values and the marks, and its comment parts when it
    has marks; None when a value or mark needs the reference renderer.

    ``values`` by address, or anything with ``positioned()`` giving (row, column, value), as the
    reader's ``EntryCells`` does: then no address is formatted and parsed again."""
    if not values and not marks:
        return {}
    sheet = part.sheet
    first, last, width = _entry_area(sheet)
    low, high = (layout.CARD_VALUE_COLUMN, layout.CARD_VALUE_COLUMN) if sheet.kind == "card" else (1, width)
    positioned = getattr(values, "positioned", None)
    cells = positioned() if callable(positioned) else _positions(values or {})
    by_row: dict[int, dict[int, str]] = {}  # row → column → cell XML
    heights: dict[int, float] = {}  # row → height, for long values in the wrapping column
    wrap_column = part.wrap.column if part.wrap is not None else 0
    openings, strings, numbers, dates = part.openings, part.strings, part.numbers, styles.dates
    for row, column, value in cells:
        if not (first <= row <= last and low <= column <= high):
            continue
        found = openings.get((row, column))
        head, style = found if found is not None else part.opening(row, column)
        # The common values from what earlier cells wrote; anything else as _value_cell writes it.
        if type(value) is str:
            rest = strings.get(value)
            if rest is None:
                rest = inline_string(text(value)[:32767])
                if len(strings) < _KEPT and len(value) <= _KEPT_LENGTH:
                    strings[value] = rest
            xml = head + rest
            if column == wrap_column and part.wrap is not None:
                height = part.wrap.height(text(value)[:32767])
                if height:
                    heights[row] = height
        elif type(value) is float and -_INF < value < _INF:
            rest = numbers.get(value)
            if rest is None:
                rest = f' t="n"><v>{_number(value)}</v></c>'
                if len(numbers) < _KEPT and value:  # not 0.0, which -0.0 would find: "-0"
                    numbers[value] = rest
            xml = head + rest
        elif type(value) is int:
            xml = f'{head} t="n"><v>{value}</v></c>'
        else:
            written = _value_cell(f"{get_column_letter(column)}{row}", style, value, dates)
            if written is None:
                return None
            xml = written
        own = by_row.get(row)
        if own is None:
            own = by_row[row] = {}
        own[column] = xml

    notes: dict[tuple[int, int], tuple[str, int]] = {}  # (row, column) → (comment, height)
    for position, listed in marks.items():
        row, column = position
        own = by_row.setdefault(row, {})
        if column in own:
            xml, style = own[column], part.style_at(row, column)
        elif (base := part.rows.get(row, ("", {}))[1].get(column)) is not None:
            xml, style = base, style_of(base)
        else:
            inside = first <= row <= last and column <= width
            style = part.columns.get(column, 0) if inside and sheet.kind == "table" else 0
            xml = f'<c r="{get_column_letter(column)}{row}" s="{style}"/>'
        worst = min(listed, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
        severity = worst.severity if worst.severity in SEVERITIES else "note"
        own[column] = _restyled(xml, styles.marked(style, severity))
        text_ = "\n".join(f"{SEVERITY_TEXT.get(f.severity, f.severity).capitalize()}: {text(f.message)}"
                          for f in listed)
        if part.comments is not None and position in part.comments.texts:
            text_ += "\n\n" + part.comments.texts[position]
        notes[position] = (text_, max(90, 22 * (len(text_) // 45 + 2)))
    if notes and part.comments is None:
        return None
    out = {part.path: _sheet_xml(part, by_row, heights)}
    if notes:
        assert part.comments is not None
        out.update(_comment_parts(part.comments, notes))
    return out


def _sheet_xml(part: FormSheet, by_row: Mapping[int, Mapping[int, str]], heights: Mapping[int, float]) -> str:
    rows: list[str] = []
    last_row = last_column = 1
    for row in sorted(part.rows.keys() | by_row.keys()):
        probe = part.rows.get(row)
        if probe is None:  # an entry row: only the school's cells
            merged = by_row[row]
            height = heights.get(row)
            # As openpyxl writes a row with a height.
            attrs = f' ht="{height:g}" customHeight="1"' if height else ""
        else:
            attrs, cells = probe
            merged = {**cells, **by_row.get(row, {})}
        if not merged:
            if not attrs:
                continue
        else:
            last_column = max(last_column, max(merged))
        last_row = max(last_row, row)
        rows.append(f'<row r="{row}"{attrs}>{"".join([merged[c] for c in sorted(merged)])}</row>')
    dimension = f'<dimension ref="A1:{get_column_letter(last_column)}{last_row}" />'
    return part.head.format(dimension=dimension) + "".join(rows) + part.tail


def _comment_parts(comments: _Comments, notes: Mapping[tuple[int, int], tuple[str, int]]) -> dict[str, str]:
    """The sheet's comments with the marks' notes (a note on a commented cell replaces it: its
    text ends with the old comment's), and the drawing with a shape for each."""
    texts = {**{p: (t, 0) for p, t in comments.texts.items()}, **notes}
    entries: list[str] = []
    shapes: list[str] = []
    for n, position in enumerate(sorted(texts), start=1026):
        note, height = texts[position]
        address = f"{get_column_letter(position[1])}{position[0]}"
        entries.append(f'<comment ref="{address}" authorId="0" shapeId="0"><text><t>{attr(text(note))}</t>'
                       "</text></comment>")
        shape = comments.shapes.get(position) if position not in notes else None
        if shape is None:
            shape = _SHAPE_SIZE.sub(f"width:360px;height:{height}px", comments.shape, count=1)
            shape = _SHAPE_PLACE.sub(f"<ns2:Row>{position[0] - 1}</ns2:Row><ns2:Column>{position[1] - 1}"
                                     "</ns2:Column>", shape, count=1)
        shapes.append(_SHAPE_ID.sub(f'id="_x0000_s{n}"', shape, count=1))
    return {
        comments.path: f'{comments.head}<commentList>{"".join(entries)}</commentList></comments>',
        comments.vml_path: comments.vml_head + "".join(shapes) + "</xml>",
    }



