"""Text to typed values, per field, vectorised in polars over a whole batch: never a silent null.

Every cell arrives as (canonical text, kind) from ``validators/reading.py``. A value that cannot be
read as its field's type becomes null *and* an error issue at its cell; a value that is read only
after a friendly normalisation (a decimal comma, a number or date stored as text, «ДА», stray
spaces, a list value typed in another case) becomes a note issue, shown back to the school.
Whether a read value is allowed (bounds, lists, lengths, the period) is the schema's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

import polars as pl

from forms.catalogue import entry
from forms.findings import finding
from forms.spec import NO, YES, Field, Form, Sheet
from forms.types import TYPES
from validators import messages as msg
from validators.cells import Located, address, display
from validators.rawframe import BOOLEAN, DATE, DATETIME, FILE, NUMBER, ROW, TEXT, kind_column, text_column

ERRORS = frozenset({"not-a-number", "not-an-integer", "number-too-large", "not-a-date", "not-yes-no"})

DTYPES: dict[str, pl.DataType] = {name: info.dtype for name, info in TYPES.items()}
MAX_EXACT = 2**53  # beyond this a float no longer holds every integer
EXCEL_EPOCH = pl.date(1899, 12, 30)  # serial 1 is 1900-01-01 (for every date after 1900-02-28)
_SPACES = r"[\s\u00a0\u202f]"
_DMY = r"^\d{1,2}\.\d{1,2}\.\d{4}$"
_YMD = r"^\d{4}-\d{1,2}-\d{1,2}$"

ISSUE_SCHEMA = {FILE: pl.Int64(), ROW: pl.Int64(), "position": pl.Int32(), "code": pl.String(),
                "text": pl.String(), "kind": pl.String(), "normalised": pl.String()}


@dataclass(frozen=True)
class Cast:
    """Typed values (``file_index``, ``row_number`` and one column per field name) and the issues
    found while casting: one row per cell with its field position, code, text, kind and the value
    it was read as (``normalised``, for notes)."""

    typed: pl.DataFrame
    issues: pl.DataFrame


@dataclass(frozen=True)
class _Plan:
    """How one field is cast, in three passes over the frame so that every intermediate is
    computed once: ``prepare`` (named helper columns), ``value`` (the typed value, from the
    helpers), then ``code`` and ``normalised`` (which may use the value, as ``pl.col(v)``)."""

    prepare: dict[str, pl.Expr]
    value: pl.Expr
    code: pl.Expr  # null when the cell is fine
    normalised: pl.Expr


def _names(j: int) -> tuple[str, str, str]:
    return f"_v{j}", f"_c{j}", f"_z{j}"


def cast_sheet(raw: pl.DataFrame, sheet: Sheet, form: Form) -> Cast:
    """Cast a raw frame (a batch: ``file_index``, ``row_number``, ``t{j}``, ``k{j}``)."""
    plans = [_plan(field, form, j) for j, field in enumerate(sheet.fields)]
    frame = raw.rechunk() if raw.n_chunks() > 1 else raw
    helpers = {name: expr for plan in plans for name, expr in plan.prepare.items()}
    if helpers:
        frame = frame.with_columns(**helpers)
    frame = frame.with_columns(plan.value.alias(_names(j)[0]) for j, plan in enumerate(plans))
    frame = frame.with_columns(
        *(plan.code.alias(_names(j)[1]) for j, plan in enumerate(plans)),
        *(plan.normalised.cast(pl.String).alias(_names(j)[2]) for j, plan in enumerate(plans)),
    )
    typed = frame.select(
        pl.col(FILE), pl.col(ROW),
        *(pl.col(_names(j)[0]).cast(DTYPES[f.type]).alias(f.name) for j, f in enumerate(sheet.fields)),
    )
    found = [
        frame.filter(pl.col(_names(j)[1]).is_not_null()).select(
            pl.col(FILE), pl.col(ROW), pl.lit(j, pl.Int32).alias("position"),
            pl.col(_names(j)[1]).alias("code"), pl.col(text_column(j)).alias("text"),
            pl.col(kind_column(j)).alias("kind"), pl.col(_names(j)[2]).alias("normalised"))
        for j in range(len(sheet.fields))
    ]
    issues = pl.concat(found) if found else pl.DataFrame(schema=ISSUE_SCHEMA)
    return Cast(typed, issues)


def _plan(field: Field, form: Form, j: int) -> _Plan:
    t, k, v = pl.col(text_column(j)), pl.col(kind_column(j)), pl.col(_names(j)[0])
    info = TYPES[field.type]
    if info.cast == "number":
        return _number(t, k, v, f"_n{j}", integer=info.whole)
    if info.cast == "date":
        return _date(t, k, v, f"_d{j}", f"_h{j}")
    if info.cast == "yesno":
        return _yesno(t, k, v)
    if info.cast == "choice":
        return _choice(t, v, f"_m{j}", form.choices_for(field))
    if info.cast == "text":
        return _text(t, k, v)
    assert_never(info.cast)  # a new cast in forms/types.py needs its plan here


def _number(t: pl.Expr, k: pl.Expr, v: pl.Expr, helper: str, *, integer: bool) -> _Plan:
    compact = t.str.strip_chars().str.replace_all(_SPACES, "").str.replace(",", ".", literal=True)
    parsed = pl.when(k == NUMBER).then(t).when(k == TEXT).then(compact).cast(pl.Float64, strict=False)
    num = pl.col(helper)
    readable = num.is_not_null() & num.is_finite()
    whole = num == num.floor()
    huge = num.abs() > MAX_EXACT
    ok = readable & ~huge & whole if integer else readable
    value = pl.when(ok).then(num.cast(pl.Int64, strict=False) if integer else num)
    code = (
        pl.when(t.is_null()).then(None)
        .when(~readable).then(pl.lit("not-a-number"))
        .when(huge).then(pl.lit("number-too-large"))
        .when(pl.lit(integer) & ~whole).then(pl.lit("not-an-integer"))
        .when((k == TEXT) & t.str.contains(",", literal=True)).then(pl.lit("decimal-comma"))
        .when(k == TEXT).then(pl.lit("number-as-text"))
    )
    shown = pl.when(whole & ~huge).then(num.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(
        num.cast(pl.String).str.replace(".", ",", literal=True))
    return _Plan({helper: parsed}, value, code, shown)


def _date(t: pl.Expr, k: pl.Expr, v: pl.Expr, helper: str, timed: str) -> _Plan:
    s = t.str.strip_chars()
    from_text = (
        pl.when(s.str.contains(_DMY)).then(s.str.to_date("%d.%m.%Y", strict=False))
        .when(s.str.contains(_YMD)).then(s.str.to_date("%Y-%m-%d", strict=False))
    )
    stamp = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False)
    serial = t.cast(pl.Float64, strict=False)
    from_serial = pl.when((serial >= 1) & (serial < 2958466)).then(
        EXCEL_EPOCH + pl.duration(days=serial.floor().cast(pl.Int64)))
    parsed = (
        pl.when(k == DATE).then(t.str.to_date("%Y-%m-%d", strict=False))
        .when(k == DATETIME).then(stamp.dt.date())
        .when(k == NUMBER).then(from_serial)
        .when(k == TEXT).then(from_text)
    )
    day = pl.col(helper)
    value = pl.when(day.dt.year().is_between(1900, 2199)).then(day)
    code = (
        pl.when(t.is_null()).then(None)
        .when(v.is_null()).then(pl.lit("not-a-date"))
        .when(k == TEXT).then(pl.lit("date-as-text"))
        .when(k == NUMBER).then(pl.lit("date-as-number"))
        .when(pl.col(timed)).then(pl.lit("time-dropped"))
    )
    with_time = (k == DATETIME) & (stamp.dt.time() != pl.time(0))
    return _Plan({helper: parsed, timed: with_time}, value, code, v.dt.strftime("%d.%m.%Y"))


def _yesno(t: pl.Expr, k: pl.Expr, v: pl.Expr) -> _Plan:
    low = t.str.strip_chars().str.to_lowercase()
    value = (
        pl.when((k == TEXT) & (low == YES.lower())).then(True)
        .when((k == TEXT) & (low == NO.lower())).then(False)
        .when(k == BOOLEAN).then(t == "true")
    )
    code = (
        pl.when(t.is_null()).then(None)
        .when(v.is_null()).then(pl.lit("not-yes-no"))
        .when((k == BOOLEAN) | ~t.is_in([YES, NO])).then(pl.lit("yes-no-normalised"))
    )
    return _Plan({}, value, code, pl.when(v).then(pl.lit(YES)).otherwise(pl.lit(NO)))


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def choice_lookup(allowed: tuple[str, ...]) -> dict[str, str]:
    """Typed text (spaces collapsed, lower case) → list value. A list of «code name» values
    (the specialities) is also matched by the code alone, when it names exactly one value."""
    lookup: dict[str, str] = {}
    seen: dict[str, int] = {}
    for value in allowed:
        lookup.setdefault(_key(value), value)
        code = value.split(" ", 1)[0]
        if code != value and any(ch.isdigit() for ch in code):
            seen[code.lower()] = seen.get(code.lower(), 0) + 1
            lookup.setdefault(code.lower(), value)
    for code, count in seen.items():
        if count > 1:
            lookup.pop(code, None)
    return lookup


def _choice(t: pl.Expr, v: pl.Expr, helper: str, allowed: tuple[str, ...]) -> _Plan:
    """Every kind is matched by its text: a number typed into a list of numbers is fine.
    Unmatched text passes through unchanged: the schema's list check reports it."""
    exact = t.is_in(list(allowed))
    key = t.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()
    # Only cells that are not exactly a list value need the lookup (most are).
    mapped = pl.when(~exact).then(key.replace_strict(choice_lookup(allowed), default=None,
                                                     return_dtype=pl.String))
    found = pl.col(helper)
    value = pl.when(found.is_not_null()).then(found).otherwise(t.str.strip_chars())
    code = pl.when(found.is_not_null()).then(pl.lit("choice-normalised"))
    return _Plan({helper: mapped}, value, code, v)


