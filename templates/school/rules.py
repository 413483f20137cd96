"""Plain-Russian statements of what a field accepts, derived from the spec.

The same words appear in the «Инструкция» sheet, in the header comments and in the validation
alerts, so a school reads one consistent rule wherever it looks; the validators check the very
same spec, so the text and the checks cannot drift apart.
"""

from __future__ import annotations

from datetime import date

from forms.collection import Collection
from forms.spec import MESSAGE_REF, Check, Field, Form
from forms.types import TYPES

# A choice list short enough to be spelled out in the instruction; longer ones are referred to.
SHORT_LIST = 12


def number_text(value: float) -> str:
    """10000 → «10000», 0.5 → «0,5»: Russian decimal comma, no trailing zeros."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}".replace(".", ",")


def day_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def period_of(field: Field, collection: Collection) -> tuple[date, date] | None:
    """The assessment period bounding a date field, when the field and collection have one."""
    if field.within_period and collection.period_start and collection.period_end:
        return collection.period_start, collection.period_end
    return None


def bounds_text(field: Field) -> str:
    low, high = field.minimum, field.maximum
    if low is not None and high is not None:
        return f"от {number_text(low)} до {number_text(high)}"
    if low is not None:
        return f"не меньше {number_text(low)}"
    if high is not None:
        return f"не больше {number_text(high)}"
    return ""


def kind_text(field: Field, form: Form, collection: Collection) -> str:
    """What to type: «целое число от 0 до 10000», «дата ДД.ММ.ГГГГ с … по …», …"""
    info = TYPES[field.type]
    if info.limit == "bounds":
        bounds = bounds_text(field)
        return f"{info.hint} {bounds}".strip()
    if info.limit == "period":
        period = period_of(field, collection)
        text = info.hint
        if period:
            text += f" в пределах периода проведения: с {day_text(period[0])} по {day_text(period[1])}"
        elif field.within_period:
            text += " в пределах периода проведения"
        return text
    if info.limit == "list":
        values = form.choices_for(field)
        if len(values) <= SHORT_LIST:
            listed = ", ".join(f"«{v}»" for v in values)
            return f"{info.hint}: {listed}"
        return f"{info.hint} ({len(values)} значений)"
    if info.limit == "length" and field.max_length:
        return f"{info.hint} не длиннее {field.max_length} символов"
    return info.hint


def field_rule(field: Field, form: Form, collection: Collection) -> str:
    """One sentence with everything a cell must satisfy."""
    parts = ["обязательно" if field.required else "необязательно", kind_text(field, form, collection)]
    if field.key:
        parts.append("не повторяется в разных строках")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def with_hint(rule: str, hint: str | None, *, separator: str = " ") -> str:
    """The rule followed by the spec's hint, unless the hint only repeats the rule."""
    if not hint or hint.lower().rstrip(". ") in rule.lower():
        return rule
    return f"{rule}{separator}{hint}"


def check_text(check: Check) -> str:
    """A row or group rule in plain Russian: its ``explain``, else its message without
    placeholders ({3.1} → «графа 3.1»)."""
    if check.explain:
        return check.explain
    text = MESSAGE_REF.sub(lambda m: "значение" if m.group(1) == "value" else f"графа {m.group(1)}",
                           check.message)
    return text[0].upper() + text[1:]


def severity_text(check: Check) -> str:
    if check.severity == "error":
        return "Ошибка: файл не будет принят, пока она не исправлена."
    return "Предупреждение: файл будет принят, проверьте данные."
