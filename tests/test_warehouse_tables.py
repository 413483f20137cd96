"""The per-form tables are a pure function of the spec: one typed column per field, for every
built-in form (a new form in forms/specs/ is checked here without a line of test code)."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from forms import Form, builtin_forms
from warehouse import build_tables, define_fixed_tables, frame_schema, table_name, view_name

FORMS = builtin_forms()
SQL_TYPES = {"text": sa.Text, "choice": sa.Text, "integer": sa.BigInteger,
             "decimal": sa.Double, "date": sa.Date, "yesno": sa.Boolean}
POLARS_TYPES = {"text": pl.String, "choice": pl.String, "integer": pl.Int64,
                "decimal": pl.Float64, "date": pl.Date, "yesno": pl.Boolean}


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_build_tables_gives_one_typed_column_per_field(form: Form) -> None:
    metadata = sa.MetaData()
    define_fixed_tables(metadata)
    tables = build_tables(form, metadata)
    assert list(tables) == [s.table for s in form.sheets]
    for sheet in form.sheets:
        table = tables[sheet.table]
        assert table.name == f"data_{form.id}_{sheet.table}"
        assert [c.name for c in table.columns] == ["submission_id", "row_number",
                                                   *(f.name for f in sheet.fields)]
        assert [c.name for c in table.primary_key.columns] == ["submission_id", "row_number"]
        [fk] = table.c.submission_id.foreign_keys
        assert fk.target_fullname == "submissions.id"
        for f in sheet.fields:
            assert isinstance(table.c[f.name].type, SQL_TYPES[f.type]), f.name
            assert table.c[f.name].nullable
        # The DDL compiles on both databases (names fit PostgreSQL's 63 characters).
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            assert f"CREATE TABLE {table.name}" in str(CreateTable(table).compile(dialect=dialect))
        assert len(view_name(form, sheet)) <= 63


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_frame_schema_matches_the_tables(form: Form) -> None:
    for sheet in form.sheets:
        schema = frame_schema(sheet)
        assert list(schema) == ["row_number", *(f.name for f in sheet.fields)]
        assert schema["row_number"] == pl.Int64
        for f in sheet.fields:
            assert schema[f.name] == POLARS_TYPES[f.type]


def test_a_later_version_gets_tables_of_its_own() -> None:
    form = FORMS["spo_specialities"]
    v2 = Form(id=form.id, version=2, title=form.title, sheets=form.sheets, lists=form.lists)
    metadata = sa.MetaData()
    define_fixed_tables(metadata)
    v1_tables, v2_tables = build_tables(form, metadata), build_tables(v2, metadata)
    sheet = form.sheets[0]
    assert table_name(v2, sheet) == "data_spo_specialities_specialities_v2"
    assert view_name(v2, sheet) == "current_spo_specialities_specialities_v2"
    assert v1_tables[sheet.table] is not v2_tables[sheet.table]
    assert build_tables(form, metadata)[sheet.table] is v1_tables[sheet.table]  # declared once
