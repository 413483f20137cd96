"""Form specs and collections: every one that ships loads, and every mistake in one is a single
message naming the file and the line, so the operator goes straight to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from forms.collection import MOSCOW, load_collection
from forms.loader import SPECS_PACKAGE_DIR, SpecError, builtin_forms, load_form
from forms.registry import specialities

COLLECTIONS_DIR = SPECS_PACKAGE_DIR.parent / "collections"
SPEC_FILES = sorted(SPECS_PACKAGE_DIR.glob("*.yaml"))
COLLECTION_FILES = sorted(COLLECTIONS_DIR.glob("*.yaml"))

# The smallest useful form: one sheet, two fields, one rule. Each broken case below changes one
# thing in it, so the line the message names is known.
TINY_FORM = """\
id: tiny
version: 1
title: Малая форма
sheets:
  - name: Лист
    table: rows
    fields:
      - number: "1"
        name: total
        title: Всего
        type: integer
      - number: "1.1"
        name: part
        title: из них
        type: integer
    row_rules:
      - id: part-not-above-total
        expr: '"1.1" <= "1"'
        message: "из них ({1.1}) больше, чем всего ({1})"
"""

TINY_COLLECTION = """\
id: tiny-2027
title: Малый сбор
section: ВПР
form: tiny
participants: {kinds: [edu]}
window:
  opens: "2026-11-01 09:00"
  closes: "2026-12-01 18:00"
