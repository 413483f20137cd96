"""The look shared by every coordinator workbook: styles, status colours, local times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forms.collection import MOSCOW, require_aware
from forms.status import Status
from templates._xlsxwrite import Book, Style

DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"

# (fill, font colour) per status: green done, yellow in progress, grey not yet, red failed.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: ("C6EFCE", "006100"),
    Status.IN_WORK: ("FFEB9C", "9C5700"),
    Status.NOT_STARTED: ("E7E6E6", "3A3A3A"),
    Status.NOT_SUBMITTED: ("FFC7CE", "9C0006"),
    Status.NEVER_STARTED: ("F4A6A6", "7A0000"),
}
NOT_PARTICIPANT = "—"  # group report: the organisation is not a participant of that collection


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
    total: int
    status: dict[str, int]

    @classmethod
    def register(cls, book: Book) -> Styles:
        return cls(
            title=book.style(Style(bold=True, size=14)),
            bold=book.style(Style(bold=True)),
            header=book.style(Style(bold=True, fill="DDEBF7", wrap=True, border=True,
                                    vertical="center", horizontal="center")),
            text=0,
            wrap=book.style(Style(wrap=True, vertical="top")),
            integer=book.style(Style(number_format="0")),
            # "General": a fixed "0.##" pattern would print 5 as "5." in Excel.
            decimal=book.style(Style()),
            percent=book.style(Style(number_format="0.0%")),
            date=book.style(Style(number_format=DATE_FORMAT)),
            datetime=book.style(Style(number_format=DATETIME_FORMAT)),
            total=book.style(Style(bold=True, fill="F2F2F2", border=True)),
            status={label: book.style(Style(fill=fill, color=font))
                    for label, (fill, font) in STATUS_COLOURS.items()},
        )

    def of_status(self, label: str) -> int:
        return self.status.get(label, self.text)
