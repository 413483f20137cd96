"""Load-rate benchmark of the warehouse: ``python bench/bench_warehouse.py [--url URL]``.

Times, on a fresh database: upserting the registry, publishing a collection to every school,
recording submissions of the specialities form (one transaction each, over one connection),
the coordinators' status query, and reading the current rows back. Prints one line per step.
Without ``--url`` it runs on a SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from forms import Collection, Finding, Form, Organisation, Participants, builtin_forms
from warehouse.engine import connect, safe_url, sqlite_url
from warehouse.rows import NewSubmission
from warehouse.store import Item, Warehouse


def _orgs(n: int) -> list[Organisation]:
    return [
        Organisation(
            login=f"spo{(i % 89) + 1:02d}{i // 89:04d}", full_name=f"Колледж № {i}",
            short_name=f"К{i}", region_code=f"{(i % 89) + 1:02d}", region_name="Регион",
            municipality_code=f"{(i % 89) + 1:02d}{i % 7:02d}", municipality_name="Район",
            kind="spo", specialities=("38.02.01", "09.02.07"),
        )
        for i in range(n)
    ]


def _frame(form: Form, rows: int, rng: random.Random) -> pl.DataFrame:
    sheet = form.sheets[0]
    codes = form.choices_for(sheet.field("1"))
    budget = [rng.randint(0, 50) for _ in range(rows)]
    paid = [rng.randint(0, 50) for _ in range(rows)]
    return pl.DataFrame({
        "row_number": list(range(5, 5 + rows)),
        "speciality": [codes[i % len(codes)] for i in range(rows)],
        "profile_subject_first": ["Математика"] * rows,
        "profile_subject_final": ["—"] * rows,
        "final_course": [rng.randint(1, 4) for _ in range(rows)],
        "students": [b + p for b, p in zip(budget, paid, strict=True)],
        "students_budget": budget,
        "students_paid": paid,
        "admission_quota": [rng.randint(0, 100) for _ in range(rows)],
        "applications": [rng.randint(0, 300) for _ in range(rows)],
        "entrance_exams": [rng.random() < 0.5 for _ in range(rows)],
    })


def _items(form: Form, collection: str, logins: list[str], n: int, rows: int) -> Iterator[Item]:
    rng = random.Random(7)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    frames = [_frame(form, rows, rng) for _ in range(20)]  # varied, without timing polars
    for i in range(n):
        sub = NewSubmission(
            sha256=f"{i:064x}", file_name=f"{logins[i % len(logins)]}.xlsx",
            received_at=start + timedelta(seconds=i), outcome="accepted_with_warnings",
            collection_id=collection, login=logins[i % len(logins)], form_id=form.id,
            form_version=form.version, archive_path=f"archive/{i:064x}.xlsx",
        )
        warn = Finding("rule:applications-vs-quota", "warning", "заявлений меньше, чем мест",
                       worksheet="Специальности", cell="I5", field="5", value="3")
        yield sub, [warn], {"specialities": frames[i % len(frames)]}


class _Timer:
    """Wall time, and this process's CPU time: on a busy machine the wall time also counts
    other programs, while with SQLite (all in this process) the CPU time is the work itself."""

    def __enter__(self) -> _Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _step(label: str, t: _Timer, count: int, unit: str) -> None:
    print(f"  {label:<32} {t.wall:7.3f} s wall {count / t.wall:>10,.0f} {unit}/s"
          f"   | {t.cpu:7.3f} s cpu {count / max(t.cpu, 1e-9):>10,.0f} {unit}/s")


def run(url: str, orgs: int, submissions: int, rows: int) -> None:
    engine = connect(url)
    form = builtin_forms()["spo_specialities"]
    wh = Warehouse(engine)
    wh.create([form])
    print(f"warehouse at {safe_url(engine)}: {orgs:,} organisations, "
          f"{submissions:,} submissions x {rows} rows")
    registry = _orgs(orgs)
    with _Timer() as t:
        wh.upsert_organisations(registry)
    _step("upsert organisations", t, orgs, "orgs")
    collection = Collection(
        id="bench-2026", title="Бенчмарк", section="ВПР СПО", form_id=form.id,
        opens=datetime(2026, 11, 1, tzinfo=UTC), closes=datetime(2026, 12, 25, tzinfo=UTC),
        participants=Participants(kinds=("spo",)),
    )
    logins = [o.login for o in registry]
    with _Timer() as t:
        wh.publish(collection, form, logins)
    _step("publish (participants)", t, orgs, "logins")
    items = list(_items(form, collection.id, logins, submissions, rows))
    with _Timer() as t:
        results = wh.record_many(items)
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        raise SystemExit(f"{len(failed)} submissions failed, the first: {failed[0]}")
    _step("record submissions", t, submissions, "subm")
    _step("  the same, in rows", t, submissions * rows, "rows")
    with _Timer() as t:
        statuses = wh.statuses(collection.id)
    _step(f"statuses ({len(statuses):,} schools)", t, len(statuses), "schools")
    with _Timer() as t:
        frame = wh.current_rows(form, form.sheets[0], collection.id)
    _step(f"current rows ({frame.height:,})", t, frame.height, "rows")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--orgs", type=int, default=40_000)
    parser.add_argument("--submissions", type=int, default=2_000)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    if args.url:
        run(args.url, args.orgs, args.submissions, args.rows)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(sqlite_url(Path(folder) / "bench.db"), args.orgs, args.submissions, args.rows)


if __name__ == "__main__":
    main()
