"""Excel data validation for one field: dropdowns, number, date and length checks with Russian
alerts. It is a guard for the person typing, not the check that counts: pasted values skip it,
and the validators judge every returned cell again from the same spec."""

from __future__ import annotations

import re
from datetime import date

from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation

from forms.collection import Collection
from forms.spec import ChoiceList, Field, Form
from forms.types import TYPES
from templates.school.rules import bounds_text, day_text, kind_text, period_of

# Excel limits: titles 32 characters, messages 255.
_TITLE_MAX = 32
_MESSAGE_MAX = 255
# Date fields with no period still get a sane range, so text typed into them is refused.
_ANY_DATE = (date(2000, 1, 1), date(2100, 12, 31))
# Whole numbers in Excel validation are 32-bit.
_INT_RANGE = (-2147483648, 2147483647)
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def list_range_name(choice_list: ChoiceList) -> str:
    """The workbook-level name of a list's range on the hidden lists sheet."""
    return "sbor_" + _NAME_UNSAFE.sub("_", choice_list.name)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _serial(day: date) -> str:
    return str(int(to_excel(day)))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _bounded(dv: DataValidation, low: str | None, high: str | None, lo_any: str, hi_any: str) -> None:
    if low is not None and high is not None:
        dv.operator, dv.formula1, dv.formula2 = "between", low, high
    elif low is not None:
        dv.operator, dv.formula1 = "greaterThanOrEqual", low
    elif high is not None:
        dv.operator, dv.formula1 = "lessThanOrEqual", high
    else:
        dv.operator, dv.formula1, dv.formula2 = "between", lo_any, hi_any


def field_validation(field: Field, form: Form, collection: Collection, place: str) -> DataValidation | None:
    """The validation for ``field``; ``place`` names it in the alert («Графа 3.1», «Строка 6»).
    None for free text without a length limit."""
    dv = DataValidation(allow_blank=True, showErrorMessage=True, showInputMessage=True,
                        errorStyle="stop")
    what = kind_text(field, form, collection)
    info = TYPES[field.type]
    if info.excel == "list" and info.values:
        dv.type, dv.formula1 = "list", '"' + ",".join(info.values) + '"'
        error = f"{place}: выберите " + " или ".join(f"«{v}»" for v in info.values) + " из списка."
    elif info.excel == "list" and field.choices is not None:
        dv.type, dv.formula1 = "list", list_range_name(form.choice_list(field.choices))
        error = f"{place}: выберите значение из выпадающего списка."
    elif info.excel in ("whole", "decimal"):
        dv.type = info.excel
        low = None if field.minimum is None else _num(field.minimum)
        high = None if field.maximum is None else _num(field.maximum)
        _bounded(dv, low, high, *(str(v) for v in _INT_RANGE))
        error = f"{place}: введите {what}."
    elif info.excel == "date":
        dv.type = "date"
        start, end = period_of(field, collection) or _ANY_DATE
        dv.operator, dv.formula1, dv.formula2 = "between", _serial(start), _serial(end)
        error = f"{place}: введите дату в формате ДД.ММ.ГГГГ с {day_text(start)} по {day_text(end)}."
    elif info.excel == "textLength" and field.max_length:
        dv.type, dv.operator, dv.formula1 = "textLength", "lessThanOrEqual", str(field.max_length)
        error = f"{place}: не больше {field.max_length} символов."
    else:
        return None
    dv.errorTitle = _clip("Недопустимое значение", _TITLE_MAX)
    dv.error = _clip(error, _MESSAGE_MAX)
    dv.promptTitle = _clip(f"{place}", _TITLE_MAX)
    prompt = field.hint or (what[0].upper() + what[1:] + ".")
    bounds = bounds_text(field)
    # The bounds once: a hint that already states them («Целое число от 1 до 4») is enough.
    if info.limit == "bounds" and field.hint and bounds and bounds not in field.hint:
        prompt += f" Допустимо: {bounds}."
    dv.prompt = _clip(prompt, _MESSAGE_MAX)
    return dv
