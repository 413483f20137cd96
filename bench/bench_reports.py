"""How fast the coordinators' workbooks are written.

1. The status workbook of one collection for N organisations (the operator's view, which holds
   every school and a per-region sheet; and one region's view): median of --repeat runs.
   Target: 40,000 organisations in 3 s or less.
2. The results workbook's write rate in cells per second, against a plain openpyxl writer
   (normal mode, no styles) writing the same cells from the same frame in the same run.

Example: python bench/bench_reports.py --orgs 40000
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import polars as pl

import forms
from forms import MOSCOW, Organisation, builtin_forms, load_collection
from forms.coordinators import OPERATOR, Coordinator
from forms.spec import NO, YES, Form
from forms.status import OrgStatus
from templates.coordinators import render_results, render_status

COLLECTION = Path(forms.__file__).parent / "collections" / "spo_specialities_2026.yaml"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=MOSCOW)
REGIONS = 10
MUNICIPALITIES = 40  # per region


def registry(count: int) -> list[Organisation]:
    per_region = max(1, -(-count // REGIONS))
    orgs = []
    for i in range(count):
        region = f"{i // per_region + 1:02d}"
        mun = f"{region}{i % MUNICIPALITIES + 1:02d}"
        orgs.append(Organisation(
            f"spo{region}{i % per_region:04d}",
            f"Государственное бюджетное профессиональное образовательное учреждение "
            f"«Колледж № {i}»", f"ГБПОУ Колледж № {i}", region, f"Регион {region}", mun,
            f"Муниципальный район {mun}", "spo"))
    return orgs


def statuses(orgs: list[Organisation]) -> list[OrgStatus]:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=MOSCOW)
    rows = []
    for i, org in enumerate(orgs):
        files, accepted = i % 3, (1 if i % 3 == 1 else 0)
        first = start + timedelta(minutes=7 * i) if files else None
        last = first + timedelta(hours=5) if accepted and first else None
        rows.append(OrgStatus.of(org, first_received_at=first, last_accepted_at=last,
                                 files=files, accepted=accepted, last_errors=3 * (i % 3 == 2)))
    return rows


def results_frame(form: Form, orgs: list[Organisation], rows_per_org: int) -> pl.DataFrame:
    sheet = form.sheets[0]
    data: dict[str, list[object]] = {"login": [], "row_number": []}
    for f in sheet.fields:
        data[f.name] = []
    for org in orgs:
        for n in range(1, rows_per_org + 1):
            data["login"].append(org.login)
            data["row_number"].append(n)
            for f in sheet.fields:
                day = date(2027, 2, 1) + timedelta(days=n)
                value: object = {"integer": n * 7, "decimal": n / 4, "date": day,
                                 "yesno": n % 2 == 0}.get(f.type, f"{f.title[:20]} {n}")
                data[f.name].append(value)
    return pl.DataFrame(data)


def timed(run: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (this process, all threads) of each run. CPU time is shown
    too because on a shared machine the wall clock also measures the neighbours."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def openpyxl_plain(form: Form, frame: pl.DataFrame, orgs: dict[str, Organisation]) -> bytes:
    """The same cells with openpyxl in its normal mode: header, then one row per frame row."""
    sheet = form.sheets[0]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet.name
    ws.append(["Логин", "Наименование", *(f.label for f in sheet.fields)])
    names = [f.name for f in sheet.fields]
    for row in frame.select("login", *names).iter_rows():
        org = orgs[row[0]]
        ws.append([row[0], org.short_name,
                   *((YES if v else NO) if isinstance(v, bool) else v for v in row[1:])])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Example: python bench/bench_reports.py --orgs 40000")
    parser.add_argument("--orgs", type=int, default=40_000, help="organisations in the status "
                        "workbook (default 40000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs to take the median of")
    parser.add_argument("--results-orgs", type=int, default=None, help="organisations in the "
                        "results comparison (default: --orgs, at most 4000: openpyxl is slow)")
    parser.add_argument("--rows-per-org", type=int, default=5, help="rows each organisation "
                        "reports in the results comparison (default 5)")
    args = parser.parse_args(argv)

    collection = load_collection(COLLECTION)
    orgs = registry(args.orgs)
    rows = statuses(orgs)
    region = Coordinator("reg01", "regional", "01", None, "Регион 01")
    for who, label in ((OPERATOR, "operator view, all"), (region, "regional view, region 01 of")):
        size = len(render_status(collection, who, rows, now=NOW))
        times, cpu = timed(lambda who=who: render_status(collection, who, rows, now=NOW),
                           args.repeat)
        print(f"status workbook ({label} {args.orgs} organisations): median "
              f"{statistics.median(times):.2f} s of {args.repeat} (min {min(times):.2f}, max "
              f"{max(times):.2f}; CPU median {statistics.median(cpu):.2f} s), "
              f"{size / 1e6:.1f} MB")

    form = builtin_forms()["spo_specialities"]
    subset = orgs[: args.results_orgs or min(args.orgs, 4000)]
    by_login = {o.login: o for o in subset}
    frame = results_frame(form, subset, args.rows_per_org)
    frames = {form.sheets[0].table: frame}
    cells = (frame.height + 1) * (2 + len(form.sheets[0].fields))
    ours = statistics.median(timed(
        lambda: render_results(form, collection, OPERATOR, frames, by_login, now=NOW),
        max(1, min(args.repeat, 3)))[0])
    plain = statistics.median(timed(lambda: openpyxl_plain(form, frame, by_login), 1)[0])
    print(f"results workbook, {frame.height} rows x {2 + len(form.sheets[0].fields)} columns "
          f"= {cells} cells: sbor {ours:.2f} s ({cells / ours:,.0f} cells/s); openpyxl normal "
          f"mode {plain:.2f} s ({cells / plain:,.0f} cells/s); sbor is {plain / ours:.1f}x "
          "faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
