"""The look shared by every coordinator workbook: styles, status colours, local times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from forms.collection import MOSCOW, require_aware
from forms.status import Status
from templates.xlsx import Book, Style, fit_width, row_height

DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"

# (fill, font colour) per status: green done, yellow in progress, orange not started (the
# schools a coordinator calls first stand out, they are not the quietest grey), red failed.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: ("C6EFCE", "006100"),
    Status.IN_WORK: ("FFEB9C", "9C5700"),
    Status.NOT_STARTED: ("F8CBAD", "843C0C"),
    Status.NOT_SUBMITTED: ("FFC7CE", "9C0006"),
    Status.NEVER_STARTED: ("F4A6A6", "7A0000"),
}
NOT_PARTICIPANT = "—"  # group report: the organisation is not a participant of that collection


# Who needs the coordinator first: not started, then in work or not submitted, then done.
STATUS_RANK: dict[str, int] = {
    Status.NOT_STARTED: 0, Status.NEVER_STARTED: 0, Status.IN_WORK: 1, Status.NOT_SUBMITTED: 1,
    Status.SUBMITTED: 2,
}


_LABELS: dict[str, str] = {s.value: s.label for s in Status}


def label(status: str) -> str:
    """The manual's word for a status («Не приступило»), whether open or closed."""
    return _LABELS.get(status, status)


def header_height(headers: Sequence[str], widths: Sequence[float | None]) -> float:
    """A header row tall enough for its tallest wrapped title at its column's width."""
    return max((row_height(h, w or 8.43, bold=True) for h, w in zip(headers, widths, strict=False)),
               default=15.0)


def fitted(headers: Sequence[str], widths: Sequence[float]) -> list[float]:
    """``widths``, each widened where a word of its bold header would be broken."""
    return [fit_width(h, w, bold=True) for h, w in zip(headers, widths, strict=True)]


def local(moment: datetime | None) -> datetime | None:
    """Moscow wall-clock time without tzinfo, as a spreadsheet cell holds it."""
    if moment is None:
        return None
    require_aware(moment, "a moment of the report")
    return moment.astimezone(MOSCOW).replace(tzinfo=None)


def moment_text(moment: datetime) -> str:
    """«01.11.2026 12:00», Moscow time."""
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")


def window_text(opens: datetime, closes: datetime) -> str:
    return f"{moment_text(opens)} – {moment_text(closes)}"


@dataclass(frozen=True)
class Styles:
    """Style ids registered in one ``Book``."""

    title: int
    bold: int
    header: int
    text: int
    wrap: int
    integer: int
    decimal: int
    percent: int
    date: int
    datetime: int
    moment: int  # a date and time in a text column: left, as the text beside it
    note: int  # an explanation under a table: wrapped, in italics would be a second font style
    total: int
    status: dict[str, int]

    @classmethod
    def register(cls, book: Book) -> Styles:
        return cls(
            title=book.style(Style(bold=True, size=14)),
            # Top-aligned where a row may be taller than one line: a label stands by the first
            # line of its wrapped value, not below it.
            bold=book.style(Style(bold=True, vertical="top")),
            header=book.style(Style(bold=True, fill="DDEBF7", wrap=True, border=True,
                                    vertical="center", horizontal="center")),
            text=0,
            wrap=book.style(Style(wrap=True, vertical="top")),
            integer=book.style(Style(number_format="0", vertical="top")),
            # "General": a fixed "0.##" pattern would print 5 as "5." in Excel.
            decimal=book.style(Style()),
            percent=book.style(Style(number_format="0.0%", vertical="top")),
            date=book.style(Style(number_format=DATE_FORMAT)),
            datetime=book.style(Style(number_format=DATETIME_FORMAT)),
            moment=book.style(Style(number_format=DATETIME_FORMAT, horizontal="left", vertical="top")),
            note=book.style(Style(wrap=True, vertical="top")),
            total=book.style(Style(bold=True, fill="F2F2F2", border=True)),
            status={label: book.style(Style(fill=fill, color=font))
                    for label, (fill, font) in STATUS_COLOURS.items()},
        )

    def of_status(self, label: str) -> int:
        return self.status.get(label, self.text)
