"""Drafts on SQLite and PostgreSQL alike: the first save, the next, a stale one refused and
leaving the draft as it was, a replacement moving the version on, and a conditional delete."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from warehouse import Warehouse, connect
from warehouse.drafts import Drafts, StaleDraft
from warehouse.engine import reader
from warehouse.explanations import Explanations

MOMENT = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def drafts_in_a_warehouse(engine: Engine) -> Drafts:
    """The drafts' table beside the warehouse's, as the cabinet has them (a first draft is a
    start of work, which the warehouse's monitoring counts)."""
    Warehouse(engine).create()
    drafts = Drafts(engine)
    drafts.create()
    return drafts


def test_versions_conflicts_and_delete(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "var").mkdir(exist_ok=True)  # where the SQLite variant's file goes
    engine = connect(database_url)
    try:
        drafts = drafts_in_a_warehouse(engine)
        drafts.create()  # idempotent
        assert drafts.get("spo770004", "c1") is None
        first = drafts.save("spo770004", "c1", {"specialities": [{"1": "a"}]}, 0, now=MOMENT)
        assert (first.version, first.updated_at) == (1, MOMENT)
        with pytest.raises(StaleDraft) as refused:
            drafts.save("spo770004", "c1", {"specialities": [{"1": "other tab"}]}, 0)
        assert refused.value.current.version == 1
        second = drafts.save("spo770004", "c1", {"specialities": [{"1": "b", "3": "24"}]}, 1)
        assert second.version == 2
        with pytest.raises(StaleDraft):
            drafts.save("spo770004", "c1", {"specialities": []}, 1)
        kept = drafts.get("spo770004", "c1")
        assert kept is not None and kept.values == {"specialities": [{"1": "b", "3": "24"}]}
        assert drafts.save("spo770004", "c2", {}, 0).version == 1  # another collection: its own draft
        assert drafts.logins("c1") == {"spo770004"} and drafts.logins("c3") == frozenset()
        replaced = drafts.replace("spo770004", "c1", {"specialities": [{"1": "sent"}]}, based_on=7)
        assert (replaced.version, replaced.based_on) == (3, 7)
        assert drafts.delete("spo770004", "c1", 2) is False  # a newer version is kept
        assert drafts.delete("spo770004", "c1", 3) is True and drafts.get("spo770004", "c1") is None
        # A tab still holding version 3 after the report was sent from another (the draft gone):
        # refused as stale, not a server error.
        with pytest.raises(StaleDraft) as gone:
            drafts.save("spo770004", "c1", {"specialities": [{"1": "late"}]}, 3)
        assert gone.value.current.version == 0 and drafts.get("spo770004", "c1") is None
    finally:
        engine.dispose()


def test_a_later_version_on_the_callers_reader_connection(database_url: str, tmp_path: Path) -> None:
    """Autosave writes on the connection it read the session on (autocommit, no transaction of
    its own): the save is committed as one statement, a stale one is refused with the current
    version read on the same connection, and a first version is never written there."""
    (tmp_path / "var").mkdir(exist_ok=True)
    engine = connect(database_url)
    try:
        drafts = drafts_in_a_warehouse(engine)
        drafts.save("spo770004", "c1", {"specialities": [{"1": "a"}]}, 0, now=MOMENT)
        with reader(engine) as conn:
            with pytest.raises(ValueError, match="first version"):
                drafts.save("spo770005", "c1", {}, 0, conn=conn)
            saved = drafts.save("spo770004", "c1", {"specialities": [{"1": "b"}]}, 1, now=MOMENT, conn=conn)
            opened = drafts.save("spo770004", "c1", {"specialities": [{"1": "c"}]}, 2, based_on=9, conn=conn)
            with pytest.raises(StaleDraft) as refused:
                drafts.save("spo770004", "c1", {"specialities": [{"1": "old tab"}]}, 2, conn=conn)
        assert (saved.version, saved.updated_at, opened.version, opened.based_on) == (2, MOMENT, 3, 9)
        assert refused.value.current.version == 3
        kept = drafts.get("spo770004", "c1")  # read on another connection: committed
        assert kept is not None and kept.values == {"specialities": [{"1": "c"}]} and kept.based_on == 9
        assert drafts.get("spo770005", "c1") is None
    finally:
        engine.dispose()


def test_workers_starting_together_create_the_tables_once(database_url: str, tmp_path: Path) -> None:
    """Two web workers start at the same moment: each creates the drafts' and explanations'
    tables if missing; neither dies of the other's CREATE TABLE."""
    (tmp_path / "var").mkdir(exist_ok=True)
    engines = [connect(database_url) for _ in range(4)]
    start = threading.Barrier(len(engines))

    def boot(engine: Engine) -> None:
        start.wait()
        Drafts(engine).create()
        Explanations(engine).create()

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(boot, engines))  # re-raises a worker's error
        assert drafts_in_a_warehouse(engines[0]).save("spo770004", "c1", {}, 0).version == 1
    finally:
        for engine in engines:
            engine.dispose()
