"""Judging whole files and batches: the manual's own example is accepted with its values typed
exactly, a batch judges each file as it would be judged alone, and any rows the spec allows
survive fill → judge unchanged."""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forms import MOSCOW, Collection, Form
from templates import render_template
from tests.workbooks import SECRET, fill, org_for, set_cells
from validators import Context, judge, judge_batch
from validators.judge import MAX_FINDINGS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
SPEC = "Специальности"
MANUAL_ROWS = [  # manual 001, Рис. 23
    ("38.02.01", "Математика", "Математика", 1, 24, 24, 0, 25, 25, "Нет"),
    ("38.02.05", "Математика", "Биология", 1, 24, 24, 0, 25, 25, "Нет"),
    ("40.02.03", "—", "Математика", 1, 25, 0, 25, 0, 25, "Нет"),
    ("40.02.04", "Обществознание", "—", 1, 0, 0, 0, 0, 0, "Нет"),
    ("43.02.17", "Химия", "—", 1, 0, 0, 0, 0, 0, "Да"),
]
DTYPES = {"integer": pl.Int64, "decimal": pl.Float64, "date": pl.Date, "yesno": pl.Boolean,
          "choice": pl.String, "text": pl.String}


@pytest.fixture(scope="module")
def form(forms_by_id: dict[str, Form]) -> Form:
    return forms_by_id["spo_specialities"]


