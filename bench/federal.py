"""The federal case in one command: publish, returns, ingest (plain, through Prefect, over a work
pool), coordinators' workbooks, each beside its naive baseline, at a chosen size.

    python bench/federal.py --orgs 2000          # a few minutes here
    python bench/federal.py --orgs 40000         # the full federal case

Stages, each timed on its own (ms per item, items per second, peak memory):
- templates: every school's template on the fast path (flows.publish.write_templates), and the
  plain openpyxl renderer on ``--sample`` schools;
- returns (setup): ``--fill-sample`` schools fill their own template with openpyxl (about
  ``--errors`` with mistakes); every other school's file is one of those with the school's own
  title and signed identity put in instead (what it would send if it typed the same answers: each
  file carries its own school's signature, so each is accepted or refused on its own); about
  ``--duplicates`` of the schools send their file twice. Cached in ``--cache``;
- ingest: flows.ingest.ingest in one process (plain); the naive path (openpyxl, pandera per
  workbook, ORM) on ``--naive-sample`` files; flows.ingest.ingest_flow in one process against
  Prefect's server; and scale-out, ``--rounds`` times, each on a fresh workspace: ``--workers``
  plain processes each ingesting its share, then the same inbox dispatched over a process work
  pool with as many Prefect workers (flows.scale). Prefect's share = (Prefect wall - plain
  wall) / Prefect wall for each pair, same work; the median of the pairs is reported;
- coordinators: the operator's status workbook of all schools (render_status) against a plain
  openpyxl writer of the same participant list, and every coordinator's status workbook.

The warehouse and Prefect's server run on PostgreSQL (``--postgres``, a server URL; databases are
created and dropped); without it the warehouse is SQLite and the Prefect stages are skipped.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
for p in (HERE.parent, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import bench_ingest as bi  # noqa: E402

from forms import Collection, Form, Organisation, builtin_forms, layout, load_collection  # noqa: E402

CACHE_VERSION = 1
LANES = 2  # processes of a large publish and ingest, sbor's default (SBOR_WORKERS)
SECRET, NOW = bi.SECRET, bi.NOW


# -- measuring --------------------------------------------------------------------------------

def reset_peak() -> None:
    """Reset this process's peak resident size (Linux: clear_refs 5), so each stage has its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Stage:
    name: str
    items: int
    seconds: float
    peak_mb: float | None = None
    prefect_share: float | None = None  # of the wall time
    note: str = ""
    cpu: float | None = None  # CPU seconds (the processes doing the stage's work)
    prefect_share_cpu: float | None = None  # of the CPU time (steadier on a shared machine)

    @property
    def cpu_ms_per_item(self) -> float | None:
        return None if self.cpu is None else self.cpu * 1000 / max(1, self.items)

    @property
    def ms_per_item(self) -> float:
        return self.seconds * 1000 / max(1, self.items)

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


@contextmanager
def timed(into: dict[str, float]) -> Iterator[None]:
    reset_peak()
    start, cpu = time.perf_counter(), time.process_time() + _children_cpu()
    yield
    into["seconds"], into["peak_mb"] = time.perf_counter() - start, peak_mb()
    # The children's part: the helper processes of a pass on lanes, once reaped.
    into["cpu"] = time.process_time() + _children_cpu() - cpu


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has waited for (Linux /proc): a worker's
    figure includes every flow run process it started and reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_named(word: str) -> list[int]:
    """Our own child processes whose command line holds ``word`` (Prefect's server)."""
    me, out = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ppid == me and word in cmd:
            out.append(int(entry.name))
    return out


