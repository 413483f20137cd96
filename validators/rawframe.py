"""Raw values to a polars frame of text, once per batch: every cell becomes its canonical text
and its kind (how it was stored), never a cast value.

Reading keeps each sheet's raw calamine values column-wise; a batch concatenates those columns
(plain list extends) and encodes each column once here. Strings and numbers, nearly all cells,
are encoded by polars in bulk; the rare other kinds (dates, booleans) cell by cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from itertools import chain, repeat
from typing import Any

import polars as pl

from forms.spec import Sheet

# Cell kinds: how the value was stored in the file.
TEXT, NUMBER, BOOLEAN, DATE, DATETIME, OTHER = "s", "n", "b", "d", "t", "x"
# An entry row's position in the entry area, from 1 (worksheet row FIRST_ROW); a card's only row is 1.
ROW = "row_number"
FILE = "file_index"  # the file's position in a batch
MAX_EXACT = 2**53  # beyond this a float no longer holds every integer


def text_column(position: int) -> str:
    return f"t{position}"


def kind_column(position: int) -> str:
    return f"k{position}"


def raw_schema(sheet: Sheet) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {FILE: pl.Int64(), ROW: pl.Int64()}
    for j in range(len(sheet.fields)):
        schema[text_column(j)] = pl.String()
        schema[kind_column(j)] = pl.String()
    return schema


def number_text(value: float | int) -> str:
    """12.0 → "12", 12.5 → "12.5": what Excel shows, and what polars parses back exactly."""
    if isinstance(value, float) and value.is_integer() and abs(value) < MAX_EXACT:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def encode(value: Any) -> tuple[str | None, str | None]:
    """(canonical text, kind) of one calamine value; (None, None) for an empty cell."""
    if isinstance(value, str):
        return (value, TEXT) if value.strip() else (None, None)
    if isinstance(value, bool):
        return ("true" if value else "false"), BOOLEAN
    if isinstance(value, float | int):
        return number_text(value), NUMBER
    if isinstance(value, datetime):
        return value.isoformat(), DATETIME
    if isinstance(value, date):
        return value.isoformat(), DATE
    if isinstance(value, time | timedelta):
        return str(value), OTHER
    return str(value), OTHER


def encode_column(values: list[Any]) -> tuple[pl.Series, pl.Series]:
    """(text, kind) Series of one column of raw values."""
    kinds = set(map(type, values))
    texts: list[pl.Series] = []
    kind_of: list[tuple[pl.Series, str | pl.Series]] = []
    if str in kinds:
        strings = pl.Series([v if type(v) is str else None for v in values], dtype=pl.String)
        strings = pl.select(pl.when(strings.str.strip_chars() != "").then(strings)).to_series()
        texts.append(strings)
        kind_of.append((strings, TEXT))
    if float in kinds:
        numbers = pl.Series([v if type(v) is float else None for v in values], dtype=pl.Float64)
        exact = (numbers == numbers.floor()) & (numbers.abs() < MAX_EXACT)
        as_text = pl.select(pl.when(exact).then(numbers.cast(pl.Int64, strict=False).cast(pl.String))
                            .otherwise(numbers.cast(pl.String))).to_series()
        texts.append(as_text)
        kind_of.append((as_text, NUMBER))
    if kinds - {str, float}:
        others = [encode(v) if type(v) not in (str, float) else (None, None) for v in values]
        other_text = pl.Series([t for t, _ in others], dtype=pl.String)
        texts.append(other_text)
        kind_of.append((other_text, pl.Series([k for _, k in others], dtype=pl.String)))
    if not texts:
        empty = pl.Series([None] * len(values), dtype=pl.String)
        return empty, empty
    text = pl.select(pl.coalesce(texts)).to_series() if len(texts) > 1 else texts[0]
    chain_expr: Any = pl
    for source, kind in kind_of:
        chain_expr = chain_expr.when(source.is_not_null()).then(kind if isinstance(kind, pl.Series) else pl.lit(kind))
    kind_series = pl.select(chain_expr.otherwise(None).cast(pl.String)).to_series()
    return text.alias("text"), kind_series.alias("kind")


def raw_frame(sheet: Sheet, members: Sequence[tuple[int, list[int], tuple[list[Any], ...]]]) -> pl.DataFrame:
    """The raw frame of a batch: ``file_index``, ``row_number`` and, per field position j,
    ``t{j}`` (canonical text) and ``k{j}`` (kind). ``members`` are (file index, row numbers,
    columns of raw values) of each file's sheet."""
    files = list(chain.from_iterable(repeat(i, len(rows)) for i, rows, _ in members))
    numbers = list(chain.from_iterable(rows for _, rows, _ in members))
    data: dict[str, pl.Series] = {
        FILE: pl.Series(FILE, files, dtype=pl.Int64),
        ROW: pl.Series(ROW, numbers, dtype=pl.Int64),
    }
    for j in range(len(sheet.fields)):
        values = list(chain.from_iterable(columns[j] for _, _, columns in members))
        text, kind = encode_column(values)
        data[text_column(j)] = text.alias(text_column(j))
        data[kind_column(j)] = kind.alias(kind_column(j))
    return pl.DataFrame(data, schema=raw_schema(sheet))
