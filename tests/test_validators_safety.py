"""The pre-check refuses hostile and foreign files before any reader opens them, each with one
finding that names the file and says what to do. Every file is built here, most from a real
template; none of them is ever handed to calamine (a cell at XFD1048576 aborts the process)."""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl.utils.cell import get_column_letter

from forms import Collection, Form, Sheet, builtin_forms, layout
from templates import render_template
from tests.officezip import apple_double, ds_store, mac_zipped, utf16, with_custom_xml
from tests.workbooks import SECRET, fill, org_for, set_cells
from validators import DEFAULT_LIMITS, Limits, inspect_file, precheck
from validators._xmlscan import scan_sheet

# What the school is told to do, word for word (forms/catalogue.py holds the same words).
RESAVE = "Откройте файл в Excel, сохраните его как «Книга Excel (.xlsx)» (Файл → Сохранить как) и отправьте снова."
NEW_TEMPLATE = ("Скачайте шаблон своей организации заново, перенесите в него данные (Копировать, затем "
                "Специальная вставка → Значения), сохраните и отправьте снова.")
SAVE_AS_XLSX = ("Откройте его в Excel, выберите Файл → Сохранить как, тип файла «Книга Excel (*.xlsx)», "
                "и отправьте новый файл.")
SHEET_PART = "xl/worksheets/sheet3.xml"  # «Специальности», the third sheet of the template


