"""A file is always credited to its sender: the login of the inbox folder it came through, never
the login its template names. School A sending school B's filled template is refused and answered
to A; B's status and data never change because of it. A folder that is not a registry login, and
the flat inbox (unless the workspace trusts it), vouch for nobody: such a file is refused unread
and answered in outbox/feedback/_unidentified/<folder>/.

Real templates, real ingest, SQLite; statuses through the query `sbor status` uses, and its
counts through the command itself.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.cli import main
from flows.inbox import claim, scan
from flows.ingest import FileOutcome, ingest
from flows.settings import SettingsError, load_settings
from flows.simulate import good_values
from flows.workspace import open_warehouse
from forms import Organisation, layout
from forms.status import Status, is_closed, status_of
from tests.hostile import NOW, SPECIALITIES, Kit, make_kit
from tests.workbooks import fill

TITLE = "Информация об ОО, реализующих программы СПО, профессиях и специальностях. 2026"


@pytest.fixture()
def kit(tmp_path: Path) -> Kit:
    return make_kit(tmp_path / "home", participants=4)


def filled(kit: Kit, template_of: Organisation, seed: int) -> bytes:
    """``template_of``'s template filled with correct values (typed by whoever holds it)."""
    form, collection = kit.form_of(SPECIALITIES), kit.collections[SPECIALITIES]
    values = good_values(form, collection, template_of, random.Random(seed))
    return fill(kit.template(template_of), values, form)


def put(kit: Kit, folder: str | None, name: str, data: bytes) -> Path:
    where = kit.settings.inbox if folder is None else kit.settings.inbox / folder
    where.mkdir(parents=True, exist_ok=True)
    (where / name).write_bytes(data)
    return where / name


def one(outcomes: list[FileOutcome]) -> FileOutcome:
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


def statuses(kit: Kit) -> dict[str, Status]:
    """Each participant's status, from the warehouse query behind `sbor status` and the reports."""
    collection = kit.collections[SPECIALITIES]
    closed = is_closed(collection, kit.settings.now())
    return {r.login: status_of(r, closed) for r in open_warehouse(kit.settings).statuses(collection.id)}


