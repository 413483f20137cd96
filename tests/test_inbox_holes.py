"""The inbox's holes (issue 10, parts 1 and 5): a long Unicode name stops nothing, a file still
being copied is left until whole; and the trial repeated, ingests killed while such files arrive.
Stranded files and claims are in ``test_inbox_stranded.py``."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.ingest import ingest
from flows.names import cut
from flows.settings import Settings
from flows.workspace import open_warehouse
from tests.hostile import NOW, Kit, make_kit
from tests.inbox_kit import claimed_files, drop, inbox_files, lines, sbor, with_env

# 70 CJK characters and 10 emoji: 250 bytes of UTF-8, a legal name in the inbox (255 with
# ".xlsx"), but not once sbor adds a submission number and «-квитанция».
LONG_STEM = "学校年度统计报告" * 8 + "学校年度统计" + "📊📈" * 5
LONG_NAME = f"{LONG_STEM}.xlsx"


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


def _quiet(kit: Kit, quiet: float, give_up: float = 60.0) -> Settings:
    return with_env(kit, SBOR_QUIET_SECONDS=str(quiet), SBOR_GIVE_UP_SECONDS=str(give_up))


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
