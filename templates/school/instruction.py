"""The «Инструкция» sheet: every rule of the form in plain Russian, generated from the same spec
the validators check, so what the school reads is exactly what is checked."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from forms import layout
from forms.collection import Collection
from forms.spec import Form, Sheet
from templates.school.rules import check_text, field_rule, severity_text, with_hint
from templates.school.sheets import print_setup, protect
from templates.school.title import moment_text
from templates.xlsx import styles as st

PLACE_WIDTH = 24.0
TEXT_WIDTH = 100.0


def general_rules(form: Form, collection: Collection) -> list[str]:
    names = ", ".join(f"«{s.name}»" for s in form.sheets)
    return [
        f"Данные вносятся на листы формы: {names}. Лист «{layout.TITLE_SHEET}» и эта инструкция "
        "заполнения не требуют.",
        "Не меняйте структуру файла: не переименовывайте, не удаляйте и не переставляйте листы, "
        "не вставляйте и не удаляйте столбцы, не меняйте строки заголовков, не объединяйте ячейки. "
        "Заголовки защищены от случайного изменения (без пароля); ячейки для ввода открыты.",
        "Вводите значения, а не формулы. Можно копировать и вставлять значения из другой таблицы "
        "(«Вставить значения»), но проверка при вставке не срабатывает — проверьте данные сами.",
        "Даты вводите в формате ДД.ММ.ГГГГ (например, 01.02.2027), дробные числа — с запятой.",
        "Значения из списков выбирайте в выпадающем списке ячейки; другие значения не принимаются.",
        "Лишние пробелы в начале и в конце значения не учитываются; «да» и «Да» считаются одинаково.",
    ]


def sending_rules(collection: Collection) -> list[str]:
    return [
        "Сохраните файл в формате «Книга Excel» (.xlsx). Файлы .xls, .ods, .csv, .xlsm, а также "
        "файлы с паролем не принимаются.",
        f"Отправьте файл обратно до {moment_text(collection.closes)} (мск) тем же способом, "
        "которым получили шаблон. Имя файла можно не менять.",
        "Если файл принят, придёт квитанция: что загружено, когда, номер приёма. Если в файле есть "
        "ошибки, он не загружается: придёт ваш же файл, в котором ячейки с ошибками закрашены, "
        "у каждой — примечание, а на листе «Ошибки» — их список со ссылками. Исправьте ошибки в "
        "этом файле и отправьте его снова.",
        "До закрытия сбора файл можно отправлять повторно: учитывается последний принятый.",
        "Шаблон подписан для вашей организации (служебный лист). Не используйте шаблон другой "
        "организации и не пересылайте свой: файл будет отклонён.",
    ]


def sheet_rules(sheet: Sheet, form: Form, collection: Collection) -> list[tuple[str, str]]:
    """(place, rule) pairs for one sheet: its shape, every field, every row and group rule."""
    rows: list[tuple[str, str]] = []
    if sheet.hint:
        rows.append(("", sheet.hint))
    if sheet.kind == "table":
        limits = f"Строки вводятся начиная с {layout.FIRST_ROW}-й, не более {sheet.max_rows} строк."
        if sheet.min_rows:
            limits += f" Нужна хотя бы {sheet.min_rows} строка."
        if sheet.when_empty:
            limits += f" Пустой лист не принимается. {sheet.when_empty}"
        rows.append(("", limits))
        if sheet.prefill_field:
            rows.append(("", f"Графа {sheet.prefill_field} частично заполнена по данным реестра: "
                             "проверьте эти строки и дополните их."))
    else:
        rows.append(("", f"Ответы вносятся в столбец «{layout.CARD_HEADERS[-1]}», по одному в строке."))
    noun = "Строка" if sheet.kind == "card" else "Графа"
    for field in sheet.fields:
        rule = with_hint(f"«{field.title}». {field_rule(field, form, collection)}", field.hint)
        rows.append((f"{noun} {field.number}", rule))
    for check in sheet.checks:
        where = "Проверка строки" if check.kind == "row" else "Проверка группы строк"
        rows.append((where, f"{check_text(check)} {severity_text(check)}"))
    return rows


def _put(ws: Worksheet, row: int, place: str, text: str, *, heading: bool = False) -> None:
    a = ws.cell(row, 1, place or None)
    b = ws.cell(row, 2, text)
    b.data_type = "s"
    a.alignment = b.alignment = st.WRAP
    if heading:
        a.font = b.font = st.BOLD
    else:
        a.font = st.BOLD
        ws.row_dimensions[row].height = max(st.row_height(text, TEXT_WIDTH),
                                            st.row_height(place, PLACE_WIDTH, bold=True))


def write_instruction(ws: Worksheet, form: Form, collection: Collection) -> None:
    ws.column_dimensions["A"].width = PLACE_WIDTH
    ws.column_dimensions["B"].width = TEXT_WIDTH
    ws.cell(1, 1, "Инструкция по заполнению").font = st.TITLE_FONT
    _put(ws, 2, "", f"{form.title} (версия {form.version})", heading=True)
    row = 4
    _put(ws, row, "Общие правила", "", heading=True)
    for n, text in enumerate(general_rules(form, collection), start=1):
        row += 1
        _put(ws, row, f"{n}", text)
    for sheet in form.sheets:
        row += 2
        _put(ws, row, f"Лист «{sheet.name}»", "", heading=True)
        for place, text in sheet_rules(sheet, form, collection):
            row += 1
            _put(ws, row, place, text)
    row += 2
    _put(ws, row, "Как сдать отчёт", "", heading=True)
    for n, text in enumerate(sending_rules(collection), start=1):
        row += 1
        _put(ws, row, f"{n}", text)
    print_setup(ws, "portrait")
    protect(ws)