@pytest.fixture(scope="module")
def template(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> bytes:
    form = forms_by_id["spo_specialities"]
    collection = collections_by_form[form.id]
    return render_template(form, collection, org_for(collection), SECRET)


def rezip(template: bytes, replace: dict[str, bytes | None] | None = None,
          add: dict[str, bytes] | None = None) -> bytes:
    """The template's zip with some members replaced (None drops one) or added."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                data = replace[info.filename]
                if data is not None:
                    zout.writestr(info.filename, data)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return out.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "отчёт.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def only(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[str, str]:
    findings = precheck(path, limits=limits)
    assert len(findings) == 1, findings
    assert findings[0].severity == "error" and findings[0].file == path.name
    return findings[0].code, findings[0].message


def test_a_real_template_passes(template: bytes, tmp_path: Path) -> None:
    inspection = inspect_file(write(tmp_path, template))
    assert inspection.passed
    assert set(inspection.sheets) == {"Титул", "Инструкция", "Специальности", "_lists", "_sbor"}


def test_a_file_the_server_cannot_read(tmp_path: Path) -> None:
    """A name the server cannot read as a file (here a folder named like one): the school is
    asked to send it again, the reason follows for whoever looks into it."""
    (tmp_path / "отчёт.xlsx").mkdir()
    assert only(tmp_path / "отчёт.xlsx") == (
        "unreadable-file", "Файл «отчёт.xlsx» не принят: файл не удалось прочитать на сервере. Отправьте файл "
        "ещё раз; если ошибка повторится, сообщите координатору. Для специалиста: Is a directory.")


def test_empty_file(tmp_path: Path) -> None:
    assert only(write(tmp_path, b"")) == (
        "empty-file", "Файл «отчёт.xlsx» не принят: файл пустой (0 байт): вероятно, он не успел сохраниться "
                      "или скопироваться. Откройте заполненный шаблон в Excel, сохраните его и отправьте снова.")


def test_too_large_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as fh:
        fh.truncate(11 * 2**20)  # sparse: the pre-check must not read it
    assert only(path) == ("too-large", "Файл «big.xlsx» не принят: файл слишком большой (11,0 МБ), а "
                                       "принимаются файлы не больше 10,0 МБ. Обычно размер растёт от вставленных "
                                       "картинок, лишних листов или оформления далеко за таблицей: удалите их или "
                                       "перенесите данные в новый шаблон, сохраните и отправьте снова.")


def test_xls_is_refused(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1000)
    assert only(write(tmp_path, ole, "старый.xls")) == (
        "not-xlsx-xls",
        "Файл «старый.xls» не принят: файл сохранён в старом формате Excel 97–2003 (.xls), а принимается "
        f"только «Книга Excel» (.xlsx). {SAVE_AS_XLSX}")


def test_encrypted_workbook_is_refused(tmp_path: Path) -> None:
    # A password-protected .xlsx is an OLE2 container with EncryptionInfo and EncryptedPackage.
    ole = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le")
           + bytes(100) + "EncryptedPackage".encode("utf-16-le") + bytes(1000))
    code, message = only(write(tmp_path, ole))
    assert code == "encrypted"
    assert message == ("Файл «отчёт.xlsx» не принят: файл защищён паролем, и прочитать его невозможно. Снимите "
                       "пароль (Файл → Сведения → Защитить книгу → Зашифровать с использованием пароля: очистите "
                       "поле), сохраните файл и отправьте снова.")


def test_csv_renamed_is_refused(tmp_path: Path) -> None:
    csv = "Код;Название\n38.02.01;Экономика\n".encode("cp1251")
    assert only(write(tmp_path, csv)) == (
        "not-xlsx-csv",
        "Файл «отчёт.xlsx» не принят: это текстовый файл (CSV), которому дали расширение .xlsx, а нужен "
        "заполненный шаблон. Скачайте шаблон своей организации, перенесите в него данные и отправьте снова.")


def test_ods_is_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    assert only(write(tmp_path, out.getvalue())) == (
        "not-xlsx-ods", "Файл «отчёт.xlsx» не принят: файл сохранён в формате OpenDocument (.ods), а нужна «Книга "
                        "Excel» (.xlsx). В LibreOffice или «МойОфис» выберите Файл → Сохранить как, тип файла "
                        "«Excel 2007–365 (.xlsx)», и отправьте новый файл.")


def test_truncated_zip_is_refused(template: bytes, tmp_path: Path) -> None:
    assert only(write(tmp_path, template[: len(template) // 2])) == (
        "truncated", "Файл «отчёт.xlsx» не принят: файл повреждён или сохранён не полностью. Откройте его в Excel, "
                     "сохраните как «Книга Excel (.xlsx)» и отправьте снова; если Excel его не открывает, перенесите "
                     "данные в новый шаблон.")


def test_corrupted_part_is_refused(template: bytes, tmp_path: Path) -> None:
    # Flip a byte inside the compressed data of the last member: the CRC no longer matches.
    data = bytearray(template)
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        info = z.getinfo(SHEET_PART)
    data[info.header_offset + 30 + len(info.filename) + 10] ^= 0xFF
    assert only(write(tmp_path, bytes(data)))[0] == "truncated"


def test_macro_workbook_is_refused(template: bytes, tmp_path: Path) -> None:
    xlsm = rezip(template, add={"xl/vbaProject.bin": b"\x00" * 64})
    assert only(write(tmp_path, xlsm, "отчёт.xlsm")) == (
        "macro", "Файл «отчёт.xlsm» не принят: в книге есть макросы (это книга .xlsm), а книги с макросами не "
                 "принимаются. Сохраните её в Excel как «Книга Excel (*.xlsx)» (на вопрос о макросах ответьте, "
                 "что их не нужно сохранять) и отправьте снова.")


def test_macro_content_type_is_refused(template: bytes, tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        types = z.read("[Content_Types].xml")
    types = types.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
    assert only(write(tmp_path, rezip(template, {"[Content_Types].xml": types})))[0] == "macro"


def test_missing_workbook_part_is_refused(template: bytes, tmp_path: Path) -> None:
    assert only(write(tmp_path, rezip(template, {"xl/workbook.xml": None}))) == (
        "not-xlsx", "Файл «отчёт.xlsx» не принят: это не книга Excel, а файл другого вида (например, документ Word "
                    "или архив ZIP), которому дали расширение .xlsx. Проверьте, тот ли файл вы прикрепили: нужен "
                    "заполненный шаблон — книга Excel с расширением .xlsx. Для специалиста: в архиве нет "
                    "[Content_Types].xml или xl/workbook.xml.")


def test_external_links_are_refused(template: bytes, tmp_path: Path) -> None:
    linked = rezip(template, add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})
    assert only(write(tmp_path, linked)) == (
        "external-link", "Файл «отчёт.xlsx» не принят: в книге есть связи с другими файлами (формулы берут данные "
                         "из других книг). Разорвите связи (Данные → Изменить связи → Разорвать связь), сохраните "
                         "файл и отправьте снова.")


def test_zip_bomb_by_declared_size(template: bytes, tmp_path: Path) -> None:
    """A sheet inflating to 200 MB of zeros: refused from the central directory alone."""
    out = io.BytesIO(rezip(template))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("xl/worksheets/sheet9.xml", "w", force_zip64=True) as member:
            zeros = b"0" * 2**20
            for _ in range(200):
                member.write(zeros)
    code, message = only(write(tmp_path, out.getvalue()))
    assert (code, message) == ("zip-bomb", "Файл «отчёт.xlsx» не принят: в распакованном виде файл слишком велик "
                                           "— в книге с отчётом столько данных не бывает. " + NEW_TEMPLATE
                                           + " Для специалиста: часть xl/worksheets/sheet9.xml распаковывается "
                                             "в 200,0 МБ.")


def test_zip_bomb_by_ratio(template: bytes, tmp_path: Path) -> None:
    bomb = rezip(template, add={"xl/worksheets/sheet9.xml": b" " * (5 * 2**20)})
    code, message = only(write(tmp_path, bomb))
    assert code == "zip-bomb" and message.startswith(
        "Файл «отчёт.xlsx» не принят: файл сжат так сильно, как сжимаются только специально подготовленные "
        "файлы, а не книги с отчётом.")


def _lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """Patch the declared uncompressed size of ``member`` in its local header and its central
    directory entry: the archive says ``size``, the data inflates to more."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(member)
    struct.pack_into("<I", patched, info.header_offset + 22, size)
    index = 0
    while (index := patched.find(b"PK\x01\x02", index)) != -1:
        name_length = struct.unpack_from("<H", patched, index + 28)[0]
        if patched[index + 46: index + 46 + name_length] == member.encode():
            struct.pack_into("<I", patched, index + 24, size)
        index += 4
    return bytes(patched)


def test_declared_sizes_are_not_trusted(template: bytes, tmp_path: Path) -> None:
    """The archive claims 1 KB; the part inflates to 3 MB of digits (an ordinary compression
    ratio): refused as soon as the inflate passes the declared size, not after trusting it."""
    digits = random.Random(5).randbytes(3 * 2**19).hex().encode()
    bomb = rezip(template, add={"xl/worksheets/sheet9.xml": b"<a>" + digits + b"</a>"})
    liar = _lie_about_size(bomb, "xl/worksheets/sheet9.xml", 1024)
    assert only(write(tmp_path, liar)) == (
        "zip-bomb", ("Файл «отчёт.xlsx» не принят: в распакованном виде файл слишком велик — в книге с отчётом "
                     f"столько данных не бывает. {NEW_TEMPLATE} Для специалиста: часть xl/worksheets/sheet9.xml "
                     "распаковывается в больший объём, чем указано в архиве."))


def test_a_bomb_lying_about_its_size_is_refused_by_its_ratio(template: bytes, tmp_path: Path) -> None:
    """Headers claiming 10 KB for a sheet that inflates to 30 MB of spaces (about 30 KB on disk):
    the ratio of what the inflate produced to what it consumed gives it away at the first step,
    with the same finding as a bomb that declares its size honestly."""
    out = io.BytesIO(rezip(template))
    with (zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as z,
          z.open("xl/worksheets/sheet9.xml", "w") as member):
        member.write(b"<worksheet>")
        spaces = b" " * 2**20
        for _ in range(30):
            member.write(spaces)
        member.write(b"</worksheet>")
    liar = _lie_about_size(out.getvalue(), "xl/worksheets/sheet9.xml", 10_000)
    code, message = only(write(tmp_path, liar))
    found = re.fullmatch(r"Файл «отчёт\.xlsx» не принят: файл сжат так сильно, как сжимаются только специально "
                         r"подготовленные файлы, а не книги с отчётом\. (.*) Для специалиста: часть "
                         r"xl/worksheets/sheet9\.xml сжата в (\d+) раз, признак «zip-бомбы»\.", message)
    assert code == "zip-bomb" and found is not None, message
    assert found.group(1) == NEW_TEMPLATE and int(found.group(2)) > DEFAULT_LIMITS.max_ratio


def test_too_many_parts(template: bytes, tmp_path: Path) -> None:
    many = rezip(template, add={f"xl/media/image{i}.png": b"x" for i in range(300)})
    assert only(write(tmp_path, many)) == (
        "zip-bomb", "Файл «отчёт.xlsx» не принят: в книге слишком много вложенных объектов (картинок, листов и т. п.): "
                    "316, а допустимо не больше 200. Удалите лишние картинки и объекты или перенесите данные в новый "
                    "шаблон, сохраните и отправьте снова.")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
      b'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
)


