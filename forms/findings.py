"""Findings: every problem found in a returned file, as data.

A finding is plain data so that every stage can pass it on: validators produce them, the
warehouse stores them, templates write them into the school's annotated workbook. Validation
collects findings; it never stops at the first bad cell.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# error blocks acceptance; warning and note do not. A form's rule is an error or a warning.
Severity = Literal["error", "warning", "note"]
# The worst first: the order findings are kept in when capped, and listed at one cell.
SEVERITY_ORDER: Mapping[str, int] = {"error": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class Finding:
    code: str  # a slug: "not-a-number", "forged-identity", "rule:students-sum"
    severity: Severity  # error blocks acceptance; warning and note do not
    message: str  # Russian: what is wrong and how to fix it, with the place
    file: str = ""
    worksheet: str | None = None
    cell: str | None = None  # "E7"
    field: str | None = None  # field number "3.1"
    value: str | None = None  # the value as the school typed it
    # (``dataclasses.field``: the name ``field`` is taken above.) What ``forms.catalogue``
    # rendered ``message`` from: the wording's key ("" the usual) and the named parameters, for a
    # page or a script that words the finding itself. Empty for findings read back from the
    # warehouse, which keeps the text.
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False)
    wording: str = dataclasses.field(default="", compare=False)

    @property
    def blocks(self) -> bool:
        return self.severity == "error"


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
