"""The web form over HTTP: draft saves and «Сдать отчёт» through ``sbor web``'s real routes, with
40,000 accounts on PostgreSQL, driven by wrk (saves) and httpx (submits).

Builds a workspace (a registry of --orgs organisations, every account issued, the SPO
specialities collection published to its spo schools), starts ``sbor web``'s app under uvicorn
with --workers processes (``bench_web.serving``), signs --connections + --submits schools
in, then, --rounds times, for --duration seconds each:

- the bare endpoint ``/health`` (no database), --connections connections: the same server's floor;
- draft saves, ``POST /collect/<id>/draft`` as the page's autosave posts it: --connections wrk
  connections, one thread each, every connection a school of its own with its own session cookie
  and CSRF header; the Lua script keeps each school's draft version from the route's answer (as
  the page does), so a save is refused as stale (409) only if the route misbehaves: those are
  counted apart. This run is the server's capacity: saves/s (target: at least 500). Its p95 is
  the queue's (20 schools saving back to back wait behind each other: 20 / 1,000 saves/s is
  20 ms on average), not what a school waits at a given rate;
- draft saves at a rate, --paced schools each waiting --think ms between an answer and its next
  save (wrk's Lua ``delay``; wrk times a save from its sending, not the wait): up to
  --paced × 1000 / --think saves a second offered (64 × 10 = 640), what a school waits when 500
  or more saves a second arrive. Target (issue 13): p95 <= 30 ms at >= 500 saves/s, so the run
  counts only if it reached 500 saves/s.

The drafts are dropped after each round, so every round starts as pages opened on no draft.

Each run also reports the web server's own CPU per request (uvicorn and its workers, from /proc):
on a shared machine the latencies move with the neighbours' load, the CPU per request much less.

Then «Сдать отчёт» (``POST /collect/<id>`` with action=submit, as the page's form posts it), one
school after another, each its own: the full form the spec allows (all 111 specialities: the
speciality is the row's key, so 111 rows is the most an acceptable form holds; judged, loaded,
receipt written, 303) and the 300-row form at ``max_rows`` (its repeated specialities refused:
judged and answered, 422). Target: p95 <= 300 ms.

Prints a table with each figure's median over the rounds and its ratio to the bare endpoint of
the same round; --json prints one JSON object with every round.

Example: python bench/bench_webform_http.py --orgs 40000 --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_web import LUA, scratch, serving, sign_in  # noqa: E402
from flows.cabinet import issue_accounts, open_cabinet  # noqa: E402
from flows.settings import load_settings  # noqa: E402
from flows.workspace import open_warehouse  # noqa: E402
from forms import builtin_forms, generate_registry  # noqa: E402
from forms.collection import load_collection  # noqa: E402
from forms.publications import COLLECTIONS_DIR  # noqa: E402

COLLECTION = "spo-specialities-2026"
NOW = "2026-12-01 10:00"  # inside the collection's window
PASSWORD = "bench-password-1"
ROW = {"1.1": "Математика", "1.2": "—", "2": "1", "3": "24", "3.1": "24", "3.2": "0", "4": "25", "5": "25",
       "6": "Нет"}

# One wrk thread per connection, so each thread's Lua state is one school: its cookie and CSRF
# token (set by ``setup``), and the draft version its last answer gave.
SAVES_LUA = """
local sessions = {%(sessions)s}
-- JSON with the CSRF token in a header, as the page's script posts it
local head = '{"version": '
local tail = ', "data": ' .. [==[%(data)s]==] .. '}'
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("n", count)
  table.insert(threads, thread)
end

function init(args)
  version, saved, conflicts, other = 0, 0, 0, 0
  local s = sessions[n]
  headers = {["Cookie"] = "sbor_session=" .. s[1], ["X-CSRF-Token"] = s[2],
             ["Content-Type"] = "application/json"}
end

function request()
  return wrk.format("POST", "%(path)s", headers, head .. version .. tail)
