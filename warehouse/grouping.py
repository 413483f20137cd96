"""Which collections the operator lets coordinators put into one «Групповой отчёт» (manual 000:
the operator marks them, a coordinator picks among them). One row per marked collection; a mark
takes effect at once, since every request reads the table again.

The table lives in a MetaData of its own, like the report requests', and is created beside them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import create_missing, guarded
from warehouse.loading import dialect_insert
from warehouse.tables import UtcDateTime, ascii_code

metadata = sa.MetaData()
groupable_collections = sa.Table(
    "groupable_collections", metadata,
    sa.Column("collection_id", ascii_code(100), primary_key=True),
    sa.Column("marked_by", sa.String(64), nullable=False),
    sa.Column("marked_at", UtcDateTime, nullable=False),
)


class Grouping:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.t = groupable_collections

    def create(self) -> None:
        create_missing(self.engine, metadata)  # under the DDL lock: web workers start together

    def mark(self, collection_id: str, groupable: bool, by: str) -> None:
        """Let ``collection_id`` into group reports, or take it out; marking twice is one mark."""
        t = self.t
        with guarded(self.engine, write=True) as conn:
            if groupable:
                conn.execute(dialect_insert(conn.dialect.name, t)
                             .values(collection_id=collection_id, marked_by=by, marked_at=datetime.now(UTC))
                             .on_conflict_do_nothing())
            else:
                conn.execute(sa.delete(t).where(t.c.collection_id == collection_id))

    def groupable(self) -> frozenset[str]:
        with guarded(self.engine) as conn:
            return frozenset(conn.scalars(sa.select(self.t.c.collection_id)))
