"""Benchmark: every file of the hostile corpus through the pre-check, the judge and the ingest,
with wall time and peak memory per file.

    python bench/bench_hostile.py            # the whole corpus (and a file just under the cell cap), a table
    python bench/bench_hostile.py --json     # one JSON object per file
    python bench/bench_hostile.py --normal --against 5d343e2   # a normal workbook, now and then

Each file is measured in a child process of its own (forked after the imports), warmed up on a
correct workbook first, under an address-space limit (RLIMIT_AS: 2 GB above what the child holds
at the start) so that a bomb that got through would fail there instead of taking the machine.
The ingest column is a whole ingest pass with that one file; a pass with no file is timed in the
same child too (its median and range are printed below the table) to read it against. Peak
memory is the growth of the child's resident set over the timed calls (VmHWM, reset through
/proc/self/clear_refs after the warm-up) and, from one more call under tracemalloc (never a timed
one), the peak of Python allocations; the ingest runs once, so it has no such figure. Goal: at
most 50 ms and 100 MB per bomb in the pre-check, and the ingest never more than a correct file
plus that. The last row is built here, not in the corpus: the entry sheet filled across every
allowed column in as many rows as the cell cap allows, the most a reader is given.

``--normal`` times the pre-check alone on a normal filled template (``--rows`` rows, default 50)
in this process, in blocks of calls; with ``--against REV`` the pre-check as it was at git
revision REV (``validators/safety.py`` and ``_xmlscan.py`` loaded from git under another name)
runs in alternate blocks of the same run, so that both see the same machine load. It prints the
median wall time per call and the median CPU time per call of the blocks, and their ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.ingest import ingest, load_world  # noqa: E402
from flows.workspace import open_warehouse  # noqa: E402
from forms import Organisation  # noqa: E402
from tests.hostile import (  # noqa: E402
    CASES,
    SPECIALITIES,
    Kit,
    _area_cells,
    build_corpus,
    deflated,
    entry_area_split,
    make_kit,
    members_of,
    write_zip,
)
from validators import inspect_file, judge, limits_for  # noqa: E402
from validators.safety import inspect_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

GUARD = 2 * 2**30
REPEAT = 5


def _status(field: str) -> int:
    """A /proc/self/status figure in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _measure(fn: Callable[[], object], repeat: int, *, trace: bool = True) -> dict[str, float]:
    """Median wall time of ``repeat`` calls and the peak RSS growth over them; with ``trace``, one
    more call under tracemalloc for the peak of Python allocations. The timed calls run without
    it: tracemalloc slows down code that makes many small objects (a scan parsing thousands of
    addresses took 7 times as long under it)."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    out = {"ms": statistics.median(times) * 1000, "rss_mb": (_status("VmHWM") - base) / 2**20}
    if trace:
        tracemalloc.start()
        fn()
        out["py_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def _child(kit: Kit, path: Path, sender: str | None, warm: Path) -> dict[str, Any]:
    resource.setrlimit(resource.RLIMIT_AS, (_status("VmSize") + GUARD, resource.RLIM_INFINITY))
    context = load_world(open_warehouse(kit.settings), kit.settings).context
    judge(warm, context), inspect_file(warm, limits=context.limits), ingest(kit.settings, only=[])  # warm up
    out: dict[str, Any] = {"code": "not-a-file"}
    if not path.is_symlink():  # the ingest never opens a link: only its own step is measured
        inspection = inspect_file(path, limits=context.limits)
        out["code"] = inspection.findings[0].code if inspection.findings else ""
        out["precheck"] = _measure(lambda: inspect_file(path, limits=context.limits), REPEAT)
        heavy = path.stat().st_size > 2**20
        out["judge"] = _measure(lambda: judge(path, context, sender=sender), 1 if heavy else REPEAT)
    target = kit.settings.inbox / path.relative_to(path.parents[0 if sender is None else 1])
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, target)
    results: list[Any] = []
    # A pass costs about the same with or without files (warehouse, collections, participants):
    # an empty one is timed too, to read the ingest column against.
    empty = _measure(lambda: ingest(kit.settings, only=[]), 3, trace=False)
    # Once only: a second pass would meet the file as a duplicate. So no traced call either.
    out["ingest"] = _measure(lambda: results.extend(ingest(kit.settings, only=[target])), 1, trace=False)
    out["pass_ms"] = empty["ms"]
    out["outcome"] = results[0].outcome if results else "?"
    return out


def run_in_child(kit: Kit, path: Path, sender: str | None, warm: Path, timeout: float = 120) -> dict[str, Any]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            data = _child(kit, path, sender, warm)
        except MemoryError:
            data, code = {"error": "RLIMIT_AS guard hit"}, 1
        except Exception as exc:  # reported in the table, never hidden
            data, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
        with os.fdopen(write, "w") as fh:
            fh.write(json.dumps(data))
        os._exit(code)
    os.close(write)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return {"error": f"no answer in {timeout:.0f} s"}
    with os.fdopen(read) as fh:
        text = fh.read()
    if os.waitstatus_to_exitcode(status) < 0:
        return {"error": f"killed by signal {-os.waitstatus_to_exitcode(status)}"}
    return json.loads(text) if text else {"error": "no output"}


def cells_under_cap(kit: Kit, folder: Path, org: Organisation) -> Path:
    """The most a reader is given now: the entry sheet filled across every allowed column, as many
    rows as keep the sheet within the cell cap (with the template's own header cells)."""
    limits = limits_for(kit.forms.values())
    good = kit.good(org)
    name, head, tail = entry_area_split(good)
    rows = limits.max_cells // limits.max_column
    while (head + _area_cells(rows, limits.max_column)).count(b'<c r="') > limits.max_cells:
        rows -= 1
    xml = head + _area_cells(rows, limits.max_column) + tail
    (folder / org.login).mkdir(parents=True, exist_ok=True)
    return write_zip(folder / org.login / "под-пределом.xlsx", [*members_of(good, drop=[name]), deflated(name, xml)])


def normal_workbook(kit: Kit, rows: int) -> bytes:
    """The specialities template of a school teaching ``rows`` specialities, filled correctly."""
    form = kit.form_of(SPECIALITIES)
    codes = [v.split(" ", 1)[0] for v in form.choices_for(form.sheets[0].field("1"))]
    if rows > len(codes):
        raise SystemExit(f"--rows {rows}: the speciality list has only {len(codes)} codes")
    return kit.good(replace(kit.orgs[0], specialities=tuple(codes[:rows])))


def baseline_precheck(rev: str) -> ModuleType:
    """``validators/safety.py`` as it was at ``rev``, importable next to today's: the private
    modules it imports (``_xmlscan``, and later ``_xmltext``, ``_package``) are loaded from the same
    revision under names of their own."""
    folder = Path(tempfile.mkdtemp(prefix="sbor-bench-baseline-"))

    def load(name: str) -> ModuleType:
        try:
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:validators/{name}.py"],
                                  capture_output=True, text=True, check=True).stdout
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"--against {rev}: {exc.stderr.strip() or 'git show failed'}") from exc
        for private in sorted(set(re.findall(r"^from validators\.(_\w+) import", text, re.MULTILINE))):
            load(private)
            text = text.replace(f"from validators.{private} import", f"from sbor_baseline{private} import")
        path = folder / f"sbor_baseline_{name.lstrip('_')}.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module

    return load("safety")