end

function response(status, headers, body)
  local v = body:match('"version":%%s*(%%d+)')
  if v then version = tonumber(v) end
  if status == 200 then saved = saved + 1
  elseif status == 409 then conflicts = conflicts + 1
  else other = other + 1 end
end

%(delay)s
function done(summary, latency, requests)
  local s, c, o = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("saved"); c = c + t:get("conflicts"); o = o + t:get("other")
  end
  io.write(string.format("SBOR %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.bytes,
    summary.duration, latency:percentile(50), latency:percentile(95), summary.errors.status, s, c, o))
end
"""


def run_wrk(url: str, script: Path, duration: int, connections: int, threads: int) -> dict[str, float]:
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "-s", str(script),
            "--timeout", "30s", url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("SBOR "))
    numbers = [int(v) for v in line.split()[1:]]
    requests, _, micros, p50, p95, bad = numbers[:6]
    figures = {"requests": requests, "rps": requests / (micros / 1e6), "p50_ms": p50 / 1000,
               "p95_ms": p95 / 1000, "non_2xx": bad}
    if len(numbers) > 6:
        saved, conflicts, other = numbers[6:]
        figures |= {"saved": saved, "saves_per_s": saved / (micros / 1e6), "conflicts": conflicts, "other": other}
    return figures


def cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and every process under it (uvicorn's workers), from /proc:
    the server's own cost, which the machine's other load does not inflate as it does latency."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    mine, todo = set(), [root]
    while todo:
        pid = todo.pop()
        mine.add(pid)
        todo += [child for child, parent in parents.items() if parent == pid and child not in mine]
    return sum(times.get(pid, 0.0) for pid in mine)


def measured(server: int, url: str, script: Path, duration: int, connections: int) -> dict[str, float]:
    """One wrk run, one thread per connection, with the server's CPU milliseconds per request."""
    before = cpu_seconds(server)
    figures = run_wrk(url, script, duration, connections, connections)
    figures["server_cpu_ms"] = (cpu_seconds(server) - before) * 1000 / max(figures["requests"], 1)
    return figures


def form_token(base: str, cookie: str) -> str:
    """The session's CSRF token, from the form page as the browser gets it."""
    with httpx.Client(base_url=base, timeout=30, cookies={"sbor_session": cookie}) as client:
        page = client.get(f"/collect/{COLLECTION}")
        assert page.status_code == 200, page.text[:500]
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, "the form page has no CSRF field"
        return found.group(1)


