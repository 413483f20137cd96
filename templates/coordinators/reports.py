"""The coordinators' workbooks (manual 000, «Мониторинг работы образовательных организаций»,
«Групповой отчет»): status per collection, statuses export, group report across collections;
the results workbook and files live in ``results.py``, atomic writing in ``templates/xlsx/atomic.py``.

Every function is pure: data in, workbook bytes out. Each keeps only the organisations the
coordinator may see, whatever it is given, so a wrong query upstream cannot leak a school of
another region into a coordinator's file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from forms.collection import MOSCOW, Collection, require_aware
from forms.coordinators import REPORT_KINDS, Coordinator
from forms.status import (
    CLOSED_STATUSES,
    COUNT_LABELS,
    OPEN_STATUSES,
    TOTAL_LABEL,
    OrgStatus,
    Status,
    Summary,
    display_name,
    is_closed,
    status_of,
    summarize,
    tally,
)
from templates.coordinators.results import render_results, write_results_files
from templates.coordinators.style import (
    NOT_PARTICIPANT,
    STATUS_RANK,
    Styles,
    fitted,
    header_height,
    label,
    local,
    moment_text,
    window_text,
)
from templates.xlsx import Book, SheetWriter, append_frame, row_height, write_atomic

__all__ = ["REPORT_KINDS", "render_group_report", "render_results", "render_status",
           "render_statuses_export", "report_file", "write_atomic", "write_results_files"]


def report_file(root: Path, coordinator: Coordinator, kind: str,
                collection_id: str | None = None) -> Path:
    """Where a coordinator's workbook lives: ``<root>/<coordinator>/<kind>_<collection>.xlsx``
    (``group.xlsx`` and ``statuses.xlsx`` span collections). ``write_atomic`` keeps the dated
    versions beside it."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r} (known: {', '.join(REPORT_KINDS)})")
    stem = kind if collection_id is None else f"{kind}_{collection_id}"
    return Path(root) / coordinator.id / f"{stem}.xlsx"

SUMMARY_SHEET = "Сводка"
PARTICIPANTS_SHEET = "Участники"
BY_MUNICIPALITY_SHEET = "По муниципалитетам"
BY_REGION_SHEET = "По регионам"
STATUSES_SHEET = "Статусы"

_LEGEND_OPEN = ("«Не приступило» — организация не прислала ни одного файла; «В работе» — файлы "
                "присланы, но ни один не принят (в них есть ошибки); «Сдано» — принят хотя бы "
                "один файл.")
_LEGEND_CLOSED = ("Сбор завершён. «Сдано» — принят хотя бы один файл; «Не сдано» — файлы "
                  "присылались, но ни один не принят; «Не приступило» — организация не прислала "
                  "ни одного файла.")


def _visible(coordinator: Coordinator, rows: Sequence[OrgStatus]) -> list[OrgStatus]:
    return sorted((r for r in rows if coordinator.sees(r)),
                  key=lambda r: (r.region_code, r.municipality_name, r.login))


def _moscow(stamps: list[float | None]) -> pl.Series:
    """POSIX timestamps as Moscow wall-clock datetimes, column-wise (40,000 rows)."""
    micros = pl.Series(stamps, dtype=pl.Float64()) * 1_000_000
    return (pl.from_epoch(micros.cast(pl.Int64()), time_unit="us").dt.replace_time_zone("UTC")
            .dt.convert_time_zone(MOSCOW.key).dt.replace_time_zone(None))


def _participants(rows: list[OrgStatus], statuses: list[Status]) -> pl.DataFrame:
    """The participant list, in the order a coordinator works through it: by status, those not
    started first, then region, municipality, login. Built column by column so that 40,000 rows
    take a fraction of a second."""
    def stamp(moment: datetime | None) -> float | None:
        if moment is None:
            return None
        require_aware(moment, "a moment of the report")  # .timestamp() would take the server's zone
        return moment.timestamp()

    frame = pl.DataFrame({
        "region": [r.region_name for r in rows],
        "login": [r.login for r in rows],
        "name": [display_name(r) for r in rows],
        "municipality": [r.municipality_name for r in rows],
        "status": [label(s) for s in statuses],
        "rank": pl.Series([STATUS_RANK[s] for s in statuses], dtype=pl.Int8()),
        "errors": pl.Series([r.last_errors if r.files else None for r in rows],
                            dtype=pl.Int64()),
        "region_code": [r.region_code for r in rows],
    }, schema_overrides={c: pl.String() for c in ("region", "login", "name", "municipality",
                                                  "status", "region_code")})
    frame = frame.with_columns(
        first=_moscow([stamp(r.started_at) for r in rows]),
        last=_moscow([stamp(r.last_accepted_at) for r in rows]))
    return (frame.sort("rank", "region_code", "municipality", "login")
            .select("region", "login", "name", "municipality", "status", "first", "last",
                    "errors"))