def counts(kit: Kit, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """The coordinators' counts, as `sbor status --json` prints them."""
    capsys.readouterr()
    assert main(["--home", str(kit.settings.home), "--now", NOW, "status", SPECIALITIES, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["counts"]


def recorded(kit: Kit) -> list[tuple[str | None, str | None, str]]:
    _, rows = open_warehouse(kit.settings).sql("SELECT collection_id, login, outcome FROM submissions ORDER BY id")
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_another_schools_template_is_refused_and_credited_to_its_sender(kit: Kit) -> None:
    a, b = kit.orgs[0], kit.orgs[1]
    put(kit, a.login, "отчёт.xlsx", filled(kit, b, seed=1))

    outcome = one(ingest(kit.settings))
    assert (outcome.outcome, outcome.collection, outcome.login) == ("rejected", SPECIALITIES, a.login)
    assert [f.code for f in outcome.findings if f.severity == "error"] == ["wrong-sender"]
    assert recorded(kit) == [(SPECIALITIES, a.login, "rejected")]
    # A is answered in its own folder; nothing reaches B's.
    answer = Path(outcome.feedback or "")
    assert answer.parent == kit.settings.feedback_dir / SPECIALITIES / a.login and answer.is_file()
    assert not (kit.settings.feedback_dir / SPECIALITIES / b.login).exists()
    # The answer is a refusal sheet, not B's signed template refilled with A's values.
    book = load_workbook(answer)
    assert layout.IDENTITY_SHEET not in book.sheetnames
    assert any("шаблон выдан организации spo770002, а прислан от spo770001" in str(c.value)
               for row in book.active.iter_rows() for c in row)
    # B has not started; A has (it sent a file, refused).
    got = statuses(kit)
    assert (got[b.login], got[a.login]) == (Status.NOT_STARTED, Status.IN_WORK)


def test_another_schools_template_never_touches_its_data(kit: Kit) -> None:
    a, b = kit.orgs[0], kit.orgs[1]
    put(kit, b.login, "свой.xlsx", filled(kit, b, seed=1))
    first = one(ingest(kit.settings))
    assert first.outcome == "accepted"
    wh = open_warehouse(kit.settings)
    _, before = wh.sql("SELECT * FROM current_spo_specialities_specialities ORDER BY row_number")

    put(kit, a.login, "чужой.xlsx", filled(kit, b, seed=2))
    assert one(ingest(kit.settings)).login == a.login

    current = wh.current(SPECIALITIES, b.login)
    assert current is not None and current.id == first.submission_id
    assert [s.id for s in wh.history(SPECIALITIES, b.login)] == [first.submission_id]
    assert statuses(kit)[b.login] == Status.SUBMITTED
    _, after = wh.sql("SELECT * FROM current_spo_specialities_specialities ORDER BY row_number")
    assert after == before and {r[2] for r in after} == {first.submission_id}


@pytest.mark.parametrize(("folder", "code", "answered_in"), [
    (None, "no-sender", "unknown"),
    ("SPO770002", "unknown-sender", "SPO770002"),  # B's login, but not exactly
    ("spo779999", "unknown-sender", "spo779999"),  # a login's shape, not in the registry
    ("школа 2", "unknown-sender", "школа 2"),
], ids=["flat", "upper-case", "unregistered", "any-name"])
def test_a_file_nobody_vouches_for_is_refused_unread(kit: Kit, capsys: pytest.CaptureFixture[str],
                                                     folder: str | None, code: str, answered_in: str) -> None:
    b = kit.orgs[1]
    put(kit, folder, "отчёт.xlsx", filled(kit, b, seed=1))

    outcome = one(ingest(kit.settings))
    assert (outcome.outcome, outcome.collection, outcome.login) == ("unreadable", None, None)
    assert [f.code for f in outcome.findings] == [code]
    assert recorded(kit) == [(None, None, "unreadable")]
    answer = Path(outcome.feedback or "")
    assert answer.parent == kit.settings.feedback_dir / "_unidentified" / answered_in and answer.is_file()
    assert not (kit.settings.feedback_dir / SPECIALITIES).exists()
    assert statuses(kit)[b.login] == Status.NOT_STARTED
    assert counts(kit, capsys) == {"Всего": 4, "Не приступило": 4, "В работе": 0, "Сдано": 0}


def test_the_unknown_sender_message(kit: Kit) -> None:
    put(kit, "EDU770001", "отчёт.xlsx", filled(kit, kit.orgs[1], seed=1))
    [finding] = one(ingest(kit.settings)).findings
    assert finding.message == (
        "Файл «отчёт.xlsx»: папка «EDU770001», через которую пришёл файл, не является логином "
        "организации, поэтому неизвестно, кто его прислал; файл не проверялся и не загружен. Папка "
        "должна называться точно логином вашей организации (например, edu770001: строчными "
        "латинскими буквами и цифрами, без пробелов). Положите файл в папку своего логина или "
        "загрузите его в личном кабинете.")


def test_the_flat_inbox_message(kit: Kit) -> None:
    put(kit, None, "отчёт.xlsx", filled(kit, kit.orgs[1], seed=1))
    [finding] = one(ingest(kit.settings)).findings
    assert finding.message == (
        "Файл «отчёт.xlsx»: файл положен прямо в общую папку приёма, а не в папку организации, "
        "поэтому неизвестно, кто его прислал; файл не проверялся и не загружен. Загрузите файл в "
        "личном кабинете или положите его в папку, названную логином вашей организации (например, "
        "inbox/edu770001/).")


def test_a_trusted_flat_inbox_credits_the_template_login(kit: Kit) -> None:
    b = kit.orgs[1]
    put(kit, None, "переслано координатором.xlsx", filled(kit, b, seed=1))
    outcome = one(ingest(replace(kit.settings, trust_flat_inbox=True)))
    assert (outcome.outcome, outcome.login) == ("accepted", b.login)
    assert Path(outcome.feedback or "").parent == kit.settings.feedback_dir / SPECIALITIES / b.login
    assert statuses(kit)[b.login] == Status.SUBMITTED


def test_the_trust_setting(tmp_path: Path) -> None:
    assert load_settings(tmp_path, env={}).trust_flat_inbox is False
    assert load_settings(tmp_path, env={"SBOR_TRUST_FLAT_INBOX": "1"}).trust_flat_inbox is True
    assert load_settings(tmp_path, env={"SBOR_TRUST_FLAT_INBOX": "1"}, trust_flat_inbox=False).trust_flat_inbox is False
    with pytest.raises(SettingsError, match=r"^SBOR_TRUST_FLAT_INBOX must be 1 or 0 \(true or false\), got 'maybe'$"):
        load_settings(tmp_path, env={"SBOR_TRUST_FLAT_INBOX": "maybe"})


def test_a_claim_left_by_a_dead_run_keeps_its_folder_as_sender(kit: Kit) -> None:
    """The sender travels in the claim's name: a run that dies after claiming a file from a folder
    that is no login leaves a claim the next run still refuses as from that folder, and a claim
    from A's folder with B's template is still credited to A."""
    a, b = kit.orgs[0], kit.orgs[1]
    put(kit, "школа.2", "отчёт.xlsx", filled(kit, b, seed=1))
    put(kit, a.login, "чужой.xlsx", filled(kit, b, seed=2))
    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                             text=True, check=True).stdout)
    dead = kit.settings.processing / f"{socket.gethostname()}__{pid}"
    dead.mkdir(parents=True)
    for arrival in scan(kit.settings.inbox):
        assert claim(arrival, dead) is not None

    outcomes = {o.file: o for o in ingest(kit.settings)}
    unknown = outcomes["отчёт.xlsx"]
    assert (unknown.login, [f.code for f in unknown.findings]) == (None, ["unknown-sender"])
    assert "папка «школа_2»" in unknown.findings[0].message  # a dot cannot travel in a claim's name
    assert Path(unknown.feedback or "").parent == kit.settings.feedback_dir / "_unidentified" / "школа_2"
    assert (outcomes["чужой.xlsx"].outcome, outcomes["чужой.xlsx"].login) == ("rejected", a.login)
    assert statuses(kit)[b.login] == Status.NOT_STARTED
