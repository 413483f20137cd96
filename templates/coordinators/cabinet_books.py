"""Workbooks of the cabinet, in the house style of the coordinator workbooks: the one-time codes a
coordinator hands out, and the «Отчёт о скачивании» export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from templates.coordinators.style import Styles, local
from templates.xlsx import Book

CODES_SHEET = "Коды доступа"
DOWNLOADS_SHEET = "Отчёт о скачивании"
NOT_DOWNLOADED = "не скачивал"


def render_codes(holder: str, rows: Iterable[tuple[str, str, str, str]], *, now: datetime,
                 address: str = "") -> bytes:
    """One line per account: login, name, territory, one-time code (strings, never formulas)."""
    book = Book()
    st = Styles.register(book)
    sh = book.sheet(CODES_SHEET, widths=[14, 60, 30, 34], freeze=(6, 0), autofilter_row=6)
    sh.append(["Коды доступа к личному кабинету"], [st.title], height=22)
    sh.append(["Для кого", holder], [st.bold])
    sh.append(["Сформирован", local(now)], [st.bold, st.datetime])
    sh.append(["Как войти", "Войдите с логином и одноразовым кодом" + (f" на {address}" if address else "")
               + ", затем задайте свой пароль. Код действует до первого входа. Не пересылайте коды "
               "по электронной почте и в мессенджерах."], [st.bold, st.wrap], height=45)
    sh.append([])
    headers = ["Логин", "Наименование", "Территория", "Одноразовый код"]
    sh.append(headers, [st.header] * len(headers), height=30)
    for row in rows:
        sh.append(list(row))
    return book.finish()


def render_downloads(title: str, coordinator: str, rows: Iterable[tuple[str, str, str, str,
                     datetime | None, datetime | None]], *, now: datetime) -> bytes:
    """Every school in scope × every file: first and last download (Moscow time) or «не скачивал»."""
    book = Book()
    st = Styles.register(book)
    sh = book.sheet(DOWNLOADS_SHEET, widths=[13, 50, 30, 40, 18, 18], freeze=(5, 0), autofilter_row=5)
    sh.append([f"Отчёт о скачивании: {title}"], [st.title], height=22)
    sh.append(["Координатор", coordinator], [st.bold])
    sh.append(["Сформирован", local(now)], [st.bold, st.datetime])
    sh.append([])
    headers = ["Логин", "Наименование", "Муниципалитет", "Файл", "Первое скачивание", "Последнее скачивание"]
    sh.append(headers, [st.header] * len(headers), height=30)
    styles = [st.text] * 4 + [st.datetime, st.datetime]
    for login, name, municipality, file, first, last in rows:
        sh.append([login, name, municipality, file, local(first) if first else NOT_DOWNLOADED,
                   local(last) if last else NOT_DOWNLOADED], styles)
    return book.finish()