_MAX_TEXT_WIDTH = 70.0  # a column no wider than this: a longer name is cut at the next column


def _content_width(frame: pl.DataFrame, column: str, width: float) -> float:
    """A text column as wide as its longest value (up to _MAX_TEXT_WIDTH), at least ``width``:
    «Республика Башкортостан» whole, not cut by the login beside it. Estimated from the length
    in characters, column-wise, so that 40,000 rows cost nothing to measure."""
    longest = frame[column].str.len_chars().max() if frame.height else 0
    need = (int(longest) if isinstance(longest, int) else 0) * 1.1 + 1  # a letter ≈ 1.1 units
    return float(min(_MAX_TEXT_WIDTH, max(width, round(need))))


def _summary_lines(sh: SheetWriter, st: Styles, summary: Summary) -> None:
    sh.append(["Показатель", "Количество", "Доля"], [st.header] * 3)
    sh.append([TOTAL_LABEL, summary.total], [st.bold, st.integer])
    for status, count in summary.counts:  # in the manual's order, as Summary.lines()
        share = count / summary.total if summary.total else None
        sh.append([COUNT_LABELS[status], count, share],
                  [st.of_status(status), st.integer, st.percent])


def _state(collection: Collection, now: datetime) -> str:
    """«Открыт» / «Закрыт» as the manuals print them; before the window, when it opens."""
    if now < collection.opens:
        return f"Ещё не открыт (откроется {moment_text(collection.opens)})"
    return collection.status_at(now)


def _heading(sh: SheetWriter, st: Styles, title: str, coordinator: Coordinator,
             now: datetime) -> None:
    sh.append([title], [st.title], height=row_height(title, 200, bold=True, size=14))
    sh.append(["Координатор", coordinator.title], [st.bold, st.wrap])
    sh.append(["Сформирован", local(now)], [st.bold, st.moment])


def _pair(sh: SheetWriter, st: Styles, name: str, value: str, width: float) -> None:
    """A label and its text, the row as tall as the text wrapped at ``width``."""
    sh.append([name, value], [st.bold, st.wrap], height=_tall(value, width))


def _tall(text: str, width: float) -> float | None:
    """A row height for ``text`` wrapped at ``width``; None when one line is enough."""
    height = row_height(text, width)
    return height if height > row_height("", width) else None


def render_status(collection: Collection, coordinator: Coordinator, rows: Sequence[OrgStatus],
                  *, now: datetime) -> bytes:
    """The status workbook of one collection for one coordinator: «Сводка» (the manual's
    counts), «Участники» (the participant list) and, for a regional coordinator, subtotals per
    municipality (per region for the operator)."""
    closed = is_closed(collection, now)
    visible = [r for r in rows if coordinator.sees(r)]
    statuses = [status_of(r, closed) for r in visible]
    summary = tally(closed, statuses)
    book = Book(title=f"Статус сбора данных: {collection.title}")
    st = Styles.register(book)

    sh = book.sheet(SUMMARY_SHEET, widths=[26, 70, 10])
    _heading(sh, st, "Статус сбора данных", coordinator, now)
    _pair(sh, st, "Сбор", collection.title, 70)
    _pair(sh, st, "ID сбора", collection.id, 70)
    _pair(sh, st, "Раздел", collection.section, 70)
    _pair(sh, st, "Период сбора", window_text(collection.opens, collection.closes), 70)
    _pair(sh, st, "Состояние", _state(collection, now), 70)
    sh.append([])
    _summary_lines(sh, st, summary)
    sh.append([])
    _pair(sh, st, "Статусы", _LEGEND_CLOSED if closed else _LEGEND_OPEN, 70)

    with_region = coordinator.kind == "operator"
    headers = (["Регион"] if with_region else []) + [
        "Логин", "Наименование", "Муниципалитет", "Статус", "Дата начала работы",
        "Дата подачи", "Ошибок в последнем файле"]
    frame = _participants(visible, statuses)
    if not with_region:
        frame = frame.drop("region")
    text_columns = (["region"] if with_region else []) + ["login", "name", "municipality"]
    base = ([22] if with_region else []) + [13, 60, 26]
    widths = fitted(headers, [*(_content_width(frame, c, w) for c, w in zip(text_columns, base, strict=True)),
                              16, 18, 18, 14])
    sh = book.sheet(PARTICIPANTS_SHEET, widths=widths, freeze=(1, 0), autofilter_row=1,
                    landscape=True, print_titles=(1, 1))
    sh.append(headers, [st.header] * len(headers), height=header_height(headers, widths))
    styles = [st.text, st.text, st.text, 0, st.datetime, st.datetime, st.integer]
    if with_region:
        styles.insert(0, st.text)
    status_column = 4 if with_region else 3
    # Labels are unique within one state (open or closed), so a label names its status here.
    fills = {label(s): st.of_status(s) for s in (CLOSED_STATUSES if closed else OPEN_STATUSES)}
    append_frame(sh, frame, styles, row_styles={
        status_column: pl.col("status").replace_strict(fills, return_dtype=pl.Int64())})

    if coordinator.kind in ("regional", "operator"):
        by_region = coordinator.kind == "operator"
        _subtotals(book, st, visible, statuses, summary, by_region)
    return book.finish()