def bench_normal(rows: int, against: str | None, calls: int, blocks: int) -> int:
    """Median wall and CPU ms per pre-check of one normal workbook, today's and ``against``'s."""
    with tempfile.TemporaryDirectory(prefix="sbor-bench-normal-") as tmp:
        kit = make_kit(Path(tmp) / "home")
        data = normal_workbook(kit, rows)
    limits = limits_for(kit.forms.values())
    checks: dict[str, Callable[[], object]] = {"now": lambda: inspect_bytes(data, "normal.xlsx", limits=limits)}
    if against:
        old = baseline_precheck(against)
        old_limits = old.Limits(max_row=limits.max_row, max_column=limits.max_column)
        checks[against] = lambda: old.inspect_bytes(data, "normal.xlsx", limits=old_limits)
    for label, check in checks.items():
        result = check()
        if not getattr(result, "passed", False):
            raise SystemExit(f"the normal workbook did not pass the pre-check ({label})")
    wall: dict[str, list[float]] = {k: [] for k in checks}
    cpu: dict[str, list[float]] = {k: [] for k in checks}
    for _ in range(blocks):
        for label, check in checks.items():  # alternate blocks: both see the same load
            c0 = time.process_time()
            for _ in range(calls):
                t0 = time.perf_counter()
                check()
                wall[label].append(time.perf_counter() - t0)
            cpu[label].append((time.process_time() - c0) / calls)
    print(f"pre-check of one normal workbook ({rows} rows, {len(data):,} bytes), {blocks} blocks of {calls} "
          f"calls, load average {os.getloadavg()[0]:.1f}")
    print(f"{'code':>12}  {'wall ms':>8}  {'CPU ms':>8}")
    medians = {k: (statistics.median(wall[k]) * 1000, statistics.median(cpu[k]) * 1000) for k in checks}
    for label, (w, c) in medians.items():
        print(f"{label:>12}  {w:8.3f}  {c:8.3f}")
    if against:
        (w_now, c_now), (w_old, c_old) = medians["now"], medians[against]
        print(f"{'now / then':>12}  {w_now / w_old:8.2f}  {c_now / c_old:8.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument("--only", nargs="*", help="case ids to run (default: all)")
    parser.add_argument("--normal", action="store_true", help="time the pre-check of a normal workbook instead")
    parser.add_argument("--rows", type=int, default=50, help="rows of the normal workbook (--normal)")
    parser.add_argument("--against", metavar="REV", help="with --normal: also time the pre-check of git revision REV")
    parser.add_argument("--calls", type=int, default=200, help="calls per block (--normal)")
    parser.add_argument("--blocks", type=int, default=20, help="blocks of calls per code (--normal)")
    args = parser.parse_args(argv)
    os.environ.pop("SBOR_DATABASE_URL", None)
    if args.normal:
        return bench_normal(args.rows, args.against, args.calls, args.blocks)
    with tempfile.TemporaryDirectory(prefix="sbor-bench-hostile-") as tmp:
        kit = make_kit(Path(tmp) / "home")
        staging = Path(tmp) / "staging"
        cases = [c for c in CASES if not args.only or c.id in args.only]
        corpus = build_corpus(kit, staging, cases, good_after=False)
        good = kit.orgs[-3]
        (staging / good.login).mkdir(parents=True, exist_ok=True)  # --only may build no case
        (staging / good.login / "correct.xlsx").write_bytes(kit.good(good))
        warm = Path(tmp) / "warm.xlsx"
        warm.write_bytes(kit.good(kit.orgs[-4]))
        rows = [("correct workbook", staging / good.login / "correct.xlsx")]
        rows += [(c.id, corpus[c.id][0]) for c in cases]
        if not args.only or "cells-under-cap" in args.only:
            rows.append(("cells-under-cap", cells_under_cap(kit, staging, kit.orgs[-5])))
        passes: list[float] = []
        if not args.json:
            print(f"{'file':24} {'size':>9}  {'pre-check':>18}  {'judge':>18}  {'ingest':>18}  outcome / code")
            print(f"{'':24} {'':>9}  {'ms':>7} {'RSS MB':>6} {'py':>4}  {'ms':>7} {'RSS MB':>6} {'py':>4}  "
                  f"{'ms':>7} {'RSS MB':>6} {'py':>4}")
        for name, path in rows:
            sender = path.parent.name if path.parent != staging else None
            size = path.lstat().st_size
            result = run_in_child(kit, path, sender, warm)
            if args.json:
                print(json.dumps({"file": name, "bytes": size, **result}, ensure_ascii=False))
                continue
            if "error" in result:
                print(f"{name:24} {size:>9}  {result['error']}")
                continue
            cells = "  ".join(f"{result[k]['ms']:7.1f} {result[k]['rss_mb']:6.1f} "
                              + (f"{result[k]['py_mb']:4.0f}" if "py_mb" in result[k] else f"{'—':>4}")
                              if k in result else f"{'—':>7} {'':>6} {'':>4}" for k in ("precheck", "judge", "ingest"))
            print(f"{name:24} {size:>9}  {cells}  {result['outcome']} {result['code']}")
            passes.append(result["pass_ms"])
    if passes and not args.json:
        print(f"ingest: a whole pass with this one file; an empty pass took {statistics.median(passes):.0f} ms "
              f"(median; from {min(passes):.0f} to {max(passes):.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