"""


def broken(tmp_path: Path, text: str, old: str, new: str, name: str = "tiny.yaml") -> Path:
    assert old in text, old  # the case must really change the file
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- what ships ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_every_builtin_form_loads(path: Path) -> None:
    form = load_form(path)
    assert form.id == path.stem
    assert form.version >= 1 and form.title and form.sheets
    assert builtin_forms()[form.id] == form
    for sheet in form.sheets:
        for field in sheet.fields:
            if field.type in ("choice", "yesno"):
                assert form.choices_for(field), f"{form.id}/{sheet.name}/{field.number} has no values"


@pytest.mark.parametrize("path", COLLECTION_FILES, ids=[p.stem for p in COLLECTION_FILES])
def test_every_collection_loads_and_names_a_builtin_form(path: Path) -> None:
    collection = load_collection(path)
    assert collection.form_id in builtin_forms()
    assert collection.opens < collection.closes
    assert collection.opens.tzinfo == MOSCOW
    if builtin_forms()[collection.form_id].needs_period:
        assert collection.period_start is not None and collection.period_end is not None


def test_there_are_forms_and_collections_to_check() -> None:
    assert len(SPEC_FILES) >= 3 and len(COLLECTION_FILES) >= 3


def test_speciality_dropdown_lists_code_and_name_from_the_data_file() -> None:
    values = builtin_forms()["spo_specialities"].choice_list("specialities").values
    assert values == tuple(f"{code} {name}" for code, name in specialities().items())
    assert "38.02.01 Экономика и бухгалтерский учет (по отраслям)" in values
    # A name with a comma is quoted in the CSV and must come through whole.
    assert "43.01.09 Повар, кондитер" in values


def test_the_tiny_form_used_below_is_itself_valid(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_FORM, encoding="utf-8")
    assert [f.number for f in load_form(path).sheets[0].fields] == ["1", "1.1"]
    path = tmp_path / "tiny-2027.yaml"
    path.write_text(TINY_COLLECTION, encoding="utf-8")
    assert load_collection(path).id == "tiny-2027"


# --- broken forms: one message, file and line ------------------------------------------------------------

FORM_CASES = [
    pytest.param(
        "        type: integer\n      - number: \"1.1\"",
        "        type: money\n      - number: \"1.1\"",
        "line 8: field 1: unknown type 'money' (known: text, integer, decimal, date, choice, yesno)",
        id="unknown-field-type",
    ),
    pytest.param(
        "expr: '\"1.1\" <= \"1\"'",
        "expr: '\"1.2\" <= \"1\"'",
        "line 17: rule part-not-above-total names field \"1.2\", which sheet 'Лист' does not have",
        id="rule-names-a-missing-field",
    ),
    pytest.param(
        'number: "1.1"',
        'number: "1"',
        "line 12: sheet 'Лист': duplicate field number 1",
        id="duplicate-field-number",
    ),
    pytest.param(
        "title: Малая форма",
        "title: [Малая форма",
        "line 4: not valid YAML: expected ',' or ']', but got ':'",
        id="bad-yaml-unclosed-bracket",
    ),
    pytest.param(
        "version: 1\n",
        "version: 1\n  extra: 2\n",
        "line 3: not valid YAML: mapping values are not allowed here",
        id="bad-yaml-indentation",
    ),
    pytest.param(
        "        title: из них\n",
        "        title: из них\n        colour: red\n",
        "line 12: unknown key 'colour' (allowed: hint, key, list, max, max_length, min, name, number, "
        "prefill, required, title, type, width, within_period)",
        id="unknown-key",
    ),
    pytest.param(
        "        name: part\n        title: из них\n        type: integer",
        "        name: part\n        title: из них\n        type: choice",
        "line 12: field 1.1: a choice field needs 'list'",
        id="choice-without-list",
    ),
    pytest.param(
        "  - name: Лист\n",
        "  - name: Очень длинное название листа формы\n",
        "line 5: sheet name 'Очень длинное название листа формы': at most 31 characters and none of "
        "[]:*?/\\",
        id="sheet-name-too-long",
    ),
    pytest.param(
        "        message:",
        "        severity: fatal\n        message:",
        "line 17: rule part-not-above-total: severity must be error or warning, got 'fatal'",
        id="unknown-severity",
    ),
    pytest.param(
        "version: 1",
        "version: first",
        "line 1: 'version' must be int, got 'first'",
        id="version-not-a-number",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), FORM_CASES)
def test_a_broken_form_is_one_message_with_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = broken(tmp_path, TINY_FORM, old, new)
    with pytest.raises(SpecError) as caught:
        load_form(path)
    assert str(caught.value) == f"{path}, {message}"
    assert caught.value.path == str(path)
    assert caught.value.line == int(message.split(":")[0].removeprefix("line "))


# --- broken collections ----------------------------------------------------------------------------------

COLLECTION_CASES = [
    pytest.param(
        '  closes: "2026-12-01 18:00"',
        '  closes: "2026-10-01 18:00"',
        "line 7: the window closes before it opens",
        id="window-closes-before-it-opens",
    ),
    pytest.param(
        '  closes: "2026-12-01 18:00"',
        '  closes: "2026-11-01 09:00"',
        "line 7: the window closes before it opens",
        id="window-of-no-length",
    ),
    pytest.param(
        '  opens: "2026-11-01 09:00"',
        '  opens: "1 ноября"',
        "line 7: 'opens' must be a date and time like 2026-03-01 09:00, got '1 ноября'",
        id="opens-not-a-date",
    ),
    pytest.param(
        "participants: {kinds: [edu]}",
        "participants: {kinds: [school]}",
        "line 5: unknown kind 'school' (known: edu, ksh, spo)",
        id="unknown-kind",
    ),
    pytest.param(
        "participants: {kinds: [edu]}",
        "participants: {kinds: []}",
        "line 5: participants: name at least one kind, region, municipality or login",
        id="nobody-participates",
    ),
    pytest.param(
        "form: tiny\n",
        "form: tiny\nassessment_period: {start: \"2027-03-31\", end: \"2027-02-01\"}\n",
        "line 5: assessment_period needs start and end, with end not before start",
        id="period-ends-before-it-starts",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), COLLECTION_CASES)
def test_a_broken_collection_is_one_message_with_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = broken(tmp_path, TINY_COLLECTION, old, new, name="tiny-2027.yaml")
    with pytest.raises(SpecError) as caught:
        load_collection(path)
    assert str(caught.value) == f"{path}, {message}"


# --- found while writing these tests; reported to the lead with the fix --------------------------------


def test_a_spec_saved_in_windows_1251_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_bytes(TINY_FORM.encode("cp1251"))
    with pytest.raises(SpecError) as caught:
        load_form(path)
    assert str(caught.value) == f"{path}, line 3: not UTF-8 text: save the file as UTF-8"


def test_a_control_character_is_a_spec_error(tmp_path: Path) -> None:
    path = broken(tmp_path, TINY_FORM, "title: Малая форма", "title: Малая\x07форма")
    with pytest.raises(SpecError) as caught:
        load_form(path)
    assert str(caught.value) == f"{path}, line 3: not valid YAML: control character #x0007 is not allowed"


def test_a_yes_where_a_number_belongs_is_a_spec_error(tmp_path: Path) -> None:
    path = broken(tmp_path, TINY_FORM, "        title: Всего\n", "        title: Всего\n        min: yes\n")
    with pytest.raises(SpecError) as caught:
        load_form(path)
    assert str(caught.value) == f"{path}, line 8: 'min' must be int or float, got True"


def test_a_message_naming_a_missing_field_is_a_spec_error(tmp_path: Path) -> None:
    path = broken(tmp_path, TINY_FORM, "({1.1})", "({1.2})")
    with pytest.raises(SpecError) as caught:
        load_form(path)
    assert str(caught.value) == (
        f"{path}, line 17: rule part-not-above-total: the message names {{1.2}}, "
        "which sheet 'Лист' does not have"
    )
