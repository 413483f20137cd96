"""Every field type is known to every stage: a form with one field of each type (in a table and
in a card) is rendered, filled as a school would, judged, loaded into the warehouse and exported
in the results workbook, and each value comes back as typed; a wrong value of each type is
refused at its cell. What a type means is in ``forms/types.py``; a new type needs its entry
there and its ``SAMPLES`` row here, and then these tests say which stage does not know it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.engine import Engine

from forms import MOSCOW, ChoiceList, Collection, Field, Form, Participants, Sheet, layout
from forms.coordinators import OPERATOR
from forms.spec import FIELD_TYPES, FieldType
from forms.types import TYPES, web_attributes
from templates import TemplateFactory, render_template
from templates.coordinators import render_results
from tests.test_warehouse import engine  # noqa: F401  (the SQLite and PostgreSQL engines)
from tests.workbooks import SECRET, Value, fill, sample_org
from validators import Context, Verdict, judge
from warehouse import NewSubmission, Warehouse

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
TABLE, CARD = "Графы", "Анкета"
PERIOD = (date(2027, 3, 1), date(2027, 4, 30))


@dataclass(frozen=True)
class Sample:
    """One type as a school meets it: the field's limits, a value typed into its cell and the
    value kept for it, its cell's format and Excel validation, the rule stated in the template,
    a wrong value and its finding, the results cell, and the web input."""

    limits: dict[str, Any]
    typed: Value
    kept: object
    number_format: str
    validation: str
    rule: str
    wrong: Value
    code: str
    exported: object
    exported_format: str
    web: dict[str, str]


SAMPLES: dict[FieldType, Sample] = {
    "text": Sample({"max_length": 10}, "Иванов", "Иванов", "@", "textLength",
                   "текст не длиннее 10 символов", "Слишком длинный текст", "too-long",
                   "Иванов", "General", {"type": "text", "maxlength": "10"}),
    "integer": Sample({"minimum": 0, "maximum": 100}, 42, 42, "0", "whole",
                      "целое число от 0 до 100", 12.5, "not-an-integer", 42, "0",
                      {"type": "text", "inputmode": "numeric"}),
    "decimal": Sample({}, 12.5, 12.5, "General", "decimal",
                      "число (дробную часть отделяйте запятой)", "двенадцать", "not-a-number",
                      12.5, "General", {"type": "text", "inputmode": "decimal"}),
    "date": Sample({"within_period": True}, date(2027, 3, 15), date(2027, 3, 15), "DD.MM.YYYY",
                   "date", "дата в формате ДД.ММ.ГГГГ в пределах периода проведения: "
                   "с 01.03.2027 по 30.04.2027", "31.02.2027", "not-a-date",
                   datetime(2027, 3, 15), "DD.MM.YYYY", {"type": "date"}),
    "choice": Sample({"choices": "colours"}, "Синий", "Синий", "@", "list",
                     "значение из выпадающего списка: «Красный», «Синий»", "Зелёный",
                     "not-in-list", "Синий", "General", {}),
    "yesno": Sample({}, "Да", True, "@", "list", "«Да» или «Нет» (из выпадающего списка)",
                    "Может быть", "not-yes-no", "Да", "General", {}),
}


def fields() -> tuple[Field, ...]:
    return tuple(Field(number=str(i), name=f"v_{kind}", title=f"Графа типа {kind}", type=kind,
                       **SAMPLES[kind].limits)
                 for i, kind in enumerate(FIELD_TYPES, start=1))


FORM = Form(
    id="all_types", version=1, title="Все типы граф", needs_period=True,
    sheets=(Sheet(name=TABLE, table="rows", kind="table", fields=fields()),
            Sheet(name=CARD, table="card", kind="card", fields=fields())),
    lists=(ChoiceList("colours", ("Красный", "Синий")),),
)
COLLECTION = Collection(
    id="all-types-2026", title="Все типы граф. 2026", section="Проверка", form_id=FORM.id,
    opens=datetime(2026, 11, 1, 12, tzinfo=MOSCOW), closes=datetime(2026, 12, 25, 18, tzinfo=MOSCOW),
    participants=Participants(kinds=("spo",)), period_start=PERIOD[0], period_end=PERIOD[1])
ORG = sample_org()
KINDS = pytest.mark.parametrize("kind", FIELD_TYPES)


def number(kind: FieldType) -> str:
    return str(FIELD_TYPES.index(kind) + 1)


def filled(template: bytes, value: dict[FieldType, Value]) -> bytes:
    row = {number(kind): v for kind, v in value.items()}
    return fill(template, {TABLE: [row], CARD: row}, FORM)


def addresses(kind: FieldType) -> dict[str, str]:
    """The entry cell of the field of ``kind``: first row of the table, its row of the card."""
    table = layout.table_cell(FORM.sheet(TABLE), number(kind), 0)
    card = layout.card_cell(FORM.sheet(CARD), number(kind))
    return {TABLE: table.address, CARD: card.address}


def validation_type(ws: Worksheet, address: str) -> str | None:
    found = [dv.type for dv in ws.data_validations.dataValidation if address in dv.sqref]
    return found[0] if found else None


def judged(tmp_path: Path, data: bytes) -> Verdict:
    path = tmp_path / f"{ORG.login}.xlsx"
    path.write_bytes(data)
    context = Context.build([COLLECTION], [FORM], {COLLECTION.id: [ORG.login]}, SECRET, NOW)
    return judge(path, context, sender=ORG.login)


@pytest.fixture(scope="module", params=["openpyxl", "factory"])
def template(request: pytest.FixtureRequest) -> bytes:
    """The school's template from both engines: the reference and the fast one publish uses."""
    if request.param == "openpyxl":
        return render_template(FORM, COLLECTION, ORG, SECRET)
    return TemplateFactory(FORM, COLLECTION, SECRET).render(ORG)


