"""What each field type is, said once: the registry ``TYPES`` (type name → ``TypeInfo``).

A field's type decides its polars dtype (the cast frames, the pandera schema, the warehouse's
frames, the results workbook), its SQL column, the cast that reads a cell as it, the spec
attribute that limits it (bounds, period, list, length), its Excel validation and number format,
its column in the results workbook, how a web page asks for it, and the Russian words that say
what to type. Every consumer reads that here instead of spelling a map of its own:

- ``validators/casting.py`` picks its cast by ``cast`` and casts to ``dtype``;
- ``validators/schema.py`` builds checks by ``limit`` and columns of ``dtype``;
- ``warehouse/tables.py`` declares columns of ``sql()`` and frames of ``dtype``;
- ``templates/_validation.py`` and ``_rules.py`` validate and describe by ``excel``, ``limit``,
  ``values`` and ``hint``; ``_styles.py`` formats by ``number_format``;
- ``templates/_report_results.py`` lays out results by ``dtype``, ``result_width`` and
  ``result_style``; ``validators/saving.py`` finds the dropdowns by ``excel``;
- the cabinet's web form may render an input from ``web`` and ``web_attributes()``.

``tests/test_field_types.py`` checks that each of them handles every type in ``FIELD_TYPES``,
with a form holding one field of each type taken through render → fill → judge → load →
results.

Adding a type (a time, a phone number): add its name to ``FieldType`` in ``forms/spec.py``
(``FIELD_TYPES`` follows), its entry here and its row in ``SAMPLES`` of
``tests/test_field_types.py`` (a value typed, the value kept, a wrong value and its finding).
When it reuses a cast, a limit, an Excel validation and a results style that exist, that is
all. Otherwise add the new one where it is read: a cast is a ``_Plan`` builder chosen in
``validators/casting._plan``, a limit a branch in ``validators/schema.field_checks``,
``templates/_rules.kind_text`` and ``templates/_validation.field_validation``, a results style a
field of ``templates/_report_style.Styles``; the type-coverage tests fail until each is there.
The web entry is plain data (an element and fixed attributes) for the cabinet's form to render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from forms.spec import NO, YES, Field, FieldType

# The cast in validators/casting.py that reads a cell's text as the type.
CastKind = Literal["number", "date", "yesno", "choice", "text"]
# The spec attribute that limits a value of the type: min/max, within_period, list, max_length.
Limit = Literal["bounds", "period", "list", "length", "none"]
# openpyxl's DataValidation type (free text gets its length check only when it has max_length).
ExcelKind = Literal["whole", "decimal", "date", "list", "textLength"]
# The attribute of templates/_report_style.Styles a results cell of the type is written with.
ResultStyle = Literal["integer", "decimal", "date", "text"]

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy.types import TypeEngine


@dataclass(frozen=True)
class WebInput:
    """How a web page asks for a value of the type: an ``<input>`` with fixed attributes, or a
    ``<select>`` of the field's allowed values (``Form.choices_for``) after an empty option. The
    field's own limits are added by ``web_attributes``."""

    element: Literal["input", "select"]
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TypeInfo:
    """Everything sbor derives from one field type."""

    name: FieldType
    polars_type: str  # the polars dtype's class name: "Int64" (``dtype``)
    sql_type: str  # the SQLAlchemy type's class name: "BigInteger" (``sql()``)
    cast: CastKind
    whole: bool  # numbers: only whole numbers are read (and the messages ask for one)
    limit: Limit
    values: tuple[str, ...]  # the allowed texts when the type fixes them (yes/no), else ()
    excel: ExcelKind
    number_format: str
    result_width: float
    result_style: ResultStyle
    web: WebInput
    hint: str  # Russian, what to type, before the field's limits: «целое число»
    sql_options: tuple[tuple[str, object], ...] = ()  # keyword arguments of the SQL type

    # polars and SQLAlchemy are imported when first asked for, not with this module: forms is
    # imported by every process, and one that only renders templates needs neither.
    @property
    def dtype(self) -> pl.DataType:
        """The polars dtype of a typed value: the cast frames, the schema, the warehouse."""
        import polars as pl

        dtype: pl.DataType = getattr(pl, self.polars_type)()
        return dtype

    def sql(self) -> TypeEngine[Any]:
        """A fresh SQLAlchemy type for a warehouse column."""
        import sqlalchemy as sa

        column: TypeEngine[Any] = getattr(sa, self.sql_type)(**dict(self.sql_options))
        return column


