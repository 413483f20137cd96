"""The judgement of one returned file: plain data for the warehouse, the feedback workbook and
the command line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from forms.findings import Finding
from forms.identity import Identity
from forms.outcome import ACCEPTED, Outcome


@dataclass(frozen=True)
class Verdict:
    file: str  # the file name as received
    sha256: str
    identity: Identity | None  # verified; None for a file that is not a valid template
    outcome: Outcome
    findings: tuple[Finding, ...]
    # Typed rows per form sheet, by ``sheet.table``: ``row_number`` (the entry row, from 1) and
    # one column per field name (Int64, Float64, Date, Boolean, String). Empty for files that
    # could not be read.
    frames: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    # Raw values as the school typed them: worksheet → address → value (entry area only).
    cells: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The program that saved the file («LibreOffice 7.4.7.2»), from its document properties;
    # None when they do not say, or the file could not be opened.
    saved_by: str | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def accepted(self) -> bool:
        return self.outcome in ACCEPTED


def outcome_of(identity: Identity | None, findings: tuple[Finding, ...]) -> Outcome:
    """unreadable: refused by the pre-check or not a valid template; rejected: identified, with
    errors; accepted with warnings; accepted (notes do not count)."""
    if identity is None:
        return "unreadable"
    if any(f.severity == "error" for f in findings):
        return "rejected"
    if any(f.severity == "warning" for f in findings):
        return "accepted_with_warnings"
    return "accepted"