@contextmanager
def closing_leaks() -> Iterator[None]:
    """flows.ingest opens the warehouse and leaves the engine to the garbage collector: on
    PostgreSQL its connections then warn when collected. Collect them here, quietly."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


# -- setup: registry, returns -------------------------------------------------------------------

_PERSONAL = (layout.TITLE_SHEET, layout.IDENTITY_SHEET)


def _swaps(cells: Any, src: Organisation, dst: Organisation) -> dict[bytes, bytes]:
    a, b = cells(src), cells(dst)
    return {f">{escape(v)}</t>".encode(): f">{escape(b[s][k])}</t>".encode()
            for s in _PERSONAL for k, v in a[s].items() if v != b[s][k]}


def replicate(data: bytes, swaps: dict[bytes, bytes]) -> bytes:
    """A filled workbook with another school's title and signed identity: the same answers,
    another sender. Only the worksheets change; every part is written again as openpyxl would."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                for old, new in swaps.items():
                    body = body.replace(old, new)
            zout.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@lru_cache(maxsize=1)
def _personaliser() -> Any:
    from templates.school import Personaliser

    return Personaliser(builtin_forms()[bi.FORM_ID], load_collection(bi.COLLECTION_FILE))


def _replicate_job(job: tuple[bytes, Organisation, Organisation]) -> bytes:
    """One school's file made from another's (runs in a pool worker)."""
    data, src, dst = job
    return replicate(data, _swaps(lambda o: _personaliser().cells(o, SECRET), src, dst))


def _pool_map(fn: Callable[[Any], bytes], jobs: list[Any]) -> list[bytes]:
    if len(jobs) < bi.POOL_FROM:
        return [fn(j) for j in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, jobs, chunksize=32))


def make_returns(folder: Path, args: argparse.Namespace, form: Form, collection: Collection,
                 orgs: list[Organisation]) -> tuple[Counter[str], list[Stage]]:
    """Every school's returned workbook into ``folder/<login>/`` (see the module docstring)."""
    from flows.simulate import good_values, spoil
    from templates import TemplateFactory

    rng = random.Random(args.seed)
    factory = TemplateFactory(form, collection, SECRET)
    sample = orgs[: min(len(orgs), args.fill_sample)]
    jobs, spoiled = [], []
    for org in sample:
        values = good_values(form, collection, org, rng)
        bad = rng.random() < args.errors
        jobs.append((factory.render(org), spoil(form, values, rng) if bad else values))
        spoiled.append(bad)
    t = time.perf_counter()
    filled = _pool_map(bi._fill, jobs)
    fill_s = time.perf_counter() - t
    sources = [(i % len(sample)) for i in range(len(sample), len(orgs))]
    t = time.perf_counter()
    copies = _pool_map(_replicate_job, [(filled[s], sample[s], orgs[len(sample) + k]) for k, s in enumerate(sources)])
    copy_s = time.perf_counter() - t
    made: Counter[str] = Counter()
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    when = 1_700_000_000.0
    for i, (org, data) in enumerate(zip(orgs, filled + copies, strict=True)):
        bad = spoiled[i if i < len(sample) else sources[i - len(sample)]]
        made["with errors" if bad else "correct"] += 1
        names = [f"{collection.id}.xlsx"] + ([f"{collection.id}-повторно.xlsx"]
                                             if rng.random() < args.duplicates else [])
        for j, name in enumerate(names):  # a second copy right after the first: one batch
            path = tmp / org.login / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.utime(path, (when + i + j / 2, when + i + j / 2))
            made["duplicates"] += j
    (tmp / "made.json").write_text(json.dumps(made))
    os.replace(tmp, folder)
    return made, [Stage("returns: openpyxl fill (setup)", len(sample), fill_s, note=f"{os.cpu_count()} processes"),
                  Stage("returns: replicated (setup)", len(copies), copy_s, note=f"{os.cpu_count()} processes")]


