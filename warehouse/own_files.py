"""A school's own file of a publication found by its title (its personalised template): the
cabinet registers it on first request and serves it through the file storage like any other."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from warehouse.cabinet import Cabinet
from warehouse.engine import guarded


@dataclass(frozen=True)
class OwnFile:
    id: int
    sha256: str


def own_file(cabinet: Cabinet, publication_id: str, title: str, login: str) -> OwnFile | None:
    """The file ``title`` of ``publication_id`` that belongs to ``login``, if stored."""
    f = cabinet.tables.files
    query = (sa.select(f.c.id, f.c.sha256)
             .where(f.c.publication_id == publication_id, f.c.title == title, f.c.owner_login == login)
             .order_by(f.c.id.desc()).limit(1))
    with guarded(cabinet.warehouse.engine) as conn:
        row = conn.execute(query).first()
    return OwnFile(int(row.id), row.sha256) if row else None
