"""«Экспорт результатов»: all current accepted data of a coordinator's organisations, as a
workbook for people and as Parquet and CSV files for analysts.

The frames are the warehouse's current data, one per form sheet (keyed by ``sheet.table`` or
``sheet.name``), with the columns ``login``, ``row_number`` and one per field (``field.name``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import polars as pl

from forms.collection import Collection
from forms.coordinators import Coordinator
from forms.organisations import Organisation
from forms.spec import NO, YES, Field, Form, Sheet
from forms.types import TYPES
from forms.wording import worded
from templates.coordinators.style import Styles, fitted, header_height, local
from templates.xlsx import EXCEL_MAX_ROWS, MAX_SHEET_NAME, Book, append_frame, row_height, write_atomic

ABOUT_SHEET = "Описание выгрузки"
# The school's name in the frames ``render_named_results`` takes.
NAME_COLUMN = "_school_name"
# A CSV opened in Excel runs a cell starting with these as a formula (CSV injection).
_FORMULA_START = r"^[=+\-@\t\r]"


def _frame(frames: Mapping[str, pl.DataFrame], sheet: Sheet, *extra: str) -> pl.DataFrame:
    """The sheet's frame, or an empty one of the right shape when the warehouse has no rows;
    ``extra`` are further String columns it must have."""
    frame = frames.get(sheet.table, frames.get(sheet.name))
    if frame is None:
        return pl.DataFrame(schema={"login": pl.String(), **dict.fromkeys(extra, pl.String()),
                                    "row_number": pl.Int64(),
                                    **{f.name: TYPES[f.type].dtype for f in sheet.fields}})
    missing = [name for name in ("login", *extra, *(f.name for f in sheet.fields))
               if name not in frame.columns]
    if missing:
        raise ValueError(f"the frame of sheet {sheet.name!r} lacks the columns "
                         f"{', '.join(missing)}; it must have login, row_number and every "
                         "field's name")
    return frame


def _scoped(frame: pl.DataFrame, coordinator: Coordinator | None,
            orgs: Mapping[str, Organisation]) -> pl.DataFrame:
    """Only the coordinator's organisations; ordered by login and row."""
    if coordinator is not None and coordinator.kind != "operator":
        allowed = [login for login, org in orgs.items() if coordinator.sees(org)]
        frame = frame.filter(pl.col("login").is_in(allowed))
    order = ["login", "row_number"] if "row_number" in frame.columns else ["login"]
    return frame.sort(order, maintain_order=True)


def _plain(frame: pl.DataFrame, f: Field) -> pl.Expr:
    """A field's column as a cell can hold it: yes/no as «Да»/«Нет», times in Moscow time."""
    col = pl.col(f.name)
    dtype = frame.schema[f.name]
    if isinstance(dtype, pl.Boolean):
        return pl.when(col).then(pl.lit(YES)).when(col.not_()).then(pl.lit(NO))
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return col.dt.convert_time_zone("Europe/Moscow").dt.replace_time_zone(None)
    return col


def _names(orgs: Mapping[str, Organisation]) -> pl.Expr:
    mapping = {login: org.short_name or org.full_name for login, org in orgs.items()}
    return pl.col("login").replace_strict(mapping, default=None, return_dtype=pl.String())


def _n(number: int) -> str:
    """1 048 576: digits grouped with non-breaking spaces, as Russian text writes them."""
    return f"{number:,}".replace(",", "\u00a0")


