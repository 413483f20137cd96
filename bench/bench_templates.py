"""Benchmark: personalised templates the plain openpyxl way and the spliced fast way, same run.

    python bench/bench_templates.py --orgs 2000

Each way renders its organisations and writes one .xlsx per organisation into a folder (writing
is part of the job); each is repeated and the median time per template is printed, with the
ratio and the extrapolation to the federal case of 40,000 organisations.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from forms import Collection, Form, Organisation, builtin_forms, load_collection
from forms.loader import DATA_DIR
from templates import TemplateFactory, render_template

FEDERAL = 40_000
SECRET = b"bench-secret"


def _collection_for(form: Form) -> Collection:
    for path in sorted((DATA_DIR.parent / "collections").glob("*.yaml")):
        collection = load_collection(path)
        if collection.form_id == form.id:
            return collection
    raise SystemExit(f"no collection in forms/collections uses form {form.id}")


def _participants(collection: Collection, count: int) -> list[Organisation]:
    """``count`` participants from the synthetic registry (spo colleges with their specialities
    for the speciality form, so the per-organisation prefill is measured too)."""
    from forms.registry import generate_registry

    size = max(count * 2, 100)
    while True:
        chosen = collection.participants.select(generate_registry(size, seed=1))
        if len(chosen) >= count or size >= 1_000_000:
            return chosen[:count]
        size *= 2


def _write(path: Path, data: bytes) -> None:
    """One file, with the fewest system calls (pathlib adds a buffered layer)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Run:
    """Seconds per template: rendering only, and rendering + writing a new file; wall clock and
    CPU time (user + system) of this process, which a busy shared machine inflates less."""

    render: float
    render_cpu: float
    total: float
    total_cpu: float
    written: int  # bytes


def _timed(orgs: Sequence[Organisation], folder: Path,
           make: Callable[[], Callable[[Organisation], bytes]]) -> Run:
    """Render ``orgs`` once without writing, then again writing each into an empty ``folder``
    (setting up, e.g. the fast path's base workbook, counts in both)."""
    wall, cpu = time.perf_counter(), time.process_time()
    render = make()
    for org in orgs:
        render(org)
    render_wall, render_cpu = time.perf_counter() - wall, time.process_time() - cpu
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    written = 0
    wall, cpu = time.perf_counter(), time.process_time()
    render = make()
    for org in orgs:
        data = render(org)
        _write(folder / f"{org.login}.xlsx", data)
        written += len(data)
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(orgs)
    return Run(render_wall / n, render_cpu / n, total_wall / n, total_cpu / n, written)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=2000, help="organisations on the fast path")
    parser.add_argument("--sample", type=int, default=50, help="organisations on the openpyxl path")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; the median is printed")
    parser.add_argument("--form", default="spo_specialities", help="form id")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the files (default: a temporary one, removed)")
    args = parser.parse_args(argv)

    form = builtin_forms()[args.form]
    collection = _collection_for(form)
    orgs = _participants(collection, args.orgs)
    sample = orgs[: args.sample]
    out = args.out or Path(tempfile.mkdtemp(prefix="sbor-bench-"))

    def slow() -> Callable[[Organisation], bytes]:
        return lambda org: render_template(form, collection, org, SECRET)

    def fast() -> Callable[[Organisation], bytes]:
        return TemplateFactory(form, collection, SECRET).render  # the base render counts too

    runs: dict[str, list[Run]] = {"openpyxl": [], "fast": []}
    groups = {"openpyxl": sample, "fast": orgs}
    makers = {"openpyxl": slow, "fast": fast}
    try:
        for _ in range(args.repeat):
            for name in runs:
                runs[name].append(_timed(groups[name], out / name, makers[name]))
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    def median_ms(name: str, what: str) -> float:
        return statistics.median(getattr(r, what) for r in runs[name]) * 1000

    print(f"form {form.id}, collection {collection.id}; median of {args.repeat} runs; "
          "one new .xlsx per organisation; ms per template (wall / CPU)")
    print(f"{'path':<10}{'templates':>10}{'render':>18}{'render + write':>18}{'KB/template':>13}")
    for name in runs:
        size = runs[name][-1].written / len(groups[name]) / 1024
        render = f"{median_ms(name, 'render'):.3f} / {median_ms(name, 'render_cpu'):.3f}"
        total = f"{median_ms(name, 'total'):.3f} / {median_ms(name, 'total_cpu'):.3f}"
        print(f"{name:<10}{len(groups[name]):>10}{render:>18}{total:>18}{size:>13.1f}")
    slow_ms, fast_ms = median_ms("openpyxl", "total"), median_ms("fast", "total")
    slow_cpu, fast_cpu = median_ms("openpyxl", "total_cpu"), median_ms("fast", "total_cpu")
    print(f"ratio (openpyxl / fast, render + write): {slow_ms / fast_ms:.0f}x wall, "
          f"{slow_cpu / fast_cpu:.0f}x CPU")
    print(f"{FEDERAL:,} templates: fast {fast_ms * FEDERAL / 1000:.1f} s "
          f"(CPU {fast_cpu * FEDERAL / 1000:.1f} s), openpyxl {slow_ms * FEDERAL / 60000:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
