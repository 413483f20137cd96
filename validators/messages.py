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

USE_TEMPLATE = ("Скачайте шаблон своей организации, перенесите в него данные и отправьте снова.")
KEEP_STRUCTURE = ("Не переименовывайте, не удаляйте и не переставляйте листы, строки и столбцы "
                  "шаблона; верните их или перенесите данные в новый шаблон.")

# Whole-file refusals of the pre-check, in words for whoever sends the school's files: what is
# wrong with the file as they see it in Excel, then what to do. Where a part of the file's zip or
# a figure helps whoever looks into it further, it follows as «Для специалиста: …».
RESAVE = "Откройте файл в Excel, сохраните его как «Книга Excel (.xlsx)» (Файл → Сохранить как) и отправьте снова."
NEW_TEMPLATE = ("Скачайте шаблон своей организации заново, перенесите в него данные (Копировать, затем "
                "Специальная вставка → Значения), сохраните и отправьте снова.")
PICK_THE_FILE = "Проверьте, тот ли файл вы прикрепили: нужен заполненный шаблон — книга Excel с расширением .xlsx."
SAVE_AS_XLSX = ("Откройте его в Excel, выберите Файл → Сохранить как, тип файла «Книга Excel (*.xlsx)», "
                "и отправьте новый файл.")
PASSWORD = ("Снимите пароль (Файл → Сведения → Защитить книгу → Зашифровать с использованием пароля: очистите "
            "поле), сохраните файл и отправьте снова.")
PRECHECK: dict[str, tuple[str, str]] = {
    "empty": ("файл пустой (0 байт): вероятно, он не успел сохраниться или скопироваться",
              "Откройте заполненный шаблон в Excel, сохраните его и отправьте снова."),
    "too-large": ("файл слишком большой ({size}), а принимаются файлы не больше {cap}",
                  "Обычно размер растёт от вставленных картинок, лишних листов или оформления далеко за "
                  "таблицей: удалите их или перенесите данные в новый шаблон, сохраните и отправьте снова."),
    "unreadable": ("файл не удалось прочитать на сервере",
                   "Отправьте файл ещё раз; если ошибка повторится, сообщите координатору."),
    "xls": ("файл сохранён в старом формате Excel 97–2003 (.xls), а принимается только «Книга Excel» (.xlsx)",
            SAVE_AS_XLSX),
    "password": ("файл защищён паролем, и прочитать его невозможно", PASSWORD),
    "zip-password": ("файл упакован архиватором с паролем, и прочитать его невозможно", RESAVE),
    "pdf": ("это файл PDF, а нужна книга Excel (.xlsx)",
            "Отправьте сам заполненный шаблон (файл .xlsx), а не его копию в PDF."),
    "html": ("это не книга Excel, а веб-страница или файл XML, которому дали расширение книги Excel", RESAVE),
    "csv": ("это текстовый файл (CSV), которому дали расширение .xlsx, а нужен заполненный шаблон", USE_TEMPLATE),
    "not-excel": ("это не книга Excel (.xlsx)", PICK_THE_FILE),
    "ods": ("файл сохранён в формате OpenDocument (.ods), а нужна «Книга Excel» (.xlsx)",
            "В LibreOffice или «МойОфис» выберите Файл → Сохранить как, тип файла «Excel 2007–365 (.xlsx)», "
            "и отправьте новый файл."),
    "xlsb": ("файл сохранён как «Двоичная книга Excel» (.xlsb), а нужна обычная «Книга Excel» (.xlsx)", SAVE_AS_XLSX),
    "no-workbook": ("это не книга Excel, а файл другого вида (например, документ Word или архив ZIP), "
                    "которому дали расширение .xlsx", PICK_THE_FILE),
    "odd-compression": ("файл упакован не Excel, а другой программой, и прочитать его нельзя", RESAVE),
    "macro": ("в книге есть макросы (это книга .xlsm), а книги с макросами не принимаются",
              "Сохраните её в Excel как «Книга Excel (*.xlsx)» (на вопрос о макросах ответьте, что их не "
              "нужно сохранять) и отправьте снова."),
    "external-link": ("в книге есть связи с другими файлами (формулы берут данные из других книг)",
                      "Разорвите связи (Данные → Изменить связи → Разорвать связь), сохраните файл и "
                      "отправьте снова."),
    "truncated": ("файл повреждён или сохранён не полностью",
                  "Откройте его в Excel, сохраните как «Книга Excel (.xlsx)» и отправьте снова; если Excel "
                  "его не открывает, перенесите данные в новый шаблон."),
    "too-many-parts": ("в книге слишком много вложенных объектов (картинок, листов и т. п.): {count}, а "
                       "допустимо не больше {cap}",
                       "Удалите лишние картинки и объекты или перенесите данные в новый шаблон, сохраните и "
                       "отправьте снова."),
    "too-big-inside": ("в распакованном виде файл слишком велик — в книге с отчётом столько данных не бывает",
                       NEW_TEMPLATE),
    "squeezed": ("файл сжат так сильно, как сжимаются только специально подготовленные файлы, а не книги "
                 "с отчётом", NEW_TEMPLATE),
    "far-cell": ("на листе «{sheet}» заполнена или оформлена ячейка {cell}, далеко за пределами таблицы "
                 "шаблона",
                 "Удалите всё, что ниже и правее таблицы (выделите лишние строки или столбцы, правая кнопка "
                 "мыши → Удалить), или перенесите данные в новый шаблон; сохраните файл и отправьте снова."),
    "unaddressed": ("на листе «{sheet}» есть ячейки без адреса: файл записан не Excel, а программой, "
                    "которая сохранила его с ошибками", RESAVE),
    "too-many-cells": ("на листе «{sheet}» слишком много заполненных или оформленных ячеек: {found}, а "
                       "допустимо не больше {cap}",
                       "Удалите строки и столбцы за пределами таблицы шаблона (выделите их, правая кнопка "
                       "мыши → Удалить: очистить содержимое мало, оформление остаётся) или перенесите данные "
                       "в новый шаблон, сохраните файл и отправьте снова."),
    "dtd": ("в файле есть служебные вставки, которых Excel никогда не делает (так устроены файлы для атак "
            "на серверы), поэтому он не читается", NEW_TEMPLATE),
    "encoding": ("файл записан не Excel, а программой, которая сохранила его текст в непривычной кодировке",
                 RESAVE),
}

