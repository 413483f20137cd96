"""The answers to a received file other than the annotated workbook: the receipt an accepted
file earns (what was loaded, when, under which number, any warnings or notes), and the refusal
of a file that cannot be taken as a template at all (unreadable, forged, another collection …),
where there is no template to annotate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from forms.collection import MOSCOW, Collection
from forms.findings import Finding, place
from forms.organisations import Organisation
from templates.answers.findings_table import SEVERITY_TEXT, plural, sort_findings, text
from templates.school import moment_text
from templates.xlsx import Cell, OneSheet, Style, one_sheet
from templates.xlsx import styles as st

RECEIPT_SHEET = "Квитанция"
REFUSAL_SHEET = "Отказ"
# Together about a portrait A4 page's width at 100 %: the receipt prints on one page, labels
# beside their values.
LABEL_WIDTH = 26.0
VALUE_WIDTH = 66.0

# The styles of templates/xlsx/styles.py as the streaming writer spells them: the title, a bold
# label, a value (plain or bold), and a value filled in its finding's colour.
_FILL_RGB = {"error": st.ERROR_FILL, "warning": st.WARNING_FILL, "note": st.NOTE_FILL}
_STYLES = (
    Style(bold=True, size=13),  # 0 title
    # Left-aligned: a number (the receipt's) stands where the text values stand, not at the far edge.
    Style(bold=True, wrap=True, vertical="top", horizontal="left"),  # 1 label, bold value
    Style(wrap=True, vertical="top", horizontal="left"),  # 2 value
    *(Style(wrap=True, vertical="top", horizontal="left", fill=str(fill.fgColor.rgb)[-6:])
      for fill in _FILL_RGB.values()),
)
_TITLE, _BOLD, _PLAIN = 0, 1, 2
_FILLED = {severity: 3 + i for i, severity in enumerate(_FILL_RGB)}

Row = tuple[Sequence[Cell], float | None]


@lru_cache(maxsize=4)
def _book(name: str) -> OneSheet:
    # By name alone: one_sheet's key hashes every style, a few microseconds a receipt.
    return one_sheet(name, _STYLES, (LABEL_WIDTH, VALUE_WIDTH))


def _pair(book: OneSheet, label: str, value: object, *, bold: bool = False,
          fill: str | None = None, height: float | None = None) -> Row:
    """A label and its value: a whole number stays a number, anything else is text (never a
    formula)."""
    shown = value if isinstance(value, int) and not isinstance(value, bool) else text(value)
    style = _FILLED.get(fill or "", _FILLED["note"]) if fill else (_BOLD if bold else _PLAIN)
    label = text(label)
    if height is None and isinstance(shown, str):
        height = _height(label, shown, bold)
    return ((label, book.styles[_BOLD]), (shown, book.styles[style])), height


_ONE_LINE = st.row_height("", VALUE_WIDTH)


@lru_cache(maxsize=1024)
def _height(label: str, value: str, bold: bool) -> float | None:
    """The row's height when its label or value wraps (None: one line, the default height).
    Cached: the collection, the advice and the labels come back in every receipt."""
    h = max(st.row_height(label, LABEL_WIDTH, bold=True), st.row_height(value, VALUE_WIDTH, bold=bold))
    return h if h > _ONE_LINE else None


def _empty() -> Row:
    return (), None


def render_receipt(
    collection: Collection,
    org: Organisation,
    *,
    submission_id: int,
    file_name: str,
    sha256: str,
    received_at: datetime,
    rows_loaded: Mapping[str, int],
    findings: Sequence[Finding],
) -> bytes:
    """A one-sheet «Квитанция» workbook for an accepted file. ``received_at`` is shown in Moscow
    time (a naive moment is taken as Moscow time already)."""
    book = _book(RECEIPT_SHEET)
    moment = received_at if received_at.tzinfo else received_at.replace(tzinfo=MOSCOW)
    warnings = sum(f.severity == "warning" for f in findings)
    status = ("Принят с предупреждениями" if warnings else "Принят")
    rows: list[Row] = [((("Квитанция о приёме отчёта", book.styles[_TITLE]),), None), _empty()]
    rows += [
        _pair(book, "Статус", status, bold=True),
        _pair(book, "Сбор", collection.title),
        _pair(book, "Организация", org.full_name),
        _pair(book, "Логин", org.login),
        _pair(book, "Файл", file_name),
        _pair(book, "Получен", f"{moment_text(moment)} (мск)"),
        _pair(book, "Номер приёма", submission_id, bold=True),
        _pair(book, "SHA-256 файла", sha256),
        _empty(),
        _pair(book, "Загружено", "", bold=True),
    ]
    rows += [_pair(book, f"Лист «{sheet}»", plural(count, "строка", "строки", "строк"))
             for sheet, count in rows_loaded.items()]
    note = ("Эти данные — текущая версия отчёта вашей организации; более ранние версии сохранены. "
            f"До {moment_text(collection.closes)} (мск) можно отправить исправленный файл: "
            "учитывается последний принятый.")
    rows += [_empty(), _pair(book, "Что дальше", note, height=None)]
    notes = sort_findings([f for f in findings if f.severity != "error"], list(rows_loaded))
    if notes:
        rows += [_empty(), _pair(book, "Предупреждения и замечания", str(len(notes)), bold=True)]
        for finding in notes:
            where = place(finding.worksheet, finding.cell, finding.field) or "Файл"
            message = f"{SEVERITY_TEXT.get(finding.severity, finding.severity).capitalize()}: {finding.message}"
            rows.append(_pair(book, where, message, fill=finding.severity,
                              ))
    return book.render(rows, title=f"Квитанция: {collection.title}")


def render_refusal(
    *,
    file_name: str,
    sha256: str,
    received_at: datetime,
    findings: Sequence[Finding],
) -> bytes:
    """A one-sheet «Отказ» workbook: the file was not accepted, every reason, and what to do."""
    book = _book(REFUSAL_SHEET)
    moment = received_at if received_at.tzinfo else received_at.replace(tzinfo=MOSCOW)
    rows: list[Row] = [((("Файл не принят", book.styles[_TITLE]),), None), _empty()]
    rows += [_pair(book, "Файл", file_name), _pair(book, "Получен", f"{moment_text(moment)} (мск)"),
             _pair(book, "SHA-256 файла", sha256), _empty(),
             _pair(book, "Причины", str(len(findings)), bold=True)]
    for finding in sort_findings(findings, []):
        where = place(finding.worksheet, finding.cell, finding.field) or "Файл"
        rows.append(_pair(book, where, finding.message, fill=finding.severity,
                          ))
    advice = ("Ничего из этого файла не загружено. Заполните шаблон, выданный вашей организации "
              "для этого сбора (формат .xlsx, структуру листов не меняйте), и отправьте его снова. "
              "Если шаблона нет или он повреждён, обратитесь к оператору сбора.")
    rows += [_empty(), _pair(book, "Что делать", advice, height=None)]
    return book.render(rows, title=f"Отказ: {file_name}")