def dtd_refusal(part: str) -> str:
    return ("Файл «отчёт.xlsx» не принят: в файле есть служебные вставки, которых Excel никогда не делает (так "
            f"устроены файлы для атак на серверы), поэтому он не читается. {NEW_TEMPLATE} Для специалиста: часть "
            f"{part} содержит объявление DTD/ENTITY.")


def encoding_refusal(part: str, encoding: str) -> str:
    return ("Файл «отчёт.xlsx» не принят: файл записан не Excel, а программой, которая сохранила его текст в "
            f"непривычной кодировке. {RESAVE} Для специалиста: часть {part} в кодировке {encoding}.")


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", SHEET_PART])
def test_billion_laughs_is_refused(template: bytes, tmp_path: Path, part: str) -> None:
    data = (rezip(template, {part: BILLION_LAUGHS}) if part == SHEET_PART
            else rezip(template, add={part: BILLION_LAUGHS}))
    assert data != template
    assert only(write(tmp_path, data)) == ("xml-entities", dtd_refusal(part))


def test_xxe_is_refused(template: bytes, tmp_path: Path) -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&x;</t></si></sst>')
    assert only(write(tmp_path, rezip(template, add={"xl/sharedStrings.xml": xxe})))[0] == "xml-entities"


def test_a_dtd_in_a_utf16_part_is_refused(template: bytes, tmp_path: Path) -> None:
    """A byte search cannot see "<!DOCTYPE" in UTF-16: the part is decoded and the DTD found."""
    hidden = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a []><a/>'.encode("utf-16")
    assert only(write(tmp_path, rezip(template, add={"xl/sharedStrings.xml": hidden}))) == (
        "xml-entities", dtd_refusal("xl/sharedStrings.xml"))


