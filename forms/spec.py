"""The form model: Form, Sheet, Field, Check, and the choice lists they use.

A form is declared once in YAML (see ``forms/specs/``); everything else in sbor (the template, the
pandera schema, the warehouse tables, the result workbooks) is derived from these frozen objects.
Reading the YAML lives in ``forms/loader.py``; this module only holds the data and the few pure
facts derived from it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, get_args

# What each type means (dtype, SQL, cast, Excel, web, hint) is in forms/types.py.
FieldType = Literal["text", "integer", "decimal", "date", "choice", "yesno"]
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)

SheetKind = Literal["table", "card"]
Severity = Literal["error", "warning"]
CheckKind = Literal["row", "group"]

YES, NO = "Да", "Нет"

# Field numbers are quoted in rule expressions as printed in the form: "3.1" + "3.2" = "3".
FIELD_REF = re.compile(r'"([^"]+)"')
# Message placeholders name a field by its number: {3.1}; {value} in a group rule's message.
MESSAGE_REF = re.compile(r"\{([^{}]+)\}")
# Titles and hints may name a word of the collection: {school_year} (see forms/wording.py).
WORDING_REF = re.compile(r"\{([a-z_]+)\}")
# Each placeholder and its words when no collection is known (the warehouse's comments).
PLACEHOLDERS: dict[str, str] = {"school_year": "текущем"}


@dataclass(frozen=True)
class ChoiceList:
    """A named list of allowed values, as the school sees them in a dropdown."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Field:
    """One column of a table sheet, or one answer of a card sheet."""

    number: str  # as printed in the form: "3.1"
    name: str  # the warehouse column: ascii snake_case, unique in the sheet
    title: str
    type: FieldType
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: str | None = None  # name of a ChoiceList, for type "choice"
    hint: str | None = None
    width: float | None = None
    key: bool = False  # part of the row's key: no two rows may share it
    # Date fields may be bounded by the collection's assessment period (known per collection).
    within_period: bool = False
    # A card answer prefilled from the registry: an attribute of the organisation.
    prefill: str | None = None

    @property
    def label(self) -> str:
        """The header as printed: "3.1. из них …"."""
        return f"{self.number}. {self.title}"


@dataclass(frozen=True)
class Check:
    """A rule beyond one cell, written as a polars SQL expression over field numbers.

    A row rule is an expression that must be true for every row (a null result passes: missing
    values are the business of ``required``). A group rule groups rows by ``by`` and evaluates an
    aggregate expression per group, e.g. ``count(DISTINCT "2") <= 5`` (at most five days).
    """

    id: str
    kind: CheckKind
    expr: str
    message: str  # Russian; {3.1} is replaced by that field's value in the row
    severity: Severity = "error"
    target: str | None = None  # the field whose cell is marked; default: first field named
    by: tuple[str, ...] = ()  # group rules only
    when: str | None = None  # optional filter: the rule applies to rows where this is true
    explain: str | None = None  # plain Russian statement of the rule for the «Инструкция» sheet

    @property
    def fields(self) -> tuple[str, ...]:
        """Field numbers the rule names, in order of first mention."""
        seen: dict[str, None] = {}
        for text in (self.expr, self.when or ""):
            for ref in FIELD_REF.findall(text):
                seen.setdefault(ref, None)
        for ref in self.by:
            seen.setdefault(ref, None)
        return tuple(seen)

    @property
    def marked_field(self) -> str:
        return self.target or self.fields[0]


@dataclass(frozen=True)
class Sheet:
    """One worksheet of the form: a table of rows, or a card of single answers."""

    name: str  # the worksheet title the school sees (at most 31 characters)
    table: str  # the warehouse table suffix: ascii snake_case, unique in the form
    kind: SheetKind
    fields: tuple[Field, ...]
    hint: str | None = None
    min_rows: int = 0
    max_rows: int = 500
    checks: tuple[Check, ...] = ()
    # Table rows prefilled from the registry: this field gets one row per value of the
    # organisation's attribute (e.g. field "1" ← the organisation's specialities).
    prefill_field: str | None = None
    prefill_from: str | None = None
    # What a school must do instead of leaving the sheet empty (a sheet with min_rows): said in
    # the refusal of an empty sheet and on the «Инструкция» sheet.
    when_empty: str | None = None

    def field(self, number: str) -> Field:
        for f in self.fields:
            if f.number == number:
                return f
        raise KeyError(number)

    @property
    def key_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.key)


@dataclass(frozen=True)
class Form:
    id: str  # ascii slug, used in table names: "spo_specialities"
    version: int
    title: str
    sheets: tuple[Sheet, ...]
    lists: tuple[ChoiceList, ...] = ()
    description: str | None = None
    needs_period: bool = False  # True when a date field is bounded by the assessment period
    source: str = field(default="", compare=False)  # the YAML file it came from

    def sheet(self, name: str) -> Sheet:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)

    def choice_list(self, name: str) -> ChoiceList:
        for lst in self.lists:
            if lst.name == name:
                return lst
        raise KeyError(name)

    def choices_for(self, f: Field) -> tuple[str, ...]:
        """The allowed values of a choice or yes/no field; empty for the others."""
        if f.type == "yesno":
            return (YES, NO)
        if f.type == "choice" and f.choices is not None:
            return self.choice_list(f.choices).values
        return ()

    @cached_property
    def has_placeholders(self) -> bool:
        """True when a title or hint names a word of the collection ({school_year}). Cached on
        the object: hashing a form to look it up costs 10-20 µs, and this is asked per file."""
        return any(WORDING_REF.search(t or "") for t in self.texts)

    @property
    def texts(self) -> tuple[str | None, ...]:
        """Every text a school reads that may hold a placeholder."""
        texts = [self.title, self.description]
        for s in self.sheets:
            texts += [s.hint, s.when_empty, *(t for f in s.fields for t in (f.title, f.hint))]
        return tuple(texts)

    @property
    def fingerprint(self) -> str:
        """A short hash of the layout a returned workbook must keep: sheets, their order, and
        every field's number, type and position. Signed into each template, so a file made from
        another layout (an older version of the form) is recognised as such."""
        layout = [
            [s.name, s.kind, [[f.number, f.name, f.type] for f in s.fields]] for s in self.sheets
        ]
        blob = json.dumps([self.id, self.version, layout], ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
