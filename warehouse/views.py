"""The analysts' views: ``current_<form>_<sheet>``, the rows of each school's current accepted
submission. Created when missing, replaced only when their definition changed: every command
calls ``Warehouse.create()``, and replacing a view takes a lock that waits for (and then
blocks) the analysts reading it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def ensure_view(conn: Connection, name: str, body: sa.Select[Any]) -> None:
    """Make view ``name`` show ``body``, in the transaction of ``conn``."""
    # Plain DDL text: CreateView is SQLAlchemy 2.1, and we stay on 2.0 for Prefect's sake.
    quoted = conn.dialect.identifier_preparer.quote(name)
    select = body.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    ddl = f"CREATE VIEW {quoted} AS {select}"
    digest = "sbor " + hashlib.sha256(ddl.encode()).hexdigest()[:16]
    if conn.dialect.name == "sqlite":
        # SQLite keeps the statement as it was given.
        stored = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :name"),
            {"name": name},
        ).scalar()
        if stored is not None and stored.strip() == ddl.strip():
            return
    else:
        # PostgreSQL keeps a normalised definition; the digest of ours rides in the comment.
        stored = conn.execute(
            sa.text("SELECT obj_description(to_regclass(:name), 'pg_class')"), {"name": name}
        ).scalar()
        if stored == digest:
            return
    # Drop and create: SQLite has no CREATE OR REPLACE VIEW, and PostgreSQL's refuses a
    # changed column list. Both in this transaction, so readers never miss the view.
    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {quoted}")
    conn.exec_driver_sql(ddl)
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f"COMMENT ON VIEW {quoted} IS '{digest}'")
