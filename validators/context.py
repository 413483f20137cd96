"""What judging a file needs to know about the world: the collections, their forms, who takes
part, the signing secret and the time. Plain data, built once per run by the caller."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from forms import layout
from forms.collection import Collection, require_aware
from forms.spec import Form
from validators.safety import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class Context:
    collections: Mapping[str, Collection]  # by collection id
    forms: Mapping[str, Form]  # the current version of each form, by form id
    participants: Mapping[str, frozenset[str]]  # collection id → logins that take part
    secret: bytes
    now: datetime  # timezone-aware
    limits: Limits = field(default=Limits())

    def __post_init__(self) -> None:
        require_aware(self.now, "Context.now")

    @classmethod
    def build(cls, collections: Iterable[Collection], forms: Iterable[Form],
              participants: Mapping[str, Iterable[str]], secret: bytes, now: datetime) -> Context:
        """A context whose pre-check limits fit the forms: no cell beyond the largest sheet (or
        list of the hidden lists sheet) plus a margin."""
        by_id = {f.id: f for f in forms}
        return cls(
            collections=MappingProxyType({c.id: c for c in collections}),
            forms=MappingProxyType(by_id),
            participants=MappingProxyType({k: frozenset(v) for k, v in participants.items()}),
            secret=secret,
            now=now,
            limits=limits_for(by_id.values()),
        )


# Room beyond the template's area, so a stray note next to the table is reported as such by the
# reader instead of refusing the whole file.
ROW_MARGIN = 1000
COLUMN_MARGIN = 50


def limits_for(forms: Iterable[Form], base: Limits = DEFAULT_LIMITS) -> Limits:
    rows, columns = 60, 10  # the title and instruction sheets
    for form in forms:
        for sheet in form.sheets:
            rows = max(rows, layout.last_row(sheet))
            columns = max(columns, layout.last_column(sheet))
        for choice_list in form.lists:
            rows = max(rows, len(choice_list.values) + 1)
        columns = max(columns, len(form.lists))
    return replace(base, max_row=rows + ROW_MARGIN, max_column=columns + COLUMN_MARGIN,
                   max_cells=Limits.cell_cap(rows, columns))
