"""How the validators put values into the catalogue's Russian sentences (``forms/catalogue.py``
holds the sentences themselves): the place in a sheet, values as the school typed them, numbers
with a decimal comma, dates as ДД.ММ.ГГГГ, as a Russian reader expects."""

from __future__ import annotations

import re
from datetime import date, datetime

from forms.collection import MOSCOW
from forms.findings import place
from forms.spec import Sheet


def megabytes(size: int) -> str:
    """12,3 МБ: with a decimal comma, as Russian text writes it."""
    return f"{size / 2**20:.1f} МБ".replace(".", ",")


def thousands(n: int) -> str:
    """12 345 → «12 345», with a no-break space, as Russian text groups digits."""
    return f"{n:,}".replace(",", "\u00a0")


def moscow(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M") + " (МСК)"


def day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def where(sheet: Sheet, cell: str | None, number: str | None) -> str:
    """«Лист «Специальности», ячейка H7 (графа 3.2)»; a card names its row: «(строка 6)»."""
    if sheet.kind == "card" and number is not None:
        return f"{place(sheet.name, cell, None)} (строка {number})"
    return place(sheet.name, cell, number)


def shown(value: object) -> str:
    """A typed value as a Russian reader writes it."""
    if value is None:
        return "пусто"
    if isinstance(value, bool):
        return "Да" if value else "Нет"
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return day(value)
    if isinstance(value, float):
        return number(value)
    return str(value)


def number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).replace(".", ",")


# A negative operand after an operator: «34 + -3» reads as a typo, «34 + (-3)» as arithmetic.
_NEGATIVE_OPERAND = re.compile(r"([+\-*/×−] )(-[0-9][0-9 ,]*)")


def rule_text(text: str) -> str:
    """A rule's message with the row's values put in: negative operands in parentheses."""
    return _NEGATIVE_OPERAND.sub(r"\1(\2)", text)


def _sheets(names: list[str]) -> str:
    return ", ".join(f"«{n}»" for n in names)


def dropped_by_program(program: str | None, *, dropdowns: list[str], dropdowns_lost: list[str],
                       unlocked: bool, frozen_lost: list[str], identity_shown: bool) -> dict[str, str]:
    """The parameters of the ``saved-by-program`` note: who saved the file and what of the
    template's settings it dropped."""
    who = f"в программе {program}" if program else "программой, не указавшей своё название"
    lost: list[str] = []
    if dropdowns_lost:
        lost.append(f"выпадающие списки (листы {_sheets(dropdowns_lost)})")
    if unlocked:
        lost.append("защита структуры книги")
    if frozen_lost:
        lost.append(f"закрепление строк заголовка (листы {_sheets(frozen_lost)})")
    if identity_shown:
        lost.append("скрытие служебного листа «_sbor» (теперь его можно показать и случайно изменить)")
    kept = "выпадающие списки сохранены; " if dropdowns and not dropdowns_lost else ""
    listed = lost[0] if len(lost) == 1 else ", ".join(lost[:-1]) + " и " + lost[-1]
    return {"who": who, "kept": kept, "listed": listed}
