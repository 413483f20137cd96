"""Every Russian sentence the validators show a school, in one place.

Each message names the file (for file-level refusals) or the sheet, cell and field (for cell
findings), says what is wrong, and says how to fix it. Values are shown as the school typed them;
numbers with a decimal comma, dates as ДД.ММ.ГГГГ, as a Russian reader expects.
"""

from __future__ import annotations

import re

from datetime import date, datetime

from forms.collection import MOSCOW
from forms.findings import place
from forms.spec import Sheet

SAVE_AS_XLSX = "Сохраните файл в формате .xlsx (Книга Excel) из полученного шаблона и отправьте снова."
USE_TEMPLATE = ("Скачайте шаблон своей организации, перенесите в него данные и отправьте снова.")
KEEP_STRUCTURE = ("Не переименовывайте, не удаляйте и не переставляйте листы, строки и столбцы "
                  "шаблона; верните их или перенесите данные в новый шаблон.")

_ADVICE = {
    "encrypted": "Снимите пароль (Файл → Сведения → Защитить книгу → Зашифровать с использованием "
                 "пароля: очистите поле), сохраните файл и отправьте снова.",
    "macro": "Сохраните книгу как «Книга Excel (*.xlsx)», без макросов, и отправьте снова.",
    "external-link": "Разорвите связи (Данные → Изменить связи → Разорвать связь), сохраните файл "
                     "в формате .xlsx и отправьте снова.",
    "too-many-cells": "Удалите строки и столбцы за пределами таблицы шаблона (выделите их, правая кнопка "
                      "мыши → Удалить: очистить содержимое мало, оформление остаётся) или перенесите данные "
                      "в новый шаблон, сохраните файл и отправьте снова.",
    "far-cell": "Очистите ячейки за пределами таблицы (или перенесите данные в новый шаблон), "
                "сохраните файл и отправьте снова.",
    "truncated": "Сохраните файл в Excel заново и отправьте снова; если ошибка повторится, "
                 "перенесите данные в новый шаблон.",
    "unreadable-file": "Отправьте файл снова.",
}


def refusal(file: str, code: str, reason: str) -> str:
    """A whole file refused before reading: «Файл «x.xlsx» не принят: <reason>. <advice>»"""
    return f"Файл «{file}» не принят: {reason}. {_ADVICE.get(code, SAVE_AS_XLSX)}"


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


# Cell findings: the text after the place. {v} is the value as typed, {n} the accepted value.
CELL = {
    # casting: the value cannot be read as the field's type
    "not-a-number": "«{v}» — не число. Введите число цифрами, например 25 или 12,5.",
    "not-an-integer": "«{v}» — не целое число. Введите целое число, например 25.",
    "not-a-date": "«{v}» — не дата. Введите дату в формате ДД.ММ.ГГГГ, например 03.02.2027.",
    "not-yes-no": "«{v}» — нужно «Да» или «Нет». Выберите значение из списка.",
    "number-too-large": "число {v} слишком велико для этой графы. Проверьте значение.",
    # schema: the value is read but not allowed
    "required": "графа не заполнена. Заполните ячейку.",
    "not-in-list": "значения «{v}» нет в списке. Выберите значение из выпадающего списка.",
    "too-long": "текст длиннее {max_length} символов ({length}). Сократите его.",
    "below-minimum": "значение {v} меньше допустимого. Введите число не меньше {minimum}.",
    "above-maximum": "значение {v} больше допустимого. Введите число не больше {maximum}.",
    "outside-period": "дата {v} вне периода проведения. Введите дату с {start} по {end}.",
    "duplicate-key": "значение «{v}» уже указано в строке {first}. Каждое значение указывается "
                     "один раз: удалите повторную строку или исправьте значение.",
    "invalid": "значение «{v}» не подходит для этой графы. Исправьте его.",
    # notes: what was typed was read, a little differently; shown back, never silent
    "number-as-text": "число «{v}» записано как текст; принято как {n}.",
    "decimal-comma": "число «{v}» записано как текст с десятичной запятой; принято как {n}.",
    "spaces-trimmed": "лишние пробелы в «{v}» удалены; принято «{n}».",
    "date-as-text": "дата «{v}» записана как текст; принята как {n}.",
    "date-as-number": "дата записана числом {v}; принята как {n}.",
    "time-dropped": "у даты «{v}» отброшено время; принята как {n}.",
    "yes-no-normalised": "«{v}» принято как «{n}».",
    "choice-normalised": "«{v}» принято как «{n}» из списка.",
}


# Where a whole number is expected, the example is a whole number: «12,5» would itself be refused.
CELL_INTEGER = {
    **CELL,
    "not-a-number": "«{v}» — не число. Введите целое число цифрами, например 25.",
}


def cell(sheet: Sheet, address: str | None, number_: str | None, code: str, *, integer: bool = False,
         **values: object) -> str:
    texts = CELL_INTEGER if integer else CELL
    return f"{where(sheet, address, number_)}: {texts[code].format(**values)}"


