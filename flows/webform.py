"""The web form's verbs: a new draft (prefilled as the template is), the accepted data opened
again, a cell's own check, «Проверить» and «Сдать отчёт».

Orchestration only: the judge is the validators' (``judge_entries``, the same cast, schema and
rules as a returned workbook), the recording the warehouse's (``Warehouse.record``, the same
transaction and tables), the receipt the templates' (``render_receipt``).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from flows.cabinet import _store as store_file
from flows.settings import Settings
from forms import Collection, Finding, Form, Organisation, layout, worded
from forms.spec import NO, YES, Field, Sheet
from forms.status import Status, lifecycle
from templates import render_receipt, render_template
from templates.school import personal_cells, render_with_values
from validators.context import Context
from validators.entries import Values, form_entries, raw_value, sheet_entries
from validators.judge import judge, judge_entries
from validators.verdict import Verdict
from warehouse import NewSubmission, SubmissionRow, Warehouse
from warehouse.accounts import Account
from warehouse.cabinet import Cabinet
from warehouse.drafts import Draft, Drafts, DraftValues
from warehouse.explanations import Explanation, Explanations
from warehouse.starts import has_started, record_start
from warehouse.storage import NewFile

WEB_FILE = "Веб-форма"  # what the school's history and the receipt call a web submission
WEB_PROGRAM = "Личный кабинет (веб-форма)"  # saved_by: the channel, as a file's program is recorded
# The draft's answers to warnings: {EXPLAIN: [{warning_key(finding): text}]} beside the sheets.
EXPLAIN = "_explanations"


def warning_key(finding: Finding) -> str:
    """A warning's name in a draft's answers: where it is and what it says."""
    return f"{finding.worksheet or ''}!{finding.cell or ''}:{finding.code}"


def answers_of(values: Values) -> dict[str, str]:
    given = values.get(EXPLAIN) or [{}]
    return {k: v for k, v in given[0].items() if v.strip()}


def prefilled(form: Form, collection: Collection, org: Organisation, secret: bytes) -> DraftValues:
    """A new draft holding what the school's template is prefilled with (its specialities, its
    name on a card): the same ``personal_cells`` the template writes."""
    cells = personal_cells(form, collection, org, secret)
    return _from_cells(form, {title: dict(given) for title, given in cells.items()}, lambda f, text: text)


def _from_cells(form: Form, cells: Mapping[str, Mapping[str, Any]], text: Callable[[Field, Any], str]) -> DraftValues:
    """Draft values from a workbook's entry cells (worksheet → address → value)."""
    values: DraftValues = {}
    for sheet in form.sheets:
        rows: dict[int, dict[str, str]] = {}
        for address, value in (cells.get(sheet.name) or {}).items():
            letter, row = coordinate_from_string(address)
            column = column_index_from_string(letter)
            if sheet.kind == "table":
                index, position = row - layout.FIRST_ROW, column - 1
            else:
                index, position = 0, row - layout.CARD_FIRST_ROW
            if index >= 0 and 0 <= position < len(sheet.fields):
                f = sheet.fields[position]
                rows.setdefault(index, {})[f.number] = text(f, value)
        size = max(rows) + 1 if rows else (1 if sheet.kind == "card" else 0)
        values[sheet.table] = [rows.get(i, {}) for i in range(size)]
    return values


def _typed_text(field: Field, value: Any) -> str:
    """A cell of a returned workbook as the web form's input shows it."""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and field.type != "date":
        return value.strftime("%d.%m.%Y")
    if isinstance(value, int):
        value = float(value)
    return text_of(field, value)


def values_from_file(settings: Settings, form: Form, collection: Collection, login: str,
                     row: SubmissionRow) -> tuple[DraftValues, Verdict] | None:
    """A file the school sent (its archived copy), read again by the judge: its values as a
    draft, so that it can finish in the browser what it started in Excel; None when the copy is
    gone or it is not the school's template of this collection."""
    if row.archive_path is None or row.login != login or row.collection_id != collection.id:
        return None
    path = settings.runtime / row.archive_path
    if not path.is_file():
        return None
    context = Context.build([collection], [form], {collection.id: [login]}, settings.secret(), settings.now())
    verdict = judge(path, context, sender=login, name=row.file_name)
    if verdict.identity is None or verdict.identity.version != form.version:
        return None
    return _from_cells(worded(form, collection), verdict.cells, _typed_text), verdict


