"""Benchmark ingest end to end against the naive path and the bare read, on the same files.

    /work/venv/bin/python bench/bench_ingest.py --files 2000 --rows 50

Setup (not timed): a workspace per run in a temporary folder (SQLite warehouse), ``--files``
spo organisations teaching ``--rows`` specialities each, the spo-specialities collection
published, and each school's own template (TemplateFactory) filled with openpyxl as a school's
spreadsheet program would save it (flows.simulate): most correctly, about ``--errors`` of them
with a few mistakes, and about ``--duplicates`` of them sent twice. Filling thousands of files
with openpyxl takes minutes, so it runs in a process pool and the inbox is cached in ``--cache``
under a key of the parameters and the templates' signed cells (a change of form, layout or
signing makes a new key).

Timed, in ms per workbook over the whole inbox:
- real: ``flows.ingest.ingest(settings)`` without Prefect (pre-check, identity, read, validate,
  load, archive, answer), with a breakdown per stage; the median of ``--repeat`` runs, each on a
  fresh copy of the workspace (the real path consumes its inbox);
- naive: openpyxl (read-only) reading of the form sheet, pandera per workbook, ORM inserts (one
  ``session.add`` per row, one transaction per workbook);
- bare: fastexcel reading every worksheet of every file, no casting;
- Prefect: the same ingest through ``flows.ingest.ingest_flow`` under a temporary Prefect home
  (ephemeral API), after one warm-up run that starts it, between two plain runs; Prefect's share
  of the flow's wall time against their mean.

Peak memory: ru_maxrss of this process after the real runs (the setup keeps little: filling runs
in child processes) and tracemalloc's peak of one extra, untimed real run (Python objects only;
polars' and calamine's own buffers are not traced).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from forms import MOSCOW, Collection, Form, Organisation, builtin_forms, load_collection  # noqa: E402
from forms.loader import DATA_DIR  # noqa: E402

if TYPE_CHECKING:
    from flows.settings import Settings

SECRET = b"bench-secret-not-for-production"
NOW = datetime(2026, 12, 1, 12, tzinfo=MOSCOW)
COLLECTION_FILE = DATA_DIR.parent / "collections" / "spo_specialities_2026.yaml"
FORM_ID = "spo_specialities"
SHEET = "Специальности"
# Bump when the way files are made changes: the cache key covers the data, not this code.
CACHE_VERSION = 1
POOL_FROM = 40  # fewer files than this are filled in this process


# -- setup (not timed) ----------------------------------------------------------------------

def bench_orgs(count: int, rows: int, seed: int) -> list[Organisation]:
    """``count`` spo organisations of the synthetic registry, each teaching ``rows``
    specialities of the form's list (the registry's own teach 2-8)."""
    from forms.registry import generate_registry, specialities

    codes = sorted(specialities())
    if rows > len(codes):
        raise SystemExit(f"--rows {rows}: the speciality list has only {len(codes)} codes")
    rng = random.Random(seed)
    size = max(200, count * 6)
    while True:
        spo = [o for o in generate_registry(size, seed=seed) if o.kind == "spo"]
        if len(spo) >= count:
            break
        size *= 2
    return [replace(o, specialities=tuple(sorted(rng.sample(codes, rows)))) for o in spo[:count]]


_FORM_CACHE: dict[str, Form] = {}


def _fill(job: tuple[bytes, dict[str, list[dict[str, Any]]]]) -> bytes:
    """One school's workbook: its template with ``values`` typed in (runs in a pool worker)."""
    from flows.simulate import fill

    form = _FORM_CACHE.get(FORM_ID) or _FORM_CACHE.setdefault(FORM_ID, builtin_forms()[FORM_ID])
    template, values = job
    return fill(template, form, values)