# A negative operand after an operator: «34 + -3» reads as a typo, «34 + (-3)» as arithmetic.
_NEGATIVE_OPERAND = re.compile(r"([+\-*/×−] )(-[0-9][0-9 ,]*)")


def rule_text(text: str) -> str:
    """A rule's message with the row's values put in: negative operands in parentheses."""
    return _NEGATIVE_OPERAND.sub(r"\1(\2)", text)


# Structure findings
def missing_sheet(file: str, name: str, renamed: str | None) -> str:
    guess = f" (возможно, он переименован в «{renamed}»)" if renamed else ""
    return f"Файл «{file}»: нет листа «{name}»{guess}. {KEEP_STRUCTURE}"


def header_changed(sheet: Sheet, address: str, number_: str | None, found: str, expected: str) -> str:
    return (f"{where(sheet, address, number_)}: заголовок изменён: «{found}» вместо «{expected}». "
            f"{KEEP_STRUCTURE}")


def column_moved(sheet: Sheet, address: str, found: str, expected: str) -> str:
    return (f"{place(sheet.name, address, None)}: здесь должна быть графа {expected}, а стоит "
            f"«{found}» — столбцы переставлены или удалены. {KEEP_STRUCTURE}")


def column_inserted(sheet: Sheet, address: str, found: str) -> str:
    named = f" «{found}»" if found else ""
    return (f"{place(sheet.name, address, None)}: вставлен лишний столбец{named}. Удалите его: "
            f"{KEEP_STRUCTURE[0].lower()}{KEEP_STRUCTURE[1:]}")


def too_many_rows(sheet: Sheet, address: str, first: int, last: int) -> str:
    return (f"{place(sheet.name, address, None)}: заполнено больше строк, чем допускает форма "
            f"(не больше {sheet.max_rows}, строки {first}–{last}). Удалите лишние строки или "
            "обратитесь к координатору.")


def too_few_rows(sheet: Sheet, found: int) -> str:
    return (f"Лист «{sheet.name}»: заполнено строк: {found}, а нужно не меньше {sheet.min_rows}. "
            "Заполните недостающие строки.")


def outside_table(sheet: Sheet, address: str, value: str) -> str:
    return (f"{place(sheet.name, address, None)}: значение «{value}» вне таблицы формы не будет "
            "учтено. Перенесите его в нужную графу или удалите.")


def merged_cells(sheet: Sheet, address: str, merged: str) -> str:
    return (f"{place(sheet.name, address, None)}: ячейки {merged} объединены. Отмените объединение "
            "(Главная → Объединить и поместить в центре) и заполните каждую ячейку отдельно.")


def formula_without_value(sheet: Sheet, address: str, number_: str | None) -> str:
    return (f"{where(sheet, address, number_)}: в ячейке формула без вычисленного значения. "
            "Пересчитайте книгу в Excel (F9) и сохраните её или введите значение вместо формулы.")


def formula_error(sheet: Sheet, address: str, number_: str | None) -> str:
    return (f"{where(sheet, address, number_)}: в ячейке ошибка вычисления формулы (#ДЕЛ/0!, #Н/Д "
            "или подобная). Исправьте формулу или введите значение вместо неё.")


# Identity findings
IDENTITY = {
    "no-identity": "файл не является шаблоном сбора (в нём нет служебного листа шаблона). " + USE_TEMPLATE,
    "forged-identity": "служебные данные шаблона изменены или повреждены (подпись не сходится). "
                       + USE_TEMPLATE,
    "unknown-collection": "сбор «{collection}», для которого выдан шаблон, не найден. Проверьте, "
                          "тот ли шаблон вы заполнили; " + USE_TEMPLATE[0].lower() + USE_TEMPLATE[1:],
    "outdated-form": "шаблон устарел (форма «{form}», версия {version}; действует версия "
                     "{current}), скачайте новый шаблон, перенесите в него данные и отправьте снова.",
    "not-participant": "организация {login} не участвует в сборе «{title}». Если это ошибка, "
                       "обратитесь к координатору.",
    "window-not-open": "приём файлов по сбору «{title}» начнётся {opens}. Отправьте файл после "
                       "открытия сбора.",
    "window-closed": "приём файлов по сбору «{title}» закрыт {closes}; файл сохранён, но не загружен. "
                     "Если сдать отчёт нужно, обратитесь к координатору.",
    "wrong-sender": "шаблон выдан организации {login}, а прислан от {sender}. Отправьте шаблон своей "
                    "организации (шаблоны других организаций не принимаются).",
}


def identity(file: str, code: str, **values: object) -> str:
    return f"Файл «{file}»: {IDENTITY[code].format(**values)}"


def too_many_findings(file: str, shown: int, total: int) -> str:
    """The note that closes a capped list of findings."""
    return (f"Файл «{file}»: замечаний слишком много ({total}); показаны первые {shown}, ошибки — "
            "в первую очередь. Исправьте показанные (часто одна причина — например, сдвинутые "
            "столбцы или данные не на своём листе — даёт сотни замечаний), сохраните файл и "
            "отправьте снова: остальные замечания, если останутся, придут в следующем ответе.")

