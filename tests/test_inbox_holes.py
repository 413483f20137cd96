"""The inbox's holes (issue 10, parts 1, 5, 6 and the start-up cleanup of 7): a long Unicode
name stops nothing, a file still being copied is left until whole, claims of other hosts and of
reused PIDs are recovered by age, and every file ends answered or in the operator's list."""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.inbox import Arrival, claim
from flows.ingest import ingest
from flows.lease import held, stale
from flows.names import cut
from flows.workspace import open_warehouse
from flows.settings import Settings, load_settings
from tests.hostile import NOW, Kit, make_kit
from tests.workbooks import SECRET

# 70 CJK characters and 10 emoji: 250 bytes of UTF-8, a legal name in the inbox (255 with
# ".xlsx"), but not once sbor adds a submission number and «-квитанция».
LONG_STEM = "学校年度统计报告" * 8 + "学校年度统计" + "📊📈" * 5
LONG_NAME = f"{LONG_STEM}.xlsx"


def sbor(kit: Kit, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own, as an operator or cron runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SBOR_")}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "--home", str(kit.settings.home), "--now", NOW, *args],
        env={**base, "SBOR_SECRET": SECRET.decode(), **env}, capture_output=True, text=True, timeout=300)


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def drop(kit: Kit, login: str, name: str, data: bytes, age: float = 60.0) -> Path:
    """A file in inbox/<login>/ that arrived ``age`` seconds ago."""
    path = kit.settings.inbox / login / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def inbox_files(kit: Kit) -> list[Path]:
    return sorted(p for p in kit.settings.inbox.rglob("*") if p.is_file())


def claimed_files(kit: Kit) -> list[Path]:
    return sorted(p for p in kit.settings.processing.rglob("*") if p.is_file())


# -- 1. a long Unicode name ----------------------------------------------------------------


def _long_name_inbox(kit: Kit) -> None:
    a, b, c = kit.orgs[:3]
    assert len(LONG_NAME.encode()) == 255
    drop(kit, a.login, "отчёт.xlsx", kit.good(a))
    drop(kit, b.login, LONG_NAME, kit.good(b))
    drop(kit, c.login, "итог.xlsx", kit.good(c))


def _assert_all_answered(kit: Kit, outcomes: dict[str, dict[str, object]]) -> None:
    assert set(outcomes) == {"отчёт.xlsx", LONG_NAME, "итог.xlsx"}
    for name, o in outcomes.items():
        assert o["outcome"] == "accepted", (name, o)
        answer = Path(str(o["feedback"]))
        assert answer.is_file() and len(answer.name.encode()) <= 255, answer
        load_workbook(answer, read_only=True).close()
    long_answer = Path(str(outcomes[LONG_NAME]["feedback"])).name
    # The visible start of the school's name and sbor's suffix are kept; the middle is cut.
    assert long_answer.startswith(f"{int(outcomes[LONG_NAME]['submission_id']):06d}-学校年度统计报告")
    assert long_answer.endswith("-квитанция.xlsx")
    assert inbox_files(kit) == [] and claimed_files(kit) == []


def test_a_long_unicode_name_stops_nothing_in_ingest(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=3)
    _long_name_inbox(kit)
    result = sbor(kit, "ingest", "--json", "--without-prefect")
    assert result.returncode == 0, result.stderr
    _assert_all_answered(kit, {str(o["file"]): o for o in lines(result)})
    # The next pass finds nothing left over and fails on nothing either.
    again = sbor(kit, "ingest", "--json", "--without-prefect")
    assert again.returncode == 0 and lines(again) == [], again.stderr


