"""Words of a form that depend on its collection: ``{school_year}`` in a title or hint becomes
the collection's school year («в {school_year} учебном году» → «в 2026/2027 учебном году»), as
the manual prints the year where a generic form would say «в текущем учебном году».

The spec keeps the placeholder; every place that shows a form to a school or coordinator (the
template, its «Инструкция», the annotated answer, the results workbook, the reader comparing
headers, a web form) takes ``worded(form, collection)``. Without a collection (the warehouse's
column comments, shared by every collection of the form) the words are generic.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from forms.collection import Collection
from forms.spec import PLACEHOLDERS, WORDING_REF, Field, Form, Sheet


def school_year(collection: Collection) -> str:
    """«2026/2027»: the school year (from 1 September) the collection's data belong to: that of
    its assessment period when it has one, else that of the day its window opens."""
    start = collection.period_start or collection.opens.date()
    first = start.year if start.month >= 9 else start.year - 1
    return f"{first}/{first + 1}"


def worded(form: Form, collection: Collection | None) -> Form:
    """``form`` with its placeholders filled for ``collection`` (generic words for None); the
    same object when it has none, so that most forms cost nothing here."""
    if not form.has_placeholders:
        return form
    values = dict(PLACEHOLDERS)
    if collection is not None:
        values["school_year"] = school_year(collection)
    return _filled(form, tuple(sorted(values.items())))


@lru_cache(maxsize=64)
def _filled(form: Form, values: tuple[tuple[str, str], ...]) -> Form:
    # Cached: the judge asks once per file, and the same object back keeps a batch's sheets
    # one group.
    words = dict(values)

    def fill(text: str | None) -> str | None:
        if text is None:
            return None
        return WORDING_REF.sub(lambda m: words.get(m.group(1), m.group(0)), text)

    def field(f: Field) -> Field:
        return replace(f, title=fill(f.title) or "", hint=fill(f.hint))

    def sheet(s: Sheet) -> Sheet:
        return replace(s, hint=fill(s.hint), when_empty=fill(s.when_empty), fields=tuple(map(field, s.fields)))

    return replace(form, title=fill(form.title) or "", description=fill(form.description),
                   sheets=tuple(map(sheet, form.sheets)))
