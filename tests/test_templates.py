"""School templates, both ways (openpyxl reference and the spliced fast path), for every form:
what a school sees and what the reader relies on is where the spec and forms/layout.py put it."""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from forms import Collection, Form, Identity, Organisation, builtin_forms, layout, load_collection, worded
from forms.loader import DATA_DIR
from templates import TemplateFactory, render_template
from templates.xlsx import CrcAppend, longest_word
from tests.benches import load_bench
from tests.workbooks import SECRET, org_for, sample_org

FORM_IDS = sorted(builtin_forms())


@pytest.fixture(params=FORM_IDS)
def case(request: pytest.FixtureRequest, forms_by_id: dict[str, Form],
         collections_by_form: dict[str, Collection]) -> tuple[Form, Collection, Organisation]:
    form = forms_by_id[request.param]
    collection = collections_by_form[form.id]
    return form, collection, org_for(collection)


def _both(case: tuple[Form, Collection, Organisation]) -> dict[str, bytes]:
    form, collection, org = case
    return {
        "openpyxl": render_template(form, collection, org, SECRET),
        "fast": TemplateFactory(form, collection, SECRET).render(org),
    }


def _open(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def _values(wb: Workbook) -> dict[str, dict[str, object]]:
    return {
        ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
        for ws in wb.worksheets
    }


def _is_locked(ws: Worksheet, address: str) -> bool:
    """Locked as Excel sees it: a cell's own style, else (no cell record) its column's style."""
    if address in {c.coordinate for row in ws.iter_rows() for c in row if c.has_style}:
        return bool(ws[address].protection.locked)
    letter = address.rstrip("0123456789")
    dim = ws.column_dimensions.get(letter)
    return bool(dim.protection.locked) if dim is not None and dim.has_style else True


def test_both_paths_give_the_same_cells(case: tuple[Form, Collection, Organisation]) -> None:
    files = _both(case)
    with zipfile.ZipFile(io.BytesIO(files["fast"])) as archive:
        assert archive.testzip() is None  # every member's CRC and length check out
    reference, fast = _open(files["openpyxl"]), _open(files["fast"])
    assert _values(fast) == _values(reference)
    for ws in reference.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                other = fast[ws.title][cell.coordinate]
                assert (other.number_format, other.protection.locked, other.font.b) == (
                    cell.number_format, cell.protection.locked, cell.font.b), (ws.title, cell.coordinate)


def test_reads_back_in_calamine_with_headers_in_place(case: tuple[Form, Collection, Organisation]) -> None:
    form, collection, _ = case
    form = worded(form, collection)  # the headers as the collection prints them
    for data in _both(case).values():
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        assert book.sheet_names == [layout.TITLE_SHEET, layout.INSTRUCTION_SHEET,
                                    *(s.name for s in form.sheets), layout.LISTS_SHEET,
                                    layout.IDENTITY_SHEET]
        visibility = {m.name: m.visible for m in book.sheets_metadata}
        assert visibility[layout.LISTS_SHEET] == SheetVisibleEnum.Hidden
        assert visibility[layout.IDENTITY_SHEET] == SheetVisibleEnum.VeryHidden
        for sheet in form.sheets:
            rows = book.get_sheet_by_name(sheet.name).to_python()
            assert rows[layout.TITLE_ROW - 1][0] == sheet.name
            assert rows[layout.HINT_ROW - 1][0] == (sheet.hint or form.description)
            if sheet.kind == "table":
                assert rows[layout.HEADER_ROW - 1][: len(sheet.fields)] == [f.title for f in sheet.fields]
                assert rows[layout.NUMBER_ROW - 1][: len(sheet.fields)] == [f.number for f in sheet.fields]
            else:
                assert rows[layout.HEADER_ROW - 1][:3] == list(layout.CARD_HEADERS)
                for field in sheet.fields:
                    ref = layout.card_cell(sheet, field.number)
                    assert rows[ref.row - 1][:2] == [field.number, field.title]


def _validations(ws: Worksheet) -> dict[str, object]:
    """Each entry cell range (as "A5:A304") → its data validation."""
    return {str(rng): dv for dv in ws.data_validations.dataValidation for rng in dv.sqref.ranges}


def test_dropdowns_and_checks_cover_the_entry_area(case: tuple[Form, Collection, Organisation]) -> None:
    form, collection, _ = case
    for data in _both(case).values():
        wb = _open(data)
        lists = wb[layout.LISTS_SHEET]
        for sheet in form.sheets:
            ws = wb[sheet.name]
            by_range = _validations(ws)
            for field in sheet.fields:
                ref = layout.cell_of(sheet, field.number)
                area = (ref.address if sheet.kind == "card" else
                        f"{get_column_letter(ref.column)}{layout.FIRST_ROW}:"
                        f"{get_column_letter(ref.column)}{layout.last_row(sheet)}")
                dv = by_range.get(area)
                if field.type == "text" and not field.max_length:
                    assert dv is None
                    continue
                assert dv is not None, (sheet.name, field.number, area)
                assert dv.errorStyle == "stop" and dv.showErrorMessage
                assert dv.error and dv.errorTitle == "Недопустимое значение"
                assert field.number in dv.error
                if field.type == "yesno":
                    assert (dv.type, dv.formula1) == ("list", '"Да,Нет"')
                elif field.type == "choice":
                    # A named range on the hidden lists sheet holding exactly the list's values.
                    assert dv.type == "list"
                    target = wb.defined_names[dv.formula1].attr_text
                    sheet_name, cells = target.rsplit("!", 1)
                    assert sheet_name.strip("'") == layout.LISTS_SHEET
                    col, top, _, bottom = range_boundaries(cells.replace("$", ""))
                    shown = [lists.cell(r, col).value for r in range(top, bottom + 1)]
                    assert tuple(shown) == form.choices_for(field)
                elif field.type == "integer":
                    assert dv.type == "whole"
                    if field.minimum is not None and field.maximum is not None:
                        assert (dv.operator, float(dv.formula1), float(dv.formula2)) == (
                            "between", field.minimum, field.maximum)
                elif field.type == "date":
                    assert dv.type == "date"
                    if field.within_period and collection.period_start and collection.period_end:
                        assert (int(dv.formula1), int(dv.formula2)) == (
                            int(to_excel(collection.period_start)), int(to_excel(collection.period_end)))
                elif field.type == "text":
                    assert (dv.type, dv.operator, dv.formula1) == (
                        "textLength", "lessThanOrEqual", str(field.max_length))


def test_hints_are_comments_where_the_school_looks(case: tuple[Form, Collection, Organisation]) -> None:
    form, _, _ = case
    wb = _open(_both(case)["fast"])
    for sheet in form.sheets:
        ws = wb[sheet.name]
        for field in sheet.fields:
            ref = layout.cell_of(sheet, field.number)
            where = (ws.cell(ref.row, 2) if sheet.kind == "card"
                     else ws.cell(layout.HEADER_ROW, ref.column))
            assert where.comment is not None, (sheet.name, field.number)
            if field.hint:  # the hint, unless it only repeats the rule that is there anyway
                assert field.hint.lower().rstrip(". ") in where.comment.text.lower()
            assert ("Обязательно" if field.required else "Необязательно") in where.comment.text


def test_headers_locked_entry_open_sheets_protected(case: tuple[Form, Collection, Organisation]) -> None:
    form, _, _ = case
    for data in _both(case).values():
        wb = _open(data)
        assert wb.security is not None and wb.security.lockStructure
        for sheet in form.sheets:
            ws = wb[sheet.name]
            assert ws.protection.sheet and not ws.protection.password
            assert not ws.protection.formatColumns  # widening columns stays allowed
            if sheet.kind == "table":
                assert ws.freeze_panes == f"A{layout.FIRST_ROW}"
                assert ws.print_title_rows == f"${layout.HEADER_ROW}:${layout.NUMBER_ROW}"
                assert ws.page_setup.orientation == "landscape"
                for col, field in enumerate(sheet.fields, start=1):
                    letter = get_column_letter(col)
                    assert _is_locked(ws, f"{letter}{layout.HEADER_ROW}")
                    assert _is_locked(ws, f"{letter}{layout.NUMBER_ROW}")
                    assert not _is_locked(ws, f"{letter}{layout.FIRST_ROW + 7}")
                    assert not _is_locked(ws, f"{letter}{layout.last_row(sheet)}")
                    # The spec's width, or wider where a word of the header would be broken.
                    width = ws.column_dimensions[letter].width
                    assert width >= (field.width or 16)
                    assert longest_word(field.title, bold=True) < width
                    if field.type == "date":
                        assert ws.column_dimensions[letter].number_format == "DD.MM.YYYY"
                    if field.type == "integer":
                        assert ws.column_dimensions[letter].number_format == "0"
                assert _is_locked(ws, f"{get_column_letter(len(sheet.fields) + 1)}{layout.FIRST_ROW}")
            else:
                for field in sheet.fields:
                    ref = layout.card_cell(sheet, field.number)
                    assert _is_locked(ws, f"A{ref.row}") and _is_locked(ws, f"B{ref.row}")
                    assert not _is_locked(ws, ref.address)
        for hidden in (layout.LISTS_SHEET, layout.IDENTITY_SHEET):
            assert wb[hidden].protection.sheet


def test_prefill_from_the_registry(forms_by_id: dict[str, Form],
                                   collections_by_form: dict[str, Collection]) -> None:
    form = forms_by_id["spo_specialities"]
    collection = collections_by_form[form.id]
    org = sample_org("spo", specialities=("38.02.01", "09.02.07", "99.99.99", "38.02.01"))
    sheet = form.sheets[0]
    choices = form.choices_for(sheet.field(sheet.prefill_field or ""))
    expected = [next(c for c in choices if c.startswith("38.02.01 ")),
                next(c for c in choices if c.startswith("09.02.07 ")),
                "99.99.99"]  # unknown to the list: written as it is, for the school to correct
    for data in (render_template(form, collection, org, SECRET),
                 TemplateFactory(form, collection, SECRET).render(org)):
        ws = _open(data)[sheet.name]
        assert ws.max_row == layout.FIRST_ROW + 2
        col = layout.column_of(sheet, sheet.prefill_field or "")
        got = [ws.cell(layout.FIRST_ROW + i, col).value for i in range(5)]
        assert got == [*expected, None, None]
        assert not ws.cell(layout.FIRST_ROW, col).protection.locked
        assert ws.cell(layout.FIRST_ROW, col).number_format == "@"


def test_prefill_of_a_card_answer(forms_by_id: dict[str, Form],
                                  collections_by_form: dict[str, Collection]) -> None:
    form = forms_by_id["vpr_org_info"]
    collection = collections_by_form[form.id]
    # A hostile name: starts like a formula, holds XML specials and a control character.
    org = sample_org("edu", full_name="=HYPERLINK(\"x\") & <Школа> \x07№1")
    for data in (render_template(form, collection, org, SECRET),
                 TemplateFactory(form, collection, SECRET).render(org)):
        wb = _open(data)
        sheet = form.sheets[0]
        cell = wb[sheet.name][layout.card_cell(sheet, "1").address]
        assert cell.data_type == "s"
        assert cell.value.startswith("=HYPERLINK(\"x\") & <Школа>")
        assert wb[layout.TITLE_SHEET]["B4"].value == cell.value


def test_title_sheet_names_the_school_and_the_window(case: tuple[Form, Collection, Organisation]) -> None:
    form, collection, org = case
    for data in _both(case).values():
        wb = _open(data)
        assert wb.sheetnames[0] == layout.TITLE_SHEET and wb.active.title == layout.TITLE_SHEET
        text = "\n".join(str(v) for v in _values(wb)[layout.TITLE_SHEET].values())
        for expected in (collection.title, collection.section, form.title, org.full_name, org.login,
                         org.region_name, org.municipality_name, collection.info, *collection.files):
            assert expected in text
        assert "с 01.11.2026 12:00 по 25.12.2026 18:00 (мск)" in text or form.id != "spo_specialities"
        assert wb.properties.creator == "sbor" and wb.properties.title == collection.title


def test_instruction_states_every_rule(case: tuple[Form, Collection, Organisation]) -> None:
    form, collection, _ = case
    form = worded(form, collection)
    wb = _open(_both(case)["fast"])
    text = "\n".join(str(v) for v in _values(wb)[layout.INSTRUCTION_SHEET].values())
    assert "структуру" in text and ".xlsx" in text
    for sheet in form.sheets:
        assert f"Лист «{sheet.name}»" in text
        for field in sheet.fields:
            assert f"«{field.title}»" in text
        for check in sheet.checks:
            assert (check.explain or "") in text
    if form.id == "vpr_spo_schedule":
        assert "с 01.02.2027 по 31.03.2027" in text


def _identity(data: bytes) -> dict[str, str]:
    ws = _open(data)[layout.IDENTITY_SHEET]
    return {str(ws.cell(r, 1).value): str(ws.cell(r, 2).value) for r in range(1, len(layout.IDENTITY_KEYS) + 1)}


def test_identity_is_signed_and_very_hidden(case: tuple[Form, Collection, Organisation]) -> None:
    form, collection, org = case
    for data in _both(case).values():
        wb = _open(data)
        assert wb[layout.IDENTITY_SHEET].sheet_state == "veryHidden"
        assert wb[layout.LISTS_SHEET].sheet_state == "hidden"
        ids = _identity(data)
        assert list(ids) == list(layout.IDENTITY_KEYS)
        assert ids == {"collection": collection.id, "login": org.login, "form": form.id,
                       "version": str(form.version), "fingerprint": form.fingerprint,
                       "signature": ids["signature"]}
        identity = Identity(ids["collection"], ids["login"], ids["form"], int(ids["version"]),
                            ids["fingerprint"])
        assert identity.verify(SECRET, ids["signature"])
        flipped = ids["signature"][:-1] + ("0" if ids["signature"][-1] != "0" else "1")
        assert not identity.verify(SECRET, flipped)
        other = Identity(collection.id, org.login[:-1] + "9", form.id, form.version, form.fingerprint)
        assert not other.verify(SECRET, ids["signature"])
        assert not identity.verify(b"another secret", ids["signature"])


def test_each_school_gets_its_own_signature(forms_by_id: dict[str, Form],
                                            collections_by_form: dict[str, Collection]) -> None:
    form = forms_by_id["spo_specialities"]
    factory = TemplateFactory(form, collections_by_form[form.id], SECRET)
    first, second = (_identity(factory.render(sample_org(number=n))) for n in (1, 2))
    assert first["login"] != second["login"] and first["signature"] != second["signature"]


def _bench_module() -> ModuleType:
    return load_bench("bench_templates")


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = _bench_module().main
    assert main(["--orgs", "6", "--sample", "2", "--repeat", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "openpyxl" in out and "fast" in out and "ratio" in out
    written = sorted(tmp_path.rglob("*.xlsx"))
    assert written
    assert _open(written[0].read_bytes())[layout.TITLE_SHEET]["B5"].value == written[0].stem



_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
_SPO = builtin_forms()["spo_specialities"]


@settings(max_examples=20, deadline=None)
@given(full_name=_NAMES, municipality=_NAMES, codes=st.lists(st.sampled_from(
    ["38.02.01", "09.02.07", "99.99.99", " 38.02.01 ", "x&y<z>"]), max_size=6))
def test_fast_path_writes_any_registry_text_as_openpyxl_does(
        full_name: str, municipality: str, codes: list[str]) -> None:
    collection = _collection_of(_SPO)
    org = replace(sample_org("spo", specialities=codes), full_name=full_name,
                  municipality_name=municipality)
    reference = _values(_open(render_template(_SPO, collection, org, SECRET)))
    fast = _values(_open(_factory(_SPO, collection).render(org)))
    assert fast == reference


_FACTORIES: dict[str, TemplateFactory] = {}


def _collection_of(form: Form) -> Collection:
    path = next(p for p in (DATA_DIR.parent / "collections").glob("*.yaml") if load_collection(p).form_id == form.id)
    return load_collection(path)


def _factory(form: Form, collection: Collection) -> TemplateFactory:
    if form.id not in _FACTORIES:
        _FACTORIES[form.id] = TemplateFactory(form, collection, SECRET)
    return _FACTORIES[form.id]


@settings(max_examples=50, deadline=None)
@given(piece=st.binary(max_size=3000), start=st.integers(0, 0xFFFFFFFF))
def test_crc_continues_over_a_fixed_piece_without_reading_it(piece: bytes, start: int) -> None:
    assert CrcAppend(piece)(start) == zlib.crc32(piece, start)


def test_untouched_fast_template_passes_the_readers_checks(
        case: tuple[Form, Collection, Organisation], tmp_path: Path) -> None:
    """The spliced zip as it leaves sbor, sent straight back: the reader's pre-check and
    identity accept it; only content is missing (empty required answers, an empty schedule
    sheet, and the sample organisation's speciality code that the list does not know)."""
    from validators import Context, judge

    form, collection, org = case
    path = tmp_path / "untouched.xlsx"
    path.write_bytes(TemplateFactory(form, collection, SECRET).render(org))
    context = Context.build([collection], [form], {collection.id: [org.login]}, SECRET,
                            collection.opens + timedelta(days=1))
    verdict = judge(path, context)
    assert verdict.identity is not None and verdict.identity.login == org.login
    assert {f.code for f in verdict.findings} <= {"required", "not-in-list", "too-few-rows"}