def test_cell_at_xfd1048576_is_refused(template: bytes, tmp_path: Path) -> None:
    """calamine aborts the process on this file; the pre-check refuses it first."""
    far = set_cells(template, "Специальности", {"XFD1048576": 1})
    assert only(write(tmp_path, far)) == (
        "far-cell", "Файл «отчёт.xlsx» не принят: на листе «Специальности» заполнена или оформлена ячейка "
                    f"XFD1048576, далеко за пределами таблицы шаблона. {FAR_ADVICE}")


FAR_ADVICE = ("Удалите всё, что ниже и правее таблицы (выделите лишние строки или столбцы, правая кнопка мыши → "
              "Удалить), или перенесите данные в новый шаблон; сохраните файл и отправьте снова.")


def _with_cell(template: bytes, address: str) -> bytes:
    """The template with one more cell on «Специальности», its address written as given."""
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        sheet = z.read(SHEET_PART)
    extra = b'<row r="400"><c r="%s"><v>1</v></c></row></sheetData>' % address.encode()
    return rezip(template, {SHEET_PART: sheet.replace(b"</sheetData>", extra, 1)})


@pytest.mark.parametrize("address", ["xfd1048576", "Xfd5", "AAAA1", "ZZZZ400"])
def test_far_addresses_in_any_spelling_are_refused(template: bytes, tmp_path: Path, address: str) -> None:
    """calamine reads addresses in lower case and with four letters (ZZZZ1 is column 475,254; a
    lower-case xfd1048576 aborts it like the upper-case one), so those are parsed and refused."""
    limits = Limits(max_row=1304, max_column=60)
    assert only(write(tmp_path, _with_cell(template, address)), limits) == (
        "far-cell", ("Файл «отчёт.xlsx» не принят: на листе «Специальности» заполнена или оформлена ячейка "
                     f"{address.upper()}, далеко за пределами таблицы шаблона. {FAR_ADVICE}"))