def test_a_long_unicode_name_stops_nothing_in_watch(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=3)
    _long_name_inbox(kit)
    result = sbor(kit, "watch", "--once", "--without-prefect")
    assert result.returncode == 0, result.stderr
    assert "ingested 3 in 1 batches" in result.stderr and "errors 0" in result.stderr, result.stderr
    _, rows = open_warehouse(kit.settings).sql(
        "SELECT file_name, id FROM submissions")
    ids = dict(rows)
    answers = {p.name for p in kit.settings.feedback_dir.rglob("*.xlsx")}
    assert len(answers) == 3 and all(len(a.encode()) <= 255 for a in answers)
    assert any(a.startswith(f"{ids[LONG_NAME]:06d}-学校") for a in answers)
    assert inbox_files(kit) == [] and claimed_files(kit) == []


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
    junk_text = _refusal_text(answers["наши данные.xlsx"])
    assert "уже получен ранее, 22.12.2026 10:00" in junk_text
    other = _refusal_text(answers["наш отчёт.xlsx"])
    assert "уже был получен ранее, 22.12.2026 10:00, от другой организации" in other
    # Nothing of school A: its login, its name, its file's name, its submission number.
    assert a.login not in other and a.short_name not in other and "«отчёт.xlsx»" not in other
    assert "подача №" not in other and out["наш отчёт.xlsx"]["login"] is None
    assert f"(подача № {accepted['submission_id']})" in _refusal_text(answers["отчёт ещё раз.xlsx"])
    assert inbox_files(kit) == [] and claimed_files(kit) == []


# -- 5. a file is taken only once whole -------------------------------------------------------


