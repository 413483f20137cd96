"""A school fills its template and saves it in LibreOffice Calc: sbor records which program saved
each file (``saved_by``, for analysts through ``sbor sql``), tells the school in its answer what
the program dropped, and the answer workbook has the template's settings back (identity sheet
very hidden, structure locked, headers frozen)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.cli import main
from flows.ingest import ingest
from flows.settings import load_settings
from flows.workspace import open_warehouse
from forms import Collection, Form, generate_registry, layout
from templates import FINDINGS_SHEET, TemplateFactory
from tests.workbooks import fill

pytestmark = pytest.mark.libreoffice

PAPER, META, COMPUTER = "РАБОТЫ НА БЛАНКЕ", "МЕТАПРЕДМЕТ НА КОМПЬЮТЕРЕ", "РАБОТЫ НА КОМПЬЮТЕРЕ"
NOT_TAKING_PART = [{"1": "не участвует"}]
GOOD_ROW = {"1": "Математика", "2": date(2027, 3, 2), "3": 2, "4": 40, "5": date(2027, 3, 3), "6": 1, "7": 20}


def _soffice() -> str:
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) must be installed in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    return soffice


def resave_in_libreoffice(files: list[Path], out: Path, profile: Path) -> None:
    """Open each file in LibreOffice Calc and save it as .xlsx into ``out``, as a school would."""
    result = subprocess.run(
        [_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
         "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr


def _texts(path: Path, sheet: str) -> list[str]:
    ws = load_workbook(path)[sheet]
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


def test_a_file_saved_by_libreoffice_is_recorded_explained_and_answered_restored(
        workspace: Path, tmp_path: Path, forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection],
        capsys: pytest.CaptureFixture[str]) -> None:
    form, collection = forms_by_id["vpr_spo_schedule"], collections_by_form["vpr_spo_schedule"]
    settings = load_settings(workspace, now="2026-12-01T10:00")
    wh = open_warehouse(settings)
    org = next(o for o in generate_registry(40, seed=5) if o.kind == "spo")
    wh.upsert_organisations([org])
    wh.publish(collection, form, [org.login])
    template = TemplateFactory(form, collection, settings.secret()).render(org)
    source = tmp_path / "filled"
    source.mkdir()
    good, bad = source / "расписание.xlsx", source / "расписание-с-ошибкой.xlsx"
    good.write_bytes(fill(template, {PAPER: [GOOD_ROW], META: NOT_TAKING_PART, COMPUTER: NOT_TAKING_PART}, form))
    bad.write_bytes(fill(template, {PAPER: [{"1": "Математика"}], META: NOT_TAKING_PART,
                                    COMPUTER: NOT_TAKING_PART}, form))
    inbox = settings.inbox / org.login
    inbox.mkdir(parents=True)
    resave_in_libreoffice([good, bad], inbox, tmp_path / "profile")

    outcomes = {o.file: o for o in ingest(settings)}
    assert {name: o.outcome for name, o in outcomes.items()} == {
        good.name: "accepted", bad.name: "rejected"}

    # Analysts see the program of every file.
    assert main(["--home", str(workspace), "sql",
                 "SELECT file_name, saved_by FROM submissions ORDER BY file_name", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file_name"] for r in rows] == sorted([good.name, bad.name])
    program = rows[0]["saved_by"]
    assert program.startswith("LibreOffice 7.") and {r["saved_by"] for r in rows} == {program}

    def note(name: str) -> str:
        return (f"Файл «{name}» сохранён в программе {program}: выпадающие списки сохранены; не сохранены: "
                f"защита структуры книги, закрепление строк заголовка (листы «{PAPER}», «{META}», "
                f"«{COMPUTER}») и скрытие служебного листа «_sbor» (теперь его можно показать и случайно "
                "изменить). На проверку данных это не влияет. Книга с ошибками, которую присылает система, "
                "и шаблон, скачанный заново, выдаются с исходными настройками: продолжайте работу в них.")

    # The receipt of the accepted file says so, as a note that did not stop the file.
    receipt = Path(outcomes[good.name].feedback or "")
    assert f"Замечание: {note(good.name)}" in _texts(receipt, "Квитанция")

    # The refused file's answer: the note among the findings, and the template's settings back.
    answer = Path(outcomes[bad.name].feedback or "")
    assert note(bad.name) in _texts(answer, FINDINGS_SHEET)
    wb = load_workbook(answer)
    assert wb[layout.IDENTITY_SHEET].sheet_state == "veryHidden"
    assert wb.security is not None and wb.security.lockStructure
    assert [wb[s.name].freeze_panes for s in form.sheets] == [f"A{layout.FIRST_ROW}"] * len(form.sheets)
    assert all(wb[s.name].data_validations.dataValidation for s in form.sheets)
    assert wb[PAPER][f"A{layout.FIRST_ROW}"].value == "Математика"  # the school's own value, refilled
