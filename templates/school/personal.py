"""The cells of a template that depend on the organisation, and nothing else.

Both renderers write exactly these: the openpyxl path into its workbook, the fast path into the
base zip. ``Personaliser`` does the per-form work once (the fingerprint, where prefilled rows go,
the code → dropdown value index), because the fast path calls it 40,000 times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from openpyxl.utils.cell import get_column_letter

from forms import layout
from forms.collection import Collection
from forms.identity import Identity
from forms.organisations import Organisation
from forms.spec import Form
from templates.school.sheets import table_widths
from templates.school.title import org_values
from templates.xlsx import styles as st

# Per-organisation cells: worksheet title → {address: text}.
PersonalCells = dict[str, dict[str, str]]

# Identity rows: key → row (column A key, column B value), in layout.IDENTITY_KEYS order.
IDENTITY_ROWS = {key: row for row, key in enumerate(layout.IDENTITY_KEYS, start=1)}
LOGIN_CELL = f"B{IDENTITY_ROWS['login']}"
SIGNATURE_CELL = f"B{IDENTITY_ROWS['signature']}"

# An organisation with every attribute set, to find every cell a real one may fill: the fast
# template and the fast feedback both render it once and cut around what it filled.
PROBE_ORG = Organisation("spo000000", "—", "—", "00", "—", "0000", "—", "spo", ("—",))


@dataclass(frozen=True)
class _TablePrefill:
    sheet: str
    attribute: str  # the organisation's attribute: "specialities"
    letter: str  # the column of the prefilled field
    max_rows: int
    index: dict[str, str]  # a value or its code → the dropdown value


@dataclass(frozen=True)
class _CardPrefill:
    sheet: str
    attribute: str
    address: str


def _choice_index(choices: tuple[str, ...]) -> dict[str, str]:
    """Each dropdown value by itself and by its code (the text before the first space):
    "38.02.01" → "38.02.01 Экономика и бухгалтерский учет (по отраслям)"."""
    index: dict[str, str] = {}
    for choice in choices:
        index.setdefault(choice.split(" ", 1)[0], choice)
    index.update({c: c for c in choices})
    return index


# What XML 1.0 cannot hold. openpyxl's own pattern misses U+FFFE/U+FFFF and lone surrogates,
# and writes a file it cannot read back.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Without the characters XML cannot hold: a registry should not have them, but one stray
    character must not make a school's workbook unreadable."""
    return NOT_XML.sub("", text) if NOT_XML.search(text) else text


class Personaliser:
    """``cells(org, secret)``: every per-organisation cell of one form's template."""

    def __init__(self, form: Form, collection: Collection) -> None:
        self.form = form
        self.collection = collection
        self.fingerprint = form.fingerprint  # a hash over the layout: computed once
        tables: list[_TablePrefill] = []
        cards: list[_CardPrefill] = []
        for sheet in form.sheets:
            if sheet.kind == "table" and sheet.prefill_field and sheet.prefill_from:
                field = sheet.field(sheet.prefill_field)
                letter = get_column_letter(layout.column_of(sheet, field.number))
                tables.append(_TablePrefill(sheet.name, sheet.prefill_from, letter, sheet.max_rows,
                                            _choice_index(form.choices_for(field))))
            if sheet.kind == "card":
                cards += [_CardPrefill(sheet.name, f.prefill, layout.card_cell(sheet, f.number).address)
                          for f in sheet.fields if f.prefill]
        self.tables = tuple(tables)
        self.cards = tuple(cards)

    def identity(self, login: str) -> Identity:
        return Identity(self.collection.id, login, self.form.id, self.form.version, self.fingerprint)

    def cells(self, org: Organisation, secret: bytes) -> PersonalCells:
        cells: PersonalCells = {layout.TITLE_SHEET: {a: clean(t) for a, t in org_values(org).items()}}
        for table in self.tables:
            own = cells.setdefault(table.sheet, {})
            for i, value in enumerate(self._rows(table, org)):
                own[f"{table.letter}{layout.FIRST_ROW + i}"] = clean(value)
        for card in self.cards:
            value = getattr(org, card.attribute, None)
            if value not in (None, ""):
                cells.setdefault(card.sheet, {})[card.address] = clean(str(value))
        login = clean(org.login)
        cells[layout.IDENTITY_SHEET] = {LOGIN_CELL: login,
                                        SIGNATURE_CELL: self.identity(login).sign(secret)}
        # A text that cleaning emptied is no text: openpyxl would not write the cell either.
        return {title: kept for title, values in cells.items() if (kept := {a: t for a, t in values.items() if t})}

    @staticmethod
    def _rows(table: _TablePrefill, org: Organisation) -> list[str]:
        """One row per value of the organisation's attribute, shown as the dropdown shows it
        (matched by code); a code the list does not know is written as it is, so the school
        sees it and picks the right entry. Repeats are dropped."""
        raw = getattr(org, table.attribute, None)
        if raw is None:
            return []
        items = [raw] if isinstance(raw, str) else raw
        values: dict[str, None] = {}
        for item in items:
            text = str(item).strip()
            if text:
                values.setdefault(table.index.get(text, text), None)
        return list(values)[: table.max_rows]


@dataclass(frozen=True)
class WrapColumn:
    """A prefilled column whose values may wrap: its rows are made as tall as their text, on
    both paths (a row with no height shows one line, and a second line would be cut)."""

    letter: str
    width: float
    column: int

    def height(self, text: str) -> float | None:
        """The row height ``text`` needs in this column; None when one line is enough."""
        h = _height(text, self.width)
        return h if h > _ONE_LINE else None

    def heights(self, values: Mapping[str, str]) -> dict[int, float]:
        """Row → height for the values in this column that need more than one line."""
        one = _ONE_LINE
        found: dict[int, float] = {}
        for address, text in values.items():
            m = _CELL.fullmatch(address)
            if m is not None and m.group(1) == self.letter:
                h = _height(text, self.width)
                if h > one:
                    found[int(m.group(2))] = h
        return found


_CELL = re.compile(r"([A-Z]+)([0-9]+)")


@lru_cache(maxsize=4096)
def _height(text: str, width: float) -> float:
    # Cached: the same speciality names come back in thousands of templates.
    return st.row_height(text, width)


_ONE_LINE = st.row_height("", 10)


def wrap_columns(form: Form) -> dict[str, WrapColumn]:
    """Worksheet title → its prefilled column, for the table sheets that have one."""
    found: dict[str, WrapColumn] = {}
    for sheet in form.sheets:
        if sheet.kind == "table" and sheet.prefill_field and sheet.prefill_from:
            col = layout.column_of(sheet, sheet.prefill_field)
            found[sheet.name] = WrapColumn(get_column_letter(col), table_widths(sheet)[col - 1], col)
    return found


def personal_cells(form: Form, collection: Collection, org: Organisation, secret: bytes) -> PersonalCells:
    """Every cell of the template that depends on the organisation, as text."""
    return Personaliser(form, collection).cells(org, secret)