# The advice for a refusal given outside the pre-check, by its finding's code.
_ADVICE = {"truncated": PRECHECK["truncated"][1], "encrypted": PASSWORD}


def precheck(file: str, key: str, detail: str | None = None, **values: object) -> str:
    """A whole file refused by the pre-check: «Файл «x.xlsx» не принят: <what is wrong>. <what to
    do>» and, if given, «Для специалиста: <detail>.»"""
    reason, advice = PRECHECK[key]
    text = f"Файл «{file}» не принят: {reason.format(**values)}. {advice}"
    return f"{text} Для специалиста: {detail}." if detail else text


def refusal(file: str, code: str, reason: str) -> str:
    """A whole file refused before reading, outside the pre-check (a file calamine cannot open)."""
    return f"Файл «{file}» не принят: {reason}. {_ADVICE.get(code, RESAVE)}"


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


def too_few_rows(sheet: Sheet, found: int, address: str | None = None) -> str:
    if found == 0 and sheet.when_empty:
        return f"{where(sheet, address, sheet.fields[0].number)}: лист не заполнен. {sheet.when_empty}"
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
    "reissued-form": "шаблон формы «{form}» выпущен заново (изменена структура листов), а файл "
                     "заполнен в прежнем шаблоне. Скачайте новый шаблон своей организации в личном "
                     "кабинете, в публикации сбора «{title}» (или получите его у координатора), "
                     "перенесите в него данные и отправьте снова.",
    "not-participant": "организация {login} не участвует в сборе «{title}». Если это ошибка, "
                       "обратитесь к координатору.",
    "window-not-open": "приём файлов по сбору «{title}» начнётся {opens}. Отправьте файл после "
                       "открытия сбора.",
    "window-closed": "приём файлов по сбору «{title}» закрыт {closes}; файл сохранён, но не загружен. "
                     "Если сдать отчёт нужно, обратитесь к координатору.",
    "wrong-sender": "шаблон выдан организации {login}, а прислан от {sender}. Отправьте шаблон своей "
                    "организации (шаблоны других организаций не принимаются).",
    "unknown-sender": "папка «{folder}», через которую пришёл файл, не является логином организации, "
                      "поэтому неизвестно, кто его прислал; файл не проверялся и не загружен. Папка "
                      "должна называться точно логином вашей организации (например, edu770001: "
                      "строчными латинскими буквами и цифрами, без пробелов). Положите файл в папку "
                      "своего логина или загрузите его в личном кабинете.",
    "no-sender": "файл положен прямо в общую папку приёма, а не в папку организации, поэтому "
                 "неизвестно, кто его прислал; файл не проверялся и не загружен. Загрузите файл в "
                 "личном кабинете или положите его в папку, названную логином вашей организации "
                 "(например, inbox/edu770001/).",
}


def identity(file: str, code: str, **values: object) -> str:
    return f"Файл «{file}»: {IDENTITY[code].format(**values)}"


def too_many_findings(file: str, shown: int, total: int) -> str:
    """The note that closes a capped list of findings."""
    return (f"Файл «{file}»: замечаний слишком много ({total}); показаны первые {shown}, ошибки — "
            "в первую очередь. Исправьте показанные (часто одна причина — например, сдвинутые "
            "столбцы или данные не на своём листе — даёт сотни замечаний), сохраните файл и "
            "отправьте снова: остальные замечания, если останутся, придут в следующем ответе.")



def _sheets(names: list[str]) -> str:
    return ", ".join(f"«{n}»" for n in names)


def dropped_by_program(file: str, program: str | None, *, dropdowns: list[str], dropdowns_lost: list[str],
                       unlocked: bool, frozen_lost: list[str], identity_shown: bool) -> str:
    """What the program that saved the file dropped of the template's settings; a note, so it
    says the data are judged all the same and where the settings are back."""
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
    return (f"Файл «{file}» сохранён {who}: {kept}не сохранены: {listed}. На проверку данных это не "
            "влияет. Книга с ошибками, которую присылает система, и шаблон, скачанный заново, выдаются "
            "с исходными настройками: продолжайте работу в них.")
