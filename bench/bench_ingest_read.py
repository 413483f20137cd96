"""Benchmark the reading side of ingest: pre-check, reading (calamine, fastexcel, openpyxl),
validation concatenated vs one by one, and judge_batch end to end.

    /work/venv/bin/python bench/bench_ingest_read.py --files 2000 --rows 50

Workbooks are real specialities templates filled with openpyxl (``--variants`` distinct ones, 10%
of them with errors), copied to ``--files`` paths. Prints ms per workbook for each step.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import fastexcel
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from workbooks import SECRET, fill, sample_org  # noqa: E402

from forms import MOSCOW, builtin_forms, load_collection  # noqa: E402
from forms.loader import DATA_DIR  # noqa: E402
from templates import render_template  # noqa: E402
from validators import Context, judge_batch  # noqa: E402
from validators.judge import _prepare, _validate_batch  # noqa: E402
from validators.safety import inspect_file  # noqa: E402

SHEET = "Специальности"


def build_files(folder: Path, files: int, rows: int, variants: int) -> tuple[Context, list[Path]]:
    form = builtin_forms()["spo_specialities"]
    collection = load_collection(DATA_DIR.parent / "collections" / "spo_specialities_2026.yaml")
    orgs = [sample_org(number=i, specialities=()) for i in range(variants)]
    context = Context.build([collection], [form], {collection.id: [o.login for o in orgs]}, SECRET,
                            datetime(2026, 12, 1, 12, tzinfo=MOSCOW))
    codes = list(form.choices_for(form.sheets[0].field("1")))
    subjects = list(form.choices_for(form.sheets[0].field("1.1")))
    rng = random.Random(7)
    made: list[bytes] = []
    for i, org in enumerate(orgs):
        table = []
        for code in rng.sample(codes, rows):
            budget, paid, quota = rng.randint(0, 300), rng.randint(0, 100), rng.randint(0, 200)
            table.append({"1": code, "1.1": rng.choice(subjects), "1.2": rng.choice(subjects),
                          "2": rng.randint(1, 4), "3": budget + paid, "3.1": budget, "3.2": paid,
                          "4": quota, "5": quota + rng.randint(0, 500), "6": rng.choice(["Да", "Нет"])})
        if i % 10 == 9:  # one in ten with errors in a few cells
            table[3]["3"] = "много"
            table[7]["2"] = 7
            table[9]["6"] = "может быть"
        made.append(fill(render_template(form, collection, org, SECRET), {SHEET: table}, form))
    paths = []
    for n in range(files):
        path = folder / f"{n:05d}.xlsx"
        path.write_bytes(made[n % variants])
        paths.append(path)
    return context, paths


class Clock:
    """Wall and CPU time of this process: on a shared machine the CPU figure is the steadier."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def report(self, label: str, n: int, extra: str = "") -> float:
        wall = (time.perf_counter() - self.wall) * 1000 / n
        cpu = (time.process_time() - self.cpu) * 1000 / n
        print(f"{label:<56} {wall:8.3f} ms wall {cpu:8.3f} ms CPU /workbook {extra}")
        return cpu


def per_file(label: str, paths: list[Path], work: Callable[[Path], Any]) -> float:
    clock = Clock()
    for path in paths:
        work(path)
    return clock.report(label, len(paths), f"({len(paths)} files)")


def calamine_read(path: Path) -> list[list[Any]]:
    with CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes())) as wb:
        return wb.get_sheet_by_name(SHEET).to_python(skip_empty_area=False)


def fastexcel_read(path: Path) -> Any:
    return fastexcel.read_excel(path).load_sheet_by_name(SHEET, header_row=None).to_polars()


def openpyxl_read(path: Path) -> list[tuple[Any, ...]]:
    wb = load_workbook(path, read_only=True, data_only=True)
    rows = list(wb[SHEET].iter_rows(values_only=True))
    wb.close()
    return rows


def gil_probe(data: bytes) -> None:
    """Does calamine let the GIL go while it parses? Count a Python loop's progress in the main
    thread while another thread parses, against a control thread that holds the GIL."""
    def parse() -> None:
        for _ in range(20):
            with CalamineWorkbook.from_filelike(io.BytesIO(data)) as wb:
                wb.get_sheet_by_name(SHEET).to_python(skip_empty_area=False)

    def python_work() -> None:
        total = 0
        for i in range(2_000_000):
            total += i

    def spin(seconds: float) -> int:
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            n += 1
        return n

    for label, work in (("calamine parsing", parse), ("control: pure Python", python_work)):
        start = time.perf_counter()
        work()
        took = time.perf_counter() - start
        idle = spin(took)
        thread = threading.Thread(target=work)
        thread.start()
        busy = spin(took)
        thread.join()
        print(f"GIL probe, {label:<22} main thread keeps {busy / idle:.0%} of its idle progress")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--one-by-one", type=int, default=200, help="workbooks validated one by one")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sbor-bench-"))
    try:
        t0 = time.perf_counter()
        context, paths = build_files(folder, args.files, args.rows, args.variants)
        print(f"built {len(paths)} files ({args.variants} variants, {args.rows} rows) in "
              f"{time.perf_counter() - t0:.1f} s; {paths[0].stat().st_size / 1024:.0f} KB each")
        limits = context.limits
        pre = per_file("pre-check (zip metadata, capped inflate, scans)", paths,
                       lambda p: inspect_file(p, limits=limits))
        cal = per_file("read: calamine, form sheet (bare)", paths, calamine_read)
        fxl = per_file("read: fastexcel, form sheet (bare, to polars)", paths, fastexcel_read)
        opx = per_file("read: openpyxl read_only, form sheet", paths[: args.one_by_one], openpyxl_read)
        gil_probe(paths[0].read_bytes())
        clock = Clock()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(calamine_read, paths))
        clock.report("read: calamine, 2 threads", len(paths))
        prepare = per_file("prepare: pre-check + identity + read to raw frames", paths,
                           lambda p: _prepare(p, None, p.name, context))
        batch = [_prepare(p, None, p.name, context) for p in paths[:1000]]
        clock = Clock()
        _validate_batch(batch)
        together = clock.report(f"validate: cast + pandera + rules, {len(batch)} concatenated", len(batch))
        clock = Clock()
        for item in batch[: args.one_by_one]:
            _validate_batch([item])
        alone = clock.report("validate: the same, one workbook per call", args.one_by_one)
        print(f"  one by one is x{alone / together:.0f} the concatenated cost")
        clock = Clock()
        verdicts = judge_batch(paths, context)
        total = clock.report("judge_batch end to end (2 threads)", len(paths))
        outcomes: dict[str, int] = {}
        for v in verdicts:
            outcomes[v.outcome] = outcomes.get(v.outcome, 0) + 1
        print(f"  outcomes {outcomes}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"CPU ratios: openpyxl/calamine read x{opx / cal:.0f}; judge/bare calamine read x{total / cal:.1f}; "
              f"judge/bare fastexcel read x{total / fxl:.1f}; pre-check {pre:.2f} ms, prepare {prepare:.2f} ms; "
              f"peak RSS {peak:.0f} MB")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
