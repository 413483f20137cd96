"""Judging returned workbooks: pre-check → identify → read → cast → validate, for one file or a
batch.

The batch is the unit of speed. Each file's pre-check, identity and reading are independent, and
by default run in turn in this thread: calamine, zipfile and the XML scans hold the GIL, so a
thread pool gained nothing (measured 5.6 ms a file with one thread, 5.7 with two, 6.1 with four).
``workers`` > 1 reads a large batch in forked worker processes instead (results pickled back,
the forms sent by name); on this shared 2-core machine that lost, 5.6-7.6 ms a file against
4.5-6.1 in turn, each worker paying 4.7 ms of CPU a file for the 3.4 it costs here (copy-on-write
faults, cold caches) while validation stays in this process; on idle cores it may win. Prefect's
process workers are the way to spread batches over cores and machines.

Then the raw frames of every (collection, sheet) are concatenated with a ``file_index`` column,
cast once and validated in ONE pandera call (one by one, pandera's per-call overhead dominates:
measured 27.9 s against 75 ms for 1,000 workbooks), and the findings are split back per file.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import pickle
import re
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl.utils.cell import column_index_from_string
from python_calamine import CalamineWorkbook

from forms.collection import Collection
from forms.findings import SEVERITY_ORDER, Finding, finding
from forms.identity import Identity
from forms.spec import Form, Sheet
from forms.wording import worded
from validators.casting import cast_sheet, issue_findings
from validators.cells import Located
from validators.context import Context
from validators.identity import CalamineFailure, identify_workbook, unreadable
from validators.rawframe import FILE, raw_frame
from validators.reading import SheetRead, WorkbookRead, read_form
from validators.rules import check_rules
from validators.safety import load
from validators.saving import dropped_note
from validators.schema import REQUIRED, build_schema, failures_to_findings, validate
from validators.verdict import Verdict, outcome_of

_ADDRESS = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


@dataclass
class _Prepared:
    """One file after the parallel phase: everything but the batch validation."""

    file: str
    sha256: str
    identity: Identity | None = None
    findings: list[Finding] = field(default_factory=list)
    form: Form | None = None
    collection: Collection | None = None
    read: WorkbookRead | None = None
    saved_by: str | None = None  # the program that saved the file, as its properties name it


def judge(path: Path, context: Context, *, sender: str | None = None, name: str | None = None) -> Verdict:
    """The verdict on one returned file. ``sender`` is the login the delivery channel knows;
    ``name`` the file name to show the school (default: the path's name)."""
    return judge_batch([path], context, [sender], names=None if name is None else [name])[0]


# A batch this large is read by worker processes; below it, forking costs more than it saves.
PROCESS_FROM = 32


def judge_batch(paths: Sequence[Path], context: Context, senders: Sequence[str | None] | None = None,
                *, names: Sequence[str] | None = None, workers: int = 1,
                sha256s: Sequence[str] | None = None) -> list[Verdict]:
    """Verdicts for many files, in the order given, validated together. ``senders``, ``names``
    (file names to show, default each path's name) and ``sha256s`` (the files' digests when the
    caller has them already; computed otherwise) run parallel to ``paths``. ``workers`` > 1
    reads a batch of ``PROCESS_FROM`` files or more in that many forked processes (see the
    module's note; default 1: in this process)."""
    who = list(senders) if senders is not None else [None] * len(paths)
    shown = list(names) if names is not None else [p.name for p in paths]
    digests = list(sha256s) if sha256s is not None else [None] * len(paths)
    if not len(who) == len(shown) == len(digests) == len(paths):
        raise ValueError(f"{len(paths)} files, {len(who)} senders, {len(shown)} names, {len(digests)} digests")
    jobs = list(zip(paths, who, shown, digests, strict=True))
    return _verdicts(_prepare_all(jobs, context, workers))


def judge_entries(form: Form, collection: Collection, login: str, entries: Sequence[SheetRead], *,
                  file: str, sha256: str) -> Verdict:
    """The verdict on a form filled on a web page: ``entries`` are its sheets as a workbook's
    reading gives them (``validators.entries``), judged from there on by exactly the code that
    judges a returned workbook (cast, schema, rules, ordering). The signed-in ``login`` is the
    identity: the page was the school's own."""
    form = worded(form, collection)
    item = _Prepared(file, sha256, Identity(collection.id, login, form.id, form.version, form.fingerprint),
                     form=form, collection=collection)
    item.read = WorkbookRead(tuple(entries), tuple(f for e in entries for f in e.findings), {})
    item.findings.extend(item.read.findings)
    return _verdicts([item])[0]


def _verdicts(prepared: list[_Prepared]) -> list[Verdict]:
    found, frames = _validate_batch(prepared)
    verdicts = []
    for i, item in enumerate(prepared):
        ordered = sorted(_one_error_per_cell([*item.findings, *found.get(i, [])]), key=_order(item.form))
        findings = tuple(_capped(ordered, item.file))
        verdicts.append(Verdict(
            file=item.file,
            sha256=item.sha256,
            identity=item.identity,
            outcome=outcome_of(item.identity, findings),
            findings=findings,
            frames=frames.get(i, {}),
            cells=item.read.cells if item.read is not None else {},
            saved_by=item.saved_by,
        ))
    return verdicts


_Job = tuple[Path, str | None, str, str | None]


def _prepare_all(jobs: list[_Job], context: Context, workers: int) -> list[_Prepared]:
    """Every job prepared, in order: in worker processes for a large batch when asked and fork
    exists (the workers inherit the context instead of unpickling it), else here."""
    workers = min(workers, len(jobs) // (PROCESS_FROM // 2) or 1)
    if workers < 2 or len(jobs) < PROCESS_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return [_prepare(path, sender, name, context, sha) for path, sender, name, sha in jobs]
    # A few chunks per worker: even shares without a round trip per file.
    size = -(-len(jobs) // (workers * 4))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_adopt, initargs=(context,)) as pool:
        parts = list(pool.map(_prepare_chunk, chunks))
    return [item for part in parts for item in _Refs(context).loads(part)]


_WORKER_CONTEXT: list[Context] = []  # set once in each worker process, by _adopt


def _adopt(context: Context) -> None:
    _WORKER_CONTEXT.append(context)


def _prepare_chunk(jobs: list[_Job]) -> bytes:
    context = _WORKER_CONTEXT[0]
    return _Refs(context).dumps([_prepare(path, sender, name, context, sha) for path, sender, name, sha in jobs])


class _Refs:
    """Pickling that sends the context's forms, sheets and collections by name: both sides
    hold them already, and a form by value would cost more than the file's own data."""

    def __init__(self, context: Context) -> None:
        self.objects: dict[tuple[str, ...], object] = {}
        for form in context.forms.values():
            self.objects[("form", form.id)] = form
            for sheet in form.sheets:
                self.objects[("sheet", form.id, sheet.name)] = sheet
        for collection in context.collections.values():
            self.objects[("collection", collection.id)] = collection
            form = context.forms.get(collection.form_id)
            if form is not None and form.has_placeholders:  # the worded form the workers read with
                own = worded(form, collection)
                self.objects[("worded", collection.id)] = own
                for sheet in own.sheets:
                    self.objects[("worded-sheet", collection.id, sheet.name)] = sheet
        self.keys = {id(obj): key for key, obj in self.objects.items()}

    def dumps(self, value: object) -> bytes:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
        pickler.persistent_id = lambda obj: self.keys.get(id(obj))  # type: ignore[method-assign]
        pickler.dump(value)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        unpickler = pickle.Unpickler(io.BytesIO(data))
        unpickler.persistent_load = lambda key: self.objects[key]  # type: ignore[method-assign]
        return unpickler.load()


def _prepare(path: Path, sender: str | None, name: str, context: Context, sha256: str | None = None) -> _Prepared:
    data, inspection = load(path, limits=context.limits, name=name)
    item = _Prepared(name, sha256 or _sha256(path, data))
    if data is None or not inspection.passed:
        item.findings.extend(inspection.findings)
        return item
    if inspection.saved is not None:
        item.saved_by = inspection.saved.program
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            identity, findings = identify_workbook(workbook, item.file, context, sender)
            item.identity = identity
            item.findings.extend(findings)
            if identity is None or any(f.blocks for f in findings):
                return item
            item.collection = context.collections[identity.collection]
            # Worded for the collection: the headers are compared with what its template printed.
            item.form = worded(context.forms[item.collection.form_id], item.collection)
            item.read = read_form(workbook, item.form, item.file, inspection.sheets)
            item.findings.extend(item.read.findings)
            note = dropped_note(inspection.saved, item.form, item.file) if inspection.saved else None
            if note is not None:
                item.findings.append(note)
    except CalamineFailure:
        item.findings.append(unreadable(item.file))
    return item


def _sha256(path: Path, data: bytes | None) -> str:
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def _validate_batch(prepared: list[_Prepared]) -> tuple[dict[int, list[Finding]], dict[int, dict[str, pl.DataFrame]]]:
    """Cast and validate every (collection, sheet) of the batch at once; findings and typed
    frames split back by file index."""
    groups: dict[tuple[str, str], list[tuple[int, list[int], tuple[list[Any], ...]]]] = defaultdict(list)
    specs: dict[tuple[str, str], tuple[Form, Sheet, Collection]] = {}
    for i, item in enumerate(prepared):
        if item.read is None or item.form is None or item.collection is None:
            continue
        for read in item.read.sheets:
            if read.columns is not None:
                key = (item.collection.id, read.sheet.table)
                groups[key].append((i, read.rows, read.columns))
                specs[key] = (item.form, read.sheet, item.collection)
    files = [item.file for item in prepared]
    found: dict[int, list[Finding]] = defaultdict(list)
    frames: dict[int, dict[str, pl.DataFrame]] = defaultdict(dict)
    for key, members in groups.items():
        form, sheet, collection = specs[key]
        typed, located = _validate_sheet(members, form, sheet, collection, files)
        for entry in located:
            found[entry.file_index].append(entry.finding)
        parts = typed.partition_by(FILE, as_dict=True, include_key=False) if typed.height else {}
        empty = typed.clear().drop(FILE)
        for i, _, _ in members:
            frames[i][sheet.table] = parts.get((i,), empty)
    return found, frames


def _validate_sheet(members: list[tuple[int, list[int], tuple[list[Any], ...]]], form: Form, sheet: Sheet,
                    collection: Collection, files: list[str]) -> tuple[pl.DataFrame, list[Located]]:
    """One sheet over the batch: its typed frame and every finding, located by file index."""
    raw = raw_frame(sheet, members)
    cast = cast_sheet(raw, sheet, form)
    result = issue_findings(cast.issues, sheet, files)
    failures = validate(build_schema(form, sheet, collection), cast.typed)
    if failures is not None:
        result.extend(failures_to_findings(failures, cast.typed, raw, form, sheet, collection, files))
    result.extend(check_rules(cast.typed, sheet, files))
    return cast.typed, result


def _one_error_per_cell(findings: list[Finding]) -> list[Finding]:
    """A cell that could not be read (text in a number field, a formula without a value) is
    empty for the schema and the rules too; their «not filled» findings there would only repeat,
    and mislead («не указана дата» under a date typed as 32.03.2027)."""
    explained = {(f.worksheet, f.cell) for f in findings if f.blocks and f.cell and not _from_values(f)}
    return [f for f in findings if not (_from_values(f) and (f.worksheet, f.cell) in explained)]


# Findings kept per file. Past a few hundred, a list helps nobody (one shifted column makes a
# finding of every cell), and each costs a comment in the school's workbook and a warehouse row:
# a file filling every allowed cell wrongly gave 1,810.
MAX_FINDINGS = 300


def _capped(findings: list[Finding], file: str) -> list[Finding]:
    """At most ``MAX_FINDINGS`` of ``findings`` (in reading order): the first errors, then
    warnings, then notes, kept in reading order, and a closing note saying how many were left
    out. The outcome does not change: a file over the cap with errors keeps errors."""
    if len(findings) <= MAX_FINDINGS:
        return findings
    chosen = set(sorted(range(len(findings)), key=lambda i: SEVERITY_ORDER[findings[i].severity])[:MAX_FINDINGS - 1])
    kept = [f for i, f in enumerate(findings) if i in chosen]
    return [*kept, finding("too-many-findings", file=file, shown=len(kept), total=len(findings))]


def _from_values(finding: Finding) -> bool:
    return finding.code == REQUIRED or finding.code.startswith("rule:")


def _order(form: Form | None) -> Any:
    """Findings in reading order: file-level first, then by sheet, row, column; errors first."""
    sheets = {s.name: i for i, s in enumerate(form.sheets)} if form else {}

    def key(f: Finding) -> tuple[int, int, int, int]:
        row = column = 0
        if f.cell and (m := _ADDRESS.match(f.cell)):
            column, row = column_index_from_string(m.group(1)), int(m.group(2))
        sheet = -1 if f.worksheet is None else sheets.get(f.worksheet, len(sheets))
        return (sheet, row, column, SEVERITY_ORDER[f.severity])

    return key
