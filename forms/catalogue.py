"""The catalogue of findings: for every code a finding can carry, its severity and its Russian
words (a ``str.format`` template with named parameters, and the advice on what to do).

A finding is built from its code and parameters (``forms.findings.finding("not-a-number",
...)``) and keeps them: its Russian text is rendered from them here (``render``) when something
reads it (the workbook, a page, the warehouse, which stores the text and the parameters), and a
page or a script can word it otherwise. ``tests/test_catalogue.py`` checks that every code the
source builds is listed here and that every entry is asserted by some test.

A code may have several wordings (the pre-check's ``not-xlsx`` says PDF, web page or archive, by
what the file is); the usual one is keyed by the code itself. In a template, ``{file}`` is the
finding's file name and ``{advice}`` the wording's advice; ``{where}`` is the place in the sheet
(«Лист «Специальности», ячейка H7 (графа 3.2)»), rendered by ``validators.messages.where``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # forms.findings renders its findings from this catalogue, so imports it
    from forms.findings import Severity

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
    "far-cell": ("на листе «{sheet}» заполнена или оформлена ячейка {far}, далеко за пределами таблицы "
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


@dataclass(frozen=True)
class Wording:
    template: str  # str.format with named parameters; {file} and {advice} are always given
    advice: str = ""


@dataclass(frozen=True)
class Entry:
    severity: Severity  # the usual one; a rule's comes from its spec, a header's from its row
    wordings: Mapping[str, Wording]  # by key; the code itself for the usual wording


def _one(severity: Severity, template: str, advice: str = "") -> tuple[Severity, dict[str, Wording]]:
    return severity, {"": Wording(template, advice)}


# The pre-check's refusals, by finding code: the keys of PRECHECK each code may say. Unknown
# details (a part of the zip, a figure) follow as «Для специалиста: …» through {detail}.
_PRECHECK_CODES: dict[str, tuple[str, ...]] = {
    "empty-file": ("empty",),
    "too-large": ("too-large",),
    "unreadable-file": ("unreadable",),
    "truncated": ("truncated",),
    "encrypted": ("password", "zip-password"),
    "not-xlsx-xls": ("xls",),
    "not-xlsx-csv": ("csv",),
    "not-xlsx-ods": ("ods",),
    "not-xlsx": ("pdf", "html", "not-excel", "xlsb", "no-workbook", "odd-compression"),
    "macro": ("macro",),
    "external-link": ("external-link",),
    "zip-bomb": ("too-many-parts", "too-big-inside", "squeezed"),
    "far-cell": ("far-cell", "unaddressed"),
    "too-many-cells": ("too-many-cells",),
    "xml-entities": ("encoding", "dtd"),
}


def _precheck(code: str, keys: tuple[str, ...]) -> tuple[Severity, dict[str, Wording]]:
    return "error", {("" if key == code else key):
                     Wording(f"Файл «{{file}}» не принят: {PRECHECK[key][0]}. {{advice}}{{detail}}", PRECHECK[key][1])
                     for key in keys}


_CELL_NOTES = ("number-as-text", "decimal-comma", "spaces-trimmed", "date-as-text", "date-as-number",
               "time-dropped", "yes-no-normalised", "choice-normalised")


def _cell(code: str) -> tuple[Severity, dict[str, Wording]]:
    wordings = {"": Wording("{where}: " + CELL[code])}
    if CELL_INTEGER[code] != CELL[code]:
        wordings["integer"] = Wording("{where}: " + CELL_INTEGER[code])
    return ("note" if code in _CELL_NOTES else "error"), wordings


def _identity(code: str) -> tuple[Severity, dict[str, Wording]]:
    return _one("error", "Файл «{file}»: " + IDENTITY[code])


_RAW: dict[str, tuple[Severity, dict[str, Wording]]] = {
    **{code: _precheck(code, keys) for code, keys in _PRECHECK_CODES.items()},
    # a file the pre-check passed that calamine still cannot open
    "unreadable": _one("error", "Файл «{file}» не принят: файл не удалось прочитать как книгу Excel. {advice}",
                       PRECHECK["truncated"][1]),
    **{code: _identity(code) for code in IDENTITY if code != "reissued-form"},
    "outdated-form": ("error", {"": Wording("Файл «{file}»: " + IDENTITY["outdated-form"]),
                                "reissued-form": Wording("Файл «{file}»: " + IDENTITY["reissued-form"])}),
    **{code: _cell(code) for code in CELL},
    # structure: the template's sheets, headers and table area as the school left them
    "missing-sheet": _one("error", "Файл «{file}»: нет листа «{sheet}»{guess}. {advice}", KEEP_STRUCTURE),
    "header-changed": _one("warning", "{where}: заголовок изменён: «{found}» вместо «{expected}». {advice}",
                           KEEP_STRUCTURE),
    "column-moved": _one("error", "{where}: здесь должна быть графа {expected}, а стоит «{found}» — столбцы "
                         "переставлены или удалены. {advice}", KEEP_STRUCTURE),
    "column-inserted": _one("error", "{where}: вставлен лишний столбец{named}. Удалите его: {advice}",
                            KEEP_STRUCTURE[0].lower() + KEEP_STRUCTURE[1:]),
    "too-many-rows": _one("error", "{where}: заполнено больше строк, чем допускает форма (не больше "
                          "{max_rows}, строки {first}–{last}). {advice}",
                          "Удалите лишние строки или обратитесь к координатору."),
    "too-few-rows": ("error", {
        "": Wording("Лист «{sheet}»: заполнено строк: {found}, а нужно не меньше {min_rows}. {advice}",
                    "Заполните недостающие строки."),
        # an empty sheet whose form says what to write when there is nothing to report
        "empty": Wording("{where}: лист не заполнен. {when_empty}")}),
    "outside-table": _one("warning", "{where}: значение «{v}» вне таблицы формы не будет учтено. {advice}",
                          "Перенесите его в нужную графу или удалите."),
    "merged-cells": _one("error", "{where}: ячейки {merged} объединены. {advice}",
                         "Отмените объединение (Главная → Объединить и поместить в центре) и заполните "
                         "каждую ячейку отдельно."),
    "formula-without-value": _one("error", "{where}: в ячейке формула без вычисленного значения. {advice}",
                                  "Пересчитайте книгу в Excel (F9) и сохраните её или введите значение "
                                  "вместо формулы."),
    "formula-error": _one("error", "{where}: в ячейке ошибка вычисления формулы (#ДЕЛ/0!, #Н/Д или "
                          "подобная). {advice}", "Исправьте формулу или введите значение вместо неё."),
    # a rule of the form: its message (with the row's values put in) and severity come from the spec
    "rule:": _one("error", "{where}: {text}"),
    "too-many-findings": _one("note", "Файл «{file}»: замечаний слишком много ({total}); показаны первые "
                              "{shown}, ошибки — в первую очередь. {advice}",
                              "Исправьте показанные (часто одна причина — например, сдвинутые столбцы или "
                              "данные не на своём листе — даёт сотни замечаний), сохраните файл и отправьте "
                              "снова: остальные замечания, если останутся, придут в следующем ответе."),
    "saved-by-program": _one("note", "Файл «{file}» сохранён {who}: {kept}не сохранены: {listed}. {advice}",
                             "На проверку данных это не влияет. Книга с ошибками, которую присылает система, "
                             "и шаблон, скачанный заново, выдаются с исходными настройками: продолжайте работу "
                             "в них."),
    # the inbox: a file seen before, a path that is not a regular file
    "duplicate": ("note", {
        "": Wording("Файл «{file}» уже был получен {when} (подача № {earlier}) и повторно не загружается. "
                    "{advice}", "Если вы исправили данные, сохраните файл заново и отправьте его."),
        "other": Wording("Файл «{file}» уже был получен ранее, {when}, от другой организации, и повторно не "
                         "загружается. {advice}",
                         "Каждая организация отправляет свой шаблон, выданный ей для этого сбора: скачайте "
                         "свой шаблон в личном кабинете, заполните его и отправьте."),
        "unidentified": Wording("Этот файл («{file}») уже получен ранее, {when}, и повторно не проверяется: "
                                "ответ на него уже отправлен. {advice}",
                                "Отправьте заполненный шаблон вашей организации в формате .xlsx.")}),
    "not-a-file": _one("error", "«{file}» — не обычный файл (ссылка или устройство) и не открывался. {advice}",
                       "Отправьте сам файл .xlsx, а не ссылку на него."),
}

CATALOGUE: Mapping[str, Entry] = {code: Entry(severity, wordings) for code, (severity, wordings) in _RAW.items()}


def entry(code: str) -> Entry:
    """The catalogue's entry for ``code``; every ``rule:<id>`` shares the rules' entry."""
    return CATALOGUE["rule:" if code.startswith("rule:") else code]


def render(code: str, wording: str, file: str, params: Mapping[str, object]) -> str:
    """The Russian text of a finding from its code, wording and parameters."""
    words = entry(code).wordings[wording]
    return words.template.format(file=file, advice=words.advice, **params)
