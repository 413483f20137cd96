"""The spec's rules across fields, evaluated in polars over a whole batch.

A row rule is a polars SQL expression over field numbers (``"3.1" + "3.2" = "3"``), true for a
good row; a null result passes (missing values are the business of ``required``). A group rule
groups a file's rows by ``by`` and evaluates an aggregate (``count("2") <= 5``) per group; every
row of a failing group is marked at the rule's target field (only the rows where that field is
filled, when there are any).

Done alongside pandera rather than as pandera custom checks: a rule needs the file column to
group by, its message needs the row's values for the {3.1} placeholders, and its severity may be
a warning; plain polars gives all three with less machinery, on the same concatenated frame.
"""

from __future__ import annotations

import polars as pl

from forms.findings import Finding, finding
from forms.spec import MESSAGE_REF, Check, Sheet
from validators import messages as msg
from validators.cells import Located, address
from validators.rawframe import FILE, ROW

_OK = "__ok"
_APPLIES = "__applies"


def by_number(typed: pl.DataFrame, sheet: Sheet) -> pl.DataFrame:
    """The typed frame with columns named by field number, as the rules name them."""
    return typed.select(pl.col(FILE), pl.col(ROW), *(pl.col(f.name).alias(f.number) for f in sheet.fields))


def check_rules(typed: pl.DataFrame, sheet: Sheet, files: list[str]) -> list[Located]:
    if not sheet.checks or typed.is_empty():
        return []
    frame = by_number(typed, sheet)
    found: list[Located] = []
    for check in sheet.checks:
        failing = _failing_rows(frame, check)
        for row in failing.iter_rows(named=True):
            found.append(Located(row[FILE], _finding(check, sheet, row, files[row[FILE]])))
    return found


def _failing_rows(frame: pl.DataFrame, check: Check) -> pl.DataFrame:
    applies = pl.sql_expr(check.when).fill_null(False) if check.when else pl.lit(True)
    if check.kind == "row":
        return frame.filter(applies & (pl.sql_expr(check.expr) == False))  # noqa: E712 (null passes)
    keys = [FILE, *check.by]
    groups = (
        frame.filter(applies)
        .group_by(keys)
        .agg(pl.sql_expr(check.expr).alias(_OK))
        .filter(pl.col(_OK) == False)  # noqa: E712
        .drop(_OK)
    )
    if groups.is_empty():
        return groups
    rows = frame.filter(applies).join(groups, on=keys, how="semi", nulls_equal=True)
    target = check.marked_field
    filled = rows.filter(pl.col(target).is_not_null())
    marked = filled if not filled.is_empty() else rows
    return marked.sort(FILE, ROW)


def _finding(check: Check, sheet: Sheet, row: dict[str, object], file: str) -> Finding:
    target = check.marked_field
    cell = address(sheet, target, int(row[ROW]))  # type: ignore[call-overload]
    text = msg.rule_text(MESSAGE_REF.sub(lambda m: msg.shown(row.get(m.group(1), row.get(target))), check.message))
    return finding(f"rule:{check.id}", file=file, severity=check.severity, worksheet=sheet.name, cell=cell,
                   field=target, value=msg.shown(row.get(target)), where=msg.where(sheet, cell, target), text=text)