@pytest.mark.parametrize("address", ["aa5", "BH1304", "a1000"])
def test_near_addresses_in_any_spelling_pass(template: bytes, tmp_path: Path, address: str) -> None:
    limits = Limits(max_row=1304, max_column=60)
    assert precheck(write(tmp_path, _with_cell(template, address)), limits=limits) == []


@settings(max_examples=300, deadline=None)
@example(max_row=1304, max_column=60, cells=[(60, 1304, False), (1, 1305, True)])
@example(max_row=1304, max_column=60, cells=[(60, 1304, True), (61, 1, False)])
@example(max_row=2**20, max_column=2**14, cells=[(2**14, 2**20, True)])
@given(max_row=st.integers(1, 2**20), max_column=st.integers(1, 2**14),
       cells=st.lists(st.tuples(st.integers(1, 18_278), st.integers(1, 2_000_000), st.booleans()),
                      min_size=1, max_size=20))
def test_a_far_address_is_found_whatever_the_limits(max_row: int, max_column: int,
                                                     cells: list[tuple[int, int, bool]]) -> None:
    """The scan's patterns are built from the limits (which addresses are plainly within them):
    for any limits and any addresses, upper or lower case, a sheet has a far cell exactly when
    some address lies beyond, and the one reported is such an address."""
    addresses = [(get_column_letter(c).lower() if lower else get_column_letter(c)) + str(r)
                 for c, r, lower in cells]
    xml = ('<worksheet><sheetData><row r="1">'
           + "".join(f'<c r="{a}"><v>1</v></c>' for a in addresses) + "</row></sheetData></worksheet>").encode()
    beyond = {a.upper() for (c, r, _), a in zip(cells, addresses, strict=True) if c > max_column or r > max_row}
    facts = scan_sheet(xml, max_row, max_column, DEFAULT_LIMITS.max_cells)
    assert (facts.far in beyond) if beyond else facts.far is None
    assert not facts.unaddressed


def test_an_address_no_reader_can_place_is_refused(template: bytes, tmp_path: Path) -> None:
    assert only(write(tmp_path, _with_cell(template, "$A$1"))) == (
        "far-cell", "Файл «отчёт.xlsx» не принят: на листе «Специальности» есть ячейки без адреса: файл записан не "
                    f"Excel, а программой, которая сохранила его с ошибками. {RESAVE}")


def test_limits_follow_the_form(template: bytes, tmp_path: Path) -> None:
    below = set_cells(template, "Специальности", {"A2000": "x"})
    assert only(write(tmp_path, below), Limits(max_row=1304))[0] == "far-cell"
    assert precheck(write(tmp_path, below), limits=Limits(max_row=5000)) == []


