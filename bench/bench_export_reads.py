"""What «Экспорт результатов» reads (issue 14), on PostgreSQL with --orgs schools that all sent
«Информация об ОО» (``bench_report_runs.populate``), the operator's share and one region's, in
rounds that take each way in turn (same-run medians):

- before: every school's current rows (``Warehouse.current_rows``), the whole registry
  (``Warehouse.organisations``, for the names and the territory) and the participant list, as
  the export read them until it read its share alone;
- cursor: ``warehouse.exports.results_share`` with the driver's cursor (``read_frame``);
- copy: the same with ``COPY … TO STDOUT`` as CSV parsed by polars (``copy_frame``, what the
  export uses).

Example: python bench/bench_export_reads.py --orgs 40000 --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_web import scratch  # noqa: E402 (imports no Prefect: its home is set later)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=40_000)
    ap.add_argument("--rounds", type=int, default=9, help="rounds of every way, medians taken")
    ap.add_argument("--url", required=True, help="PostgreSQL server URL (a schema is made and dropped)")
    args = ap.parse_args()
    with scratch(args.url, "bench_reads") as (url, home):  # a schema and a folder of its own, removed after
        run(url, home, args)


def run(url: str, home: Path, args: argparse.Namespace) -> None:
    from bench_report_runs import populate

    from flows.commands.context import prepare_prefect
    from flows.report import choose_collections
    from flows.settings import load_settings
    from flows.workspace import open_warehouse
    from forms import builtin_forms
    from warehouse.exports import Scope, results_share
    from warehouse.frames import copy_frame, read_frame

    settings = load_settings(home, url, env={"SBOR_SECRET": "bench-secret"})
    prepare_prefect(settings)
    collection_id, regional = populate(settings, args.orgs)
    wh = open_warehouse(settings)
    row = wh.collection(collection_id)
    assert row is not None
    form = builtin_forms()[row.form_id]
    region = regional.removeprefix("reg")

    def before() -> object:
        frames = {s.table: wh.current_rows(form, s, collection_id) for s in form.sheets}
        return frames, wh.organisations(), choose_collections(wh, [collection_id])

    ways: dict[str, Callable[[], object]] = {
        "before: all rows + registry + participants": before,
        "cursor, operator": lambda: results_share(wh, form, collection_id, Scope(), read_frame),
        "copy, operator": lambda: results_share(wh, form, collection_id, Scope(), copy_frame),
        f"cursor, region {region}": lambda: results_share(wh, form, collection_id, Scope(region), read_frame),
        f"copy, region {region}": lambda: results_share(wh, form, collection_id, Scope(region), copy_frame),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            t = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - t)
    wh.engine.dispose()
    base = statistics.median(times["before: all rows + registry + participants"])
    print(f"{args.orgs} schools on PostgreSQL, medians of {args.rounds} rounds (load {os.getloadavg()[0]:.1f}):")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"  {name}: {m * 1000:.0f} ms (min {min(values) * 1000:.0f}), ÷ before {m / base:.2f}")


if __name__ == "__main__":
    main()