def _subtotals(book: Book, st: Styles, rows: list[OrgStatus], statuses: list[Status],
               total: Summary, by_region: bool) -> None:
    closed = total.closed
    groups: dict[tuple[str, str], list[Status]] = {}
    for r, status in zip(rows, statuses, strict=True):
        key = (r.region_code, r.region_name) if by_region else (r.municipality_code,
                                                                 r.municipality_name)
        groups.setdefault(key, []).append(status)
    labels = [label for label, _ in total.lines()]
    headers = ["Код", "Регион" if by_region else "Муниципалитет", *labels, "Доля сдавших"]
    widths = fitted(headers, [10, 40] + [14] * (len(labels) + 1))
    sh = book.sheet(BY_REGION_SHEET if by_region else BY_MUNICIPALITY_SHEET,
                    widths=widths, freeze=(1, 2), landscape=sum(widths) > 100, print_titles=(1, 1))
    sh.append(headers, [st.header] * len(headers), height=header_height(headers, widths))
    counts_styles = [st.text, st.text] + [st.integer] * len(labels) + [st.percent]
    for (code, name), members in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        summary = tally(closed, members)
        sh.append([code, name, *(c for _, c in summary.lines()),
                   summary.submitted / summary.total], counts_styles)
    sh.append(["", "Итого", *(c for _, c in total.lines()),
               total.submitted / total.total if total.total else None],
              [st.total] * (len(headers) - 1) + [st.percent])


def render_statuses_export(entries: Sequence[tuple[Collection, OrgStatus, str]]) -> bytes:
    """«Экспорт статусов»: one row per organisation and collection, the status given."""
    book = Book(title="Экспорт статусов")
    st = Styles.register(book)
    headers = ["ID сбора", "Сбор", "Код региона", "Регион", "Код муниципалитета",
               "Муниципалитет", "Логин", "Наименование", "Статус", "Дата начала работы",
               "Дата подачи", "Файлов получено", "Файлов принято", "Ошибок в последнем файле"]
    widths = fitted(headers, [24, 50, 8, 24, 12, 30, 13, 60, 16, 18, 18, 12, 12, 14])
    sh = book.sheet(STATUSES_SHEET, widths=widths, freeze=(1, 0), autofilter_row=1,
                    landscape=True, print_titles=(1, 1))
    sh.append(headers, [st.header] * len(headers), height=header_height(headers, widths))
    base = [st.text] * 8 + [0, st.datetime, st.datetime, st.integer, st.integer, st.integer]
    for collection, r, status in entries:
        styles = base.copy()
        styles[8] = st.of_status(status)
        sh.append([collection.id, collection.title, r.region_code, r.region_name,
                   r.municipality_code, r.municipality_name, r.login, display_name(r), label(status),
                   local(r.started_at), local(r.last_accepted_at), r.files, r.accepted,
                   r.last_errors if r.files else None], styles)
    return book.finish()


# Group report columns: the open and closed labels side by side, blank where one does not apply.
_GROUP_COUNTS: tuple[tuple[str, tuple[Status, ...]], ...] = (
    ("Не приступило", (Status.NOT_STARTED, Status.NEVER_STARTED)),
    ("В работе", (Status.IN_WORK,)),
    ("Сдано", (Status.SUBMITTED,)),
    ("Не сдано", (Status.NOT_SUBMITTED,)),
)


def _group_counts(summary: Summary) -> list[int | None]:
    present = {s for s, _ in summary.counts}
    return [sum(summary.count(s) for s in statuses) if present & set(statuses) else None
            for _, statuses in _GROUP_COUNTS]


