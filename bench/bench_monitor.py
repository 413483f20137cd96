"""Monitoring queries at federal size (issue 14): the operator's counts of a collection of --orgs
schools, and one page of a regional coordinator's participant list (region 77 grown to
--region-size schools), filtered by status and sorted by submission date, in the warehouse
functions the cabinet's routes call (no HTTP: bench_web.py measures the server around them).

About a third of the schools sent a file (two thirds of those accepted). Prints p50 and p95 of
--repeat calls each.

Example: python bench/bench_monitor.py --orgs 40000 --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from forms import Collection, Participants, builtin_forms, generate_registry  # noqa: E402
from forms.status import Status  # noqa: E402
from warehouse import NewSubmission, Warehouse, connect  # noqa: E402
from warehouse.accounts import Account  # noqa: E402
from warehouse.monitoring import monitoring, participants  # noqa: E402


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=40_000)
    ap.add_argument("--region-size", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--url", required=True, help="PostgreSQL server URL (a schema is made and dropped)")
    args = ap.parse_args()
    schema = f"bench_mon_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in args.url else "?"
    try:
        run(f"{args.url}{sep}options={quote(f'-csearch_path={schema}')}", args)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


def run(url: str, args: argparse.Namespace) -> None:
    orgs = list(generate_registry(args.orgs, seed=3))
    rng = random.Random(5)
    # Region 77 grown to --region-size schools (moved from the others), as bench_web does.
    in77 = [i for i, o in enumerate(orgs) if o.region_code == "77"]
    others = [i for i, o in enumerate(orgs) if o.region_code != "77"]
    for i in others[: max(0, args.region_size - len(in77))]:
        orgs[i] = replace(orgs[i], region_code="77", region_name="Москва",
                          municipality_code=f"77{rng.randint(1, 12):02d}")
    form = builtin_forms()["vpr_org_info"]
    now = datetime.now(UTC)
    collection = Collection("bench-monitor", "Мониторинг", "ВПР", form.id, now - timedelta(days=5),
                            now + timedelta(days=5), Participants())
    wh = Warehouse(connect(url), [form])
    wh.create()
    wh.upsert_organisations(orgs)
    wh.publish(collection, form, [o.login for o in orgs])
    subs = []
    for n, o in enumerate(orgs):
        if rng.random() < 1 / 3:
            outcome = "accepted" if rng.random() < 2 / 3 else "rejected"
            subs.append((NewSubmission(f"{n:064x}", "f.xlsx", now - timedelta(minutes=rng.randint(1, 9000)), outcome,  # type: ignore[arg-type]
                                       collection.id, o.login, form.id, form.version), (), None))
    wh.record_many(subs, commit_every=2000)
    with wh.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    row = wh.collection(collection.id)
    assert row is not None
    operator = Account("operator", "operator", "", "", "Оператор")
    regional = Account("reg77", "regional", "77", "", "Москва")
    region_size = sum(o.region_code == "77" for o in orgs)

    def timed(fn: object) -> list[float]:
        out = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()  # type: ignore[operator]
            out.append((time.perf_counter() - t) * 1000)
        return out

    counts = timed(lambda: monitoring(wh, operator, row, now))
    page = timed(lambda: participants(wh, regional, row, now, status=Status.SUBMITTED, sort="submitted",
                                      descending=True, offset=50, limit=50))
    print(f"{args.orgs} schools, {len(subs)} files; region 77: {region_size} schools; {args.repeat} calls each")
    print(f"operator's monitoring counts: p50 {p(counts, 50):.0f} ms, "
          f"p95 {p(counts, 95):.0f} ms (target p95 <= 100 ms)")
    print(f"participant page (region, «Сдано», by submission date, page 2): p50 {p(page, 50):.0f} ms, "
          f"p95 {p(page, 95):.0f} ms (target p95 <= 100 ms)")
    wh.engine.dispose()


if __name__ == "__main__":
    main()