def test_cells_without_address_are_refused(template: bytes, tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        sheet = z.read(SHEET_PART)
    bare = sheet.replace(b"<sheetData>", b"<sheetData><row>" + b'<c t="n"><v>1</v></c>' * 20000 + b"</row>", 1)
    assert bare != sheet
    code, message = only(write(tmp_path, rezip(template, {SHEET_PART: bare})))
    assert code == "far-cell" and "есть ячейки без адреса" in message


TOO_MANY_CELLS = ("Удалите строки и столбцы за пределами таблицы шаблона (выделите их, правая кнопка мыши → "
                  "Удалить: очистить содержимое мало, оформление остаётся) или перенесите данные в новый "
                  "шаблон, сохраните файл и отправьте снова.")


def _every_entry_cell(sheet: Sheet, rows: int) -> dict[str, Any]:
    """Every field of ``sheet`` typed in, in ``rows`` rows of a table or the one row of a card (the
    values need not be right: the pre-check never reads them)."""
    row = {f.number: 1 if f.type in ("integer", "decimal") else "x" for f in sheet.fields}
    return {sheet.name: row if sheet.kind == "card" else [row] * rows}


def test_a_sheet_over_the_cell_cap_is_refused(forms_by_id: dict[str, Form], template: bytes,
                                              tmp_path: Path) -> None:
    """The real template with all 300 rows filled: 3,022 cells (with the 22 of the headers) against
    a cap of 2,000. The school is told which sheet, how many cells are allowed and what to do."""
    form = forms_by_id["spo_specialities"]
    sheet = form.sheet("Специальности")
    full = fill(template, _every_entry_cell(sheet, sheet.max_rows), form)
    assert only(write(tmp_path, full), Limits(max_cells=2000)) == (
        "too-many-cells",
        "Файл «отчёт.xlsx» не принят: на листе «Специальности» слишком много заполненных или оформленных ячеек: "
        "3\u00a0022, а допустимо не больше 2\u00a0000. " + TOO_MANY_CELLS)


@pytest.mark.parametrize("form_id", sorted(builtin_forms()))
def test_every_entry_cell_filled_passes_the_forms_cell_cap(
        forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection], tmp_path: Path,
        form_id: str) -> None:
    """The fullest honest file: every entry cell of every sheet of the form filled, under the cap
    worked out from the smallest of the form's sheets (the context takes the largest of all)."""
    form = forms_by_id[form_id]
    collection = collections_by_form[form.id]
    values: dict[str, Any] = {}
    for sheet in form.sheets:
        values.update(_every_entry_cell(sheet, sheet.max_rows))
    full = fill(render_template(form, collection, org_for(collection), SECRET), values, form)
    smallest = min(Limits.cell_cap(layout.last_row(s), layout.last_column(s)) for s in form.sheets)
    inspection = inspect_file(write(tmp_path, full), limits=Limits(max_cells=smallest))
    assert inspection.passed, inspection.findings


def test_an_unusual_writers_cells_are_counted_up_to_the_cap(template: bytes, tmp_path: Path) -> None:
    """Cells without addresses are counted one by one, and only until the cap is passed."""
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        sheet = z.read(SHEET_PART)
    bare = sheet.replace(b"<sheetData>", b"<sheetData><row>" + b'<c t="n"><v>1</v></c>' * 20000 + b"</row>", 1)
    assert only(write(tmp_path, rezip(template, {SHEET_PART: bare})), Limits(max_cells=1000)) == (
        "too-many-cells",
        "Файл «отчёт.xlsx» не принят: на листе «Специальности» слишком много заполненных или оформленных ячеек: "
        "больше 1\u00a0000, а допустимо не больше 1\u00a0000. " + TOO_MANY_CELLS)


PICK_THE_FILE = "Проверьте, тот ли файл вы прикрепили: нужен заполненный шаблон — книга Excel с расширением .xlsx."


@pytest.mark.parametrize(("data", "said"), [
    (b"%PDF-1.7\n" + bytes(100), "это файл PDF, а нужна книга Excel (.xlsx). Отправьте сам заполненный шаблон "
                                 "(файл .xlsx), а не его копию в PDF."),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>",
     f"это не книга Excel, а веб-страница или файл XML, которому дали расширение книги Excel. {RESAVE}"),
    (bytes(range(256)) * 4, f"это не книга Excel (.xlsx). {PICK_THE_FILE}"),
], ids=["pdf", "html", "binary"])
def test_other_formats_are_refused(tmp_path: Path, data: bytes, said: str) -> None:
    assert only(write(tmp_path, data)) == ("not-xlsx", f"Файл «отчёт.xlsx» не принят: {said}")


def test_an_xlsb_is_refused(template: bytes, tmp_path: Path) -> None:
    xlsb = rezip(template, add={"xl/workbook.bin": bytes(64)})
    assert only(write(tmp_path, xlsb, "отчёт.xlsb")) == (
        "not-xlsx", "Файл «отчёт.xlsb» не принят: файл сохранён как «Двоичная книга Excel» (.xlsb), а нужна обычная "
                    f"«Книга Excel» (.xlsx). {SAVE_AS_XLSX}")


def test_facts_of_a_sheet(template: bytes, tmp_path: Path) -> None:
    """The pre-check keeps what the reader needs: merged cells and formulas without a value."""
    formula = set_cells(template, "Специальности", {"E5": "=F5+G5"})
    facts = inspect_file(write(tmp_path, formula)).sheets["Специальности"]
    assert facts.formulas_without_value == ("E5",)
    assert facts.merges == ("A1:J1", "A2:J2")