_GROUP_NOTES = (
    "«В работе» считается, пока сбор открыт; «Не сдано» — после его закрытия (организация "
    "присылала файлы, но ни один не принят). Поэтому у открытого сбора столбец «Не сдано» пуст, "
    "а у закрытого — столбец «В работе».",
    "«Не приступило» — организация не прислала ни одного файла.",
)


def render_group_report(collections: Sequence[Collection], coordinator: Coordinator,
                        statuses: Mapping[str, Sequence[OrgStatus]], *, now: datetime) -> bytes:
    """«Групповой отчет»: organisations × collections, a coloured status in each cell, with the
    totals per collection on «Сводка» and under the grid. ``statuses`` is keyed by collection
    id; an organisation absent from a collection's rows is not its participant («—»). A
    collection none of the coordinator's organisations takes part in is listed on «Сводка» as
    such and left out of the grid (a column of «—» says nothing)."""
    closed = {c.id: is_closed(c, now) for c in collections}
    visible = {c.id: _visible(coordinator, statuses.get(c.id, ())) for c in collections}
    summaries = {c.id: summarize(visible[c.id], closed[c.id]) for c in collections}
    book = Book(title="Групповой отчёт о статусах сбора данных")
    st = Styles.register(book)

    headers = ["ID сбора", "Сбор", "Раздел", "Период сбора", "Состояние", "Всего",
               *(name for name, _ in _GROUP_COUNTS)]
    widths = fitted(headers, [24, 50, 12, 20, 14, 10] + [13] * len(_GROUP_COUNTS))
    sh = book.sheet(SUMMARY_SHEET, widths=widths, landscape=True, print_titles=(5, 5))
    _heading(sh, st, "Групповой отчёт о статусах сбора данных", coordinator, now)
    sh.append([])
    sh.append(headers, [st.header] * len(headers), height=header_height(headers, widths))
    styles = [st.wrap] * 5 + [st.integer] * (1 + len(_GROUP_COUNTS))
    empty: list[Collection] = []
    for c in collections:
        s = summaries[c.id]
        row = [c.id, c.title, c.section, window_text(c.opens, c.closes), _state(c, now)]
        height = max(row_height(text, w) for text, w in zip(row, widths, strict=False))
        if not s.total:
            empty.append(c)
            sh.append([*row, 0], styles, height=height)
            continue
        sh.append([*row, s.total, *_group_counts(s)], styles, height=height)
    sh.append([])
    notes = list(_GROUP_NOTES)
    if empty:
        notes.append("Среди ваших организаций нет участников "
                     + ("сборов " if len(empty) > 1 else "сбора ")
                     + ", ".join(f"«{c.title}» (ID {c.id})" for c in empty)
                     + ": их на листе «Статусы» нет.")
    for i, note in enumerate(notes):
        sh.append(["Пояснение" if i == 0 else "", note], [st.bold, st.note],
                  height=row_height(note, widths[1]))

    shown = [c for c in collections if summaries[c.id].total]
    orgs: dict[str, OrgStatus] = {}
    cells: dict[tuple[str, str], Status] = {}
    for c in shown:
        for r in visible[c.id]:
            orgs.setdefault(r.login, r)
            cells[(r.login, c.id)] = status_of(r, closed[c.id])
    lead = ["Регион", "Муниципалитет", "Логин", "Наименование"]
    headers = lead + [f"{c.title} (ID {c.id})" for c in shown]
    widths = fitted(headers, [22, 30, 13, 50] + [22] * len(shown))
    sh = book.sheet(STATUSES_SHEET, widths=widths, freeze=(1, len(lead)), autofilter_row=1,
                    landscape=True, print_titles=(1, 1))
    sh.append(headers, [st.header] * len(headers), height=header_height(headers, widths))
    for r in sorted(orgs.values(), key=lambda r: (r.region_code, r.municipality_name, r.login)):
        found = [cells.get((r.login, c.id)) for c in shown]
        sh.append([r.region_name, r.municipality_name, r.login, display_name(r),
                   *(NOT_PARTICIPANT if f is None else label(f) for f in found)],
                  [st.text] * len(lead) + [st.text if f is None else st.of_status(f) for f in found])
    sh.end_filter()
    sh.append([])
    totals: list[tuple[str, list[int | None]]] = [
        ("Всего участников", [summaries[c.id].total for c in shown])]
    for i, (name, _) in enumerate(_GROUP_COUNTS):
        totals.append((name, [_group_counts(summaries[c.id])[i] for c in shown]))
    for name, counts in totals:
        sh.append(["", "", "", f"Итого: {name}", *counts],
                  [st.total] * len(lead) + [st.integer] * len(shown))
    return book.finish()
