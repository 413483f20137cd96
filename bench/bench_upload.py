"""«Загрузить файл» under load: the time from a school's upload to its answer shown on the page.

Builds a workspace on PostgreSQL (a registry of --orgs organisations, the ВПР «Информация об ОО»
collection published to its edu and ksh schools, templates and accounts for --schools of them),
starts ``sbor web``'s app under uvicorn with --workers processes (each with its one upload worker),
signs the schools in, and then, open loop, starts --rate uploads a second for --duration seconds:
each a different correctly filled template of one of the schools, posted as the page posts it
(htmx), then polled as the page polls (every --poll seconds) until the answer workbook's link is
shown. Prints p50/p95/max of upload → answer shown, and how many were answered.

Target (issue 13): p95 <= 2 s at 10 uploads/s.

Example: python bench/bench_upload.py --orgs 40000 --rate 10 --duration 30 \\
    --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_web import scratch, serving  # noqa: E402
from flows.cabinet import open_cabinet  # noqa: E402
from flows.settings import load_settings  # noqa: E402
from flows.simulate import card_row  # noqa: E402
from flows.workspace import open_warehouse  # noqa: E402
from flows.writing import write_templates  # noqa: E402
from forms import builtin_forms, generate_registry  # noqa: E402
from forms.collection import load_collection  # noqa: E402
from forms.publications import COLLECTIONS_DIR  # noqa: E402
from templates import TemplateFactory  # noqa: E402
from tests.workbooks import fill  # noqa: E402
from warehouse.accounts import NewAccount  # noqa: E402

COLLECTION = "vpr-org-info-2027"
NOW = "2026-12-01 10:00"  # inside the collection's window
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PASSWORD = "bench-password-1"


async def sign_in(client: httpx.AsyncClient, login: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = await client.post("/login", data={"login": login, "password": PASSWORD, "csrf": token, "next": "/"})
    assert answer.status_code == 303, answer.text


async def poll_once(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """The page's poll, a GET: retried once when the server had just closed the kept-alive
    connection it went out on (uvicorn closes one idle for 5 s; a school's polls are seconds
    apart under load), as a browser retries an idempotent request."""
    try:
        return await client.get(url, headers={"HX-Request": "true"})
    except httpx.RemoteProtocolError:
        return await client.get(url, headers={"HX-Request": "true"})


async def one_upload(client: httpx.AsyncClient, csrf: str, name: str, data: bytes, poll: float,
                     patience: float) -> float | None:
    """Seconds from the upload's start to the answer's link on the page; None if not in time."""
    started = time.perf_counter()
    response = await client.post(f"/collect/{COLLECTION}/upload", data={"csrf": csrf},
                                 files={"file": (name, data, XLSX)}, headers={"HX-Request": "true"})
    fragment = response.text
    while "/answers/" not in fragment:
        if time.perf_counter() - started > patience or response.status_code != 200:
            return None
        await asyncio.sleep(poll)
        found = re.search(r'hx-get="([^"]+)"', fragment)
        if found is None:
            return None
        response = await poll_once(client, found.group(1).replace("&amp;", "&"))
        fragment = response.text
    return time.perf_counter() - started


async def drive(base: str, logins: list[str], files: list[tuple[str, str, bytes]], rate: float, poll: float,
                patience: float) -> list[float | None]:
    # Idle connections dropped before uvicorn's 5 s keep-alive ends them: a school uploads every
    # 5 s here, and a request sent as the server closes its connection dies (httpx.ReadError).
    clients = {login: httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(keepalive_expiry=3))
               for login in logins}
    try:
        tokens = {}
        for login, client in clients.items():
            await sign_in(client, login)
            page = await client.get(f"/collect/{COLLECTION}/history")
            tokens[login] = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        tasks = []
        start = time.perf_counter()
        for i, (login, name, data) in enumerate(files):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one_upload(clients[login], tokens[login], name, data, poll, patience)))
        return list(await asyncio.gather(*tasks))
    finally:
        for client in clients.values():
            await client.aclose()


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=40_000)
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="uploads started per second")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--poll", type=float, default=0.4, help="seconds between polls, as the page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--url", default=os.environ.get("SBOR_TEST_POSTGRES_URL"),
                        help="PostgreSQL base URL; the bench uses a schema of its own and drops it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set SBOR_TEST_POSTGRES_URL (PostgreSQL)")

    with scratch(args.url, "bench_upload") as (url, home):
        settings = load_settings(home, url, env={"SBOR_NOW": NOW})
        orgs = generate_registry(args.orgs)
        collection = load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml")
        form = builtin_forms()[collection.form_id]
        [sheet] = form.sheets
        participants = collection.participants.select(list(orgs))
        wh = open_warehouse(settings)
        wh.upsert_organisations(list(orgs))
        wh.publish(collection, form, [o.login for o in participants])
        wh.engine.dispose()
        chosen = participants[: args.schools]
        write_templates(TemplateFactory(form, collection, settings.secret()), chosen,
                        settings.templates_dir / collection.id, None, 1)
        cabinet = open_cabinet(settings)
        cabinet.accounts.issue([NewAccount(o.login, "school", o.region_code, o.municipality_code, o.short_name)
                                for o in chosen])
        for o in chosen:
            cabinet.accounts.set_password(o.login, PASSWORD)
        cabinet.warehouse.engine.dispose()
        rng = random.Random(0)
        total = int(args.rate * args.duration)
        files = []
        for i in range(total):
            o = chosen[i % len(chosen)]
            template = (settings.templates_dir / collection.id / f"{o.login}.xlsx").read_bytes()
            files.append((o.login, f"upload-{i:04d}.xlsx",
                          fill(template, {sheet.name: card_row(form, sheet, o, rng)}, form)))

        with serving("web.app:factory", args.workers, {
                "SBOR_HOME": str(home), "SBOR_DATABASE_URL": url, "SBOR_NOW": NOW}) as (base, _):
            started = time.perf_counter()
            times = asyncio.run(drive(base, [o.login for o in chosen], files, args.rate, args.poll, 60.0))
            wall = time.perf_counter() - started
        db = sa.create_engine(url)
        with db.connect() as conn:
            outcomes = dict(conn.exec_driver_sql(
                "SELECT outcome, count(*) FROM submissions GROUP BY outcome").all())
        db.dispose()

    done = sorted(t for t in times if t is not None)
    q = statistics.quantiles(done, n=100, method="inclusive") if len(done) > 1 else done * 99
    result = {"orgs": len(orgs), "participants": len(participants), "schools": len(chosen),
              "workers": args.workers, "rate": args.rate, "uploads": total, "answered": len(done),
              "outcomes": outcomes, "p50_s": round(q[49], 3), "p95_s": round(q[94], 3),
              "max_s": round(done[-1], 3) if done else None, "wall_s": round(wall, 1), "poll_s": args.poll}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{result['orgs']} organisations, {result['participants']} participants; {total} uploads at "
              f"{args.rate}/s by {len(chosen)} schools, {args.workers} web workers, polled every {args.poll} s")
        print(f"answered {len(done)}/{total} {outcomes}; upload -> answer shown: p50 {result['p50_s']} s, "
              f"p95 {result['p95_s']} s, max {result['max_s']} s")
    return result


if __name__ == "__main__":
    main()
