"""Reports made in the background of the cabinet (issue 14), on PostgreSQL with --orgs schools:

1. «Экспорт результатов» of a collection all --orgs schools have sent (the operator's: every
   school, one row each: «Информация об ОО для проведения ВПР»), asked through the cabinet's
   ``ReportRunner`` as ``POST /reports`` asks it, from the request to its row saying «готов»;
   beside it, in the same run, the same request's work without Prefect (the flow's function
   called directly), Prefect's own start of a run (an empty flow run, the first one of the
   process and the next ones), and the status workbook of ``bench_reports.py`` for the same
   number of organisations. Target: the export within the status workbook's time plus
   Prefect's start of a run.
2. The notification's latency: ``sbor web``'s app served by uvicorn, Chromium (Debian's, by
   path) on a monitoring page as a regional coordinator; a small export is asked --rounds
   times; from its flow run finishing (the request row's ``finished_at``) to the bell's badge
   appearing on the open page (the bell polls every 5 s; a MutationObserver notes the moment).
   Target: within 10 s.

Prefect runs as ``sbor web`` runs it: on the server PREFECT_API_URL names, else in its
ephemeral mode (a temporary API server the process starts for its first run).

Example: python bench/bench_report_runs.py --orgs 40000 --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for real once Prefect's home is set (prepare_prefect)
    from fastapi import FastAPI

    from flows.cabinet_reports import ReportRunner
    from flows.settings import Settings
    from warehouse.report_requests import ReportRequest, ReportRequests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_reports import registry as status_registry  # noqa: E402
from bench_reports import statuses as status_rows  # noqa: E402
from bench_web import scratch  # noqa: E402 (imports no Prefect: its home is set later)

PASSWORD = "Пароль-для-замера-1"
ANSWERS = {"2": "Иванов Иван Иванович", "3": "Заместитель директора", "4": "+74951234567",
           "5": "school@example.ru", "6": "10", "7": "5", "8": "2", "9": "На компьютерах",
           **{str(n): "Да" for n in range(10, 17)}, "17": "500", "18": "2027-03-01", "19": "нет"}


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=40_000)
    ap.add_argument("--repeat", type=int, default=3, help="exports (and status workbooks) to take the median of")
    ap.add_argument("--rounds", type=int, default=10, help="notifications timed on the open page")
    ap.add_argument("--url", required=True, help="PostgreSQL server URL (a schema is made and dropped)")
    ap.add_argument("--chromium", default=os.environ.get("SBOR_TEST_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args()
    with scratch(args.url, "bench_runs") as (url, home):  # a schema and a folder of its own, removed after
        run(url, home, args)


def run(url: str, home: Path, args: argparse.Namespace) -> None:
    from flows.commands.context import prepare_prefect
    from flows.settings import load_settings

    settings = load_settings(home, url, env={"SBOR_SECRET": "bench-secret"})
    prepare_prefect(settings)  # Prefect's home in the workspace, as `sbor` sets it
    collection_id, regional = populate(settings, args.orgs)
    from flows.cabinet_reports import cabinet_report_flow
    from web.app import create_app
    from web.config import WebSettings

    app = create_app(WebSettings(settings))
    runner = app.state.reports
    try:
        prefect_cold, prefect_warm, prefect_body = prefect_start(args.repeat)
        exports, plain = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            req, _ = runner.ask("operator", "results", {"collection": collection_id})
            done = wait_finished(runner.requests, req.id)
            exports.append(time.perf_counter() - t)
            assert done.state == "ready", done.error
            # The same request's work, without Prefect: the flow's own function.
            again, _ = runner.requests.ask("operator", "results", {"collection": collection_id})
            t = time.perf_counter()
            cabinet_report_flow.fn(settings, again.id, ())
            plain.append(time.perf_counter() - t)
        size = (home / done.file).stat().st_size if done.file else 0
        status = status_workbook(args.orgs, args.repeat)
        print(f"{args.orgs} schools on PostgreSQL; Prefect: "
              f"{os.environ.get('PREFECT_API_URL') or 'ephemeral (a temporary server in the process)'}")
        print(f"results export through ReportRunner (request → «готов»), median of {args.repeat}: "
              f"{median(exports):.2f} s (min {min(exports):.2f}, max {max(exports):.2f}), {size / 1e6:.1f} MB")
        print(f"  the same work without Prefect (the flow's function): median {median(plain):.2f} s")
        print(f"Prefect's start of a run (an empty flow run): first of the process {prefect_cold:.2f} s, "
              f"then median {median(prefect_warm):.2f} s, of which up to its body {median(prefect_body):.2f} s")
        print(f"status workbook, bench_reports.py's operator view of {args.orgs}: median {median(status):.2f} s")
        budget = median(status) + median(prefect_warm)
        print(f"target: export <= status workbook + Prefect's start = {budget:.2f} s; "
              f"export / target = {median(exports) / budget:.2f}")
        strict = median(status) + median(prefect_body)
        print(f"  with Prefect's start up to the body only: {strict:.2f} s; export / that = "
              f"{median(exports) / strict:.2f}; export - work without Prefect = "
              f"{median(exports) - median(plain):.2f} s")
        latencies = notification_latency(app, runner, regional, collection_id, args)
        print(f"notification (flow run finished → the bell's badge on the open page), {len(latencies)} rounds: "
              f"p50 {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s (target <= 10 s; the bell "
              "polls every 5 s)")
    finally:
        runner.close()
        app.state.uploads.stop()
        app.state.cab.cabinet.warehouse.engine.dispose()


def populate(settings: Settings, count: int) -> tuple[str, str]:
    """A registry of ``count`` schools, «Информация об ОО» published to all and sent by all (one
    accepted web submission each, its rows as the web form's judge makes them), the operator's
    and one region's coordinator's accounts with a password."""
    from flows.cabinet import open_cabinet
    from flows.publish import form_for
    from flows.webform import judge_draft
    from forms import Participants, generate_registry, load_collection
    from forms.publications import COLLECTIONS_DIR
    from warehouse import NewSubmission
    from warehouse.accounts import NewAccount

    cabinet = open_cabinet(settings)
    wh = cabinet.warehouse
    orgs = list(generate_registry(count, seed=3))
    wh.upsert_organisations(orgs)
    now = datetime.now(UTC)
    collection = replace(load_collection(COLLECTIONS_DIR / "vpr_org_info_2027.yaml"), opens=now - timedelta(days=5),
                         closes=now + timedelta(days=5), participants=Participants())
    form = form_for(collection)
    wh.publish(collection, form, [o.login for o in orgs])
    [sheet] = form.sheets
    verdict = judge_draft(form, collection, orgs[0].login, {sheet.table: [{"1": "Школа", **ANSWERS}]})
    assert verdict.accepted, verdict.findings
    t = time.perf_counter()
    items = [(NewSubmission(f"{n:064x}", "веб-форма", now - timedelta(minutes=n % 9000), verdict.outcome,  # type: ignore[arg-type]
                            collection.id, o.login, form.id, form.version), verdict.findings, verdict.frames)
             for n, o in enumerate(orgs)]
    wh.record_many(items, commit_every=2000)
    print(f"loaded {count} accepted submissions in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    with wh.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    region = orgs[0].region_code
    regional = f"reg{region}"
    cabinet.accounts.issue([NewAccount("operator", "operator", "", "", "Оператор"),
                            NewAccount(regional, "regional", region, "", f"Регион {region}")])
    for login in ("operator", regional):
        cabinet.accounts.set_password(login, PASSWORD)
    wh.engine.dispose()
    return collection.id, regional


def wait_finished(requests: ReportRequests, request_id: int, seconds: float = 900) -> ReportRequest:
    deadline = time.monotonic() + seconds
    while True:
        req = requests.get(request_id)
        assert req is not None
        if req.finished or time.monotonic() > deadline:
            return req
        time.sleep(0.05)


def prefect_start(repeat: int) -> tuple[float, list[float], list[float]]:
    """An empty flow run in a thread of this process, as the report runner's threads run
    theirs: the first (which starts the ephemeral server, if that is the mode) and the next,
    each whole and up to its body (Prefect's start proper: what comes after the body is the
    run's end, which a report's «готов», written in the body, does not wait for)."""
    from concurrent.futures import ThreadPoolExecutor

    from prefect import flow

    from flows.cabinet_reports import _api_from_environment

    entered: list[float] = []

    @flow(name="bench empty run")
    def empty() -> int:
        entered.append(time.perf_counter())
        return 1

    def once() -> tuple[float, float]:
        t = time.perf_counter()
        with _api_from_environment():
            empty()
        return time.perf_counter() - t, entered[-1] - t

    with ThreadPoolExecutor(1) as pool:
        cold = pool.submit(once).result()[0]
        warm = [pool.submit(once).result() for _ in range(max(5, repeat))]
    return cold, [w for w, _ in warm], [b for _, b in warm]


def status_workbook(count: int, repeat: int) -> list[float]:
    """``bench_reports.py``'s first figure: the operator's status workbook of ``count``."""
    from bench_reports import COLLECTION, NOW

    from forms import load_collection
    from forms.coordinators import OPERATOR
    from templates.coordinators import render_status

    collection = load_collection(COLLECTION)
    rows = status_rows(status_registry(count))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        render_status(collection, OPERATOR, rows, now=NOW)
        times.append(time.perf_counter() - t)
    return times


def notification_latency(app: FastAPI, runner: ReportRunner, regional: str, collection_id: str,
                         args: argparse.Namespace) -> list[float]:
    import uvicorn
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    latencies = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium)
            page = browser.new_page()
            page.goto(base + "/login")
            page.get_by_label("Логин").fill(regional)
            page.get_by_label("Пароль").fill(PASSWORD)
            page.get_by_role("button", name="Войти").click()
            page.wait_for_url(base + "/")
            for _ in range(args.rounds):
                page.goto(base + "/reports")  # what was ready is now seen: no badge
                page.goto(base + f"/monitor/{collection_id}")
                page.wait_for_selector("#bell")
                page.evaluate("""() => {
                    window.__badgeAt = null;
                    new MutationObserver(() => {
                        if (window.__badgeAt === null && document.querySelector('#bell .badge')) {
                            window.__badgeAt = Date.now();
                        }
                    }).observe(document.body, {childList: true, subtree: true});
                }""")
                req, _ = runner.ask(regional, "statuses", {"collection": collection_id})
                done = wait_finished(runner.requests, req.id)
                assert done.state == "ready" and done.finished_at is not None, done.error
                shown = page.wait_for_function("() => window.__badgeAt", timeout=60_000).json_value()
                latencies.append(shown / 1000 - done.finished_at.timestamp())
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return latencies


if __name__ == "__main__":
    main()
