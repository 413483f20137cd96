"""Every recorded file is answered: a file whose run died after recording it and before
answering it is answered by the next run (from its claim, left behind), without being recorded
twice; the same content under another name stays a duplicate."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from flows.inbox import Arrival, claim
from flows.ingest import ingest
from flows.settings import Settings, load_settings
from flows.workspace import open_warehouse
from forms import Collection, Form, generate_registry
from templates import TemplateFactory
from tests.workbooks import fill

SHEET = "Специальности"
ROW = {"1": "38.02.01 Экономика и бухгалтерский учет (по отраслям)", "1.1": "Математика", "1.2": "—",
       "2": 1, "3": 24, "3.1": 24, "3.2": 0, "4": 25, "5": 25, "6": "Нет"}


def _dead_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(done.stdout)


def _published(workspace: Path, form: Form, collection: Collection) -> tuple[Settings, str, bytes]:
    settings = load_settings(workspace, now="2026-12-01T10:00")
    wh = open_warehouse(settings)
    orgs = [o for o in generate_registry(60, seed=3) if o.kind == "spo"]
    wh.upsert_organisations(orgs)
    wh.publish(collection, form, [o.login for o in orgs])
    return settings, orgs[0].login, TemplateFactory(form, collection, settings.secret()).render(orgs[0])


def test_a_recorded_but_unanswered_file_is_answered_by_the_next_run(
        workspace: Path, forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> None:
    settings, login, template = _published(workspace, forms_by_id["spo_specialities"],
                                           collections_by_form["spo_specialities"])
    data = fill(template, {SHEET: [ROW]})
    (settings.inbox / login).mkdir(parents=True)
    (settings.inbox / login / "отчёт.xlsx").write_bytes(data)
    [first] = ingest(settings)
    assert first.outcome == "accepted" and first.feedback is not None
    answer = Path(first.feedback)

    # The run that recorded the file died before answering: no answer, the claim left behind.
    answer.unlink()
    (settings.inbox / login / "отчёт.xlsx").write_bytes(data)
    dead = settings.processing / f"{socket.gethostname()}__{_dead_pid()}"
    dead.mkdir(parents=True)
    assert claim(Arrival(settings.inbox / login / "отчёт.xlsx", login, "отчёт.xlsx"), dead) is not None
    # Meanwhile the school sent the same content again under another name: a duplicate.
    (settings.inbox / login / "ещё раз.xlsx").write_bytes(data)

    outcomes = {o.file: o for o in ingest(settings)}
    assert outcomes["отчёт.xlsx"].outcome == "accepted"
    assert outcomes["отчёт.xlsx"].submission_id == first.submission_id
    assert outcomes["отчёт.xlsx"].feedback == str(answer) and answer.is_file()
    assert outcomes["ещё раз.xlsx"].outcome == "duplicate"
    _, rows = open_warehouse(settings).sql("SELECT count(*) FROM submissions")
    assert rows == [(1,)]
    assert not any(p.is_file() for p in settings.processing.rglob("*"))
    assert os.listdir(settings.inbox / login) == []


def test_claims_left_in_an_earlier_layout_are_recovered_not_deleted(
        workspace: Path, forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> None:
    # A process of an earlier sbor died holding two claims, each in a folder of its own: one
    # with the sender in the folder's name, one with the sender as a folder inside.
    settings, login, template = _published(workspace, forms_by_id["spo_specialities"],
                                           collections_by_form["spo_specialities"])
    dead = settings.processing / f"{socket.gethostname()}__{_dead_pid()}"
    first = dead / f"0123456789ab.{login}" / "отчёт.xlsx"
    second = dead / "ba9876543210" / login / "отчёт (2).xlsx"
    for path, rows in ((first, [ROW]), (second, [ROW, {**ROW, "1": "40.02.04 Юриспруденция"}])):
        path.parent.mkdir(parents=True)
        path.write_bytes(fill(template, {SHEET: rows}))

    outcomes = {o.file: o for o in ingest(settings)}
    assert {name: (o.login, o.outcome) for name, o in outcomes.items()} == {
        "отчёт.xlsx": (login, "accepted"), "отчёт (2).xlsx": (login, "accepted")}
    assert not dead.exists()
    assert not any(p.is_file() for p in settings.processing.rglob("*"))
