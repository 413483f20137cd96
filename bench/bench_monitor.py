"""Monitoring at federal size (issue 14): the operator's counts of a collection of --orgs schools,
and one page of a regional coordinator's participant list (region 77 grown to --region-size
schools), filtered by status («Сдано») and sorted by submission date, page 2.

First in process, the warehouse functions the routes call (p50 and p95 of --repeat calls each);
then over HTTP, ``sbor web``'s app under uvicorn with --workers processes driven by wrk, the
bare ``/health`` in the same run: «saturation» (--connections connections, no wait) and «users»
(--connections coordinators each waiting --think ms between pages; the target, p95 <= 100 ms,
is for these). About a third of the schools sent a file (two thirds of those accepted).

Example: python bench/bench_monitor.py --orgs 40000 --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_web import load_runs, print_runs, scratch, scripts, serving, sign_in  # noqa: E402
from flows.cabinet import open_cabinet  # noqa: E402
from flows.settings import load_settings  # noqa: E402
from forms import Collection, Participants, builtin_forms, generate_registry  # noqa: E402
from forms.status import Status  # noqa: E402
from warehouse import NewSubmission, Warehouse, connect  # noqa: E402
from warehouse.accounts import Account, NewAccount  # noqa: E402
from warehouse.monitoring import monitoring, participants  # noqa: E402


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=40_000)
    ap.add_argument("--region-size", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--url", required=True, help="PostgreSQL server URL (a schema is made and dropped)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    ap.add_argument("--connections", type=int, default=10, help="coordinators at once (wrk connections)")
    ap.add_argument("--think", type=int, default=1000, help="ms each coordinator waits between pages")
    ap.add_argument("--no-http", action="store_true", help="the in-process timings only")
    args = ap.parse_args(argv)
    if not args.no_http and shutil.which("wrk") is None:
        ap.error("wrk is not installed (Debian: apt-get install wrk); or give --no-http")
    with scratch(args.url, "bench_mon") as (url, home):
        run(url, home, args)


def run(url: str, home: Path, args: argparse.Namespace) -> None:
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
    with wh.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # As autovacuum leaves a live database (this test server runs with it off): statistics,
        # and the visibility map and hint bits a freshly loaded table lacks (without them the
        # first hundreds of reads of every page also write it, 8x slower here).
        conn.exec_driver_sql("VACUUM ANALYZE")
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
    if args.no_http:
        return
    settings = load_settings(home, url, env={})
    cabinet = open_cabinet(settings)
    cabinet.create()
    password = "bench-password-1"
    cabinet.accounts.issue([NewAccount("operator", "operator", "", "", "Оператор"),
                            NewAccount("reg77", "regional", "77", "", "Москва")])
    for login in ("operator", "reg77"):
        cabinet.accounts.set_password(login, password)
    cabinet.warehouse.engine.dispose()
    with serving("web.app:factory", args.workers, {"SBOR_HOME": str(home), "SBOR_DATABASE_URL": url}) as (base, _):
        operator_cookie, regional_cookie = (sign_in(base, login, password) for login in ("operator", "reg77"))
        query = urlencode({"status": Status.SUBMITTED.value, "sort": "submitted", "desc": "1", "page": "2"})
        runs = load_runs(base, {
            "operator's monitoring counts": (f"/monitor/{collection.id}", operator_cookie),
            f"participant page, region of {region_size}": (f"/monitor/{collection.id}/participants?{query}",
                                                           regional_cookie),
        }, args, scripts(home, args.think))
    print(f"over HTTP ({args.workers} workers; «users»: {args.connections} coordinators, {args.think} ms think; "
          f"target p95 <= 100 ms)")
    print_runs(runs)


if __name__ == "__main__":
    main()
