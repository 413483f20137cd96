"""Where every participant of a collection stands: counts and dates in one GROUP BY query.

The labels (не приступал / в работе / сдано …) are the business of ``forms.status``, which reads
an ``OrgStatus`` as it is: start date = the first file received, first draft or template
download (``work_started``), whichever came first; submission date = the last accepted file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from forms.status import OrgStatus
from warehouse.frames import raw_rows
from warehouse.rows import ACCEPTED
from warehouse.tables import FixedTables


def status_query(fixed: FixedTables, collection_id: str, *, region: str | None = None,
                 municipality: str | None = None) -> sa.Select[Any]:
    """Participants joined with their organisation, the aggregate of their submissions and their
    start of work that is not a file."""
    s, p, o, w = fixed.submissions, fixed.participants, fixed.organisations, fixed.work_started
    # The last file is the latest by received_at, then id (files may be processed out of order).
    ranked = (
        sa.select(
            s.c.login, s.c.received_at, s.c.outcome, s.c.error_count, s.c.warning_count,
            sa.func.row_number().over(
                partition_by=s.c.login, order_by=(s.c.received_at.desc(), s.c.id.desc())
            ).label("rn"),
        )
        .where(s.c.collection_id == collection_id, s.c.login.is_not(None))
        .subquery("ranked")
    )
    r = ranked.c
    accepted = r.outcome.in_(ACCEPTED)
    last = r.rn == 1
    agg = (
        sa.select(
            r.login,
            sa.func.count().label("files"),
            sa.func.sum(sa.case((accepted, 1), else_=0)).label("accepted"),
            sa.func.min(r.received_at).label("first_received_at"),
            sa.func.max(r.received_at).label("last_received_at"),
            sa.func.max(sa.case((accepted, r.received_at))).label("last_accepted_at"),
            sa.func.max(sa.case((last, r.outcome))).label("last_outcome"),
            sa.func.max(sa.case((last, r.error_count))).label("last_errors"),
            sa.func.max(sa.case((last, r.warning_count))).label("last_warnings"),
        )
        .group_by(r.login)
        .subquery("agg")
    )
    a = agg.c
    # The earliest sign of work; SQLite compares its naive UTC text as PostgreSQL its times.
    started_at = sa.case((w.c.started_at.is_(None), a.first_received_at),
                         (a.first_received_at.is_(None), w.c.started_at),
                         (w.c.started_at < a.first_received_at, w.c.started_at),
                         else_=a.first_received_at)
    query = (
        sa.select(
            o.c.login, o.c.full_name, o.c.short_name, o.c.region_code, o.c.region_name,
            o.c.municipality_code, o.c.municipality_name, o.c.kind,
            sa.func.coalesce(a.files, 0).label("files"),
            sa.func.coalesce(a.accepted, 0).label("accepted"),
            a.first_received_at, a.last_received_at, a.last_accepted_at, a.last_outcome,
            a.last_errors, a.last_warnings, started_at.label("started_at"),
        )
        .select_from(p)
        .join(o, o.c.login == p.c.login)
        .outerjoin(agg, a.login == p.c.login)
        .outerjoin(w, sa.and_(w.c.collection_id == collection_id, w.c.login == p.c.login))
        .where(p.c.collection_id == collection_id)
        .order_by(o.c.region_code, o.c.municipality_code, o.c.login)
    )
    if region is not None:
        query = query.where(o.c.region_code == region)
    if municipality is not None:
        query = query.where(o.c.municipality_code == municipality)
    return query


# Positions of first_received_at, last_received_at, last_accepted_at, started_at in OrgStatus.
_TIMES = (10, 11, 12, 16)


def statuses_in(conn: Connection, fixed: FixedTables, collection_id: str, *,
                region: str | None = None, municipality: str | None = None) -> list[OrgStatus]:
    """The rows of ``status_query``, built positionally (it selects the columns in
    OrgStatus's order) from the driver's tuples: for 40,000 schools the per-row costs are
    what adds up."""
    query = status_query(fixed, collection_id, region=region, municipality=municipality)
    rows = raw_rows(conn, query)
    # SQLite keeps the times as naive UTC text, psycopg gives them in the session's zone;
    # most are null (schools not started).
    sqlite = conn.dialect.name == "sqlite"
    out: list[OrgStatus] = []
    for row in rows:
        values = list(row)
        for i in _TIMES:
            value = values[i]
            if value is not None:
                values[i] = (datetime.fromisoformat(value).replace(tzinfo=UTC) if sqlite
                             else value.astimezone(UTC))
        out.append(OrgStatus(*values))
    return out
