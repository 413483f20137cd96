"""Two pages one request at a time, in process: what the server spends on each, without a load
generator or a queue. The regional coordinator's «Отчёт о скачивании» (one page of region 77 grown
to --region-size schools, each with a common file and its own) through the whole app
(``httpx.ASGITransport``: session, route, queries, template), the operator's monitoring counts
(``warehouse.monitoring.monitoring``, then the route ``/monitor/<collection>``) and a page of the
region's participant list («Сдано», by submission date, page 2: ``participants``, then the
route), on PostgreSQL with --orgs organisations. Prints p50/p95 wall and CPU ms of --repeat
requests each.

The data is built once in the PostgreSQL schema --keep (its workspace folder /tmp/sbor-<schema>)
and kept, so that two code trees can be timed on the same data in the same period (``--repo``
chooses the tree whose code is imported); drop the schema and the folder when done.

Example: python bench/bench_report_page.py --orgs 40000 --keep bench_rp --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote


def _repo(argv: list[str]) -> Path:
    """The code tree to import (``--repo``), read before anything of sbor is imported."""
    for i, a in enumerate(argv):
        if a == "--repo" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
    return Path(__file__).resolve().parent.parent


REPO = _repo(sys.argv)
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

PUBLICATION = "vpr-tech-2027"
REGION = "77"
COLLECTION = "bench-monitor"
PASSWORD = "bench-password-1"
# bench_monitor's participant page: the region's schools «Сдано», latest submission first, page 2.
PARTICIPANTS = f"/monitor/{COLLECTION}/participants?status=%D0%A1%D0%B4%D0%B0%D0%BD%D0%BE&sort=submitted&desc=1&page=2"


def build(url: str, home: Path, orgs_n: int, region_size: int) -> None:
    """bench_web's workspace (its registry, files and downloads) plus bench_monitor's collection
    (every school a participant, a third with a file, two thirds of those accepted)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.bench_web import registry
    from flows.cabinet import add_files, open_cabinet
    from flows.settings import load_settings
    from flows.workspace import open_warehouse
    from forms import Collection, Participants, builtin_forms
    from warehouse import NewSubmission
    from warehouse.accounts import NewAccount

    settings = load_settings(home, url, env={})
    wh = open_warehouse(settings)
    orgs = registry(orgs_n, region_size)
    wh.upsert_organisations(orgs)
    region = [o for o in orgs if o.region_code == REGION]
    source = home / "source"
    own = source / "own"
    own.mkdir(parents=True)
    (source / "Дистрибутив.bin").write_bytes(os.urandom(1 << 16))
    for o in region:
        (own / f"{o.login}.txt").write_text(f"логин {o.login}\n", encoding="utf-8")
    add_files(settings, PUBLICATION, source / "Дистрибутив.bin")
    add_files(settings, PUBLICATION, own, "Логины участников")
    cabinet = open_cabinet(settings)
    cabinet.accounts.issue([NewAccount("operator", "operator", "", "", "Оператор"),
                            NewAccount(f"reg{REGION}", "regional", REGION, "", "Москва")])
    for login in ("operator", f"reg{REGION}"):
        cabinet.accounts.set_password(login, PASSWORD)
    f = cabinet.storage.t.files
    with wh.engine.connect() as conn:
        big_id = conn.scalar(sa.select(f.c.id).where(f.c.publication_id == PUBLICATION, f.c.owner_login.is_(None)))
    for o in region:
        cabinet.storage.record_download(big_id, o.login, datetime.now(UTC), 1 << 16, True)
    form = builtin_forms()["vpr_org_info"]
    now = datetime.now(UTC)
    rng = random.Random(5)
    collection = Collection(COLLECTION, "Мониторинг", "ВПР", form.id, now - timedelta(days=5),
                            now + timedelta(days=5), Participants())
    wh.publish(collection, form, [o.login for o in orgs])
    subs = []
    for n, o in enumerate(orgs):
        if rng.random() < 1 / 3:
            outcome = "accepted" if rng.random() < 2 / 3 else "rejected"
            subs.append((NewSubmission(f"{n:064x}", "f.xlsx", now - timedelta(minutes=rng.randint(1, 9000)),
                                       outcome, COLLECTION, o.login, form.id, form.version), (), None))  # type: ignore[arg-type]
    wh.record_many(subs, commit_every=2000)
    with wh.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum keeps a live server (bench_web)
    wh.engine.dispose()
    cabinet.warehouse.engine.dispose()


def timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def q(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=40_000)
    ap.add_argument("--region-size", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--url", default=os.environ.get("SBOR_TEST_POSTGRES_URL"))
    ap.add_argument("--keep", required=True, help="schema to build once and keep (DROP SCHEMA it after)")
    ap.add_argument("--repo", default=str(REPO), help="the code tree to import")
    args = ap.parse_args()
    if not args.url:
        ap.error("give --url or set SBOR_TEST_POSTGRES_URL (PostgreSQL)")
    home = Path(tempfile.gettempdir()) / f"sbor-{args.keep}"
    admin = sa.create_engine(args.url)
    with admin.begin() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": args.keep}).first()
        if not exists:
            conn.exec_driver_sql(f"CREATE SCHEMA {args.keep}")
    admin.dispose()
    sep = "&" if "?" in args.url else "?"
    url = f"{args.url}{sep}options={quote(f'-csearch_path={args.keep}')}"
    if not exists:
        home.mkdir(parents=True, exist_ok=True)
        build(url, home, args.orgs, args.region_size)
    os.environ.update({"SBOR_HOME": str(home), "SBOR_DATABASE_URL": url})

    from flows.settings import load_settings
    from flows.workspace import open_warehouse
    from forms.status import Status
    from warehouse.accounts import Account
    from warehouse.monitoring import monitoring, participants
    from web.app import create_app, load_web_settings

    app = create_app(load_web_settings())
    report_path = f"/publications/{PUBLICATION}/downloads"

    async def session() -> None:
        transport = httpx.ASGITransport(app=app)
        clients = {}
        for login in (f"reg{REGION}", "operator"):
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            page = await client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            answer = await client.post("/login", data={"login": login, "password": PASSWORD, "csrf": token,
                                                        "next": "/"})
            assert answer.status_code == 303, answer.text
            clients[login] = client
        loop_results: dict[str, tuple[list[float], list[float]]] = {}

        async def many(name: str, client: httpx.AsyncClient, path: str) -> None:
            first = await client.get(path)
            assert first.status_code == 200, (path, first.status_code)
            wall, cpu = [], []
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                r = await client.get(path)
                wall.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
                assert r.status_code == 200
            loop_results[name] = (wall, cpu)

        await many("bare /health", clients["operator"], "/health")
        await many("report page (route)", clients[f"reg{REGION}"], report_path)
        await many("monitoring counts (route)", clients["operator"], f"/monitor/{COLLECTION}")
        await many("participant page (route)", clients[f"reg{REGION}"], PARTICIPANTS)
        for client in clients.values():
            await client.aclose()
        return loop_results  # type: ignore[return-value]

    results = asyncio.run(session())
    wh = open_warehouse(load_settings(home, url, env={}))
    row = wh.collection(COLLECTION)
    operator = Account("operator", "operator", "", "", "Оператор")
    results["monitoring counts (function)"] = timed(lambda: monitoring(wh, operator, row, datetime.now(UTC)),
                                                    args.repeat)
    regional = Account(f"reg{REGION}", "regional", REGION, "", "Москва")
    results["participant page (function)"] = timed(
        lambda: participants(wh, regional, row, datetime.now(UTC), status=Status.SUBMITTED, sort="submitted",
                             descending=True, offset=50, limit=50), args.repeat)
    print(f"code: {REPO}; {args.repeat} requests each, one at a time; load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':34} {'p50 ms':>7} {'p95 ms':>7} {'cpu p50':>8} {'cpu p95':>8}")
    for name, (wall, cpu) in results.items():
        print(f"{name:34} {q(wall, 50):7.2f} {q(wall, 95):7.2f} {q(cpu, 50):8.2f} {q(cpu, 95):8.2f}")


if __name__ == "__main__":
    main()