def text_of(field: Field, value: Any) -> str:
    """A stored value as the web form shows it in its input."""
    if value is None:
        return ""
    if field.type == "yesno":
        return YES if value else NO
    if isinstance(value, date):
        return value.isoformat()  # a date input's own format
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(value)).replace(".", ",")
    return str(value)


def accepted_values(wh: Warehouse, form: Form, collection_id: str, login: str) -> DraftValues:
    """The school's current accepted data, as a draft («Редактировать» after sending)."""
    values: DraftValues = {}
    for sheet in form.sheets:
        frame = wh.current_rows(form, sheet, collection_id, logins=[login])
        rows: dict[int, dict[str, str]] = {}
        for record in frame.iter_rows(named=True):
            rows[record["row_number"] - 1] = {f.number: text_of(f, record[f.name]) for f in sheet.fields}
        size = max(rows) + 1 if rows else (1 if sheet.kind == "card" else 0)
        values[sheet.table] = [rows.get(i, {}) for i in range(size)]
    return values


def judge_draft(form: Form, collection: Collection, login: str, values: Values, sha256: str = "") -> Verdict:
    """«Проверить»: the whole form judged as a returned workbook is."""
    own = worded(form, collection)
    return judge_entries(own, collection, login, form_entries(own, values, WEB_FILE),
                         file=WEB_FILE, sha256=sha256)


def cell_findings(form: Form, collection: Collection, login: str, sheet: Sheet, row_index: int,
                  number: str, text: str) -> list[Finding]:
    """A cell's own check as the school leaves it: type, bounds, list (not «required», not the
    rules between cells: those wait for «Проверить»). The cell is judged alone, in its own row of
    its sheet, by the same judge, so the message names its cell as «Проверить» would."""
    own = worded(form, collection)
    target = own.sheet(sheet.name)
    rows: list[dict[str, str]] = [{} for _ in range(row_index if target.kind == "table" else 0)]
    entries = [sheet_entries(target, [*rows, {number: text}], WEB_FILE)]
    verdict = judge_entries(own, collection, login, entries, file=WEB_FILE, sha256="")
    return [f for f in verdict.findings
            if f.field == number and f.severity != "note" and f.code != "required" and not f.code.startswith("rule:")]


@dataclass(frozen=True)
class WebSubmission:
    verdict: Verdict
    row: SubmissionRow | None  # None: refused, nothing recorded (a web form is not a file to keep)
    receipt: Path | None


def submit(settings: Settings, wh: Warehouse, form: Form, collection: Collection, org: Organisation,
           values: Values, now: datetime, explanations: Explanations | None = None) -> WebSubmission:
    """«Сдать отчёт»: judged as a workbook is; refused with errors (nothing recorded: the draft
    keeps the values and the page the errors); else recorded, loaded and answered as an
    accepted workbook is: the school's current data, a receipt; the school's answers to its
    warnings are kept with the submission."""
    blob = json.dumps([collection.id, org.login, now.isoformat(), values], ensure_ascii=False, sort_keys=True)
    sha = hashlib.sha256(blob.encode()).hexdigest()
    verdict = judge_draft(form, collection, org.login, values, sha)
    if not verdict.accepted:
        return WebSubmission(verdict, None, None)
    sub = NewSubmission(sha256=sha, file_name=WEB_FILE, received_at=now, outcome=verdict.outcome,  # type: ignore[arg-type]
                        collection_id=collection.id, login=org.login, form_id=form.id,
                        form_version=form.version, saved_by=WEB_PROGRAM)
    row = wh.record(sub, verdict.findings, verdict.frames)
    answers = answers_of(values)
    kept = [Explanation(f.worksheet, f.cell, f.code, answers[warning_key(f)])
            for f in verdict.findings if f.severity == "warning" and warning_key(f) in answers]
    if explanations is not None and kept:
        # After the submission's own transaction: an explanation lost to a crash here costs the
        # school a sentence, never its data.
        explanations.add(row.id, kept)
    rows_loaded = {s.name: verdict.frames[s.table].height for s in form.sheets if s.table in verdict.frames}
    data = render_receipt(collection, org, submission_id=row.id, file_name=WEB_FILE, sha256=sha,
                          received_at=row.received_at, rows_loaded=rows_loaded, findings=verdict.findings)
    return WebSubmission(verdict, row, _write(receipt_path(settings, row), data, settings.runtime / "tmp"))


