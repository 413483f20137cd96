"""A school's short explanation of a warning, kept with the submission it was sent with (as UK
DfE COLLECT keeps answers to its «queries»): the coordinator reads why a value that looks wrong
is right. One row per answered warning; the finding is named by worksheet, cell and code, as the
``findings`` table names it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import create_missing, guarded
from warehouse.loading import bulk_insert

MAX_EXPLANATION = 500


@dataclass(frozen=True)
class Explanation:
    worksheet: str | None
    cell: str | None
    code: str
    text: str


def explanations_table(metadata: sa.MetaData | None = None) -> sa.Table:
    return sa.Table(
        "warning_explanations", metadata or sa.MetaData(),
        sa.Column("submission_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("worksheet", sa.Text),
        sa.Column("cell", sa.String(16)),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )


class Explanations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = explanations_table()

    def create(self) -> None:
        create_missing(self.engine, self.table.metadata)

    def add(self, submission_id: int, items: Sequence[Explanation]) -> None:
        with guarded(self.engine, write=True) as conn:
            bulk_insert(conn, self.table, ["submission_id", "worksheet", "cell", "code", "text"],
                        [(submission_id, e.worksheet, e.cell, e.code, e.text[:MAX_EXPLANATION]) for e in items])

    def of(self, submission_id: int) -> list[Explanation]:
        t = self.table
        with guarded(self.engine) as conn:
            rows = conn.execute(sa.select(t).where(t.c.submission_id == submission_id)
                                .order_by(t.c.worksheet, t.c.cell)).mappings()
            return [Explanation(r["worksheet"], r["cell"], r["code"], r["text"]) for r in rows]
