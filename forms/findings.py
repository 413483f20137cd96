"""Findings: every problem found in a returned file, as data.

A finding is plain data so that every stage can pass it on: validators produce them, the
warehouse stores them, templates write them into the school's annotated workbook. Validation
collects findings; it never stops at the first bad cell.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from forms.catalogue import entry, render

# error blocks acceptance; warning and note do not. A form's rule is an error or a warning.
Severity = Literal["error", "warning", "note"]
# The worst first: the order findings are kept in when capped, and listed at one cell.
SEVERITY_ORDER: Mapping[str, int] = {"error": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class Finding:
    """A problem found in a file: its code and where it is, and what its Russian ``message`` is
    rendered from. A finding built by ``finding`` keeps the catalogue wording's key and named
    parameters and renders its text when something first reads ``message`` (the answer workbook,
    a page, the warehouse storing it), not when it is built: judging is the hot path, and a
    finding the cap drops is never rendered. ``text`` is a message given whole instead: a
    finding that is not in the catalogue (a test's, the feedback writer's probe) or one stored
    before the warehouse kept parameters."""

    code: str  # a slug: "not-a-number", "forged-identity", "rule:students-sum"
    severity: Severity  # error blocks acceptance; warning and note do not
    text: str | None = None  # the Russian message given whole; None: rendered from the catalogue
    file: str = ""
    worksheet: str | None = None
    cell: str | None = None  # "E7"
    field: str | None = None  # field number "3.1"
    value: str | None = None  # the value as the school typed it
    # (``dataclasses.field``: the name ``field`` is taken above.) The catalogue wording's named
    # parameters, for a page or a script that words the finding itself; compared (they make the
    # message) but not hashed (a dict is not hashable).
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, hash=False)
    wording: str = ""  # the catalogue wording's key; "" the code's usual one

    @cached_property
    def message(self) -> str:
        """Russian: what is wrong and how to fix it, with the place; rendered on first read."""
        if self.text is not None:
            return self.text
        return render(self.code, self.wording, self.file, self.params)

    @property
    def blocks(self) -> bool:
        return self.severity == "error"


def finding(code: str, *, file: str = "", wording: str = "", severity: Severity | None = None,
            worksheet: str | None = None, cell: str | None = None, field: str | None = None,
            value: str | None = None, **params: object) -> Finding:
    """A finding of ``code`` (a ``forms.catalogue`` entry) with its parameters; its Russian text
    is rendered when read. ``severity`` overrides the catalogue's only where the code's entry
    says it varies (rules, headers). An unknown code or wording fails here, where it is built."""
    known = entry(code)
    if wording not in known.wordings:
        raise KeyError(f"finding {code!r} has no wording {wording!r}")
    return Finding(code, severity or known.severity, None, file, worksheet, cell, field, value, params, wording)


def as_told(found: Finding, message: str) -> Finding:
    """``found`` reading ``message``, the text it was rendered to when the school was told (a
    finding read back from the warehouse), not rendered again: a later catalogue may word its
    code otherwise or no longer know it, and the history says what the school read."""
    found.__dict__["message"] = message  # where functools.cached_property keeps what it computed
    return found


def place(worksheet: str | None, cell: str | None, field: str | None) -> str:
    """«Лист «Специальности», ячейка H7 (графа 3.2)» — the start of every cell-level message."""
    parts: list[str] = []
    if worksheet:
        parts.append(f"Лист «{worksheet}»")
    if cell:
        parts.append(f"ячейка {cell}")
    text = ", ".join(parts)
    if field:
        text += f" (графа {field})"
    return text