def receipt_path(settings: Settings, row: SubmissionRow) -> Path:
    """Beside the receipts of files (``flows.pipeline``): outbox/feedback/<collection>/<login>/."""
    return settings.feedback_dir / str(row.collection_id) / str(row.login) / f"{row.id:06d}-веб-форма-квитанция.xlsx"


def answer_path(settings: Settings, row: SubmissionRow) -> Path | None:
    """The answer workbook of a submission (a file's, written by ``flows.pipeline``, or a web
    submission's receipt): both lie in the school's folder under the submission's number."""
    # A file no collection was recognised in is answered under ``_unidentified`` (flows.pipeline).
    folder = (settings.feedback_dir / row.collection_id / row.login if row.collection_id and row.login
              else settings.feedback_dir / "_unidentified" / (row.login or "unknown"))
    found = sorted(folder.glob(f"{row.id:06d}-*.xlsx")) if folder.is_dir() else []
    return found[0] if found else None


def _write(path: Path, data: bytes, scratch: Path) -> Path:
    """Whole or not at all, as every answer is written."""
    scratch.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch / f"answer-{uuid.uuid4().hex}.xlsx"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def draft_workbook(form: Form, collection: Collection, org: Organisation, secret: bytes, values: Values) -> bytes:
    """«Скачать в Excel»: the school's template holding ``values``, each typed as a spreadsheet
    holds what was typed (the web judge's own reading of them)."""
    own = worded(form, collection)
    cells: dict[str, dict[str, Any]] = {}
    for sheet in own.sheets:
        placed = cells.setdefault(sheet.name, {})
        for i, row in enumerate(values.get(sheet.table, [])[: sheet.max_rows if sheet.kind == "table" else 1]):
            for f in sheet.fields:
                value = raw_value(f, row.get(f.number))
                if value != "":
                    placed[layout.cell_of(sheet, f.number, i).address] = value
    return render_with_values(form, collection, org, secret, cells)


TEMPLATE_TITLE = "Шаблон формы для заполнения"


def stored_template(settings: Settings, cabinet: Cabinet, user: Account, publication_id: str, form: Form,
                    collection: Collection, org: Organisation, now: datetime) -> int:
    """«Скачать шаблон»: the school's personalised template as its own file in the publication's
    storage (made on the first request), so that its downloads are recorded like any file's and
    the coordinator's download report lists them. Returns the stored file's id.

    While the collection is open the download starts the school's work («В работе», issue 13);
    a template fetched before the window or after it is no sign of work on this collection."""
    if collection.is_open(now):
        record_start(cabinet.warehouse.engine, collection.id, user.login, "template", now)
    for f in cabinet.storage.visible(user, publication_id):
        if f.owner_login == user.login and f.title == TEMPLATE_TITLE:
            return f.id
    data = render_template(form, collection, org, settings.secret())
    scratch = settings.runtime / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    temp = scratch / f"template-{uuid.uuid4().hex}.xlsx"
    temp.write_bytes(data)
    try:
        relative, size, sha = store_file(settings.runtime / "files", temp)
    finally:
        temp.unlink(missing_ok=True)
    name = f"{collection.id}-{user.login}.xlsx"
    cabinet.storage.add([NewFile(publication_id, TEMPLATE_TITLE, user.login, name, relative, size, sha)])
    for f in cabinet.storage.visible(user, publication_id):
        if f.owner_login == user.login and f.title == TEMPLATE_TITLE:
            return f.id
    raise LookupError(f"the template of {user.login} for {publication_id} was stored but is not visible")


@dataclass(frozen=True)
class SchoolState:
    """A collection as the school sees it in its «Сбор данных» block."""

    open: bool
    status: Status
    draft: Draft | None
    last: SubmissionRow | None  # the last transfer (a file or the web form), accepted or not
    current: SubmissionRow | None  # the accepted one that counts


def school_state(wh: Warehouse, drafts: Drafts, collection: Collection, login: str, now: datetime) -> SchoolState:
    history = wh.history(collection.id, login)
    draft = drafts.get(login, collection.id)
    accepted = [h for h in history if h.accepted]
    # «В работе» starts with the first draft or the template's download as with the first file
    # (issue 13), as the coordinators' status query counts it.
    started = draft is not None or has_started(wh.engine, collection.id, login)
    status = lifecycle(len(history), len(accepted), now >= collection.closes, started)
    return SchoolState(collection.is_open(now), status, draft, history[-1] if history else None,
                       wh.current(collection.id, login))