def cache_key(args: argparse.Namespace, form: Form, collection: Collection, first: Organisation) -> str:
    from templates.school import Personaliser

    # The signed identity covers the form's layout fingerprint: a changed template is a new key.
    cells = Personaliser(form, collection).cells(first, SECRET)
    blob = json.dumps([CACHE_VERSION, args.files, args.rows, args.seed, args.errors, args.duplicates,
                       COLLECTION_FILE.read_text(), {k: dict(v) for k, v in cells.items()}],
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_inbox(folder: Path, args: argparse.Namespace, form: Form, collection: Collection,
               orgs: list[Organisation]) -> Counter[str]:
    """Fill every school's own template into ``folder/<login>/``; returns what was made."""
    from flows.simulate import good_values, spoil
    from templates import TemplateFactory

    rng = random.Random(args.seed)
    factory = TemplateFactory(form, collection, SECRET)
    jobs, made = [], Counter[str]()
    for org in orgs:
        values = good_values(form, collection, org, rng)
        if rng.random() < args.errors:
            values = spoil(form, values, rng)
            made["with errors"] += 1
        else:
            made["correct"] += 1
        jobs.append((factory.render(org), values))
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    if len(jobs) >= POOL_FROM:
        # spawn, not fork: polars' threads are running in this process already.
        import multiprocessing

        with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")) as pool:
            filled = pool.map(_fill, jobs, chunksize=16)
            _write_all(tmp, collection, orgs, filled, rng, args.duplicates, made)
    else:
        _write_all(tmp, collection, orgs, map(_fill, jobs), rng, args.duplicates, made)
    (tmp / "made.json").write_text(json.dumps(made))
    os.replace(tmp, folder)
    return made


def _write_all(folder: Path, collection: Collection, orgs: list[Organisation], filled: Any,
               rng: random.Random, duplicates: float, made: Counter[str]) -> None:
    for org, data in zip(orgs, filled, strict=True):
        sender = folder / org.login
        sender.mkdir(parents=True)
        (sender / f"{collection.id}.xlsx").write_bytes(data)
        if rng.random() < duplicates:  # the same file sent again under another name
            (sender / f"{collection.id}-повторно.xlsx").write_bytes(data)
            made["duplicates"] += 1


def inbox_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*/*.xlsx"))


def workspace(root: Path, orgs: list[Organisation], form: Form, collection: Collection,
              inbox: Path | None, batch_size: int = 0, workers: int = 0, *, url: str | None = None,
              link: bool = False) -> Settings:
    """A fresh workspace: the warehouse (SQLite in it, or ``url``), registry, the collection
    published, the inbox copied, or hard-linked with ``link`` when it is on the same file system
    (ingest renames files, never changes them; their modification times, the ingest's order,
    come along)."""
    from flows.settings import Settings
    from flows.workspace import open_warehouse
    from warehouse import sqlite_url

    settings = Settings(home=root, database_url=url or sqlite_url(root / "var" / "sbor.db"), fixed_now=NOW,
                        secret_override=SECRET, batch_size=batch_size or Settings.batch_size,
                        workers=workers or Settings.workers)
    wh = open_warehouse(settings)
    wh.upsert_organisations(orgs)
    wh.publish(collection, form, [o.login for o in orgs])
    wh.engine.dispose()
    if inbox is not None:
        shutil.rmtree(settings.inbox)
        shutil.copytree(inbox, settings.inbox, copy_function=os.link if link else shutil.copy2,
                        ignore=shutil.ignore_patterns("*.json"))
    return settings


# -- the three paths ------------------------------------------------------------------------

def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (worker processes), user + system:
    on a shared machine steadier than the wall clock."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class RealRun:
    wall: float  # seconds
    cpu: float
    stages: dict[str, float]
    outcomes: Counter[str]


def real_path(settings: Settings) -> RealRun:
    from flows.ingest import ingest

    timings: dict[str, float] = {}
    start, cpu = time.perf_counter(), cpu_seconds()
    outcomes = ingest(settings, timings=timings)
    wall = time.perf_counter() - start
    return RealRun(wall, cpu_seconds() - cpu, timings, Counter(o.outcome for o in outcomes))


def naive_path(paths: Sequence[Path], root: Path, orgs: list[Organisation], form: Form,
               collection: Collection) -> tuple[float, float, Counter[str]]:
    """openpyxl read, pandera per workbook, ORM inserts: what one writes without measuring."""
    import polars as pl
    import sqlalchemy as sa
    from openpyxl import load_workbook
    from sqlalchemy.orm import Session, registry

    from forms import layout
    from validators import build_schema
    from validators.casting import DTYPES
    from validators.schema import validate
    from warehouse import Warehouse, connect, sqlite_url

    sheet = form.sheet(SHEET)
    root.mkdir(parents=True, exist_ok=True)
    wh = Warehouse(connect(sqlite_url(root / "naive.db")), [form])
    wh.create()
    wh.upsert_organisations(orgs)
    wh.publish(collection, form, [o.login for o in orgs])

    class Submission:
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    class Row:
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    mapper = registry()
    mapper.map_imperatively(Submission, wh.fixed.submissions)
    mapper.map_imperatively(Row, wh.tables(form)[sheet.table])
    schema = build_schema(form, sheet, collection)
    yes = {"да": True, "нет": False}
    width = len(sheet.fields)
    outcomes: Counter[str] = Counter()
    start, cpu = time.perf_counter(), cpu_seconds()
    with Session(wh.engine) as session:
        for path in paths:
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            if session.scalars(sa.select(Submission).filter_by(sha256=sha)).first() is not None:
                outcomes["duplicate"] += 1
                continue
            wb = load_workbook(path, read_only=True, data_only=True)
            rows: list[tuple[Any, ...]] = []
            for values in wb[SHEET].iter_rows(min_row=layout.FIRST_ROW, max_col=width, values_only=True):
                if all(v is None for v in values):
                    break
                rows.append(values)
            wb.close()
            columns: dict[str, list[Any]] = {"file_index": [0] * len(rows),
                                             "row_number": list(range(1, len(rows) + 1))}
            for j, f in enumerate(sheet.fields):
                raw = [r[j] for r in rows]
                if f.type == "integer":
                    columns[f.name] = [v if isinstance(v, int) else _int_or_none(v) for v in raw]
                elif f.type == "yesno":
                    columns[f.name] = [yes.get(str(v).strip().lower()) if v is not None else None for v in raw]
                else:
                    columns[f.name] = [None if v is None else str(v) for v in raw]
            frame = pl.DataFrame(columns, schema={"file_index": pl.Int64, "row_number": pl.Int64,
                                                  **{f.name: DTYPES[f.type] for f in sheet.fields}})
            accepted = validate(schema, frame) is None
            sub = Submission(sha256=sha, file_name=path.name, received_at=NOW,
                             collection_id=collection.id, login=path.parent.name, form_id=form.id,
                             form_version=form.version, outcome="accepted" if accepted else "rejected",
                             error_count=0 if accepted else 1, warning_count=0,
                             processed_at=datetime.now(UTC))
            session.add(sub)
            session.flush()
            if accepted:
                for record in frame.drop("file_index").iter_rows(named=True):
                    session.add(Row(submission_id=sub.id, **record))
            session.commit()
            outcomes["accepted" if accepted else "rejected"] += 1
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    wh.engine.dispose()
    return wall, cpu, outcomes


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def bare_read(paths: Sequence[Path]) -> tuple[float, float]:
    """fastexcel reading every worksheet of every file into polars, no dtypes given: (wall, CPU)."""
    import fastexcel

    start, cpu = time.perf_counter(), cpu_seconds()
    for path in paths:
        reader = fastexcel.read_excel(path)
        for name in reader.sheet_names:
            reader.load_sheet_by_name(name, header_row=None).to_polars()
    return time.perf_counter() - start, cpu_seconds() - cpu


# -- Prefect ----------------------------------------------------------------------------------

def prepare_prefect(home: Path) -> None:
    """A temporary Prefect home and its ephemeral API; set before Prefect is first imported."""
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")


def prefect_run(settings: Settings) -> tuple[float, Counter[str]]:
    """(wall, outcomes) of one ingest through Prefect's engine."""
    from flows.ingest import ingest_flow

    start = time.perf_counter()
    outcomes = ingest_flow(settings)
    return time.perf_counter() - start, Counter(o.outcome for o in outcomes)


def prefect_share(scratch: Path, inbox: Path, orgs: list[Organisation], form: Form,
                  collection: Collection, batch_size: int) -> tuple[float, float, float, Counter[str]]:
    """(warm-up, flow wall, plain wall, outcomes): a warm-up ingest of an empty inbox starts the
    ephemeral API and migrates its database (a one-off), then the flow runs between two plain
    runs on fresh copies, whose mean it is compared with: the machine's load drifts."""
    start = time.perf_counter()
    prefect_run(workspace(scratch / "prefect-warm", orgs[:1], form, collection, None))
    warmup = time.perf_counter() - start
    plain: list[float] = []
    flow, outcomes = 0.0, Counter[str]()
    for name in ("plain-before", "prefect", "plain-after"):
        settings = workspace(scratch / name, orgs, form, collection, inbox, batch_size)
        if name == "prefect":
            flow, outcomes = prefect_run(settings)
        else:
            plain.append(real_path(settings).wall)
        shutil.rmtree(settings.home)
    return warmup, flow, statistics.mean(plain), outcomes


# -- main -------------------------------------------------------------------------------------

def add_returns_options(parser: argparse.ArgumentParser, *, errors: float = 0.10, seed: int = 2026,
                        inbox: bool = True) -> None:
    """The options that say what the schools return, alike in every bench that fills their
    workbooks: rows per workbook, the share with mistakes, the seed; for an inbox also the share
    sent twice and where a filled inbox is kept between runs."""
    parser.add_argument("--rows", type=int, default=50, help="rows (specialities) per workbook")
    parser.add_argument("--errors", type=float, default=errors, help="share of workbooks with mistakes")
    parser.add_argument("--seed", type=int, default=seed)
    if inbox:
        parser.add_argument("--duplicates", type=float, default=0.01, help="share of schools sending their file twice")
        parser.add_argument("--cache", type=Path,
                            default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sbor-bench",
                            help="where filled inboxes are kept between runs")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="schools, one workbook each")
    add_returns_options(parser)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the real path and the bare read")
    parser.add_argument("--naive-repeat", type=int, default=1, help="runs of the naive path (slow)")
    parser.add_argument("--batch-size", type=int, default=0,
                        help="files per batch (default: the settings' default, SBOR_BATCH_SIZE's)")
    parser.add_argument("--workers", type=int, default=0,
                        help="lanes of a large pass (default: the settings' default, SBOR_WORKERS's)")
    parser.add_argument("--no-prefect", action="store_true", help="skip the run through Prefect")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced extra run")
    return parser


def _ms(seconds: float, n: int) -> float:
    return seconds * 1000 / n


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="sbor-bench-ingest-"))
    try:
        if not args.no_prefect:
            prepare_prefect(scratch / "prefect")
        return _run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args: argparse.Namespace, scratch: Path) -> int:
    form = builtin_forms()[FORM_ID]
    collection = load_collection(COLLECTION_FILE)
    orgs = bench_orgs(args.files, args.rows, args.seed)
    inbox = args.cache / f"ingest-{cache_key(args, form, collection, orgs[0])}"
    if not inbox.is_dir():
        start = time.perf_counter()
        made = make_inbox(inbox, args, form, collection, orgs)
        print(f"filled {sum(made.values())} workbooks in {time.perf_counter() - start:.1f} s: {dict(made)} "
              f"(cached in {inbox})")
    else:
        print(f"inbox from cache {inbox}: {json.loads((inbox / 'made.json').read_text())}")
    paths = inbox_files(inbox)
    n = len(paths)
    size = sum(p.stat().st_size for p in paths) / n / 1024
    from flows.settings import Settings

    print(f"{n} workbooks, {args.rows} rows each, {size:.0f} KB on average; "
          f"batches of {args.batch_size or Settings.batch_size}")
    rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    runs: list[RealRun] = []
    for i in range(args.repeat):
        settings = workspace(scratch / f"real{i}", orgs, form, collection, inbox, args.batch_size, args.workers)
        runs.append(real_path(settings))
        shutil.rmtree(settings.home)
        print(f"  real run {i + 1}: {_ms(runs[-1].wall, n):.2f} ms/workbook {dict(runs[-1].outcomes)} "
              f"on {settings.workers} lane(s)")
    lanes = settings.workers
    # The breakdown per stage comes from a run in one process: with lanes, the stages of the
    # batches run by helper processes are not seen here.
    settings = workspace(scratch / "one", orgs, form, collection, inbox, args.batch_size, 1)
    single = real_path(settings)
    shutil.rmtree(settings.home)
    print(f"  one-process run: {_ms(single.wall, n):.2f} ms/workbook {dict(single.outcomes)}")
    rss_real = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    real = statistics.median(r.wall for r in runs)
    traced = None
    if not args.no_tracemalloc:
        settings = workspace(scratch / "traced", orgs, form, collection, inbox, args.batch_size)
        tracemalloc.start()
        real_path(settings)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        shutil.rmtree(settings.home)

    bare_runs = [bare_read(paths) for _ in range(args.repeat)]
    bare, bare_cpu = (statistics.median(r[k] for r in bare_runs) for k in (0, 1))
    naive_runs: list[tuple[float, float]] = []
    for i in range(args.naive_repeat):
        wall, cpu, naive_outcomes = naive_path(paths, scratch / f"naive{i}", orgs, form, collection)
        naive_runs.append((wall, cpu))
        print(f"  naive run {i + 1}: {_ms(wall, n):.2f} ms/workbook {dict(naive_outcomes)}")
    naive, naive_cpu = (statistics.median(r[k] for r in naive_runs) for k in (0, 1))

    flow = plain = None
    if not args.no_prefect:
        warmup, flow, plain, flow_outcomes = prefect_share(scratch, inbox, orgs, form, collection, args.batch_size)
        print(f"  Prefect: warm-up {warmup:.1f} s (ephemeral API start), run {_ms(flow, n):.2f} ms/workbook "
              f"{dict(flow_outcomes)}; plain runs around it {_ms(plain, n):.2f} ms/workbook")

    real_cpu = statistics.median(r.cpu for r in runs)
    print()
    print(f"{'path':<44}{'ms/workbook':>12}{'CPU ms':>10}")
    real_label = f"real: flows.ingest.ingest, {lanes} lane(s) (median of {len(runs)})"
    print(f"{real_label:<44}{_ms(real, n):>12.2f}{_ms(real_cpu, n):>10.2f}")
    print(f"{'real: one process, per stage':<44}{_ms(single.wall, n):>12.2f}{_ms(single.cpu, n):>10.2f}")
    stages = single.stages
    for name, seconds in stages.items():
        print(f"{'  ' + name:<44}{_ms(seconds, n):>12.2f}")
    rest = single.wall - sum(stages.values())
    print(f"{'  other (loop, outcomes)':<44}{_ms(rest, n):>12.2f}")
    print(f"{'naive: openpyxl + pandera/file + ORM':<44}{_ms(naive, n):>12.2f}{_ms(naive_cpu, n):>10.2f}")
    print(f"{'bare: fastexcel, every sheet':<44}{_ms(bare, n):>12.2f}{_ms(bare_cpu, n):>10.2f}")
    if flow is not None:
        print(f"{'Prefect: flows.ingest.ingest_flow':<44}{_ms(flow, n):>12.2f}")
    print()
    print(f"real/naive  {real / naive:6.3f}  (naive is x{naive / real:.1f} the real path; goal >= x10)")
    print(f"real/bare   {real / bare:6.2f}  (goal <= 4)")
    print(f"real        {_ms(real, n):6.2f} ms/workbook (goal <= 5)")
    print(f"CPU ratios: real/naive {real_cpu / naive_cpu:.3f}, real/bare {real_cpu / bare_cpu:.2f} "
          "(the wall clock varies with the machine's other load, CPU time less)")
    if flow is not None and plain is not None:
        print(f"Prefect's share of the flow's wall time: {(flow - plain) / flow:.1%} "
              "(against the mean of a plain run before and after it)")
    print(f"peak RSS {rss_real:.0f} MB after the real runs ({rss_setup:.0f} MB after setup)"
          + (f"; tracemalloc peak of one real run {traced:.0f} MB" if traced is not None else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