def submit_times(base: str, schools: list[tuple[str, str]], data: str, expect: int) -> list[float]:
    """«Сдать отчёт» once per (cookie, csrf) school, one after another: seconds per answer."""
    times = []
    for cookie, csrf in schools:
        with httpx.Client(base_url=base, timeout=60, cookies={"sbor_session": cookie}) as client:
            started = time.perf_counter()
            # multipart, as the page's form posts it (enctype="multipart/form-data")
            answer = client.post(f"/collect/{COLLECTION}", data={"csrf": csrf, "version": "0", "action": "submit"},
                                 files={"data": (None, data.encode())})
            times.append(time.perf_counter() - started)
            assert answer.status_code == expect, (answer.status_code, answer.text[:300])
    return times


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=40_000)
    parser.add_argument("--url", default=os.environ.get("SBOR_TEST_POSTGRES_URL"),
                        help="PostgreSQL base URL; the bench uses a schema of its own and drops it")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20, help="schools saving at once, one connection each")
    parser.add_argument("--paced", type=int, default=64, help="schools saving at a pace, one connection each")
    parser.add_argument("--think", type=int, default=100, help="ms a paced school waits between saves")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--submits", type=int, default=30, help="schools sending each form")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set SBOR_TEST_POSTGRES_URL (PostgreSQL)")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")

    rounds: list[dict[str, dict[str, float]]] = []
    with scratch(args.url, "bench_wfh") as (url, home):  # a schema and a folder of its own
        settings = load_settings(home, url, env={"SBOR_NOW": NOW})
        orgs = generate_registry(args.orgs)
        collection = load_collection(COLLECTIONS_DIR / "spo_specialities_2026.yaml")
        form = builtin_forms()[collection.form_id]
        participants = collection.participants.select(list(orgs))
        wh = open_warehouse(settings)
        wh.upsert_organisations(list(orgs))
        wh.publish(collection, form, [o.login for o in participants])
        wh.engine.dispose()
        started = time.perf_counter()
        issued = issue_accounts(settings)
        issue_s = time.perf_counter() - started
        savers_n = max(args.connections, args.paced)
        needed = savers_n + 2 * args.submits
        if len(participants) < needed:
            parser.error(f"{len(participants)} spo schools in a registry of {args.orgs}: need {needed}")
        chosen = [o.login for o in participants[:needed]]
        cabinet = open_cabinet(settings)
        for login in chosen:
            cabinet.accounts.set_password(login, PASSWORD)
        cabinet.warehouse.engine.dispose()

        with serving("web.app:factory", args.workers, {
                "SBOR_HOME": str(home), "SBOR_DATABASE_URL": url, "SBOR_NOW": NOW}) as (base, server_pid):
            sessions = []
            for login in chosen:
                cookie = sign_in(base, login, PASSWORD)
                sessions.append((cookie, form_token(base, cookie)))
            names = form.choice_list("specialities").values
            draft = {"specialities": [{"1": n, **ROW} for n in names[:5]]}

            def saves_lua(name: str, schools: int, think: int) -> Path:
                script = home / name
                script.write_text(SAVES_LUA % {
                    "sessions": ", ".join(f'{{"{c}", "{t}"}}' for c, t in sessions[:schools]),
                    "data": json.dumps(draft, ensure_ascii=False), "path": f"/collect/{COLLECTION}/draft",
                    "delay": f"function delay() return {think} end" if think else ""})
                return script

            save_script = saves_lua("saves.lua", args.connections, 0)
            paced_script = saves_lua("paced.lua", args.paced, args.think)
            bare_script = home / "bare.lua"
            bare_script.write_text(LUA)
            db = sa.create_engine(url)  # the bench's own look at the drafts, disposed below
            with db.begin() as conn:
                drafts = conn.exec_driver_sql("SELECT count(*) FROM drafts").scalar()
            assert drafts == 0, "the sign-ins saved no draft"
            for _ in range(args.rounds):
                bare = measured(server_pid, base + "/health", bare_script, args.duration, args.connections)
                saves = measured(server_pid, base + f"/collect/{COLLECTION}/draft", save_script, args.duration,
                                 args.connections)
                # Each run's connections start at version 0, as a page opened on no draft does.
                with db.begin() as conn:
                    conn.exec_driver_sql("DELETE FROM drafts")
                paced = measured(server_pid, base + f"/collect/{COLLECTION}/draft", paced_script, args.duration,
                                 args.paced)
                with db.begin() as conn:
                    conn.exec_driver_sql("DELETE FROM drafts")
                rounds.append({"bare /health": bare, "draft save": saves, "paced save": paced})
            first = savers_n
            full = json.dumps({"specialities": [{"1": n, **ROW} for n in names]}, ensure_ascii=False)
            repeated = json.dumps({"specialities": [{"1": names[i % len(names)], **ROW}
                                                    for i in range(form.sheets[0].max_rows)]}, ensure_ascii=False)
            sent = submit_times(base, sessions[first: first + args.submits], full, 303)
            refused = submit_times(base, sessions[first + args.submits: first + 2 * args.submits], repeated, 422)
            with db.connect() as conn:
                outcomes = dict(conn.exec_driver_sql(
                    "SELECT outcome, count(*) FROM submissions GROUP BY outcome").all())
            db.dispose()

    def median(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in rounds)

    ratio = statistics.median(r["draft save"]["p95_ms"] / r["bare /health"]["p95_ms"] for r in rounds)
    result = {
        "orgs": len(orgs), "accounts": issued.accounts, "issue_seconds": round(issue_s, 1),
        "participants": len(participants), "workers": args.workers, "connections": args.connections,
        "duration_s": args.duration, "rounds": rounds,
        "bare_p95_ms": median("bare /health", "p95_ms"), "bare_rps": median("bare /health", "rps"),
        "save_p50_ms": median("draft save", "p50_ms"), "save_p95_ms": median("draft save", "p95_ms"),
        "saves_per_s": median("draft save", "saves_per_s"), "save_p95_over_bare": ratio,
        "bare_cpu_ms": median("bare /health", "server_cpu_ms"), "save_cpu_ms": median("draft save", "server_cpu_ms"),
        "paced": args.paced, "think_ms": args.think,
        "paced_saves_per_s": median("paced save", "saves_per_s"), "paced_p50_ms": median("paced save", "p50_ms"),
        "paced_p95_ms": median("paced save", "p95_ms"), "paced_cpu_ms": median("paced save", "server_cpu_ms"),
        "save_conflicts": sum(r[k]["conflicts"] for r in rounds for k in ("draft save", "paced save")),
        "save_other": sum(r[k]["other"] for r in rounds for k in ("draft save", "paced save")),
        "submit_rows": len(names), "submit_p50_ms": statistics.median(sent) * 1000,
        "submit_p95_ms": _p(sent, 95) * 1000,
        "refused_rows": form.sheets[0].max_rows, "refused_p50_ms": statistics.median(refused) * 1000,
        "refused_p95_ms": _p(refused, 95) * 1000, "outcomes": outcomes,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{result['orgs']} organisations, {result['accounts']} accounts (issued in {issue_s:.1f} s), "
              f"{len(participants)} spo participants; {args.workers} workers, {args.connections} connections, "
              f"{args.rounds} rounds of {args.duration} s; paced: {args.paced} schools, {args.think} ms think")
        print(f"{'round':>5} {'run':>10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p95/bare':>9} {'cpu ms':>7} "
              f"{'409':>5} {'other':>6}")
        for i, r in enumerate(rounds, 1):
            b = r["bare /health"]
            for name, run in (("bare", b), ("saturation", r["draft save"]), ("paced", r["paced save"])):
                rate = run.get("saves_per_s", run["rps"])
                print(f"{i:>5} {name:>10} {rate:8.0f} {run['p50_ms']:8.1f} {run['p95_ms']:8.1f} "
                      f"{run['p95_ms'] / b['p95_ms']:9.1f} {run['server_cpu_ms']:7.2f} "
                      f"{run.get('conflicts', 0):5d} {run.get('other', 0):6d}")
        print(f"median: draft save p50 {result['save_p50_ms']:.1f} ms, p95 {result['save_p95_ms']:.1f} ms "
              f"({ratio:.1f}x bare), {result['saves_per_s']:.0f} saves/s; web server CPU per request: save "
              f"{result['save_cpu_ms']:.2f} ms, bare {result['bare_cpu_ms']:.2f} ms (cpu ms/request)")
        print(f"median at a pace ({args.paced} schools, {args.think} ms think): {result['paced_saves_per_s']:.0f} "
              f"saves/s, p50 {result['paced_p50_ms']:.1f} ms, p95 {result['paced_p95_ms']:.1f} ms")
        print(f"«Сдать отчёт», {len(names)} rows accepted: p50 {result['submit_p50_ms']:.0f} ms, "
              f"p95 {result['submit_p95_ms']:.0f} ms over {len(sent)}; {result['refused_rows']} rows refused: "
              f"p50 {result['refused_p50_ms']:.0f} ms, p95 {result['refused_p95_ms']:.0f} ms; outcomes {outcomes}")
    return result


if __name__ == "__main__":
    main()
