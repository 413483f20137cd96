"""What the «Сбор данных» pages need beyond the cabinet: the drafts, the collections behind the
publications, and the view of a form (its grid, its findings at their inputs) for the page
templates. Nothing here knows a form's meaning: that is the spec's, read as it is."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.engine import Connection

from flows.webform import EXPLAIN
from forms import MOSCOW, Collection, Finding, Form, builtin_forms, load_collection, worded
from forms.publications import COLLECTIONS_DIR, Publication
from forms.spec import Field, Sheet
from forms.types import TYPES, web_attributes
from validators.entries import input_id, input_of
from warehouse.accounts import Account
from warehouse.drafts import Drafts, DraftValues
from warehouse.explanations import MAX_EXPLANATION, Explanations
from web.deps import Cab, not_found

# A datalist (type to search) instead of a select above this many values: the 111 specialities.
LONG_LIST = 20
MAX_ANSWERS = 300  # answers to warnings: as many as a file's findings are capped at
MAX_TEXT = 1000  # a cell's text as kept in a draft: more is no answer to any field of ours
MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
          "октября", "ноября", "декабря")


@dataclass(frozen=True)
class Collect:
    drafts: Drafts
    explanations: Explanations
    collections: dict[str, Collection]
    forms: dict[str, Form]


def collect_state(cab: Cab) -> Collect:
    drafts = Drafts(cab.cabinet.warehouse.engine)
    drafts.create()
    explanations = Explanations(cab.cabinet.warehouse.engine)
    explanations.create()
    collections = {c.id: c for c in (load_collection(p) for p in sorted(COLLECTIONS_DIR.glob("*.yaml")))}
    return Collect(drafts, explanations, collections, builtin_forms())


def moment_words(moment: datetime) -> str:
    """«1 ноября 2026, 12:00», Moscow time, as the block prints a window."""
    m = moment.astimezone(MOSCOW)
    return f"{m.day} {MONTHS[m.month - 1]} {m.year}, {m:%H:%M}"


def school_collection(c: Cab, collect: Collect, user: Account, collection_id: str,
                      conn: Connection | None = None) -> tuple[Publication, Collection, Form]:
    """The collection of a publication the signed-in school takes part in; 404 for anyone else
    (a coordinator watches, it does not fill: issue 14's monitoring)."""
    if user.role != "school":
        raise not_found()
    for p in c.publications:
        if p.collection_id == collection_id and c.cabinet.storage.sees(user, [p.participants], conn) == [True]:
            collection = collect.collections.get(collection_id)
            if collection is None or collection.form_id not in collect.forms:
                raise not_found()
            return p, collection, worded(collect.forms[collection.form_id], collection)
    raise not_found()


def parse_values(form: Form, raw: str) -> DraftValues | None:
    """The grid the page sent as one JSON field (``values_of``); None when it is not JSON."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return values_of(form, data)


def values_of(form: Form, data: object) -> DraftValues | None:
    """The grid the page sent (sheet.table → rows → field number → text, and the answers to
    warnings under ``EXPLAIN``: key → text), kept to the form's own sheets, fields and row
    limits; None when it is not that shape at all."""
    if not isinstance(data, dict):
        return None
    values: DraftValues = {}
    for sheet in form.sheets:
        rows = data.get(sheet.table, [])
        if not isinstance(rows, list):
            return None
        numbers = {f.number for f in sheet.fields}
        limit = sheet.max_rows if sheet.kind == "table" else 1
        kept = []
        for row in rows[:limit]:
            if not isinstance(row, dict):
                return None
            kept.append({k: v[:MAX_TEXT] for k, v in row.items() if k in numbers and isinstance(v, str) and v})
        values[sheet.table] = kept
    answers = data.get(EXPLAIN, {})
    if not isinstance(answers, dict):
        return None
    kept_answers = {k[:200]: v[:MAX_EXPLANATION] for k, v in list(answers.items())[:MAX_ANSWERS]
                    if isinstance(k, str) and isinstance(v, str) and v.strip()}
    if kept_answers:
        values[EXPLAIN] = [kept_answers]
    return values


@dataclass(frozen=True)
class Problems:
    """Findings of one judgement, as the page shows them: the «Ошибки (N)» list (each linking
    to its input), the warnings, and per input its messages."""

    errors: list[tuple[Finding, str | None]]
    warnings: list[tuple[Finding, str | None]]
    at: dict[str, list[Finding]]

    @classmethod
    def of(cls, form: Form, findings: tuple[Finding, ...] | list[Finding]) -> Problems:
        errors, warnings, at = [], [], {}
        for f in findings:
            target = input_of(form, f.worksheet, f.cell)
            if f.severity == "error":
                errors.append((f, target))
            elif f.severity == "warning":
                warnings.append((f, target))
            else:
                continue
            if target is not None:
                at.setdefault(target, []).append(f)
        return cls(errors, warnings, at)


def grid(form: Form, values: DraftValues) -> list[dict[str, Any]]:
    """Per sheet: its rows of (input id, text), at least one row to type into."""
    sheets = []
    for sheet in form.sheets:
        rows = list(values.get(sheet.table, []))
        if not rows:
            rows = [{}]
        cells = [[(input_id(sheet, i, j), row.get(f.number, "")) for j, f in enumerate(sheet.fields)]
                 for i, row in enumerate(rows)]
        sheets.append({"sheet": sheet, "rows": cells})
    return sheets


@dataclass(frozen=True)
class FieldInput:
    """How the form asks for one field: an ``<input>`` with these attributes, or a select."""

    element: str
    attributes: dict[str, str]


def field_input(field: Field) -> FieldInput:
    """The field type's web input (``forms.types``) with the field's own limits, less
    ``required``: a draft is saved half-filled, and what is missing is the judge's to say, in
    Russian, at its cell."""
    attributes = {k: v for k, v in web_attributes(field).items() if k != "required"}
    return FieldInput(TYPES[field.type].web.element, attributes)


@functools.lru_cache(maxsize=4096)
def select_options(values: tuple[str, ...], value: str) -> Markup:
    """A short list's ``<option>``s with ``value`` selected (a value off the list kept, selected,
    at the end): made once per list and value, not per cell (a 300-row grid of the specialities
    form has 7,200 options, two escapes each; the page spent most of its time there)."""
    parts = ['<option value=""></option>']
    for v in values:
        shown = escape(v)
        parts.append(f'<option value="{shown}" selected>{shown}</option>' if v == value
                     else f'<option value="{shown}">{shown}</option>')
    if value and value not in values:
        shown = escape(value)
        parts.append(f'<option value="{shown}" selected>{shown}</option>')
    return Markup("".join(parts))


def list_id(form: Form, sheet: Sheet, position: int) -> str:
    return f"l-{sheet.table}-{position}"
