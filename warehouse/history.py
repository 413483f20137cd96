"""A school's own submissions, as the cabinet shows them to it: every query takes the signed-in
school's login and filters by it in SQL, so a page cannot show another school's file by an id."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from forms import Finding
from warehouse.engine import guarded
from warehouse.loading import stored_finding, submission_row
from warehouse.rows import SubmissionRow
from warehouse.tables import FixedTables


@dataclass(frozen=True)
class Sent:
    """One file (or web submission) of the school and what it was told."""

    row: SubmissionRow
    findings: tuple[Finding, ...]


def _findings(conn: sa.Connection, fixed: FixedTables, rows: Sequence[SubmissionRow]) -> dict[int, list[Finding]]:
    f = fixed.findings
    by_id: dict[int, list[Finding]] = defaultdict(list)
    names = {r.id: r.file_name for r in rows}
    if not names:
        return by_id
    query = sa.select(f).where(f.c.submission_id.in_(list(names))).order_by(f.c.submission_id, f.c.id)
    for r in conn.execute(query).mappings():
        by_id[r["submission_id"]].append(stored_finding(r, names[r["submission_id"]]))
    return by_id


def own_submission(engine: Engine, fixed: FixedTables, login: str, *, submission_id: int | None = None,
                   sha256: str | None = None) -> Sent | None:
    """The submission with this id or content if it is credited to ``login``; otherwise None."""
    s = fixed.submissions
    query = sa.select(s).where(s.c.login == login)
    if submission_id is not None:
        query = query.where(s.c.id == submission_id)
    if sha256 is not None:
        query = query.where(s.c.sha256 == sha256)
    with guarded(engine) as conn:
        found = conn.execute(query.limit(1)).mappings().first()
        if found is None:
            return None
        row = submission_row(found)
        return Sent(row, tuple(_findings(conn, fixed, [row]).get(row.id, ())))