def _part_name(base: str, part: int) -> str:
    if part == 1:
        return base
    suffix = f" ({part})"
    return base[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix


def render_results(form: Form, collection: Collection, coordinator: Coordinator,
                   frames: Mapping[str, pl.DataFrame], orgs: Mapping[str, Organisation], *,
                   now: datetime | None = None, row_limit: int = EXCEL_MAX_ROWS) -> bytes:
    """The results workbook: one worksheet per form sheet (Логин, Наименование, then the fields
    under their printed headers «3.1. …»), typed cells, and «Описание выгрузки» first. A sheet
    with more rows than fit under ``row_limit`` (Excel's 1,048,576, header included) continues
    on «Лист (2)», «Лист (3)»…, and the description says so. ``frames`` may hold every school's
    rows: the coordinator's are cut here, and named from ``orgs``."""
    named = {sheet.table: _scoped(_frame(frames, sheet), coordinator, orgs)
             .with_columns(_names(orgs).alias(NAME_COLUMN)) for sheet in form.sheets}
    return render_named_results(form, collection, coordinator, named, now=now, row_limit=row_limit)


def render_named_results(form: Form, collection: Collection, coordinator: Coordinator,
                         frames: Mapping[str, pl.DataFrame], *, now: datetime | None = None,
                         row_limit: int = EXCEL_MAX_ROWS) -> bytes:
    """``render_results`` of frames already cut to ``coordinator``'s schools, ordered by login
    and row, each with the school's name in ``_school_name`` (as one query reads them:
    ``warehouse.exports``)."""
    if row_limit < 2:
        raise ValueError(f"row_limit must leave room for a header and a row, got {row_limit}")
    form = worded(form, collection)  # the headers as the school's template printed them
    book = Book(title=f"Результаты сбора данных: {collection.title}")
    st = Styles.register(book)
    per_part = row_limit - 1
    inventory: list[tuple[Sheet, int, int, list[str]]] = []
    for sheet in form.sheets:
        frame = _frame(frames, sheet, NAME_COLUMN)
        plain = frame.select(pl.col("login"), pl.col(NAME_COLUMN).alias("__name"),
                             *(_plain(frame, f).alias(f"__{i}")
                               for i, f in enumerate(sheet.fields)))
        headers = ["Логин", "Наименование", *(f.label for f in sheet.fields)]
        widths = fitted(headers, [13, 40, *(f.width or TYPES[f.type].result_width for f in sheet.fields)])
        height = header_height(headers, widths)
        styles = [st.text, st.text, *(getattr(st, TYPES[f.type].result_style) for f in sheet.fields)]
        parts: list[str] = []
        for start in range(0, max(plain.height, 1), per_part):  # an empty sheet gets a header
            name = _part_name(sheet.name, len(parts) + 1)
            parts.append(name)
            sh = book.sheet(name, widths=widths, freeze=(1, 2), autofilter_row=1,
                            landscape=sum(widths) > 100, print_titles=(1, 1))
            sh.append(headers, [st.header] * len(headers), height=height)
            append_frame(sh, plain.slice(start, per_part), styles)
        inventory.append((sheet, frame.height, frame["login"].n_unique(), parts))

    sheet_names = {s.name.lower() for s in form.sheets}
    about = ABOUT_SHEET if ABOUT_SHEET.lower() not in sheet_names else "Описание"
    # Column B holds the moment the workbook was made: wide enough for «01.12.2026 09:00».
    sh = book.sheet(about, widths=[34, 18, 14, 60], position=0)
    sh.append(["Результаты сбора данных"], [st.title], height=row_height("Р", 10, bold=True, size=14))
    sh.append(["Сбор", collection.title], [st.bold])
    sh.append(["ID сбора", collection.id], [st.bold])
    sh.append(["Форма", f"{form.title} (версия {form.version})"], [st.bold])
    sh.append(["Координатор", coordinator.title], [st.bold])
    if now is not None:
        sh.append(["Сформирован", local(now)], [st.bold, st.moment])
    sh.append(["Показаны только принятые данные: для каждой организации — её последний "
               "принятый файл."])
    sh.append([])
    sh.append(["Лист формы", "Строк", "Организаций", "Листы этой книги"], [st.header] * 4)
    for sheet, count, logins, parts in inventory:
        sh.append([sheet.name, count, logins, ", ".join(f"«{p}»" for p in parts)],
                  [st.text, st.integer, st.integer, st.wrap])
    for sheet, count, _, parts in inventory:
        if len(parts) > 1:
            sh.append([])
            sh.append([f"Лист «{sheet.name}» содержит {_n(count)} строк — больше, чем "
                       f"помещается на одном листе Excel ({_n(row_limit)} строк вместе с "
                       f"заголовком). Данные продолжаются на листах "
                       f"{', '.join(f'«{p}»' for p in parts[1:])}."], [st.bold])
    return book.finish()


def _analyst_frame(frame: pl.DataFrame, sheet: Sheet, orgs: Mapping[str, Organisation]
                   ) -> pl.DataFrame:
    region = {login: org.region_code for login, org in orgs.items()}
    municipality = {login: org.municipality_code for login, org in orgs.items()}
    lead = [
        pl.col("login"),
        _names(orgs).alias("org_name"),
        pl.col("login").replace_strict(region, default=None, return_dtype=pl.String())
        .alias("region_code"),
        pl.col("login").replace_strict(municipality, default=None, return_dtype=pl.String())
        .alias("municipality_code"),
    ]
    if "row_number" in frame.columns:
        lead.append(pl.col("row_number"))
    return frame.select(*lead, *(pl.col(f.name) for f in sheet.fields))


def _csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Yes/no as «Да»/«Нет»; text that Excel would run as a formula gets a leading apostrophe."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Boolean):
            exprs.append(pl.when(col).then(pl.lit(YES)).when(col.not_()).then(pl.lit(NO))
                         .alias(name))
        elif isinstance(dtype, pl.String):
            exprs.append(pl.when(col.str.contains(_FORMULA_START)).then(pl.lit("'") + col)
                         .otherwise(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def write_results_files(form: Form, frames: Mapping[str, pl.DataFrame],
                        orgs: Mapping[str, Organisation], directory: Path, *,
                        coordinator: Coordinator | None = None) -> list[Path]:
    """For analysts, per form sheet: ``<form>__<table>.parquet`` (the warehouse's types,
    exact) and ``<form>__<table>.csv`` for opening in Excel. Columns: login, org_name,
    region_code, municipality_code, row_number, then the fields by name.

    The CSV is UTF-8 with a BOM and ``;`` between values, with decimal commas and dates as
    ДД.ММ.ГГГГ: that is what a Russian-locale Excel splits into columns and reads as numbers
    and dates on a double click (it expects ``;`` because ``,`` is its decimal mark). Text that
    Excel would run as a formula (starting with = + - @) is prefixed with an apostrophe there;
    the Parquet file keeps every value exactly."""
    directory = Path(directory)
    written: list[Path] = []
    for sheet in form.sheets:
        frame = _analyst_frame(_scoped(_frame(frames, sheet), coordinator, orgs), sheet, orgs)
        stem = f"{form.id}__{sheet.table}"
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        written.append(write_atomic(buffer.getvalue(), directory / f"{stem}.parquet", keep=0))
        buffer = io.BytesIO()
        _csv_safe(frame).write_csv(buffer, include_bom=True, separator=";",
                                          decimal_comma=True, date_format="%d.%m.%Y",
                                          datetime_format="%d.%m.%Y %H:%M")
        written.append(write_atomic(buffer.getvalue(), directory / f"{stem}.csv", keep=0))
    return written
