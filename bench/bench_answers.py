"""Benchmark: the answer every received file earns, against the openpyxl reference, same run.

    /work/venv/bin/python bench/bench_answers.py --files 100 --rows 50 --repeat 5

Setup (not timed): ``--files`` spo organisations teaching ``--rows`` specialities each, each
school's own template (TemplateFactory) filled as a school's spreadsheet program saves it
(flows.simulate: openpyxl), about ``--errors`` of them with a few mistakes, all judged together
by ``validators.judge_batch``, so the answers are rendered from real verdicts: their findings,
their raw cells (``validators/reading.py`` ``EntryCells``, built lazily), their frames.

Timed, in ms per file (wall / CPU of this process), the median of ``--repeat`` runs:
- receipt: ``render_receipt`` for every accepted file, as ``flows.ingest.answer`` calls it;
- feedback: ``FeedbackFactory.render`` for every rejected file (the factory built once per run,
  as ingest does, outside the per-file time; its one-off cost is printed apart);
- reference: ``render_feedback`` (openpyxl, ``templates/answers/feedback.py``) for up to ``--sample``
  rejected files: the yardstick of this machine's speed at the moment; the ratios against it
  compare runs taken on a busy machine better than the bare figures.

Every run judges the files again first (not timed), and renders each rejected file's answer
once, so each reads fresh ``EntryCells`` as ingest would, not a mapping an earlier render has
built already; a receipt holds no such state and is rendered ``--loops`` times per file, to time
more than a few milliseconds.

Targets (issue 3): a rejected file's answer at most 2 ms, a receipt at most 0.15 ms (CPU).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

# Run as a script, this file's folder is on sys.path, so bench_ingest (a third-party-sorted import,
# hence first) imports as is, and on import it puts the checkout on sys.path for the ones below.
from bench_ingest import add_returns_options, bench_orgs  # the same schools as the ingest bench

from forms import MOSCOW, Collection, Form, Organisation, builtin_forms, load_collection
from forms.loader import DATA_DIR
from templates import FeedbackFactory
from validators import Context, Verdict, judge_batch

SECRET = b"bench-secret-not-for-production"
NOW = datetime(2026, 12, 1, 12, tzinfo=MOSCOW)
COLLECTION_FILE = DATA_DIR.parent / "collections" / "spo_specialities_2026.yaml"
FORM_ID = "spo_specialities"


def make_files(folder: Path, form: Form, collection: Collection, orgs: Sequence[Organisation],
               errors: float, seed: int) -> list[Path]:
    """Each school's template filled by the simulated school, some with mistakes."""
    from flows.simulate import fill, good_values, spoil
    from templates import TemplateFactory

    rng = random.Random(seed)
    factory = TemplateFactory(form, collection, SECRET)
    paths = []
    for org in orgs:
        values = good_values(form, collection, org, rng)
        if rng.random() < errors:
            values = spoil(form, values, rng)
        path = folder / f"{org.login}.xlsx"
        path.write_bytes(fill(factory.render(org), form, values))
        paths.append(path)
    return paths


def _timed(items: Sequence[Verdict], render: Callable[[Verdict], bytes]) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) per item."""
    written = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for verdict in items:
        written += len(render(verdict))
    n = max(len(items), 1)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n, written // n


def _feedback(factory: FeedbackFactory, org_of: Callable[[Verdict], Organisation]) -> Callable[[Verdict], bytes]:
    return lambda v: factory.render(org_of(v), v.cells, v.findings, v.file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100, help="workbooks filled and judged")
    add_returns_options(parser, errors=0.5, seed=7, inbox=False)  # --rows, --errors, --seed
    parser.add_argument("--repeat", type=int, default=5, help="runs; the median is printed")
    parser.add_argument("--loops", type=int, default=10, help="receipts of every accepted file per run")
    parser.add_argument("--sample", type=int, default=10, help="rejected files the reference renders per run")
    args = parser.parse_args(argv)

    from templates import render_feedback, render_receipt

    form = builtin_forms()[FORM_ID]
    collection = load_collection(COLLECTION_FILE)
    orgs = bench_orgs(args.files, args.rows, args.seed)
    by_login = {o.login: o for o in orgs}
    context = Context.build([collection], [form], {collection.id: list(by_login)}, SECRET, NOW)
    folder = Path(tempfile.mkdtemp(prefix="sbor-bench-answers-"))
    try:
        started = time.perf_counter()
        paths = make_files(folder, form, collection, orgs, args.errors, args.seed)
        print(f"{len(paths)} workbooks of {args.rows} rows filled in {time.perf_counter() - started:.1f} s "
              "(setup, not timed)")

        def org_of(v: Verdict) -> Organisation:
            assert v.identity is not None
            return by_login[v.identity.login]

        def receipt(v: Verdict) -> bytes:
            rows = {s.name: v.frames[s.table].height for s in form.sheets if s.table in v.frames}
            return render_receipt(collection, org_of(v), submission_id=1234, file_name=v.file, sha256=v.sha256,
                                  received_at=NOW, rows_loaded=rows, findings=v.findings)

        def reference(v: Verdict) -> bytes:
            return render_feedback(form, collection, org_of(v), SECRET, v.cells, v.findings, v.file)

        runs: dict[str, list[tuple[float, float, int]]] = {"receipt": [], "feedback": [], "reference": []}
        counts: dict[str, int] = {}
        factory_ms: list[float] = []
        for _ in range(args.repeat):
            verdicts = judge_batch(paths, context)
            accepted = [v for v in verdicts if v.accepted] * args.loops
            rejected_once = [v for v in verdicts if v.outcome == "rejected"]
            if not accepted or not rejected_once:
                raise SystemExit(f"need accepted and rejected files; outcomes: {[v.outcome for v in verdicts]}")
            # Once each: a second render would find the verdict's EntryCells built already.
            rejected = rejected_once
            counts = {"receipt": len(accepted), "feedback": len(rejected),
                      "reference": min(args.sample, len(rejected_once))}
            cpu = time.process_time()
            factory = FeedbackFactory(form, collection, SECRET)
            factory_ms.append((time.process_time() - cpu) * 1000)
            runs["feedback"].append(_timed(rejected, _feedback(factory, org_of)))
            runs["receipt"].append(_timed(accepted, receipt))
            runs["reference"].append(_timed(rejected_once[: args.sample], reference))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def median_ms(name: str, what: int) -> float:
        return statistics.median(r[what] for r in runs[name]) * 1000

    print(f"form {FORM_ID}, {args.files} workbooks, {args.rows} rows each; median of {args.repeat} runs; "
          "ms per file (wall / CPU); FeedbackFactory built once per run in "
          f"{statistics.median(factory_ms):.0f} ms CPU (not in the figures)")
    print(f"{'answer':<12}{'renders':>9}{'ms wall / CPU':>18}{'KB':>8}{'reference/it (CPU)':>20}")
    ref_cpu = median_ms("reference", 1)
    for name in runs:
        figures = f"{median_ms(name, 0):.3f} / {median_ms(name, 1):.3f}"
        ratio = f"{ref_cpu / median_ms(name, 1):.0f}x"
        print(f"{name:<12}{counts[name]:>9}{figures:>18}{runs[name][-1][2] / 1024:>8.1f}{ratio:>20}")
    print("targets (issue 3): feedback <= 2 ms, receipt <= 0.15 ms CPU per file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