def cache_key(args: argparse.Namespace, form: Form, collection: Collection, first: Organisation) -> str:
    import hashlib

    from templates.school import Personaliser

    cells = Personaliser(form, collection).cells(first, SECRET)
    blob = json.dumps([CACHE_VERSION, args.orgs, args.rows, args.seed, args.errors, args.duplicates,
                       args.fill_sample, bi.COLLECTION_FILE.read_text(), cells], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# -- workspaces and databases ---------------------------------------------------------------------

class Databases:
    """Warehouse databases on one PostgreSQL server (or SQLite files without one), all dropped."""

    def __init__(self, server: str | None, scratch: Path) -> None:
        import sqlalchemy as sa

        self.base = sa.make_url(server) if server else None
        self.scratch, self.tag, self.made = scratch, uuid.uuid4().hex[:8], []  # type: list[str]

    def _admin(self, sql: str) -> None:
        import psycopg

        assert self.base is not None
        with psycopg.connect(host=self.base.host or "127.0.0.1", port=self.base.port or 5432,
                             user=self.base.username or "postgres", password=self.base.password,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def new(self, name: str, driver: str = "postgresql+psycopg") -> str:
        if self.base is None:
            return f"sqlite+pysqlite:///{self.scratch / name / 'var' / 'sbor.db'}"
        db = f"bench_{name}_{self.tag}"
        self._admin(f'CREATE DATABASE "{db}"')
        self.made.append(db)
        return self.base.set(drivername=driver, database=db).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for db in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# -- stages ---------------------------------------------------------------------------------------

def templates(root: Path, form: Form, collection: Collection, orgs: list[Organisation], sample: int,
              repeat: int) -> list[Stage]:
    """The fast path ``repeat`` times (median: one publish's figure moves with the machine by
    more than a third here), each into a folder of its own, all removed at the end."""
    from flows.writing import PARALLEL_TEMPLATES_FROM, write_templates
    from templates import TemplateFactory, render_template

    runs: list[dict[str, float]] = []
    for r in range(max(1, repeat)):
        fast: dict[str, float] = {}
        with timed(fast):  # the factory's one-off base render counts
            write_templates(TemplateFactory(form, collection, SECRET), orgs, root / f"fast{r}", workers=LANES)
        runs.append(fast)
    mid = sorted(runs, key=lambda t: t["seconds"])[len(runs) // 2]
    naive: dict[str, float] = {}
    (root / "naive").mkdir(parents=True)
    with timed(naive):
        for org in orgs[:sample]:
            (root / "naive" / f"{org.login}.xlsx").write_bytes(render_template(form, collection, org, SECRET))
    shutil.rmtree(root)
    spread = ", ".join(f"{t['seconds']:.1f}" for t in runs)
    return [Stage("templates: fast path", len(orgs), mid["seconds"], max(t["peak_mb"] for t in runs), cpu=mid["cpu"],
                  note=f"{LANES} lanes from {PARALLEL_TEMPLATES_FROM:,} templates; CPU of all; "
                       f"median of {len(runs)} ({spread} s)"),
            Stage("templates: openpyxl (naive)", min(sample, len(orgs)), naive["seconds"], naive["peak_mb"],
                  cpu=naive["cpu"])]


def ingest_plain(settings: Any) -> tuple[Stage, Counter[str], dict[str, float]]:
    """flows.ingest.ingest over the whole inbox, with its own breakdown per step."""
    from flows.ingest import ingest

    t: dict[str, float] = {}
    steps: dict[str, float] = {}
    with closing_leaks(), timed(t):
        outcomes = ingest(settings, timings=steps)
    stage = Stage("ingest: plain, 1 pass", len(outcomes), t["seconds"], t["peak_mb"], cpu=t["cpu"],
                  note=f"{settings.workers} lanes (flows/lanes.py); CPU of all")
    return stage, Counter(o.outcome for o in outcomes), steps


def ingest_naive(paths: list[Path], root: Path, orgs: list[Organisation], form: Form, collection: Collection) -> Stage:
    reset_peak()
    result = bi.naive_path(paths, root, orgs, form, collection)  # (wall, [cpu,] outcomes)
    return Stage("ingest: naive (openpyxl, pandera/file, ORM)", len(paths), result[0], peak_mb(), note="SQLite",
                 cpu=result[1] if len(result) == 3 else None)


CHILD = """
import json, resource, sys
from flows.ingest import ingest
from flows.settings import load_settings
settings = load_settings(sys.argv[1])
outcomes = ingest(settings, only=[settings.inbox / p for p in json.load(open(sys.argv[2]))])
print(json.dumps({"files": len(outcomes), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


FLOW_CHILD = """
import json, resource, sys, time
from collections import Counter
from flows.ingest import ingest_flow
from flows.settings import load_settings
settings = load_settings(sys.argv[1])
def cpu_all():  # this process and its reaped children (the helper of its lanes)
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
start, cpu = time.perf_counter(), cpu_all()
outcomes = ingest_flow(settings)
print(json.dumps({"files": len(outcomes), "seconds": time.perf_counter() - start,
                  "cpu": cpu_all() - cpu, "counts": Counter(o.outcome for o in outcomes),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def flow_in_child(settings: Any, api_url: str) -> dict[str, Any]:
    """flows.ingest.ingest_flow over the inbox in a process of its own pointed at the server
    (timed inside, around the flow only): Prefect in this process would keep talking to a
    server that is gone once the bench ends."""
    env = {**os.environ, "SBOR_DATABASE_URL": settings.database_url, "SBOR_NOW": NOW.isoformat(),
           "PREFECT_API_URL": api_url}
    done = subprocess.run([sys.executable, "-c", FLOW_CHILD, str(settings.home)], env=env,
                          stdout=subprocess.PIPE, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ingest_parallel(settings: Any, workers: int) -> Stage:
    """``workers`` plain processes started at once, each ingesting every ``workers``-th file."""
    from flows.scale import inbox_listing

    files = inbox_listing(settings)
    lists = []
    for i in range(workers):
        lists.append(settings.runtime / f"share-{i}.json")
        lists[-1].write_text(json.dumps(files[i::workers]))
    # One lane each, as each flow run of the work pool (flows/scale.py): the same work.
    env = {**os.environ, "SBOR_DATABASE_URL": settings.database_url, "SBOR_NOW": NOW.isoformat(),
           "SBOR_WORKERS": "1"}
    start, cpu = time.perf_counter(), _children_cpu()
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(settings.home), str(p)], env=env,
                              stdout=subprocess.PIPE, text=True) for p in lists]
    reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - start
    if any(p.returncode for p in procs):
        raise SystemExit("a plain ingest process failed")
    return Stage(f"ingest: plain, {workers} processes", sum(r["files"] for r in reports), wall,
                 max(r["peak_mb"] for r in reports), note="peak per process; CPU of all",
                 cpu=_children_cpu() - cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class PoolRound:
    """One dispatch over the work pool: its result, the CPU of the server, the workers and the
    runs they started, each run's timeline, and how long the server and workers took to start."""

    done: Any  # flows.scale.Dispatched
    cpu_parts: dict[str, float]  # the server's, the workers' (with their runs'), the dispatcher's
    timeline: list[dict[str, float]]
    up: float
    flowed: dict[str, Any]

    @property
    def cpu(self) -> float:
        return sum(self.cpu_parts.values())


def pool_round(settings: Any, flow_settings: Any | None, workers: int, prefect_url: str) -> PoolRound:
    """The work pool (server on PostgreSQL, ``workers`` process workers) over ``settings``'s
    inbox, then the one-process flow against the same server (unless ``flow_settings`` is
    None). The server and workers start before the clock and stop after it."""
    from flows.scale import auto_batch_size, cluster, dispatch_ingest, inbox_listing
    from flows.serve import _healthy

    port = 4200
    while _healthy(f"http://127.0.0.1:{port}/api"):
        port += 1
    files = len(inbox_listing(settings))
    start = time.perf_counter()
    with cluster(settings, workers=workers, port=port, prefect_database_url=prefect_url) as cl:
        up = time.perf_counter() - start
        server_pids, worker_pids = children_named("server start"), list(cl.workers.values())

        def parts() -> dict[str, float]:  # the flow run processes count in the workers that reaped them
            time.sleep(2.0)  # a run's process ends just after its final state: let it be reaped
            return {"server": sum(proc_cpu(p) for p in server_pids), "workers": sum(proc_cpu(p) for p in worker_pids),
                    "dispatcher": time.process_time()}

        def cluster_cpu() -> float:
            return sum(parts().values())

        before = parts()
        done = dispatch_ingest(settings, auto_batch_size(files, workers))
        cpu_parts = {k: v - before[k] for k, v in parts().items()}
        timeline = run_timeline(cl.api_url, done.runs)
        flowed: dict[str, Any] = {}
        if flow_settings is not None:
            cpu = cluster_cpu()
            flowed = flow_in_child(flow_settings, cl.api_url)
            flowed["cpu"] += cluster_cpu() - cpu  # the server's and the idle workers' part
    if done.failed:
        raise SystemExit(f"flow runs failed: {done.failed}")
    return PoolRound(done, cpu_parts, timeline, up, flowed)


def ingest_prefect(fresh: Callable[[str], Any], workers: int, prefect_url: str, plain: Stage, rounds: int,
                   with_flow: bool) -> tuple[list[Stage], dict[str, Any]]:
    """``rounds`` pairs, each a fresh workspace: ``workers`` plain processes, then the same inbox
    over the work pool (Prefect started after the plain processes end, so that its idle server
    does not slow the baseline; the order alternates). Prefect's share is the median of the
    pairs' shares: the machine's speed drifts between runs more than the share we measure. The
    one-process flow runs once, in the first round."""
    pairs: list[tuple[Stage, PoolRound]] = []
    for r in range(rounds):
        flow = fresh("flow") if with_flow and r == 0 else None
        # Plain first in odd rounds, the pool first in even ones: a drift of the machine's speed
        # over the run then weighs on both sides alike.
        if r % 2 == 0:
            parallel = ingest_parallel(fresh(f"parallel{r}"), workers)
            pool = pool_round(fresh(f"pool{r}"), flow, workers, prefect_url)
        else:
            pool = pool_round(fresh(f"pool{r}"), flow, workers, prefect_url)
            parallel = ingest_parallel(fresh(f"parallel{r}"), workers)
        pairs.append((parallel, pool))
        d = pool.done
        print(f"  round {r + 1} of {rounds}: {workers} plain processes {parallel.seconds:.2f} s, work pool "
              f"{d.wall:.2f} s ({d.batches} runs; share {(d.wall - parallel.seconds) / d.wall:.1%}); per run "
              + ", ".join(f"{k} {statistics.mean(t[k] for t in pool.timeline):.2f} s"
                          for k in ("waiting", "starting", "running", "in ingest"))
              + f"; CPU plain {parallel.cpu or 0.0:.1f} s, pool "
              + ", ".join(f"{k} {v:.1f}" for k, v in pool.cpu_parts.items()) + " s")
    shares = [(pool.done.wall - par.seconds) / pool.done.wall for par, pool in pairs]
    shares_cpu = [(pool.cpu - (par.cpu or 0.0)) / pool.cpu for par, pool in pairs]
    par_mid = statistics.median(par.seconds for par, _ in pairs)
    pool_mid = statistics.median(pool.done.wall for _, pool in pairs)
    first = pairs[0][1]
    median_of = f"median of {rounds}" if rounds > 1 else "1 round"
    stages = [
        Stage(f"ingest: plain, {workers} processes", pairs[0][0].items, par_mid,
              max(par.peak_mb or 0.0 for par, _ in pairs), note=f"{median_of}; peak per process; CPU of all",
              cpu=statistics.median(par.cpu or 0.0 for par, _ in pairs)),
        Stage(f"ingest: Prefect work pool, {workers} workers", first.done.files, pool_mid,
              max((run["peak_mb"] for _, pool in pairs for run in pool.done.runs), default=None),
              statistics.median(shares),
              note=f"{median_of}, share: median of the pairs' (vs plain, {workers} processes); "
                   f"{first.done.batches} runs",
              cpu=statistics.median(pool.cpu for _, pool in pairs), prefect_share_cpu=statistics.median(shares_cpu)),
    ]
    if first.flowed:
        f = first.flowed
        stages.insert(1, Stage("ingest: Prefect flow, 1 pass", f["files"], f["seconds"], f["peak_mb"],
                               (f["seconds"] - plain.seconds) / f["seconds"], note="vs plain, 1 pass",
                               cpu=f["cpu"], prefect_share_cpu=(f["cpu"] - (plain.cpu or 0.0)) / f["cpu"]))
    extra = {"server_and_workers_up_seconds": [pool.up for _, pool in pairs],
             "pool_rounds": [{"plain_seconds": par.seconds, "plain_cpu": par.cpu, "pool": pool.done.as_json(),
                              "pool_cpu": pool.cpu, "pool_cpu_parts": pool.cpu_parts, "share": share,
                              "share_cpu": share_cpu, "runs": pool.timeline}
                             for (par, pool), share, share_cpu in zip(pairs, shares, shares_cpu, strict=True)],
             "flow_outcomes": first.flowed.get("counts", {})}
    return stages, extra


def run_timeline(api_url: str, runs: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """Each flow run's life from Prefect's own states: waiting for a worker (scheduled to
    pending), starting (pending to running: a fresh process, Prefect's engine, the flow
    loaded), running (to completed), of which in ingest (measured inside the run)."""
    from uuid import UUID

    from prefect import get_client

    from flows.scale import using_api as _api

    out = []
    with _api(api_url), get_client(sync_client=True) as client:
        for r in runs:
            at = {st.type.value: st.timestamp for st in client.read_flow_run_states(UUID(r["flow_run"]))}
            out.append({"waiting": (at["PENDING"] - at["SCHEDULED"]).total_seconds(),
                        "starting": (at["RUNNING"] - at["PENDING"]).total_seconds(),
                        "running": (at["COMPLETED"] - at["RUNNING"]).total_seconds(),
                        "in ingest": r["seconds"], "open": r["open_seconds"]})
    return out


def coordinators(settings: Any, collection: Collection, orgs: list[Organisation], repeat: int) -> list[Stage]:
    from flows.report import choose_collections, snapshot, write_reports
    from flows.workspace import open_warehouse
    from forms.coordinators import OPERATOR, coordinators_from_registry
    from templates.coordinators import render_status

    wh = open_warehouse(settings)
    rows = wh.statuses(collection.id)
    walls = []
    for _ in range(repeat):
        t: dict[str, float] = {}
        with timed(t):
            render_status(collection, OPERATOR, rows, now=NOW)
        walls.append(t["seconds"])
    naive: dict[str, float] = {}
    with timed(naive):
        naive_status(rows)
    everyone = coordinators_from_registry(orgs, with_operator=True)
    [published] = choose_collections(wh, [collection.id])  # with its participants' logins
    snap = snapshot(wh, published, builtin_forms(), with_rows=False)
    allc: dict[str, float] = {}
    with timed(allc):
        written = write_reports(settings, wh, [snap], list(everyone), {o.login: o for o in orgs}, ("status",))
    wh.engine.dispose()
    return [Stage("status workbook, all schools (operator)", len(rows), statistics.median(walls), t["peak_mb"],
                  note=f"median of {repeat}", cpu=t["cpu"]),
            Stage("status workbook: openpyxl (naive)", len(rows), naive["seconds"], naive["peak_mb"], cpu=naive["cpu"]),
            Stage("status workbooks, every coordinator", len(written), allc["seconds"], allc["peak_mb"],
                  note="workbooks", cpu=allc["cpu"])]


def naive_status(rows: Sequence[Any]) -> bytes:
    """The participant list as one writes it with openpyxl's normal mode, no styling."""
    import openpyxl

    from forms.status import status_of

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Логин", "Наименование", "Муниципалитет", "Статус", "Дата начала работы", "Дата подачи", "Ошибок"])
    for r in rows:
        ws.append([r.login, r.full_name, r.municipality_name, str(status_of(r, False)),
                   r.first_received_at.replace(tzinfo=None) if r.first_received_at else None,
                   r.last_accepted_at.replace(tzinfo=None) if r.last_accepted_at else None, r.last_errors])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- main -----------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--orgs", type=int, default=2000, help="schools in the collection (40000: the federal case)")
    bi.add_returns_options(p)  # --rows, --errors, --seed, --duplicates, --cache
    p.add_argument("--sample", type=int, default=50, help="schools on the naive template path")
    p.add_argument("--fill-sample", type=int, default=200, help="schools whose returns openpyxl fills")
    p.add_argument("--naive-sample", type=int, default=200, help="files on the naive ingest path")
    p.add_argument("--workers", type=int, default=2, help="Prefect workers, and plain processes to compare")
    p.add_argument("--repeat", type=int, default=3, help="runs of the status workbook (median)")
    p.add_argument("--postgres",
                   default=os.environ.get("SBOR_BENCH_POSTGRES_URL") or os.environ.get("SBOR_TEST_POSTGRES_URL"),
                   help="PostgreSQL server URL (default: $SBOR_BENCH_POSTGRES_URL or $SBOR_TEST_POSTGRES_URL)")
    p.add_argument("--no-prefect", action="store_true", help="skip the Prefect stages")
    p.add_argument("--no-flow", action="store_true", help="skip the one-process Prefect flow (ingest_flow)")
    p.add_argument("--rounds", type=int, default=3,
                   help="publishes of every template (median), and pairs of plain processes and work pool runs, "
                        "alternating (Prefect's share: their median)")
    p.add_argument("--json", type=Path, default=None, help="where to write the figures (default: bench/results/)")
    p.add_argument("--scratch", type=Path, default=None,
                   help="where the templates and the workspaces are written, in a folder removed at the end "
                        "(default: inside --cache, not /tmp: see the note in main)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Not in /tmp by default: on this machine a file created in a folder under /tmp cost 0.6-0.9 ms
    # of kernel CPU against 0.03 ms anywhere else on the same disk (ext4 inode allocation in
    # /tmp's block group), which is 40,000 templates' 10 s goal by itself.
    where = args.scratch or args.cache
    where.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="sbor-federal-", dir=where))
    os.environ["SBOR_SECRET"] = SECRET.decode()  # for the workers and the plain processes
    bi.prepare_prefect(scratch / "prefect")
    dbs = Databases(args.postgres, scratch)
    try:
        return _run(args, scratch, dbs)
    finally:
        dbs.drop_all()
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args: argparse.Namespace, scratch: Path, dbs: Databases) -> int:
    load = os.getloadavg()
    form, collection = builtin_forms()[bi.FORM_ID], load_collection(bi.COLLECTION_FILE)
    orgs = bi.bench_orgs(args.orgs, args.rows, args.seed)
    stages = templates(scratch / "templates", form, collection, orgs, args.sample, args.rounds)
    inbox = args.cache / f"federal-{cache_key(args, form, collection, orgs[0])}"
    if inbox.is_dir():
        made = Counter(json.loads((inbox / "made.json").read_text()))
        print(f"returns from cache {inbox}: {dict(made)}")
    else:
        made, setup = make_returns(inbox, args, form, collection, orgs)
        stages += setup
    paths = bi.inbox_files(inbox)
    print(f"{len(paths)} returned workbooks, {args.rows} rows each: {dict(made)}")

    plain_settings = bi.workspace(scratch / "plain", orgs, form, collection, inbox, url=dbs.new("plain"), link=True)
    plain, outcomes, steps = ingest_plain(plain_settings)
    stages.append(plain)
    print(f"  plain ingest: {dict(outcomes)}; ms per workbook by step, in this process's lane only "
          "(the helper's batches are not seen here): "
          + ", ".join(f"{k} {v * 1000 / plain.items:.2f}" for k, v in steps.items()))
    stages.append(ingest_naive(paths[: args.naive_sample], scratch / "naive", orgs, form, collection))
    extra: dict[str, Any] = {"outcomes": dict(outcomes), "plain_steps_seconds": steps}
    if args.postgres and not args.no_prefect:
        def fresh(name: str) -> Any:
            return bi.workspace(scratch / name, orgs, form, collection, inbox, url=dbs.new(name), link=True)

        prefect_db = dbs.new("prefect", "postgresql+asyncpg")
        prefect_stages, more = ingest_prefect(fresh, args.workers, prefect_db, plain, args.rounds, not args.no_flow)
        stages += prefect_stages
        extra.update(more)
    stages += coordinators(plain_settings, collection, orgs, args.repeat)
    return report(args, stages, extra, load)


def report(args: argparse.Namespace, stages: list[Stage], extra: dict[str, Any], load: tuple[float, ...]) -> int:
    by = {s.name: s for s in stages}
    print()
    print(f"{'stage':<44}{'items':>8}{'ms/item':>10}{'CPU ms':>9}{'items/s':>10}{'peak MB':>9}"
          f"{'Prefect':>9}{'(CPU)':>8}  note")
    for s in stages:
        peak = f"{s.peak_mb:.0f}" if s.peak_mb is not None else ""
        share = f"{s.prefect_share:.1%}" if s.prefect_share is not None else ""
        share_cpu = f"{s.prefect_share_cpu:.1%}" if s.prefect_share_cpu is not None else ""
        cpu = f"{s.cpu_ms_per_item:.3f}" if s.cpu_ms_per_item is not None else ""
        print(f"{s.name:<44}{s.items:>8}{s.ms_per_item:>10.3f}{cpu:>9}{s.per_second:>10.0f}{peak:>9}"
              f"{share:>9}{share_cpu:>8}  {s.note}")
    ratios = {
        "templates naive/fast": by["templates: openpyxl (naive)"].ms_per_item / by["templates: fast path"].ms_per_item,
        "ingest naive/plain": (by["ingest: naive (openpyxl, pandera/file, ORM)"].ms_per_item
                               / by["ingest: plain, 1 pass"].ms_per_item),
        "status naive/fast": (by["status workbook: openpyxl (naive)"].seconds
                              / by["status workbook, all schools (operator)"].seconds),
    }
    print()
    print("  ".join(f"{k}: x{v:.1f}" for k, v in ratios.items()))
    fed = 40_000
    print(f"goals: {fed:,} templates {by['templates: fast path'].ms_per_item * fed / 1000:.1f} s (<= 10); "
          f"ingest {by['ingest: plain, 1 pass'].ms_per_item:.2f} ms/workbook (<= 5); "
          f"status workbook {by['status workbook, all schools (operator)'].seconds:.2f} s "
          f"for {args.orgs:,} (<= 3 s at 40,000)"
          + "".join(f"; Prefect's share, {s.name.split(': ')[1]} {s.prefect_share:.1%} of the wall time, "
                    f"{s.prefect_share_cpu:.1%} of the CPU time (<= 10% at 10,000)"
                    for s in stages if s.prefect_share is not None and s.prefect_share_cpu is not None))
    end = os.getloadavg()
    print(f"load average {load[0]:.1f} at the start, {end[0]:.1f} at the end ({os.cpu_count()} cores)")
    out = args.json or HERE / "results" / f"federal-{args.orgs}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "postgres"},
        "cores": os.cpu_count(), "load_average": {"start": load, "end": end},
        "stages": [{**asdict(s), "ms_per_item": s.ms_per_item, "cpu_ms_per_item": s.cpu_ms_per_item,
                    "per_second": s.per_second} for s in stages],
        "ratios": ratios, **extra,
    }, indent=2, ensure_ascii=False, default=str))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