def _text(t: pl.Expr, k: pl.Expr, v: pl.Expr) -> _Plan:
    s = t.str.strip_chars()
    value = (
        pl.when(k == TEXT).then(s)
        .when(k == DATE).then(t.str.to_date("%Y-%m-%d", strict=False).dt.strftime("%d.%m.%Y"))
        .when(k == DATETIME).then(
            t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False).dt.strftime("%d.%m.%Y %H:%M"))
        .when(k == BOOLEAN).then(pl.when(t == "true").then(pl.lit(YES)).otherwise(pl.lit(NO)))
        .otherwise(t)
    )
    code = pl.when((k == TEXT) & (v != t)).then(pl.lit("spaces-trimmed"))
    return _Plan({}, value, code, v)


def issue_findings(issues: pl.DataFrame, sheet: Sheet, files: list[str]) -> list[Located]:
    """The casting issues as findings at their cells: errors for what could not be read, notes
    for what was read after a normalisation."""
    found: list[Located] = []
    for issue in issues.iter_rows(named=True):
        field = sheet.fields[issue["position"]]
        code = issue["code"]
        shown = display(issue["text"], issue["kind"])
        cell = address(sheet, field.number, issue[ROW])
        wording = "integer" if TYPES[field.type].whole and "integer" in entry(code).wordings else ""
        found.append(Located(issue[FILE], finding(code, file=files[issue[FILE]], wording=wording,
                                                  worksheet=sheet.name, cell=cell, field=field.number,
                                                  value=shown, where=msg.where(sheet, cell, field.number),
                                                  v=shown, n=issue["normalised"])))
    return found