def test_every_type_has_one_entry_and_one_sample() -> None:
    assert FIELD_TYPES == get_args(FieldType)
    assert list(TYPES) == list(FIELD_TYPES)
    assert all(info.name == kind for kind, info in TYPES.items())
    assert list(SAMPLES) == list(FIELD_TYPES), "add the new type's row to SAMPLES"


@KINDS
def test_the_template_guards_every_type(template: bytes, kind: FieldType) -> None:
    sample = SAMPLES[kind]
    wb = load_workbook(io.BytesIO(filled(template, {kind: sample.typed})))
    for sheet, address in addresses(kind).items():
        ws = wb[sheet]
        assert ws[address].number_format == sample.number_format, (sheet, address)
        assert validation_type(ws, address) == sample.validation, (sheet, address)
    instruction = "\n".join(str(c.value) for row in wb["Инструкция"].iter_rows() for c in row
                            if c.value is not None)
    assert sample.rule in instruction


@pytest.fixture(scope="module")
def accepted(template: bytes, tmp_path_factory: pytest.TempPathFactory) -> Verdict:
    data = filled(template, {kind: s.typed for kind, s in SAMPLES.items()})
    return judged(tmp_path_factory.mktemp("accepted"), data)


@KINDS
def test_a_value_of_every_type_is_read_as_typed(accepted: Verdict, kind: FieldType) -> None:
    assert (accepted.outcome, accepted.findings) == ("accepted", ())
    for table in ("rows", "card"):
        column = accepted.frames[table].get_column(f"v_{kind}")
        assert column.dtype == TYPES[kind].dtype
        assert column.to_list() == [SAMPLES[kind].kept]


@KINDS
def test_a_wrong_value_of_every_type_is_refused_at_its_cell(template: bytes, tmp_path: Path,
                                                            kind: FieldType) -> None:
    verdict = judged(tmp_path, filled(template, {k: s.wrong for k, s in SAMPLES.items()}))
    assert verdict.outcome == "rejected"
    for sheet, address in addresses(kind).items():
        codes = [f.code for f in verdict.findings if (f.worksheet, f.cell) == (sheet, address)]
        assert codes == [SAMPLES[kind].code], (sheet, address)


@pytest.mark.parametrize("template", ["factory"], indirect=True)
def test_every_type_is_stored_and_exported(accepted: Verdict, engine: Engine) -> None:  # noqa: F811
    wh = Warehouse(engine)
    wh.create([FORM])
    wh.upsert_organisations([ORG])
    wh.publish(COLLECTION, FORM, [ORG.login])
    wh.record(NewSubmission(sha256=accepted.sha256, file_name=f"{ORG.login}.xlsx",
                            received_at=NOW, outcome="accepted", collection_id=COLLECTION.id,
                            login=ORG.login, form_id=FORM.id, form_version=FORM.version),
              rows=accepted.frames)
    frames = {s.table: wh.current_rows(FORM, s, COLLECTION.id) for s in FORM.sheets}
    for kind, sample in SAMPLES.items():
        for table, frame in frames.items():
            assert frame.get_column(f"v_{kind}").to_list() == [sample.kept], (kind, table)
    results = load_workbook(io.BytesIO(render_results(FORM, COLLECTION, OPERATOR, frames,
                                                      {ORG.login: ORG}, now=NOW)))
    ws = results[TABLE]
    for j, (kind, sample) in enumerate(SAMPLES.items()):
        cell = ws.cell(2, 3 + j)
        assert ws.cell(1, 3 + j).value == f"{number(kind)}. Графа типа {kind}"
        assert (cell.value, cell.number_format) == (sample.exported, sample.exported_format), kind


@KINDS
def test_every_type_has_a_web_input(kind: FieldType) -> None:
    field = FORM.sheet(TABLE).field(number(kind))
    assert web_attributes(field) == SAMPLES[kind].web
    assert TYPES[kind].web.element == ("select" if kind in ("choice", "yesno") else "input")
    required = web_attributes(Field("1", "x", "X", kind, required=True))
    assert required["required"] == "required"

