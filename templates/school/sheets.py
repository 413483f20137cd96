"""One worksheet per form sheet, placed exactly as ``forms/layout.py`` says.

The entry area of a table sheet is unlocked and formatted through column styles rather than
5,000 styled empty cells: Excel and LibreOffice give a cell with no record its column's style
(protection and number format included), and the file stays small, which matters when 40,000
copies are written.
"""

from __future__ import annotations

from openpyxl.comments import Comment
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from forms import layout
from forms.collection import Collection
from forms.spec import Field, Form, Sheet
from templates.school.rules import field_rule, with_hint
from templates.school.validation import field_validation
from templates.xlsx import fit_width
from templates.xlsx import styles as st

CARD_WIDTHS = (7.0, 60.0)  # «№», «Показатель»
CARD_VALUE_WIDTH = 40.0
# Which sheet and page a printed page is («Лист «Титул», страница 1 из 2»), as on every workbook.
PRINT_FOOTER = "Лист «&A», страница &P из &N"
PORTRAIT_WIDTH = 110.0  # column units that print legibly across a portrait A4 page
PREFILL_ROOM = 250  # characters of a prefilled answer (a full name) the row is sized for
TEXT_ROOM = 1000  # the most characters of a free-text answer the row is sized for


def _comment(text: str) -> Comment:
    comment = Comment(text, "sbor")
    comment.width = 300
    comment.height = max(80, 20 * (len(text) // 40 + 2))
    return comment


def field_comment(field: Field, form: Form, collection: Collection) -> str:
    """The hint a school sees on hovering the header: the spec's hint, then the rule."""
    rule = field_rule(field, form, collection)
    return rule if with_hint(rule, field.hint) == rule else f"{field.hint}\n{rule}"


def protect(ws: Worksheet) -> None:
    """Protection without a password: a guard against changing the structure by accident, not
    security (the signature and the validators are that). Widening columns stays allowed."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False


def print_setup(ws: Worksheet, orientation: str, title_rows: str | None = None) -> None:
    """A4, one page wide (as many pages down as it takes), the header rows on every page."""
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = PRINT_FOOTER


def _heading(ws: Worksheet, sheet: Sheet, form: Form, last_col: int, total_width: float) -> None:
    """Rows 1–2: the title and the sheet hint, each merged across the sheet's columns."""
    ws.cell(layout.TITLE_ROW, 1, sheet.name).font = st.TITLE_FONT
    hint = ws.cell(layout.HINT_ROW, 1, sheet.hint or form.description or "")
    hint.font, hint.alignment = st.HINT_FONT, st.WRAP
    for row in (layout.TITLE_ROW, layout.HINT_ROW):
        for col in range(1, last_col + 1):
            ws.cell(row, col).protection = st.LOCKED
        if last_col > 1:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
    ws.row_dimensions[layout.TITLE_ROW].height = st.row_height(sheet.name, total_width, bold=True,
                                                               size=st.TITLE_SIZE)
    ws.row_dimensions[layout.HINT_ROW].height = st.row_height(str(hint.value or ""), total_width)


def _header(ws: Worksheet, row: int, col: int, text: str, fill: object = st.HEADER_FILL) -> None:
    cell = ws.cell(row, col, text)
    cell.font, cell.alignment, cell.border, cell.fill = st.BOLD, st.WRAP_CENTER, st.BOX, fill
    cell.protection = st.LOCKED
    # Field numbers like "1" stay text, as the reader compares them with the spec's numbers.
    cell.data_type = "s"


def table_widths(sheet: Sheet) -> list[float]:
    """Each column as wide as the spec says, or wider where a word of its bold header would
    otherwise be broken in the middle («общеобразовательных», «Завершившие»)."""
    return [fit_width(f.title, f.width or st.DEFAULT_WIDTH, bold=True) for f in sheet.fields]


def header_height(sheet: Sheet, widths: list[float]) -> float:
    """The header row's height: the tallest wrapped title at its column's width."""
    return max((st.row_height(f.title, w, bold=True) for f, w in zip(sheet.fields, widths, strict=True)),
               default=st.row_height("", 10))


def write_table(ws: Worksheet, sheet: Sheet, form: Form, collection: Collection) -> None:
    widths = table_widths(sheet)
    last_col = len(sheet.fields)
    _heading(ws, sheet, form, last_col, sum(widths))
    first, last = layout.FIRST_ROW, layout.last_row(sheet)
    for col, (field, width) in enumerate(zip(sheet.fields, widths, strict=True), start=1):
        letter = get_column_letter(col)
        _header(ws, layout.HEADER_ROW, col, field.title)
        _header(ws, layout.NUMBER_ROW, col, field.number, st.NUMBER_FILL)
        ws.cell(layout.HEADER_ROW, col).comment = _comment(field_comment(field, form, collection))
        dim = ws.column_dimensions[letter]
        dim.width = width
        # The entry area's look comes from the column (a cell with no record takes it): filled
        # and boxed so a school sees where to type, wrapped so a long name stays readable.
        dim.protection, dim.fill, dim.border = st.UNLOCKED, st.ENTRY_FILL, st.BOX
        dim.font, dim.alignment = st.PLAIN, st.WRAP
        dim.number_format = st.NUMBER_FORMATS[field.type]
        dv = field_validation(field, form, collection, f"Графа {field.number}")
        if dv is not None:
            dv.add(f"{letter}{first}:{letter}{last}")
            ws.add_data_validation(dv)
    ws.row_dimensions[layout.HEADER_ROW].height = header_height(sheet, widths)
    ws.freeze_panes = f"A{layout.FIRST_ROW}"  # a string: ws.cell() would create a cell
    print_setup(ws, "landscape", f"{layout.HEADER_ROW}:{layout.NUMBER_ROW}")
    protect(ws)


def card_row_height(field: Field, value_width: float) -> float:
    """A card row tall enough for its title and for the answer it may hold: a prefilled name as
    the registry spells them (up to PREFILL_ROOM characters), a free text up to its limit."""
    title = st.row_height(field.title, CARD_WIDTHS[1], bold=field.required)
    if field.type != "text":
        return title
    room = PREFILL_ROOM if field.prefill else min(field.max_length or 0, TEXT_ROOM)
    answer = st.row_height("о" * room, value_width)  # «о»: about a Russian text's average letter
    return max(title, answer)


def write_card(ws: Worksheet, sheet: Sheet, form: Form, collection: Collection) -> None:
    value_width = max([f.width or 0 for f in sheet.fields] + [CARD_VALUE_WIDTH])
    widths = (*CARD_WIDTHS, value_width)
    _heading(ws, sheet, form, layout.CARD_VALUE_COLUMN, sum(widths))
    for col, (text, width) in enumerate(zip(layout.CARD_HEADERS, widths, strict=True), start=1):
        _header(ws, layout.HEADER_ROW, col, text)
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[layout.HEADER_ROW].height = max(
        st.row_height(text, width, bold=True) for text, width in zip(layout.CARD_HEADERS, widths, strict=True))
    for field in sheet.fields:
        ref = layout.card_cell(sheet, field.number)
        number = ws.cell(ref.row, 1, field.number)
        number.data_type, number.alignment, number.border = "s", st.CENTER, st.BOX
        number.protection = st.LOCKED
        title = ws.cell(ref.row, 2, field.title)
        title.alignment, title.border, title.protection = st.WRAP, st.BOX, st.LOCKED
        title.comment = _comment(field_comment(field, form, collection))
        if field.required:
            title.font = st.BOLD
        value = ws.cell(ref.row, ref.column)
        value.protection, value.border, value.fill = st.UNLOCKED, st.BOX, st.ENTRY_FILL
        value.number_format = st.NUMBER_FORMATS[field.type]
        value.alignment = st.WRAP
        ws.row_dimensions[ref.row].height = card_row_height(field, value_width)
        dv = field_validation(field, form, collection, f"Строка {field.number}")
        if dv is not None:
            dv.add(ref.address)
            ws.add_data_validation(dv)
    ws.freeze_panes = f"A{layout.CARD_FIRST_ROW}"
    print_setup(ws, "portrait" if sum(widths) <= PORTRAIT_WIDTH else "landscape",
                f"{layout.HEADER_ROW}:{layout.HEADER_ROW}")
    protect(ws)


def write_sheet(ws: Worksheet, sheet: Sheet, form: Form, collection: Collection) -> None:
    if sheet.kind == "card":
        write_card(ws, sheet, form, collection)
    else:
        write_table(ws, sheet, form, collection)
