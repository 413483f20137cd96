"""The monitoring counts are kept as files and starts are recorded (``warehouse.tallies``): after
every kind of change a warehouse sees, and under concurrent writers, each coordinator's counts
are what ``sbor status`` counts from the participants' own rows at the same moment; an older
workspace gets its counts at its next start. On real SQLite and real PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from forms.status import Status, summarize
from tests.test_warehouse import (
    FORMS,
    ORGS,
    SHEET,
    SPO,
    T0,
    collection,
    engine,  # noqa: F401  (the SQLite and PostgreSQL engines)
    org,
    sample_rows,
    submission,
)
from warehouse import Warehouse, connect
from warehouse.accounts import Account
from warehouse.monitoring import Monitoring, monitoring, scoped_statuses
from warehouse.starts import record_start

CID = "spo-2026"
OPEN = datetime(2026, 11, 20, 12, tzinfo=UTC)  # inside collection()'s window
ACCOUNTS = (Account("operator", "operator", "", "", "Оператор"),
            Account("reg77", "regional", "77", "", "Регион 77"),
            Account("mun7701", "municipal", "77", "7701", "Район 01"),
            Account("mun7702", "municipal", "77", "7702", "Район 02"),
            Account("reg50", "regional", "50", "", "Регион 50"))


def agreed(wh: Warehouse, now: datetime = OPEN) -> dict[str, Monitoring]:
    """Every coordinator's counts, each checked against ``forms.status.summarize`` over the rows
    ``sbor status`` reads for that coordinator (totals and every place)."""
    row = wh.collection(CID)
    assert row is not None
    closed = now >= row.closes
    views = {}
    for account in ACCOUNTS:
        view = monitoring(wh, account, row, now)
        rows = scoped_statuses(wh, account, CID)
        assert view.summary == summarize(rows, closed), account.login
        for place in view.places:
            mine = [r for r in rows if (r.region_code if account.role == "operator" else r.municipality_code)
                    == place.code]
            assert place.summary == summarize(mine, closed), (account.login, place.code)
        assert sum(p.summary.total for p in view.places) == len(rows), account.login
        views[account.login] = view
    return views


def counts(view: Monitoring) -> dict[str, int]:
    return {st.value: n for st, n in view.summary.counts if n}


def test_the_counts_follow_every_kind_of_change(engine: Engine) -> None:  # noqa: F811
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    newcomer = org("spo770004", "02")
    wh.upsert_organisations([*ORGS, newcomer])
    wh.publish(collection(), SPO, [o.login for o in ORGS])
    assert counts(agreed(wh)["operator"]) == {"Не приступал": 4}
    rows = {"specialities": sample_rows(SHEET, SPO, 2)}

    wh.record(submission("a", outcome="rejected"))  # spo770001: a file with errors
    assert counts(agreed(wh)["mun7701"]) == {"Не приступал": 1, "В работе": 1}
    wh.record(submission("b", at=T0 + timedelta(hours=1)), [], rows)  # then accepted
    wh.record(submission("b", at=T0 + timedelta(hours=1)), [], rows)  # the same file again
    wh.record(submission("c", at=T0 + timedelta(hours=2), outcome="rejected"))  # a worse one later
    assert counts(agreed(wh)["mun7701"]) == {"Не приступал": 1, "Сдано": 1}

    record_start(engine, CID, "spo770002", "draft", T0)  # a first draft
    record_start(engine, CID, "spo770002", "template", T0 + timedelta(hours=1))  # no second start
    wh.record(submission("d", "spo770002", outcome="rejected"))  # and a file: still one school
    assert counts(agreed(wh)["mun7701"]) == {"В работе": 1, "Сдано": 1}

    # Files from a school before it takes part count nowhere, then count when it joins.
    wh.record(submission("e", "spo770004", outcome="rejected"))
    wh.record(submission("f", "spo770004", at=T0 + timedelta(hours=1)), [], rows)
    wh.record(submission("0", "nobody", outcome="unreadable"))  # a login in no registry
    assert counts(agreed(wh)["mun7702"]) == {"Не приступал": 1}
    wh.publish(collection(), SPO, [o.login for o in [*ORGS, newcomer] if o.login != "spo770003"])
    assert counts(agreed(wh)["mun7702"]) == {"Сдано": 1}  # spo770003 left, spo770004 joined

    # A school moving to another municipality takes its count with it; an emptied place goes.
    wh.upsert_organisations([replace(ORGS[1], municipality_code="7702", municipality_name="Район 02")])
    views = agreed(wh)
    assert counts(views["mun7701"]) == {"Сдано": 1}
    assert counts(views["mun7702"]) == {"В работе": 1, "Сдано": 1}
    wh.upsert_organisations([replace(ORGS[0], municipality_code="7702", municipality_name="Район 02")])
    assert [p.code for p in agreed(wh)["reg77"].places] == ["7702"]

    # After closing: the same stages, the closed words.
    closed = agreed(wh, datetime(2027, 1, 10, tzinfo=UTC))
    assert counts(closed["operator"]) == {"Сдано": 2, "Не сдано": 1, "Не приступало": 1}
    assert closed["reg50"].summary.counts[0][0] is Status.SUBMITTED


def test_concurrent_writers_and_a_publication_leave_the_counts_right(engine: Engine) -> None:  # noqa: F811
    """Eight writers record files and first drafts for forty schools of one region at once (the
    same tallies' rows), while the collection is published again three times (each recounts
    everything): nothing deadlocks or fails, and the counts agree at the end."""
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    schools = [org(f"spo77{n:04d}", f"0{n % 3 + 1}") for n in range(40)]
    wh.upsert_organisations(schools)
    logins = [o.login for o in schools]
    wh.publish(collection(), SPO, logins)
    url = engine.url.render_as_string(hide_password=False)
    rows = {"specialities": sample_rows(SHEET, SPO, 2)}

    def writer(k: int) -> None:
        own = connect(url)  # a worker process of its own, as Prefect or uvicorn would run it
        try:
            w = Warehouse(own, [SPO])
            for i, login in enumerate(logins[k::8]):
                if i % 3 == 0:
                    record_start(own, CID, login, "draft", T0)
                outcome = "accepted" if i % 2 == 0 else "rejected"
                sha = f"{k}{i:03d}".ljust(64, "0")
                w.record(submission(sha, login, outcome=outcome), [], rows if outcome == "accepted" else None)
        finally:
            own.dispose()

    def publisher() -> None:
        own = connect(url)
        try:
            for _ in range(3):
                Warehouse(own, [SPO]).publish(collection(), SPO, logins)
        finally:
            own.dispose()

    with ThreadPoolExecutor(9) as pool:
        done = [pool.submit(writer, k) for k in range(8)] + [pool.submit(publisher)]
        for future in done:
            future.result()
    views = agreed(wh)
    assert counts(views["reg77"]) == {"Сдано": 24, "В работе": 16}


def test_an_older_workspace_is_counted_at_its_next_start(engine: Engine) -> None:  # noqa: F811
    """A workspace from before the tallies (their table and the participants' stage dropped
    here, as older code never made them) is counted by the next ``create()``, once."""
    wh = Warehouse(engine)
    wh.create(FORMS.values())
    wh.upsert_organisations(ORGS)
    wh.publish(collection(), SPO, [o.login for o in ORGS])
    wh.record(submission("a"), [], {"specialities": sample_rows(SHEET, SPO, 2)})
    wh.record(submission("b", "spo770003", outcome="rejected"))
    record_start(engine, CID, "spo500001", "template", T0)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tallies")
        conn.exec_driver_sql("ALTER TABLE participants DROP COLUMN stage")
    again = Warehouse(engine)
    again.create(FORMS.values())
    again.create(FORMS.values())  # idempotent
    assert counts(agreed(again)["operator"]) == {"Не приступал": 1, "В работе": 2, "Сдано": 1}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT sum(n) FROM tallies")).scalar_one() == 4