@pytest.fixture(scope="module")
def context(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> Context:
    collections = list(collections_by_form.values())
    participants = {c.id: [org_for(c).login] for c in collections}
    return Context.build(collections, forms_by_id.values(), participants, SECRET, NOW)


@pytest.fixture(scope="module")
def template(form: Form, collections_by_form: dict[str, Collection]) -> bytes:
    collection = collections_by_form[form.id]
    return render_template(form, collection, org_for(collection), SECRET)


def speciality(form: Form, code: str) -> str:
    return next(v for v in form.choices_for(form.sheets[0].field("1")) if v.startswith(code + " "))


def as_rows(form: Form, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    numbers = [f.number for f in form.sheets[0].fields]
    return [dict(zip(numbers, row, strict=True)) for row in rows]


def expected_frame(form: Form, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    sheet = form.sheets[0]
    data: dict[str, list[Any]] = {"row_number": list(range(1, len(rows) + 1))}
    for j, field in enumerate(sheet.fields):
        values = [row[j] for row in rows]
        data[field.name] = [v == "Да" for v in values] if field.type == "yesno" else values
    schema = {"row_number": pl.Int64, **{f.name: DTYPES[f.type] for f in sheet.fields}}
    return pl.DataFrame(data, schema=schema)


def write(tmp_path: Path, data: bytes, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_manual_example_is_accepted(form: Form, template: bytes, context: Context, tmp_path: Path) -> None:
    rows = [(speciality(form, r[0]), *r[1:]) for r in MANUAL_ROWS]
    data = fill(template, {SPEC: as_rows(form, rows)}, form)
    path = write(tmp_path, data, "spo770012.xlsx")
    verdict = judge(path, context, sender="spo770012")
    assert (verdict.outcome, verdict.findings) == ("accepted", ())
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()
    assert verdict.identity is not None and verdict.identity.login == "spo770012"
    assert_frame_equal(verdict.frames["specialities"], expected_frame(form, rows))
    assert verdict.cells[SPEC]["A7"] == speciality(form, "40.02.03")
    assert verdict.cells[SPEC]["E7"] == 25


@pytest.mark.parametrize("form_id", ["spo_specialities", "vpr_spo_schedule", "vpr_org_info"])
def test_frames_are_typed_from_the_spec_even_when_empty(forms_by_id: dict[str, Form],
                                                        collections_by_form: dict[str, Collection],
                                                        context: Context, tmp_path: Path, form_id: str) -> None:
    form, collection = forms_by_id[form_id], collections_by_form[form_id]
    data = render_template(form, collection, org_for(collection), SECRET)
    verdict = judge(write(tmp_path, data, "blank.xlsx"), context)
    assert set(verdict.frames) == {s.table for s in form.sheets}
    for sheet in form.sheets:
        frame = verdict.frames[sheet.table]
        assert frame.schema == pl.Schema({"row_number": pl.Int64, **{f.name: DTYPES[f.type] for f in sheet.fields}})


def test_a_batch_judges_each_file_as_alone(form: Form, template: bytes, context: Context, tmp_path: Path) -> None:
    rows = as_rows(form, [(speciality(form, r[0]), *r[1:]) for r in MANUAL_ROWS])
    good = fill(template, {SPEC: rows}, form)
    files = {
        "good.xlsx": good,
        "bad.xlsx": set_cells(good, SPEC, {"E5": "abc", "D6": 9}),
        "csv.xlsx": b"a;b\n1;2\n",
        "warn.xlsx": set_cells(good, SPEC, {"I5": 20}),
        "note.xlsx": set_cells(good, SPEC, {"J5": "ДА"}),
        "dup.xlsx": set_cells(good, SPEC, {"A6": rows[0]["1"]}),
    }
    paths = [write(tmp_path, data, name) for name, data in files.items()]
    batch = judge_batch(paths, context, [None] * len(paths), workers=2)
    alone = [judge(p, context) for p in paths]
    assert [v.outcome for v in batch] == ["accepted", "rejected", "unreadable", "accepted_with_warnings",
                                          "accepted", "rejected"]
    for together, single in zip(batch, alone, strict=True):
        assert together.findings == single.findings
        assert set(together.frames) == set(single.frames)
        for table, frame in together.frames.items():
            assert_frame_equal(frame, single.frames[table])
        assert all(f.file == together.file for f in together.findings)
    assert [(f.code, f.cell) for f in batch[1].findings] == [("not-a-number", "E5"), ("above-maximum", "D6")]


def test_names_shown_are_the_names_given(template: bytes, context: Context, tmp_path: Path) -> None:
    path = write(tmp_path, template, "0001_claimed.xlsx")
    verdict = judge_batch([path], context, ["spo770013"], names=["Отчёт колледжа.xlsx"])[0]
    assert verdict.file == "Отчёт колледжа.xlsx"
    assert verdict.findings[0].message.startswith("Файл «Отчёт колледжа.xlsx»: шаблон выдан организации")


def test_senders_must_match_paths(template: bytes, context: Context, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 files, 1 senders, 2 names"):
        judge_batch([tmp_path / "a.xlsx", tmp_path / "b.xlsx"], context, [None])


def _spec_rows(form: Form) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Rows the specialities form allows: distinct specialities, numbers within bounds, graph 3
    the sum of 3.1 and 3.2, at least as many applications as budget places."""
    sheet = form.sheets[0]
    subjects = form.choices_for(sheet.field("1.1"))

    @st.composite
    def row(draw: st.DrawFn) -> tuple[Any, ...]:
        budget = draw(st.integers(0, 5000))
        paid = draw(st.integers(0, 5000))
        quota = draw(st.integers(0, 10000))
        applications = draw(st.integers(quota, 100000))
        return (draw(st.sampled_from(subjects)), draw(st.sampled_from(subjects)), draw(st.integers(1, 4)),
                budget + paid, budget, paid, quota, applications, draw(st.sampled_from(["Да", "Нет"])))

    codes = form.choices_for(sheet.field("1"))
    return st.integers(1, 6).flatmap(lambda n: st.tuples(
        st.lists(st.sampled_from(codes), min_size=n, max_size=n, unique=True),
        st.lists(row(), min_size=n, max_size=n),
    )).map(lambda pair: [(code, *rest) for code, rest in zip(*pair, strict=True)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_rows_the_spec_allows_survive_unchanged(form: Form, template: bytes, context: Context,
                                                    tmp_path: Path, data: st.DataObject) -> None:
    rows = data.draw(_spec_rows(form))
    filled = fill(template, {SPEC: as_rows(form, rows)}, form)
    verdict = judge(write(tmp_path, filled, "round.xlsx"), context)
    assert (verdict.outcome, verdict.findings) == ("accepted", ())
    assert_frame_equal(verdict.frames["specialities"], expected_frame(form, rows))


def test_a_flood_of_findings_is_capped_errors_first(form: Form, template: bytes, context: Context,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 250 rows, each with text in two number fields, and first a row with only a warning.
    base = as_rows(form, [(speciality(form, r[0]), *r[1:]) for r in MANUAL_ROWS[:1]])[0]
    rows = [{**base, "5": 20}, *({**base, "2": "один", "3": "двадцать"} for _ in range(249))]
    path = write(tmp_path, fill(template, {SPEC: rows}, form), "поток.xlsx")
    verdict = judge(path, context)
    assert verdict.outcome == "rejected"
    assert len(verdict.findings) == MAX_FINDINGS
    *kept, last = verdict.findings
    assert {f.severity for f in kept} == {"error"}  # the warning of row 5 gave way to errors
    assert kept[0].worksheet == SPEC and kept[0].cell is not None and kept[0].cell.endswith("6")  # row 6 first
    assert last.code == "too-many-findings" and last.severity == "note" and last.file == "поток.xlsx"
    monkeypatch.setattr(sys.modules["validators.judge"], "MAX_FINDINGS", 10**6)
    everything = judge(path, context).findings
    assert len(everything) > MAX_FINDINGS and any(f.severity == "warning" for f in everything)
    assert f"замечаний слишком много ({len(everything)}); показаны первые {len(kept)}" in last.message
