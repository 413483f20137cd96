"""The monitoring counts kept as they change, so that reading them costs a few rows, not a join
of every participant with its organisation (the operator's counts at 40,000 schools were 25–50 ms
of PostgreSQL per request, and a queue of seconds with ten coordinators watching).

Each participant carries its ``stage`` in the collection: 0 nothing yet, 1 some sign of work (a
file of any outcome, a draft, the template's download), 2 a file accepted. These are the three
cases of ``monitoring.status_case`` (the labels differ once the window closes; the stages don't).
A stage only rises. ``tallies`` holds, per collection, region, municipality and stage, how many
participants are there; ``raise_stage_in`` moves one participant up in the transaction that
records the file or the start, so the counts are never ahead of or behind what is committed.

``rebuild_in`` computes the stages from the files and starts again and recounts the tallies:
at publication (participants come and go), when the registry is loaded (a school may change
municipality) and when an older workspace first meets these columns.

Locks on PostgreSQL: a raise (one statement) locks its participant row (``FOR UPDATE``) before
it touches a tally, and a rebuild takes ``participants`` in EXCLUSIVE mode before anything else; so a rebuild
waits for the raises in flight and the raises after it wait for the rebuild (reads go on), and
two raises lock their tally rows in rising stage order: no cycle, no deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from forms.outcome import ACCEPTED
from warehouse.tables import FixedTables

NOTHING, WORKING, ACCEPTED_STAGE = 0, 1, 2

# Text, not Core: these run once per recorded file or first draft, and SQLAlchemy does not cache
# a compiled ON CONFLICT statement (see loading.Statements).
# PostgreSQL: the whole raise in one round trip (it is a third of recording a school's first
# file otherwise). ``old`` locks the participant's row (re-read after a concurrent raise, so a
# stage raised meanwhile is seen and nothing happens); the tally rows are locked after it, the
# old stage's first (the order of the VALUES).
_RAISE_PG = sa.text(
    "WITH old AS (SELECT p.stage, o.region_code, o.municipality_code FROM participants p "
    "JOIN organisations o ON o.login = p.login "
    "WHERE p.collection_id = :collection_id AND p.login = :login AND p.stage < :stage FOR UPDATE OF p), "
    "raised AS (UPDATE participants SET stage = :stage WHERE collection_id = :collection_id "
    "AND login = :login AND EXISTS (SELECT 1 FROM old)) "
    "INSERT INTO tallies (collection_id, region_code, municipality_code, stage, n) "
    "SELECT :collection_id, old.region_code, old.municipality_code, m.stage, m.n FROM old "
    "CROSS JOIN LATERAL (VALUES (old.stage, -1), (CAST(:stage AS SMALLINT), 1)) AS m(stage, n) "
    "ON CONFLICT (collection_id, region_code, municipality_code, stage) "
    "DO UPDATE SET n = tallies.n + excluded.n")
# SQLite writes one transaction at a time: the row cannot change between these statements.
_STAGE = sa.text(
    "SELECT p.stage, o.region_code, o.municipality_code FROM participants p "
    "JOIN organisations o ON o.login = p.login "
    "WHERE p.collection_id = :collection_id AND p.login = :login")
_SET_STAGE = sa.text(
    "UPDATE participants SET stage = :stage WHERE collection_id = :collection_id AND login = :login")
# The old stage's row first: two raises in one place lock their rows in rising stage order.
_MOVE = sa.text(
    "INSERT INTO tallies (collection_id, region_code, municipality_code, stage, n) "
    "VALUES (:collection_id, :region, :municipality, :old, -1), "
    "(:collection_id, :region, :municipality, :new, 1) "
    "ON CONFLICT (collection_id, region_code, municipality_code, stage) "
    "DO UPDATE SET n = tallies.n + excluded.n")


def raise_stage_in(conn: Connection, collection_id: str | None, login: str | None, stage: int) -> None:
    """Raise ``login``'s stage in ``collection_id`` to ``stage`` (if it is lower), and move it
    between its place's tallies, in the transaction of ``conn``. A login that does not take
    part in the collection (an unknown sender, a collection it was not given) counts nowhere."""
    if collection_id is None or login is None:
        return
    keys = {"collection_id": collection_id, "login": login}
    if conn.dialect.name == "postgresql":
        conn.execute(_RAISE_PG, {**keys, "stage": stage})
        return
    row = conn.execute(_STAGE, keys).first()
    if row is None or row.stage >= stage:
        return
    conn.execute(_SET_STAGE, {**keys, "stage": stage})
    conn.execute(_MOVE, {"collection_id": collection_id, "region": row.region_code,
                         "municipality": row.municipality_code, "old": row.stage, "new": stage})


def hold(conn: Connection) -> None:
    """Make the raises wait until this transaction ends (PostgreSQL; SQLite's writers already
    do). Call it first in a transaction that will ``rebuild_in``: taken after the transaction
    has changed participants' rows, a raise waiting on one of those rows would wait on it while
    it waits on the raise."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE participants IN EXCLUSIVE MODE")


def stage_expression(fixed: FixedTables, p: sa.Table) -> sa.ColumnElement[int]:
    """A participant row's stage from its files and starts (``p``: participants or an alias)."""
    s, w = fixed.submissions, fixed.work_started
    files = sa.select(s.c.id).where(s.c.collection_id == p.c.collection_id, s.c.login == p.c.login)
    accepted = files.where(s.c.outcome.in_(sorted(ACCEPTED)))
    started = sa.select(w.c.login).where(w.c.collection_id == p.c.collection_id, w.c.login == p.c.login)
    return sa.case((accepted.exists(), ACCEPTED_STAGE),
                   (sa.or_(files.exists(), started.exists()), WORKING), else_=NOTHING)


def rebuild_in(conn: Connection, fixed: FixedTables, collection_ids: Iterable[str] | None = None, *,
               stages: bool = True) -> None:
    """Recompute the stages of ``collection_ids``' participants (all collections: None) and
    recount their tallies (``stages=False``: recount only, e.g. after the registry changed), in
    the transaction of ``conn``, which called ``hold`` before it changed any participant."""
    hold(conn)
    p, o, t = fixed.participants, fixed.organisations, fixed.tallies
    chosen = None if collection_ids is None else sorted(set(collection_ids))
    stage = stage_expression(fixed, p)
    # Only the rows whose stage is wrong are written: publishing again rewrites nothing.
    update = p.update().values(stage=stage).where(p.c.stage != stage)
    delete = t.delete()
    if chosen is not None:
        update = update.where(p.c.collection_id.in_(chosen))
        delete = delete.where(t.c.collection_id.in_(chosen))
    if stages:
        conn.execute(update)
    conn.execute(delete)
    counted = (sa.select(p.c.collection_id, o.c.region_code, o.c.municipality_code, p.c.stage,
                         sa.func.count())
               .join(o, o.c.login == p.c.login)
               .group_by(p.c.collection_id, o.c.region_code, o.c.municipality_code, p.c.stage))
    if chosen is not None:
        counted = counted.where(p.c.collection_id.in_(chosen))
    conn.execute(t.insert().from_select(
        ["collection_id", "region_code", "municipality_code", "stage", "n"], counted))


__all__ = ["ACCEPTED_STAGE", "NOTHING", "WORKING", "hold", "raise_stage_in", "rebuild_in",
           "stage_expression"]
