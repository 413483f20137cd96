"""The «Титул» sheet: what the collection is, whose copy this is, and until when.

The organisation's cells sit at fixed addresses (``ORG_CELLS``) so the fast path can splice them
into a base workbook rendered once per collection.
"""

from __future__ import annotations

from datetime import datetime

from openpyxl.worksheet.worksheet import Worksheet

from forms.collection import MOSCOW, Collection
from forms.organisations import Organisation
from forms.spec import Form
from templates.school.rules import day_text
from templates.school.sheets import PREFILL_ROOM, print_setup, protect
from templates.xlsx import styles as st

LABEL_WIDTH = 26.0
VALUE_WIDTH = 90.0

# The per-organisation cells, in the order they are shown.
ORG_CELLS: dict[str, str] = {
    "full_name": "B4",
    "login": "B5",
    "region": "B6",
    "municipality": "B7",
}
_ORG_LABELS = {
    "full_name": "Организация",
    "login": "Логин",
    "region": "Регион",
    "municipality": "Муниципалитет",
}


def moment_text(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")


def window_text(collection: Collection) -> str:
    return f"с {moment_text(collection.opens)} по {moment_text(collection.closes)} (мск)"


def org_values(org: Organisation) -> dict[str, str]:
    """The title sheet's per-organisation cells: address → text."""
    return {
        ORG_CELLS["full_name"]: org.full_name,
        ORG_CELLS["login"]: org.login,
        ORG_CELLS["region"]: f"{org.region_code} — {org.region_name}",
        ORG_CELLS["municipality"]: f"{org.municipality_code} — {org.municipality_name}",
    }


def file_text(n: int, name: str) -> str:
    """«1. Порядок проведения ВПР СПО — PDF, файл «Порядок проведения ВПР СПО.pdf» в публикации»:
    what the document is, and the name to look for among the publication's files."""
    if name.startswith(("http://", "https://")):
        return f"{n}. {name}"
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or " " in ext or len(ext) > 5:
        return f"{n}. {name} (в файлах публикации)"
    return f"{n}. {stem} — {ext.upper()}, файл «{name}» в файлах публикации"


def send_back_text(collection: Collection) -> str:
    return (
        "Заполните листы формы (правила — на листе «Инструкция»), сохраните файл в формате .xlsx "
        f"и отправьте его обратно до {moment_text(collection.closes)} (мск). Не переименовывайте "
        "и не удаляйте листы, не вставляйте и не удаляйте столбцы. В ответ придёт квитанция или "
        "ваш файл с отмеченными ошибками."
    )


def _row(ws: Worksheet, row: int, label: str, value: str | None, *, bold: bool = False) -> None:
    head = ws.cell(row, 1, label)
    head.font, head.alignment = st.BOLD, st.WRAP
    cell = ws.cell(row, 2, value)
    cell.alignment = st.WRAP
    if bold:
        cell.font = st.BOLD
    if value:
        cell.data_type = "s"
    ws.row_dimensions[row].height = max(st.row_height(label, LABEL_WIDTH, bold=True),
                                        st.row_height(value or "", VALUE_WIDTH, bold=bold))


def write_title(ws: Worksheet, form: Form, collection: Collection) -> None:
    """Everything but the organisation's own cells, which stay empty but styled."""
    ws.column_dimensions["A"].width = LABEL_WIDTH
    ws.column_dimensions["B"].width = VALUE_WIDTH
    title = ws.cell(1, 1, collection.title)
    title.font, title.alignment = st.TITLE_FONT, st.WRAP
    ws.merge_cells("A1:B1")
    ws.row_dimensions[1].height = st.row_height(collection.title, LABEL_WIDTH + VALUE_WIDTH, bold=True,
                                                size=st.TITLE_SIZE)
    _row(ws, 2, "Раздел", collection.section)
    _row(ws, 3, "Форма", f"{form.title} (версия {form.version})")
    for key, address in ORG_CELLS.items():
        _row(ws, int(address[1:]), _ORG_LABELS[key], None, bold=key == "full_name")
    # Full names run long; the height cannot follow each organisation (the fast path splices only
    # the cells), so the row is sized for the longest name a registry usually holds.
    ws.row_dimensions[int(ORG_CELLS["full_name"][1:])].height = st.row_height(
        "о" * PREFILL_ROOM, VALUE_WIDTH, bold=True)
    row = int(ORG_CELLS["municipality"][1:]) + 1
    _row(ws, row, "Сроки сбора", window_text(collection), bold=True)
    row += 1
    if collection.period_start and collection.period_end:
        period = f"с {day_text(collection.period_start)} по {day_text(collection.period_end)}"
        _row(ws, row, "Период проведения", period)
        row += 1
    if collection.info:
        _row(ws, row, "Информация", collection.info)
        row += 1
    for i, name in enumerate(collection.files, start=1):
        _row(ws, row, "Файлы публикации" if i == 1 else "", file_text(i, name))
        row += 1
    _row(ws, row, "Как сдать отчёт", send_back_text(collection))
    row += 1
    note = ws.cell(row + 1, 1, "Шаблон сформирован системой sbor для вашей организации.")
    note.font = st.SMALL_GREY
    print_setup(ws, "portrait")
    protect(ws)
