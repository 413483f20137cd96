"""Files stranded without a word (issue 10, part 6, and the start-up cleanup of 7): claims of
other hosts and of reused PIDs are recovered by age, every file the ingest never takes is listed
for the operator, a duplicate is answered, and killed processes' leftovers are cleaned."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from openpyxl import load_workbook

from flows.inbox import Arrival, claim
from flows.ingest import ingest
from flows.lease import held, stale
from tests.hostile import Kit, make_kit
from tests.inbox_kit import backdate, claimed_files, drop, inbox_files, lines, sbor, with_env

# -- 6. a duplicate is answered ---------------------------------------------------------------


def _refusal_text(path: Path) -> str:
    wb = load_workbook(path, read_only=True)
    try:
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    finally:
        wb.close()


def test_a_duplicate_gets_an_answer_that_names_no_other_school(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=3)
    a, b, _ = kit.orgs
    junk = "Код;Специальность\n38.02.01;Экономика\n".encode("cp1251")
    good = kit.good(a)
    drop(kit, a.login, "данные.xlsx", junk, age=120)
    drop(kit, a.login, "отчёт.xlsx", good, age=120)
    first = sbor(kit, "ingest", "--json", "--without-prefect")
    assert first.returncode == 0, first.stderr
    accepted = next(o for o in lines(first) if o["outcome"] == "accepted")
    # The same junk and the same workbook from another school, and the workbook again from A.
    drop(kit, b.login, "наши данные.xlsx", junk)
    drop(kit, b.login, "наш отчёт.xlsx", good)
    drop(kit, a.login, "отчёт ещё раз.xlsx", good)
    second = sbor(kit, "ingest", "--json", "--without-prefect")
    assert second.returncode == 0, second.stderr
    out = {str(o["file"]): o for o in lines(second)}
    assert {k: o["outcome"] for k, o in out.items()} == dict.fromkeys(
        ("наши данные.xlsx", "наш отчёт.xlsx", "отчёт ещё раз.xlsx"), "duplicate")
    answers = {k: Path(str(o["feedback"])) for k, o in out.items()}
    assert all(p.is_file() for p in answers.values()), answers
    assert answers["наши данные.xlsx"].parent.name == b.login
    assert answers["наш отчёт.xlsx"].parent.name == b.login
    assert answers["отчёт ещё раз.xlsx"].parent.name == a.login
    # The junk was credited to A, its sender, when refused: B learns only that another
    # organisation sent it first.
    junk_text = _refusal_text(answers["наши данные.xlsx"])
    assert "уже был получен ранее, 22.12.2026 10:00, от другой организации" in junk_text
    assert a.login not in junk_text and "«данные.xlsx»" not in junk_text
    other = _refusal_text(answers["наш отчёт.xlsx"])
    assert "уже был получен ранее, 22.12.2026 10:00, от другой организации" in other
    # Nothing of school A: its login, its name, its file's name, its submission number.
    assert a.login not in other and a.short_name not in other and "«отчёт.xlsx»" not in other
    assert "подача №" not in other and out["наш отчёт.xlsx"]["login"] is None
    assert f"(подача № {accepted['submission_id']})" in _refusal_text(answers["отчёт ещё раз.xlsx"])
    assert inbox_files(kit) == [] and claimed_files(kit) == []


# -- 6. stranded files: claims by age, and the operator's list --------------------------------


def _claim_in(kit: Kit, folder: Path, login: str, name: str, data: bytes) -> None:
    """A claim as a process that then hung or died holds it."""
    drop(kit, login, name, data)
    folder.mkdir(parents=True, exist_ok=True)
    assert claim(Arrival(kit.settings.inbox / login / name, login, name), folder) is not None


def test_claims_of_another_host_and_of_a_reused_pid_are_recovered_by_age(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=2)
    a, b = kit.orgs
    # A PID that now belongs to a live, unrelated process on this host.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        other_host = kit.settings.processing / "ingest-node-7.example__4242"
        reused = kit.settings.processing / f"{socket.gethostname()}__{sleeper.pid}"
        _claim_in(kit, other_host, a.login, "отчёт.xlsx", kit.good(a))
        _claim_in(kit, reused, b.login, "отчёт.xlsx", kit.good(b))
        # A lease far longer than a loaded machine needs to run the commands below.
        lease = {"SBOR_LEASE_SECONDS": "600", "SBOR_QUIET_SECONDS": "0"}

        # Their owners may still hold them: nothing is taken, nothing is stale yet.
        fresh = sbor(kit, "ingest", "--json", "--without-prefect", **lease)
        assert fresh.returncode == 0 and lines(fresh) == [], fresh.stderr
        status = sbor(kit, "status", "--json", **lease)
        assert json.loads(status.stdout)["inbox"]["stale_claims"] == [], status.stderr

        # Nobody renewed either lease for 15 minutes: the next pass takes both over.
        backdate(other_host, 900)
        backdate(reused, 900)
        status = sbor(kit, "status", "--json", **lease)
        stale = json.loads(status.stdout)["inbox"]["stale_claims"]
        assert sorted(Path(s["path"]).parent.name for s in stale) == sorted([other_host.name, reused.name])
        assert all("lease was not renewed" in s["reason"] for s in stale)
        taken = sbor(kit, "ingest", "--json", "--without-prefect", **lease)
        assert taken.returncode == 0, taken.stderr
        assert sorted((o["login"], o["outcome"]) for o in lines(taken)) == sorted(
            [(a.login, "accepted"), (b.login, "accepted")])
        assert all(Path(str(o["feedback"])).is_file() for o in lines(taken))
        assert not other_host.exists() and not reused.exists() and claimed_files(kit) == []
        assert sleeper.poll() is None, "the live process is left alone"

        report = json.loads(sbor(kit, "status", "--json", **lease).stdout)["inbox"]
        assert report["stale_claims"] == []
        assert sorted((r["folder"], r["sender"], r["file"]) for r in report["recovered"]) == sorted(
            [(other_host.name, a.login, "отчёт.xlsx"), (reused.name, b.login, "отчёт.xlsx")])
        text = sbor(kit, "status", COLUMNS="400", **lease)
        assert text.returncode == 0 and "stale claims recovered" in text.stdout and other_host.name in text.stdout
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_running_owner_renews_its_lease(tmp_path: Path) -> None:
    folder = tmp_path / "processing" / "ingest-node-7.example__4242"
    folder.mkdir(parents=True)
    backdate(folder, 60)
    assert stale(folder, 2.0) is not None
    with held(folder, 2.0):
        time.sleep(3.0)  # longer than the lease: only the renewals keep it
        assert stale(folder, 2.0) is None
    time.sleep(2.5)
    assert "not renewed" in str(stale(folder, 2.0))


def test_files_the_ingest_never_takes_are_listed_for_the_operator(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=2)
    a, b = kit.orgs
    nested = drop(kit, a.login, "архив/отчёт.xlsx", kit.good(a))
    drop(kit, a.login, "отчёт.xlsx/лист.xml", b"<x/>")  # a folder named like a workbook
    (kit.settings.inbox / b.login / "пустая.xlsx").mkdir(parents=True)
    (kit.settings.inbox / "сводная.xlsx").mkdir()
    lock = drop(kit, b.login, "~$отчёт.xlsx", b"lock")
    part = drop(kit, b.login, "отчёт.xlsx.part", kit.good(b))
    copying = drop(kit, b.login, "ещё копируется.xlsx", kit.good(b)[:500], age=1)
    env = {"SBOR_QUIET_SECONDS": "0"}
    result = sbor(kit, "ingest", "--json", "--without-prefect", **env)
    assert result.returncode == 0 and lines(result) == [], result.stderr
    status = sbor(kit, "status", "spo-specialities-2026", "--json", **env)
    assert status.returncode == 0, status.stderr
    out = json.loads(status.stdout)
    assert out["counts"]["Всего"] == 2  # the coordinators' counts are still there
    left = {x["path"]: x["reason"] for x in out["inbox"]["left"]}
    rel = kit.settings.inbox
    assert set(left) == {nested.relative_to(rel).as_posix(), f"{a.login}/отчёт.xlsx/",
                         f"{a.login}/отчёт.xlsx/лист.xml", f"{b.login}/пустая.xlsx/", "сводная.xlsx/",
                         lock.relative_to(rel).as_posix(), part.relative_to(rel).as_posix(),
                         copying.relative_to(rel).as_posix()}
    assert left[nested.relative_to(rel).as_posix()].startswith("in a nested folder")
    assert f"move it to inbox/{a.login}/" in left[nested.relative_to(rel).as_posix()]
    assert left[f"{b.login}/пустая.xlsx/"].startswith("a folder named like a workbook")
    assert left[lock.relative_to(rel).as_posix()].startswith("a lock or temporary name")
    assert left[copying.relative_to(rel).as_posix()].startswith("unfinished")
    text = sbor(kit, "status", COLUMNS="400", **env)
    assert text.returncode == 0 and "left in the inbox" in text.stdout and "nested folder" in text.stdout


# -- 7. leftovers of killed processes are cleaned at the next start ----------------------------


def test_half_written_answers_and_empty_claim_folders_are_cleaned_at_start(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=1)
    scratch = kit.settings.runtime / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    old_answer = scratch / "answer-0123456789abcdef.xlsx"
    old_answer.write_bytes(b"PK\x03\x04 half an answer")
    backdate(old_answer, 600)
    young_answer = scratch / "answer-fedcba9876543210.xlsx"  # a live process may be writing it
    young_answer.write_bytes(b"PK\x03\x04")
    empty_old = kit.settings.processing / "ingest-node-7.example__77"
    empty_young = kit.settings.processing / "ingest-node-8.example__88"
    empty_old.mkdir(parents=True)
    empty_young.mkdir(parents=True)
    backdate(empty_old, 600)
    assert ingest(with_env(kit, SBOR_LEASE_SECONDS="120")) == []
    assert not old_answer.exists() and not empty_old.exists()
    assert young_answer.exists() and empty_young.exists()
