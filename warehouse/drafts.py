"""A school's draft of a web form: one row per (school, collection) holding the values as typed
(JSON), a version and the time of the last change.

The version makes every save conditional: a save names the version it was based on, and a save
based on an older one (a second tab, a colleague) is refused with ``StaleDraft`` instead of
overwriting what the other saved. The table lives in a MetaData of its own, like the cabinet's,
so the pipeline's warehouse works without it; ``Drafts.create()`` adds it to the same database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.engine import create_missing, guarded
from warehouse.loading import dialect_insert
from warehouse.starts import WORK_STARTED, record_start_in
from warehouse.tables import UtcDateTime, ascii_code

# Draft values: sheet.table → rows → field number → the text the school typed.
DraftValues = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class Draft:
    login: str
    collection_id: str
    values: DraftValues
    version: int
    updated_at: datetime
    based_on: int | None = None  # the accepted submission it was opened from («Редактировать»)


class StaleDraft(Exception):
    """A save based on a version that is no longer the latest."""

    def __init__(self, current: Draft) -> None:
        super().__init__(f"draft {current.collection_id}/{current.login} is at version {current.version}")
        self.current = current


def drafts_table(metadata: sa.MetaData | None = None) -> sa.Table:
    return sa.Table(
        "drafts", metadata or sa.MetaData(),
        sa.Column("login", ascii_code(32), primary_key=True),
        sa.Column("collection_id", ascii_code(100), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("based_on", sa.BigInteger),
    )


class Drafts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = drafts_table()
        # Autosave's UPDATE, built once (with and without «opened from»): building and keying the
        # statement anew cost about as much as executing it.
        t = self.table
        self._next_version = {keep: sa.update(t).where(
            t.c.login == sa.bindparam("k_login"), t.c.collection_id == sa.bindparam("k_collection"),
            t.c.version == sa.bindparam("k_version"),
        ).values(data=sa.bindparam("v_data", type_=t.c.data.type),
                 version=sa.bindparam("k_version", type_=t.c.version.type) + 1,
                 updated_at=sa.bindparam("v_at", type_=t.c.updated_at.type),
                 **({} if keep else {"based_on": sa.bindparam("v_based_on", type_=t.c.based_on.type)}))
            .returning(t.c.version, t.c.based_on) for keep in (True, False)}

    def create(self) -> None:
        create_missing(self.engine, self.table.metadata)
        # The first draft marks the school's start (the warehouse's table, made here too so that
        # a save never meets it missing).
        create_missing(self.engine, WORK_STARTED.metadata)

    def get(self, login: str, collection_id: str) -> Draft | None:
        t = self.table
        with guarded(self.engine) as conn:
            row = conn.execute(sa.select(t).where(t.c.login == login, t.c.collection_id == collection_id)
                               ).mappings().first()
        return _draft(row) if row is not None else None

    def save(self, login: str, collection_id: str, values: DraftValues, based_on_version: int, *,
             based_on: int | None = None, now: datetime | None = None, conn: Connection | None = None) -> Draft:
        """Store ``values`` as the next version of the draft, if its current version is
        ``based_on_version`` (0: there is no draft yet); otherwise ``StaleDraft``. One
        conditional statement, so two savers racing cannot both win.

        ``conn``: a ``reader`` connection (autocommit) the caller holds, for a later version
        only: that is one UPDATE, atomic alone, so autosave needs no connection, BEGIN or
        COMMIT of its own. The first version (the draft and the start of work together) takes
        a transaction of its own."""
        moment = now or datetime.now(UTC)
        t = self.table
        data = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        if conn is not None:
            if based_on_version == 0:
                raise ValueError("the first version of a draft is saved in a transaction of its own (conn=None)")
            return self._next(conn, login, collection_id, values, data, based_on_version, based_on, moment)
        with guarded(self.engine, write=True) as own:
            if based_on_version > 0:
                return self._next(own, login, collection_id, values, data, based_on_version, based_on, moment)
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT here.
            won = own.execute(
                dialect_insert(own.dialect.name, t).values(
                    login=login, collection_id=collection_id, data=data, version=1,
                    updated_at=moment, based_on=based_on).on_conflict_do_nothing()
                .returning(t.c.version, t.c.based_on)).first()
            if won is not None:  # «В работе» from the first draft on (only this path inserts one)
                record_start_in(own, collection_id, login, "draft", moment)
                return Draft(login, collection_id, values, won.version, moment.astimezone(UTC), won.based_on)
            raise self._stale(own, login, collection_id, moment)

    def _next(self, conn: Connection, login: str, collection_id: str, values: DraftValues, data: str,
              based_on_version: int, based_on: int | None, moment: datetime) -> Draft:
        won = conn.execute(self._next_version[based_on is None], {
            "k_login": login, "k_collection": collection_id, "k_version": based_on_version, "v_data": data,
            "v_at": moment, "v_based_on": based_on}).first()
        if won is None:
            raise self._stale(conn, login, collection_id, moment)
        # What was saved is known: no second read (autosave is the cabinet's busiest route).
        return Draft(login, collection_id, values, won.version, moment.astimezone(UTC), won.based_on)

    def _stale(self, conn: Connection, login: str, collection_id: str, moment: datetime) -> StaleDraft:
        t = self.table
        row = conn.execute(sa.select(t).where(t.c.login == login, t.c.collection_id == collection_id)
                           ).mappings().first()
        if row is None:
            # Gone since the page loaded it (sent from another tab, which drops the draft): as
            # stale as a newer version, and no server error.
            return StaleDraft(Draft(login, collection_id, {}, 0, moment.astimezone(UTC)))
        return StaleDraft(_draft(row))

    def replace(self, login: str, collection_id: str, values: DraftValues, *, based_on: int | None,
                now: datetime | None = None) -> Draft:
        """A new draft whatever stood before (the accepted data opened again for editing):
        the version still moves on, so a tab holding the old draft is refused."""
        current = self.get(login, collection_id)
        return self.save(login, collection_id, values, current.version if current else 0, based_on=based_on,
                         now=now)

    def logins(self, collection_id: str) -> frozenset[str]:
        """Schools with a draft of the collection: «В работе» starts with the first draft (for
        the coordinators' counts)."""
        t = self.table
        with guarded(self.engine) as conn:
            return frozenset(conn.execute(sa.select(t.c.login).where(t.c.collection_id == collection_id)).scalars())

    def delete(self, login: str, collection_id: str, version: int) -> bool:
        """Drop the draft if it is still at ``version`` (sent: a newer save elsewhere is kept)."""
        t = self.table
        with guarded(self.engine, write=True) as conn:
            return conn.execute(sa.delete(t).where(t.c.login == login, t.c.collection_id == collection_id,
                                                   t.c.version == version)
                                .returning(t.c.version)).scalar() is not None


def _draft(row: Any) -> Draft:
    return Draft(row["login"], row["collection_id"], json.loads(row["data"]), row["version"],
                 row["updated_at"], row["based_on"])
