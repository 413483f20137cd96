"""The web form's costs, in process (no HTTP): draft saves and «Сдать отчёт».

- draft saves: --saves saves of a 5-row draft, each school's next version, by --threads threads
  over --schools schools: p50/p95 per save and saves per second;
- «Сдать отчёт» of a full specialities form (all 111 specialities of the list: the key allows no
  more distinct rows), judge + load + receipt (``flows.webform.submit``): p50/p95 over --submits;
- the judge alone on the same form, to split the submit's cost.

«Загрузить файл» (the upload worker, end to end over HTTP) is bench_upload.py's.

On PostgreSQL (--url) the tables live in a schema of their own, dropped at the end.

Example: python bench/bench_webform.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from flows.settings import load_settings
from flows.webform import judge_draft, submit
from flows.workspace import open_warehouse
from forms import builtin_forms, load_collection
from forms.publications import COLLECTIONS_DIR
from tests.workbooks import sample_org
from warehouse.drafts import Drafts


def _ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--submits", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-webform-"))
    (home / "var").mkdir()
    schema = None
    url = f"sqlite+pysqlite:///{home / 'var' / 'sbor.db'}"
    if args.url:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(args.url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = f"{args.url}{'&' if '?' in args.url else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        settings = load_settings(home, url, env={"SBOR_SECRET": "bench"}, now="2026-12-01T10:00")
        wh = open_warehouse(settings)
        drafts = Drafts(wh.engine)
        drafts.create()
        form = builtin_forms()["spo_specialities"]
        collection = load_collection(COLLECTIONS_DIR / "spo_specialities_2026.yaml")
        names = form.choice_list("specialities").values
        draft = {"specialities": [{"1": n, "1.1": "Математика", "1.2": "—", "2": "1", "3": "24", "3.1": "24",
                                   "3.2": "0", "4": "25", "5": "25", "6": "Нет"} for n in names[:5]]}
        versions = {f"spo77{i:04d}": 0 for i in range(args.schools)}
        logins = list(versions)

        def save(i: int) -> float:
            login = logins[i % len(logins)]
            start = time.perf_counter()
            versions[login] = drafts.save(login, collection.id, draft, versions[login]).version
            return time.perf_counter() - start

        # Each thread owns its schools (i ≡ k mod threads), so no save is stale.
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            per_thread = list(pool.map(lambda k: [save(i) for i in range(k, args.saves, args.threads)],
                                       range(args.threads)))
        wall = time.perf_counter() - started
        saves = [t for part in per_thread for t in part]

        full = {"specialities": [{**draft["specialities"][0], "1": n} for n in names]}
        org = sample_org(number=1, specialities=())
        wh.upsert_organisations([org])
        judged = []
        for _ in range(args.submits):
            start = time.perf_counter()
            verdict = judge_draft(form, collection, org.login, full)
            judged.append(time.perf_counter() - start)
        assert verdict.outcome == "accepted", verdict.findings[:3]
        sent = []
        for i in range(args.submits):
            start = time.perf_counter()
            result = submit(settings, wh, form, collection, org, full,
                            datetime(2026, 12, 1, 7, tzinfo=UTC) + timedelta(seconds=i))
            sent.append(time.perf_counter() - start)
            assert result.row is not None
        wh.engine.dispose()
        figures = {
            "database": wh.engine.dialect.name,
            "draft_save_p50_ms": _ms(saves)[0], "draft_save_p95_ms": _ms(saves)[1],
            "draft_saves_per_s": len(saves) / wall, "threads": args.threads,
            "rows_submitted": len(names),
            "judge_p50_ms": _ms(judged)[0], "judge_p95_ms": _ms(judged)[1],
            "submit_p50_ms": _ms(sent)[0], "submit_p95_ms": _ms(sent)[1],
        }
    finally:
        if schema is not None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:>22}  {value:.1f}" if isinstance(value, float) else f"{key:>22}  {value}")


if __name__ == "__main__":
    main()