TYPES: dict[FieldType, TypeInfo] = {
    "text": TypeInfo(
        name="text", polars_type="String", sql_type="Text", cast="text", whole=False, limit="length",
        values=(), excel="textLength",
        # Text format keeps «+79991234567» or «01» as typed instead of turning them into numbers.
        number_format="@", result_width=30, result_style="text",
        web=WebInput("input", (("type", "text"),)), hint="текст"),
    "integer": TypeInfo(
        name="integer", polars_type="Int64", sql_type="BigInteger", cast="number", whole=True,
        limit="bounds", values=(), excel="whole", number_format="0", result_width=12,
        result_style="integer",
        # Text with a numeric keyboard, as for decimals: the judge's Russian message at the cell,
        # not the browser's own (in the browser's language) refusing what was typed.
        web=WebInput("input", (("type", "text"), ("inputmode", "numeric"))),
        hint="целое число"),
    "decimal": TypeInfo(
        # Double, not Numeric(18,4): the values come from Excel cells, which are IEEE doubles
        # already, and arrive as polars Float64; Numeric would round 12.34567 to 12.3457
        # without a word, and on SQLite it is stored as REAL anyway (with a warning per use).
        name="decimal", polars_type="Float64", sql_type="Double", cast="number", whole=False,
        limit="bounds", values=(), excel="decimal",
        number_format="General",  # a fixed number of decimals would hide what the school typed
        result_width=12, result_style="decimal",
        # Text with a decimal keyboard: a number input refuses «12,5» in some browsers, and the
        # cast reads a decimal comma anyway.
        web=WebInput("input", (("type", "text"), ("inputmode", "decimal"))),
        hint="число (дробную часть отделяйте запятой)"),
    "date": TypeInfo(
        name="date", polars_type="Date", sql_type="Date", cast="date", whole=False, limit="period",
        values=(), excel="date", number_format="DD.MM.YYYY", result_width=12,
        result_style="date", web=WebInput("input", (("type", "date"),)),
        hint="дата в формате ДД.ММ.ГГГГ"),
    "choice": TypeInfo(
        name="choice", polars_type="String", sql_type="Text", cast="choice", whole=False, limit="list",
        values=(), excel="list", number_format="@", result_width=24, result_style="text",
        web=WebInput("select"), hint="значение из выпадающего списка"),
    "yesno": TypeInfo(
        name="yesno", polars_type="Boolean", sql_type="Boolean",
        cast="yesno", whole=False, limit="none", values=(YES, NO), excel="list",
        number_format="@", result_width=8, result_style="text",
        # A select, not a checkbox: an unticked box cannot tell «Нет» from no answer, and
        # ``required`` on a checkbox would demand a tick.
        web=WebInput("select"), hint=f"«{YES}» или «{NO}» (из выпадающего списка)",
        sql_options=(("create_constraint", False),)),
}


def web_attributes(field: Field) -> dict[str, str]:
    """The attributes of the field's web input: the type's own, then the field's limits
    (required, min/max, maxlength) as the spec states them."""
    info = TYPES[field.type]
    attributes = dict(info.web.attributes)
    if field.required:
        attributes["required"] = "required"
    if info.limit == "bounds" and attributes.get("type") == "number":
        for name, bound in (("min", field.minimum), ("max", field.maximum)):
            if bound is not None:
                attributes[name] = str(int(bound)) if float(bound).is_integer() else str(bound)
    if info.limit == "length" and field.max_length is not None:
        attributes["maxlength"] = str(field.max_length)
    return attributes