def test_a_sheet_under_an_unusual_name_is_still_scanned(template: bytes, tmp_path: Path) -> None:
    """The workbook's relationships, not the part's name, say what calamine reads as a sheet."""
    far = set_cells(template, "Специальности", {"XFD1048576": 1})
    with zipfile.ZipFile(io.BytesIO(far)) as z:
        sheet = z.read(SHEET_PART)
        rels = z.read("xl/_rels/workbook.xml.rels")
    moved = rezip(far, {SHEET_PART: None, "xl/_rels/workbook.xml.rels":
                        rels.replace(b"worksheets/sheet3.xml", b"media/picture.png")},
                  add={"xl/media/picture.png": sheet})
    code, message = only(write(tmp_path, moved))
    assert code == "far-cell" and "на листе «Специальности» заполнена или оформлена ячейка XFD1048576" in message


def test_pictures_are_not_read_as_xml(template: bytes, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(2000)
    assert precheck(write(tmp_path, rezip(template, add={"xl/media/image1.png": png}))) == []


# -- real workbooks that were refused by mistake (issue 10, part 8) ------------------------------

ITEM = "customXml/item1.xml"
DTD_ITEM = ('<?xml version="1.0" encoding="{label}"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<p:properties xmlns:p="http://schemas.microsoft.com/office/2006/metadata/properties">&x;</p:properties>')


def test_a_workbook_tied_to_sharepoint_passes(template: bytes, tmp_path: Path) -> None:
    """Excel adds a custom XML item to a workbook kept in SharePoint or OneDrive, in UTF-16 LE with
    a byte order mark, named by the workbook's relationships; it used to be refused as an XML bomb."""
    tied = with_custom_xml(template)
    with zipfile.ZipFile(io.BytesIO(tied)) as z:
        assert z.read(ITEM).startswith(b"\xff\xfe<\x00?\x00x\x00m\x00l\x00")
        assert b'Target="../customXml/item1.xml"' in z.read("xl/_rels/workbook.xml.rels")
    inspection = inspect_file(write(tmp_path, tied))
    assert inspection.passed, inspection.findings
    assert set(inspection.sheets) == {"Титул", "Инструкция", "Специальности", "_lists", "_sbor"}


@pytest.mark.parametrize("tied", [False, True], ids=["plain", "sharepoint"])
def test_a_workbook_packed_again_on_a_mac_passes(template: bytes, tmp_path: Path, tied: bool) -> None:
    """Unpacked and packed again in the Finder: a ``.DS_Store`` and an AppleDouble twin of every
    file under ``__MACOSX/``, which nothing names and nobody reads; it used to be refused for
    «необычная кодировка»."""
    packed = mac_zipped(with_custom_xml(template) if tied else template)
    with zipfile.ZipFile(io.BytesIO(packed)) as z:
        assert {".DS_Store", "__MACOSX/xl/._workbook.xml", "__MACOSX/._[Content_Types].xml"} <= set(z.namelist())
    inspection = inspect_file(write(tmp_path, packed))
    assert inspection.passed, inspection.findings
    assert inspection.sheets == inspect_file(write(tmp_path, template, "как-есть.xlsx")).sheets


@pytest.mark.parametrize(("label", "encode"), [
    ("utf-16", utf16),
    ("UTF-16", lambda text: text.encode("utf-16-be").join([b"\xfe\xff", b""])),
    ("UTF-16LE", lambda text: text.encode("utf-16-le")),
    ("UTF-16BE", lambda text: text.encode("utf-16-be")),
], ids=["le-bom", "be-bom", "le-declared", "be-declared"])
def test_a_dtd_in_a_utf16_custom_xml_item_is_still_refused(template: bytes, tmp_path: Path, label: str,
                                                            encode: Callable[[str], bytes]) -> None:
    """The item is read in UTF-16 (by its byte order mark, or without one by its first bytes and
    declaration) and its external entity found, as in a UTF-8 part."""
    item = encode(DTD_ITEM.format(label=label))
    assert b"<!DOCTYPE" not in item
    assert only(write(tmp_path, with_custom_xml(template, item))) == ("xml-entities", dtd_refusal(ITEM))


@pytest.mark.parametrize(("item", "encoding"), [
    (DTD_ITEM.format(label="UTF-32").encode("utf-32"), "UTF-32"),
    (b'<?xml version="1.0" encoding="UTF-7"?>+ADwAIQ-DOCTYPE p +AFsAPAAh-ENTITY x SYSTEM +ACI-file:///etc/passwd'
     b'+ACIAPgBdAD4-<p>+ACY-x+ADs-</p>', "UTF-7"),
    (b"\xff\xfe" + "<p>".encode("utf-16-le") + b"\x00\xd8" + "</p>".encode("utf-16-le"),
     "UTF-16, записанной с ошибками"),
], ids=["utf-32", "utf-7", "broken-utf-16"])
def test_a_named_part_in_an_encoding_that_cannot_be_scanned_is_refused(template: bytes, tmp_path: Path,
                                                                        item: bytes, encoding: str) -> None:
    assert only(write(tmp_path, with_custom_xml(template, item))) == ("xml-entities", encoding_refusal(ITEM, encoding))


def test_parts_nothing_names_are_not_judged(template: bytes, tmp_path: Path) -> None:
    """No content type, relationship or reader's fixed path names them, so nothing ever parses
    them: their content is not judged (the same billion laughs under a name a reader opens is
    refused above)."""
    odd = rezip(template, add={"__MACOSX/xl/._sharedStrings.xml": BILLION_LAUGHS,
                               "notes/readme.txt": "Отчёт колледжа".encode("utf-32"),
                               "xl/.DS_Store": ds_store(), "__MACOSX/xl/._styles.xml": apple_double()})
    assert precheck(write(tmp_path, odd)) == []


def _bomb(template: bytes, part: str, lying: bool) -> bytes:
    """30 MB of spaces as ``part`` (30 KB packed), its size declared honestly or as 10 KB."""
    out = io.BytesIO(rezip(template))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as z, z.open(part, "w") as member:
        for _ in range(30):
            member.write(b" " * 2**20)
    return _lie_about_size(out.getvalue(), part, 10_000) if lying else out.getvalue()


@pytest.mark.parametrize("lying", [False, True], ids=["honest", "lying"])
@pytest.mark.parametrize("part", [".DS_Store", "__MACOSX/xl/._workbook.xml", "notes/readme.txt"])
def test_a_bomb_is_refused_wherever_it_hides(template: bytes, tmp_path: Path, part: str, lying: bool) -> None:
    """A part nobody reads still counts against the caps: an honest one by its declared size, a
    lying one inflated (within the caps) until its ratio gives it away."""
    code, message = only(write(tmp_path, _bomb(template, part, lying)))
    assert code == "zip-bomb"
    if lying:
        assert re.fullmatch("Файл «отчёт.xlsx» не принят: файл сжат так сильно, как сжимаются только специально "
                            f"подготовленные файлы, а не книги с отчётом. .* Для специалиста: часть {re.escape(part)} "
                            r"сжата в \d+ раз, признак «zip-бомбы»\.", message), message
    else:
        assert message == ("Файл «отчёт.xlsx» не принят: в распакованном виде файл слишком велик — в книге с отчётом "
                           f"столько данных не бывает. {NEW_TEMPLATE} Для специалиста: часть {part} распаковывается "
                           "в 30,0 МБ.")


def test_a_utf16_worksheet_is_scanned_like_any_other(template: bytes, tmp_path: Path) -> None:
    """A worksheet in UTF-16 is scanned in its decoded form: the same facts, and a far cell found."""
    with zipfile.ZipFile(io.BytesIO(template)) as z:
        sheet = z.read(SHEET_PART).decode()
    wide = utf16(sheet.replace("</sheetData>", '<row r="400"><c r="XFD400"><v>1</v></c></row></sheetData>'))
    assert only(write(tmp_path, rezip(template, {SHEET_PART: wide})))[0] == "far-cell"
    same = inspect_file(write(tmp_path, rezip(template, {SHEET_PART: utf16(sheet)})))
    assert same.passed and same.sheets == inspect_file(write(tmp_path, template, "как-есть.xlsx")).sheets
