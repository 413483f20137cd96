"""Which program saved a returned workbook, and what of the template's settings it dropped.

A school's spreadsheet program rewrites the whole file. LibreOffice Calc keeps the data, the
dropdowns and the sheet protection, but leaves the identity sheet merely hidden (not very
hidden), the workbook's structure unlocked and no frozen panes; the school never learns why its
next template looks different. The pre-check has every XML part in hand already, so these facts
cost a few byte searches there (``validators/safety.py``); here they become the submission's
``saved_by`` and, when something was dropped, a note in the school's answer. The answer itself
is always rebuilt from the template (``templates/answers/feedback.py``), so what was dropped is back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from forms import layout
from forms.findings import Finding, finding
from forms.spec import Form
from forms.types import TYPES
from validators import messages as msg

# <Application> and <AppVersion> of docProps/app.xml, read with a bounded pattern rather than a
# parser: a malformed properties part must not refuse a file whose sheets are fine.
_APPLICATION = re.compile(rb"<(?:\w+:)?Application>([^<]{1,300})</(?:\w+:)?Application>")
_APP_VERSION = re.compile(rb"<(?:\w+:)?AppVersion>([^<]{1,40})</(?:\w+:)?AppVersion>")
_LIBREOFFICE = re.compile(r"^LibreOffice/([0-9.]+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FROZEN_PANE = re.compile(rb"""<(?:\w+:)?pane\b[^>]*\bstate\s*=\s*["']frozen""")
_DATA_VALIDATION = re.compile(rb"<(?:\w+:)?dataValidation[\s>]")
MAX_PROGRAM = 120  # characters of saved_by kept: a name and a version, not a payload


@dataclass(frozen=True)
class SavedWith:
    """What a returned workbook says of the program that saved it and of its settings."""

    application: str | None = None  # docProps/app.xml <Application>, cleaned
    version: str | None = None  # <AppVersion>
    states: Mapping[str, str] = field(default_factory=dict)  # worksheet → visible/hidden/veryHidden
    structure_locked: bool = False  # <workbookProtection lockStructure="1">
    frozen: frozenset[str] = frozenset()  # worksheets with frozen panes
    validated: frozenset[str] = frozenset()  # worksheets with data validation (dropdowns, bounds)

    @property
    def program(self) -> str | None:
        """The program as analysts group by it: «LibreOffice 7.4.7.2», «Microsoft Excel 16.0300»."""
        if self.application is None:
            return None
        lo = _LIBREOFFICE.match(self.application)
        if lo:
            name = f"LibreOffice {lo.group(1)}"
        elif self.version and self.version not in self.application:
            name = f"{self.application} {self.version}"
        else:
            name = self.application
        return name[:MAX_PROGRAM]


def _text(raw: bytes) -> str | None:
    text = " ".join(_CONTROL.sub(" ", raw.decode("utf-8", "replace")).split())
    return text or None


def saved_with(app_xml: bytes | None, states: Mapping[str, str], structure_locked: bool,
               sheets: Mapping[str, bytes]) -> SavedWith:
    """The facts, from the properties part, the workbook part's sheet states and protection,
    and each worksheet's XML by name (all already inflated and checked by the pre-check)."""
    application = version = None
    if app_xml:
        if m := _APPLICATION.search(app_xml):
            application = _text(m.group(1))
        if m := _APP_VERSION.search(app_xml):
            version = _text(m.group(1))
    return SavedWith(
        application=application, version=version, states=dict(states), structure_locked=structure_locked,
        frozen=frozenset(name for name, xml in sheets.items() if _FROZEN_PANE.search(xml)),
        validated=frozenset(name for name, xml in sheets.items() if _DATA_VALIDATION.search(xml)),
    )


def dropped_note(saved: SavedWith, form: Form, file: str) -> Finding | None:
    """A note for the school when the saving program dropped something the template set (the
    identity sheet very hidden, the structure locked, frozen headers, dropdowns); None when all
    is as the template made it. It never blocks: the data are judged as they are."""
    # A form sheet missing from the file is reported as such by the reader; here only the
    # sheets that are there.
    present = [s for s in form.sheets if s.name in saved.states]
    frozen_lost = [s.name for s in present if s.name not in saved.frozen]
    dropdowns = [s.name for s in present if any(TYPES[f.type].excel == "list" for f in s.fields)]
    dropdowns_lost = [name for name in dropdowns if name not in saved.validated]
    identity_shown = saved.states.get(layout.IDENTITY_SHEET, "veryHidden") != "veryHidden"
    unlocked = not saved.structure_locked
    if not (frozen_lost or dropdowns_lost or identity_shown or unlocked):
        return None
    said = msg.dropped_by_program(saved.program, dropdowns=dropdowns, dropdowns_lost=dropdowns_lost,
                                  unlocked=unlocked, frozen_lost=frozen_lost, identity_shown=identity_shown)
    return finding("saved-by-program", file=file, value=saved.program, **said)
