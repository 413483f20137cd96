"""The pandera schema of a form sheet, built from the spec, and the one function that turns its
failure cases into findings at cells.

The schema judges typed values (``validators/casting.py`` has cast them, never pandera: its
coerce truncates 12.5 to 12): dtypes, required fields (nullable), bounds, lists, lengths, dates
within the collection's assessment period, and unique keys per file. It is built for a batch:
``file_index`` tells the files apart, so one pandera call validates a thousand workbooks.
Rules across fields (row and group rules) are in ``validators/rules.py``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from forms import layout
from forms.collection import Collection
from forms.findings import finding
from forms.spec import Field, Form, Sheet
from forms.types import TYPES
from validators import messages as msg
from validators.cells import Located, address, display
from validators.rawframe import FILE, ROW, kind_column, text_column

DUPLICATE = "duplicate-key"
BOUNDS = frozenset({"below-minimum", "above-maximum", "outside-period"})
REQUIRED = "required"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def field_checks(form: Form, field: Field, collection: Collection) -> list[tuple[pa.Check, str, dict[str, object]]]:
    """The field's checks, each with its finding code and the values its message names. The
    order is the order pandera numbers them in (``check_number``)."""
    checks: list[tuple[pa.Check, str, dict[str, object]]] = []
    limit = TYPES[field.type].limit
    if limit == "bounds":
        if field.minimum is not None:
            checks.append((pa.Check.ge(_number(field.minimum)), "below-minimum",
                           {"minimum": msg.number(_number(field.minimum))}))
        if field.maximum is not None:
            checks.append((pa.Check.le(_number(field.maximum)), "above-maximum",
                           {"maximum": msg.number(_number(field.maximum))}))
    if limit == "list":
        checks.append((pa.Check.isin(list(form.choices_for(field))), "not-in-list", {}))
    if limit == "length" and field.max_length is not None:
        checks.append((pa.Check.str_length(max_value=field.max_length), "too-long",
                       {"max_length": field.max_length}))
    if limit == "period" and field.within_period and collection.period_start and collection.period_end:
        checks.append((pa.Check.in_range(collection.period_start, collection.period_end), "outside-period",
                       {"start": msg.day(collection.period_start), "end": msg.day(collection.period_end)}))
    return checks


def build_schema(form: Form, sheet: Sheet, collection: Collection) -> pa.DataFrameSchema:
    """The schema of a typed batch frame of ``sheet``: ``file_index``, ``row_number`` and one
    column per field name."""
    columns: dict[str, pa.Column] = {
        FILE: pa.Column(pl.Int64, nullable=False),
        ROW: pa.Column(pl.Int64, nullable=False),
    }
    for field in sheet.fields:
        checks = [check for check, _, _ in field_checks(form, field, collection)]
        columns[field.name] = pa.Column(TYPES[field.type].dtype, checks=checks, nullable=not field.required)
    keys = [f.name for f in sheet.key_fields]
    return pa.DataFrameSchema(
        columns,
        strict=True,
        ordered=False,
        unique=[FILE, *keys] if keys else None,
        name=f"{form.id}.{sheet.table}",
    )


def validate(schema: pa.DataFrameSchema, typed: pl.DataFrame) -> pl.DataFrame | None:
    """pandera's failure cases for ``typed`` (a DataFrame: on a LazyFrame pandera checks only
    the schema), all of them (lazy), or None when it passes."""
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return None


def failures_to_findings(failures: pl.DataFrame, typed: pl.DataFrame, raw: pl.DataFrame, form: Form,
                         sheet: Sheet, collection: Collection, files: list[str]) -> list[Located]:
    """pandera's failure cases (column, row index) → findings at cells. ``typed`` and ``raw`` are
    the validated frame and the raw one it was cast from (same rows, same order)."""
    by_name = {f.name: (j, f) for j, f in enumerate(sheet.fields)}
    rows_file = typed.get_column(FILE).to_list()
    rows_number = typed.get_column(ROW).to_list()
    found: list[Located] = []
    firsts: dict[tuple[object, ...], int] | None = None
    for case in failures.iter_rows(named=True):
        index = case["index"]
        if index is None:
            continue
        file_index, row_number = rows_file[index], rows_number[index]
        if case["column"] in by_name:
            j, field = by_name[case["column"]]
            if case["check"] == "not_nullable":
                code, values = REQUIRED, {}
            elif case["check_number"] is not None:
                _, code, values = field_checks(form, field, collection)[case["check_number"]]
            else:
                code, values = "invalid", {}
        elif case["check"] in ("multiple_fields_uniqueness", "field_uniqueness") and sheet.key_fields:
            j, field = by_name[sheet.key_fields[0].name]
            firsts = _first_rows(typed, sheet) if firsts is None else firsts
            key = _key(typed.row(index, named=True), sheet)
            if None in key or firsts[key] == row_number:
                continue  # a missing key is reported as required; the first row is the original
            code, values = DUPLICATE, {"first": firsts[key] + layout.FIRST_ROW - 1}
        else:
            continue
        raw_row = raw.row(index, named=True)
        shown = display(raw_row[text_column(j)], raw_row[kind_column(j)])
        typed_value = typed.row(index, named=True)[field.name]
        if code == "too-long":
            values = {**values, "length": len(str(typed_value))}
        # A bound is about the value as read (a date, not the serial it was typed as).
        in_message = msg.shown(typed_value) if code in BOUNDS else shown
        cell = address(sheet, field.number, row_number)
        found.append(Located(file_index, finding(code, file=files[file_index], worksheet=sheet.name, cell=cell,
                                                 field=field.number, value=shown,
                                                 where=msg.where(sheet, cell, field.number), v=in_message,
                                                 **values)))
    return found


def _key(row: dict[str, object], sheet: Sheet) -> tuple[object, ...]:
    return (row[FILE], *(row[f.name] for f in sheet.key_fields))


def _first_rows(typed: pl.DataFrame, sheet: Sheet) -> dict[tuple[object, ...], int]:
    """For every key of every file, the entry row where it first appears (pandera's polars
    backend reports every repeat, the first included; the school should keep the first)."""
    keys = [FILE, *(f.name for f in sheet.key_fields)]
    firsts = typed.group_by(keys).agg(pl.col(ROW).min())
    return {tuple(row[:-1]): row[-1] for row in firsts.select(*keys, ROW).iter_rows()}