class SlowCopy(threading.Thread):
    """A real copy in progress: ``data`` written into ``path`` in chunks, ``pause`` apart."""

    def __init__(self, path: Path, data: bytes, chunks: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.path, self.data, self.chunks, self.pause = path, data, chunks, pause
        self.written = threading.Event()  # the first chunks are on disk

    def run(self) -> None:
        step = -(-len(self.data) // self.chunks)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as fh:
            for i in range(0, len(self.data), step):
                fh.write(self.data[i:i + step])
                fh.flush()
                if i >= 2 * step:
                    self.written.set()
                time.sleep(self.pause)
        self.written.set()


def _settings(kit: Kit, **env: str) -> Settings:
    """The kit's workspace with these ``SBOR_*`` variables, read as the command line reads them."""
    loaded = load_settings(kit.settings.home, kit.settings.database_url, env=env)
    return replace(loaded, fixed_now=kit.settings.fixed_now, secret_override=SECRET)


def _quiet(kit: Kit, quiet: float, give_up: float = 60.0) -> Settings:
    return _settings(kit, SBOR_QUIET_SECONDS=str(quiet), SBOR_GIVE_UP_SECONDS=str(give_up))


def test_ingest_leaves_a_file_being_copied_until_it_is_whole(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=2)
    a, b = kit.orgs
    drop(kit, b.login, "готов.xlsx", kit.good(b))
    copy = SlowCopy(kit.settings.inbox / a.login / "копируется.xlsx", kit.good(a), chunks=60, pause=0.25)
    copy.start()
    copy.written.wait(30)
    settings = _quiet(kit, quiet=1.0)
    during = ingest(settings)
    still_copying = copy.is_alive()
    assert still_copying, "the copy ended before the ingest looked: this proves nothing"
    assert [(o.file, o.outcome) for o in during] == [("готов.xlsx", "accepted")]
    copy.join()
    assert [(o.file, o.outcome) for o in ingest(settings)] == [("копируется.xlsx", "accepted")]
    assert inbox_files(kit) == [] and claimed_files(kit) == []


def test_a_stalled_copy_and_an_empty_file_wait_for_the_give_up_time(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=2)
    a, b = kit.orgs
    data = kit.good(a)
    # Half a workbook, unchanged for 10 s (a slow link stalled), and a file created but still
    # empty after 10 s: both quiet, neither whole.
    half = drop(kit, a.login, "половина.xlsx", data[: len(data) // 2], age=10)
    empty = drop(kit, b.login, "пока пустой.xlsx", b"", age=10)
    lock = drop(kit, b.login, "~$пока пустой.xlsx", b"lock", age=600)
    assert ingest(_quiet(kit, quiet=1.0, give_up=60.0)) == []
    assert inbox_files(kit) == sorted([half, empty, lock])
    # The copies complete: both are taken, whole.
    half.write_bytes(data)
    empty.write_bytes(kit.good(b))
    outcomes = ingest(_quiet(kit, quiet=0.5))
    assert sorted((o.file, o.outcome) for o in outcomes) == sorted([("половина.xlsx", "accepted"),
                                                                  ("пока пустой.xlsx", "accepted")])
    assert inbox_files(kit) == [lock]  # Office's lock file is never taken


def test_a_copy_that_never_completes_is_answered_after_the_give_up_time(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=1)
    [a] = kit.orgs
    data = kit.good(a)
    drop(kit, a.login, "оборвался.xlsx", data[: len(data) // 2], age=120)
    [o] = ingest(_quiet(kit, quiet=1.0, give_up=60.0))
    assert (o.outcome, o.findings[0].code) == ("unreadable", "truncated") and Path(str(o.feedback)).is_file()


def test_watch_leaves_a_file_that_stays_empty_for_a_while(tmp_path: Path) -> None:
    kit = make_kit(tmp_path, participants=1)
    [a] = kit.orgs
    empty = drop(kit, a.login, "отчёт.xlsx", b"", age=12)
    first = sbor(kit, "watch", "--once", "--without-prefect", "--stable-seconds", "2")
    assert first.returncode == 0 and "ingested 0" in first.stderr, first.stderr
    assert inbox_files(kit) == [empty]
    empty.write_bytes(kit.good(a))
    then = time.time() - 5
    os.utime(empty, (then, then))
    second = sbor(kit, "watch", "--once", "--without-prefect", "--stable-seconds", "2")
    assert second.returncode == 0 and "ingested 1" in second.stderr, second.stderr
    assert "accepted" in second.stderr and inbox_files(kit) == []


# -- 6. stranded files: claims by age, and the operator's list --------------------------------


def _backdate(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


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
        _backdate(other_host, 900)
        _backdate(reused, 900)
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
    _backdate(folder, 60)
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
    _backdate(old_answer, 600)
    young_answer = scratch / "answer-fedcba9876543210.xlsx"  # a live process may be writing it
    young_answer.write_bytes(b"PK\x03\x04")
    empty_old = kit.settings.processing / "ingest-node-7.example__77"
    empty_young = kit.settings.processing / "ingest-node-8.example__88"
    empty_old.mkdir(parents=True)
    empty_young.mkdir(parents=True)
    _backdate(empty_old, 600)
    assert ingest(_settings(kit, SBOR_LEASE_SECONDS="120")) == []
    assert not old_answer.exists() and not empty_old.exists()
    assert young_answer.exists() and empty_young.exists()


# -- the trial repeated: kill -9 while long-named files arrive beside a nested one -------------


@pytest.mark.slow
def test_killed_ingests_with_long_names_and_a_nested_folder_lose_nothing(tmp_path: Path) -> None:
    from tests.test_crash import ForkServer, _env, _kill_at_random, arrive_all

    kit = make_kit(tmp_path / "home", participants=10)
    staging = tmp_path / "staging"
    waves: list[tuple[Path, Path]] = []
    sent: dict[str, str] = {}  # sha256 -> login
    for i, org in enumerate(kit.orgs):
        name = f"{cut(f'{i:02d} ' + LONG_STEM, 250)}.xlsx" if i % 2 else f"отчёт {i}.xlsx"
        data = kit.good(org)
        staged = staging / org.login / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(data)
        waves.append((staged, kit.settings.inbox / org.login / name))
        sent[hashlib.sha256(data).hexdigest()] = org.login
    nested = drop(kit, kit.orgs[0].login, "старое/отчёт.xlsx", kit.good(kit.orgs[0], seed=1))
    (tmp_path / "logs").mkdir()
    server = ForkServer(tmp_path / "logs", _env())
    try:
        argv = ["--home", str(kit.settings.home), "--now", NOW, "ingest", "--without-prefect"]
        killed = _kill_at_random(server, argv, random.Random(1010), 14, 1.5, waves)
        assert killed >= 5, "most runs must die mid-way, or this proves nothing"
        arrive_all(waves)
        assert server.wait(server.spawn(argv)) == 0
    finally:
        server.close()
    wh = open_warehouse(kit.settings)
    _, rows = wh.sql("SELECT sha256, login, outcome, id FROM submissions", max_rows=None)
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted((s, login, "accepted") for s, login in sent.items())
    answered = {int(p.name.split("-", 1)[0]) for p in kit.settings.feedback_dir.rglob("*.xlsx")}
    assert {r[3] for r in rows} <= answered
    assert all(len(p.name.encode()) <= 255 for p in kit.settings.feedback_dir.rglob("*"))
    assert inbox_files(kit) == [nested] and claimed_files(kit) == []
    left = json.loads(sbor(kit, "status", "--json").stdout)["inbox"]["left"]
    assert [x["path"] for x in left] == [nested.relative_to(kit.settings.inbox).as_posix()]
