"""Crash safety and concurrency: the ingest (and the watcher) SIGKILLed at random points over many
runs on a mixed inbox, then one clean run, must leave every file processed exactly once: one
submission per content, every file archived, no row loaded twice, no claim left, the current
data pointing at accepted submissions; and two processes on one inbox never take a file twice.

Starting Python with sbor's imports takes 5–10 s here, so most runs are forked from a server
process that imported everything once (``ForkServer``): each run is still a separate process
running the real command line, and SIGKILL ends it as abruptly as any crash. The final clean run
is the plain ``python -m flows.cli … ingest``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.simulate import spoil
from flows.workspace import open_warehouse
from tests.hostile import NOW, SPECIALITIES, Kit, lying_zip_bomb, make_kit, truncated
from tests.workbooks import SECRET, fill

pytestmark = pytest.mark.slow

ZYGOTE = r"""
import json, os, sys
from flows.cli import cli, main
from flows.commands.watch import watch_command
import flows.ingest, flows.simulate, templates, validators, warehouse  # imported once, before any fork
cli.commands.setdefault("watch", watch_command)
for line in sys.stdin:
    order = json.loads(line)
    if "wait" in order:
        _, status = os.waitpid(order["wait"], 0)
        code = os.waitstatus_to_exitcode(status)
        print(code, flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        out = os.open(order["out"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        err = os.open(order["err"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0); os.dup2(out, 1); os.dup2(err, 2)
        code = 1
        try:
            code = main(order["argv"])
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SBOR_")}
    # Files arrive by rename, whole at once: no quiet period to wait for.
    return {**env, "SBOR_SECRET": SECRET.decode(), "SBOR_BATCH_SIZE": "4", "SBOR_QUIET_SECONDS": "0", **extra}


class ForkServer:
    """A process that imported sbor once and forks one child per run."""

    def __init__(self, logs: Path, env: dict[str, str] | None = None) -> None:
        self.logs = logs
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], env=env or _env(), text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.runs = 0

    def _ask(self, order: dict[str, object]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(order) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def spawn(self, argv: list[str]) -> int:
        self.runs += 1
        return self._ask({"argv": argv, "out": str(self.logs / f"run{self.runs}.out"),
                          "err": str(self.logs / f"run{self.runs}.err")})

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[ForkServer]:
    logs = tmp_path / "logs"
    logs.mkdir()
    srv = ForkServer(logs)
    yield srv
    srv.close()


@dataclass(frozen=True)
class Sent:
    path: Path
    sha256: str
    kind: str  # good | bad | hostile
    login: str | None
    rows: int  # rows in the entry sheet, for a good file


def mixed_inbox(kit: Kit, rng: random.Random, good: int = 20, bad: int = 6, resent: int = 4,
                copies: int = 3) -> list[Sent]:
    """Correct files, files with mistakes, schools sending a second correct version, the same
    file twice under another name, and a few hostile files, in the schools' inbox folders."""
    import hashlib

    form = kit.form_of(SPECIALITIES)
    collection = kit.collections[SPECIALITIES]
    from flows.simulate import good_values

    sent: list[Sent] = []

    def put(login: str, name: str, data: bytes, kind: str, rows: int = 0) -> Sent:
        folder = kit.settings.inbox / login
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        item = Sent(folder / name, hashlib.sha256(data).hexdigest(), kind, login, rows)
        sent.append(item)
        return item

    orgs = list(kit.orgs)
    for i, org in enumerate(orgs[: good + bad]):
        values = good_values(form, collection, org, rng)
        template = kit.template(org)
        if i < good:
            item = put(org.login, f"{org.login}.xlsx", fill(template, values, form), "good",
                       len(values[form.sheets[0].name]))
            if i < copies:
                put(org.login, f"{org.login}-копия.xlsx", item.path.read_bytes(), "good", item.rows)
            if copies <= i < copies + resent:
                again = good_values(form, collection, org, rng)
                put(org.login, f"{org.login}-исправленный.xlsx", fill(template, again, form), "good",
                    len(again[form.sheets[0].name]))
        else:
            put(org.login, f"{org.login}.xlsx", fill(template, spoil(form, values, rng), form), "bad")
    for n, build in enumerate((truncated, lying_zip_bomb)):
        org = orgs[good + bad + n]
        path = build(kit, kit.settings.inbox, org)
        sent.append(Sent(path, hashlib.sha256(path.read_bytes()).hexdigest(), "hostile", org.login, 0))
    csv = kit.settings.inbox / "таблица.xlsx"
    csv.write_bytes("Логин;Наименование\nspo770001;Колледж\n".encode("cp1251"))
    sent.append(Sent(csv, hashlib.sha256(csv.read_bytes()).hexdigest(), "hostile", None, 0))
    return sent


def assert_consistent(kit: Kit, sent: list[Sent]) -> None:
    """What a crash must never break, checked in the workspace and the warehouse."""
    settings = kit.settings
    assert [p for p in settings.inbox.rglob("*") if not p.is_dir()] == [], "a file is still waiting"
    assert [p for p in settings.processing.rglob("*") if not p.is_dir()] == [], "a claim was left behind"
    wh = open_warehouse(settings)
    _, rows = wh.sql("SELECT id, sha256, outcome, collection_id, login FROM submissions", max_rows=None)
    by_sha = {r[1]: r for r in rows}
    assert len(by_sha) == len(rows), "one content recorded twice"
    expected = {s.sha256 for s in sent}
    assert set(by_sha) == expected, "a file was lost (or something unknown recorded)"
    for s in sent:
        kept = settings.archive / s.sha256[:2] / f"{s.sha256}.bin"
        assert kept.is_file(), f"{s.path.name} is not in the archive"
        outcome = by_sha[s.sha256][2]
        expected = {"good": "accepted", "bad": "rejected", "hostile": "unreadable"}[s.kind]
        assert outcome == expected, (s.path.name, outcome)
    # Every accepted file's rows loaded once, all of them; nothing loaded for the others.
    table = "data_spo_specialities_specialities"
    _, counts = wh.sql(f"SELECT submission_id, count(*), count(DISTINCT row_number) FROM {table} "
                       "GROUP BY submission_id", max_rows=None)
    loaded = {r[0]: (r[1], r[2]) for r in counts}
    for s in sent:
        sub_id = by_sha[s.sha256][0]
        want = (s.rows, s.rows) if s.kind == "good" else None
        assert loaded.get(sub_id) == want, (s.path.name, loaded.get(sub_id), want)
    _, dup = wh.sql("SELECT collection_id, login, row_number, count(*) FROM current_spo_specialities_specialities "
                    "GROUP BY collection_id, login, row_number HAVING count(*) > 1")
    assert dup == [], "a school's current data holds a row twice"
    # The current submission of each school is one of its own accepted files.
    _, current = wh.sql("SELECT c.collection_id, c.login, s.outcome, s.collection_id, s.login "
                        "FROM current_submissions c JOIN submissions s ON s.id = c.submission_id", max_rows=None)
    assert all(r[2] in ("accepted", "accepted_with_warnings") and r[0:2] == r[3:5] for r in current), current
    schools = {(r[3], r[4]) for r in rows if r[2] == "accepted"}
    assert {(r[0], r[1]) for r in current} == schools


def feedback_ids(kit: Kit) -> set[int]:
    return {int(p.name.split("-", 1)[0]) for p in kit.settings.feedback_dir.rglob("*.xlsx")}


def _cli(kit: Kit, *command: str) -> list[str]:
    return ["--home", str(kit.settings.home), "--now", NOW, *command]


def stage(kit: Kit, sent: list[Sent], staging: Path) -> list[tuple[Path, Path]]:
    """Move the inbox aside; the runs get it back a few files at a time, so that every run has
    work to be killed in the middle of. Returns (staged, inbox) pairs in arrival order."""
    pairs = []
    for s in sent:
        staged = staging / s.path.relative_to(kit.settings.inbox)
        staged.parent.mkdir(parents=True, exist_ok=True)
        os.rename(s.path, staged)
        pairs.append((staged, s.path))
    return pairs


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _gone(pids: set[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def _kill_at_random(server: ForkServer, argv: list[str], rng: random.Random, runs: int, longest: float,
                    waves: list[tuple[Path, Path]], helpers: list[set[int]] | None = None) -> int:
    """Start ``argv`` ``runs`` times, each after a few more files arrived and each SIGKILLed after
    a random delay; returns how many runs were killed (the rest finished first).

    How long a run lasts depends on the machine's load, so the delays adapt: a run that finished
    before its kill shortens the next delays, a killed one lengthens them (up to ``longest``).
    That keeps the kills spread over a run's whole life on a quiet machine and a busy one."""
    killed = 0
    limit = longest
    for _ in range(runs):
        for _ in range(min(len(waves), rng.randint(0, 3))):
            staged, target = waves.pop(0)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, target)
        pid = server.spawn(argv)
        time.sleep(rng.uniform(0.0, limit))
        seen = _children(pid) if helpers is not None else set()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        died = server.wait(pid) == -signal.SIGKILL
        if helpers is not None and died:
            helpers.append(seen)
            assert _gone(seen), f"helper processes {seen} outlived their killed ingest"
        killed += died
        limit = min(longest, limit * 1.15) if died else max(0.05, limit * 0.6)
    return killed


def arrive_all(waves: list[tuple[Path, Path]]) -> None:
    """Whatever has not arrived yet, for the clean run."""
    while waves:
        staged, target = waves.pop(0)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, target)


def _clean_run(kit: Kit) -> list[dict[str, object]]:
    result = subprocess.run([sys.executable, "-m", "flows.cli", *_cli(kit, "ingest", "--json", "--without-prefect")],
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_ingest_killed_at_random_points_loses_nothing(tmp_path: Path, server: ForkServer) -> None:
    rng = random.Random(2026)
    kit = make_kit(tmp_path / "home")
    sent = mixed_inbox(kit, rng)
    waves = stage(kit, sent, tmp_path / "staging")
    # Each run picks up what the killed ones left (claims of dead processes), then the inbox.
    killed = _kill_at_random(server, _cli(kit, "ingest", "--without-prefect"), rng, 40, 1.5, waves)
    assert killed >= 20, "most runs must die mid-way, or this proves nothing"
    arrive_all(waves)
    _clean_run(kit)
    assert_consistent(kit, sent)
    _, rows = open_warehouse(kit.settings).sql("SELECT id FROM submissions", max_rows=None)
    # Every school got its answer, also where the process died between commit and answer.
    assert {r[0] for r in rows} - feedback_ids(kit) == set()


def test_ingest_on_two_lanes_killed_at_random_points_loses_nothing(tmp_path: Path) -> None:
    """A large pass runs batches in a helper process too (flows/lanes.py): killing the ingest
    kills its helpers with it, and the next runs still finish every file exactly once."""
    rng = random.Random(4242)
    kit = make_kit(tmp_path / "home")
    sent = mixed_inbox(kit, rng, good=14, bad=4, resent=2, copies=2)
    waves = stage(kit, sent, tmp_path / "staging")
    logs = tmp_path / "logs"
    logs.mkdir()
    lanes = _env(SBOR_WORKERS="2", SBOR_PARALLEL_FROM="2", SBOR_BATCH_SIZE="2")
    server = ForkServer(logs, lanes)
    helpers: list[set[int]] = []
    try:
        # Files arrive in bigger waves here, so that most passes are large enough for lanes.
        for staged, target in waves[:10]:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, target)
        del waves[:10]
        killed = _kill_at_random(server, _cli(kit, "ingest", "--without-prefect"), rng, 16, 4.0, waves, helpers)
    finally:
        server.close()
    assert killed >= 6, "many runs must die mid-way, or this proves nothing"
    assert sum(1 for seen in helpers if seen) >= 3, "the killed runs must have had helpers to kill"
    arrive_all(waves)
    result = subprocess.run([sys.executable, "-m", "flows.cli", *_cli(kit, "ingest", "--json", "--without-prefect")],
                            env=lanes, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_consistent(kit, sent)
    _, rows = open_warehouse(kit.settings).sql("SELECT id FROM submissions", max_rows=None)
    assert {r[0] for r in rows} - feedback_ids(kit) == set()


def test_watcher_killed_at_random_points_loses_nothing(tmp_path: Path, server: ForkServer) -> None:
    rng = random.Random(1812)
    kit = make_kit(tmp_path / "home")
    sent = mixed_inbox(kit, rng, good=12, bad=4, resent=2, copies=2)
    waves = stage(kit, sent, tmp_path / "staging")
    # No waiting: the truncated zip would otherwise (rightly) wait a minute for its missing end.
    once = _cli(kit, "watch", "--once", "--without-prefect", "--stable-seconds", "0", "--give-up-seconds", "0")
    always = _cli(kit, "watch", "--without-prefect", "--stable-seconds", "0", "--give-up-seconds", "0",
                  "--interval", "0.05", "--rescan", "0.2")
    killed = _kill_at_random(server, once, rng, 8, 1.5, waves)
    killed += _kill_at_random(server, always, rng, 8, 2.0, waves)
    assert killed >= 10
    arrive_all(waves)
    pid = server.spawn(once)
    assert server.wait(pid) == 0
    assert_consistent(kit, sent)


def _outcomes(server: ForkServer, run: int) -> list[dict[str, object]]:
    text = (server.logs / f"run{run}.out").read_text()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("second", ["ingest", "watch"])
def test_two_processes_on_one_inbox_never_take_a_file_twice(tmp_path: Path, server: ForkServer, second: str) -> None:
    rng = random.Random(99)
    kit = make_kit(tmp_path / "home")
    sent = mixed_inbox(kit, rng)
    other = (_cli(kit, "ingest", "--json", "--without-prefect") if second == "ingest"
             else _cli(kit, "watch", "--once", "--without-prefect", "--stable-seconds", "0", "--give-up-seconds", "0"))
    first_pid = server.spawn(_cli(kit, "ingest", "--json", "--without-prefect"))
    second_pid = server.spawn(other)
    assert server.wait(first_pid) == 0
    assert server.wait(second_pid) == 0
    assert_consistent(kit, sent)
    # Every file was taken by exactly one of them (the watcher logs, the ingest prints JSON).
    taken = Counter(str(o["file"]) for o in _outcomes(server, 1))
    if second == "ingest":
        taken.update(str(o["file"]) for o in _outcomes(server, 2))
        assert sorted(taken) == sorted(s.path.name for s in sent) and set(taken.values()) == {1}
    else:
        assert set(taken.values()) <= {1}


# 80 CJK characters and 61 emoji: each name just under the 255 bytes a Linux file name may take
# (100 CJK characters would be 300 bytes, more than ext4 lets a school's file be called), and far
# over what sbor may add to a name and still write it.
LONG_NAMES = ("学校统计报告" * 14)[:80] + ".xlsx", "📊" * 61 + ".xlsx"


def awkward_inbox(kit: Kit, rng: random.Random) -> tuple[list[Sent], dict[str, str | None], str]:
    """A small mixed inbox (``mixed_inbox``) and the files issue 10 found stranded or misplaced:
    correct files under long Unicode names, a correct file one folder deeper than the school's
    (``inbox/<login>/a/x.xlsx``), and one school's folder holding another school's correct
    template. Returns the files, each file's sender (its first folder, None in the flat inbox) by
    SHA-256, and the login of the school whose template was sent by someone else (it sent nothing)."""
    import hashlib

    from flows.simulate import good_values

    sent = mixed_inbox(kit, rng, good=8, bad=3, resent=2, copies=2)
    form = kit.form_of(SPECIALITIES)
    collection = kit.collections[SPECIALITIES]
    orgs = list(kit.orgs)
    victim = orgs[-3]

    def filled(org_index: int) -> tuple[bytes, int]:
        values = good_values(form, collection, orgs[org_index], rng)
        return fill(kit.template(orgs[org_index]), values, form), len(values[form.sheets[0].name])

    def put(relative: str, data: bytes, kind: str, login: str | None, rows: int) -> None:
        path = kit.settings.inbox / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sent.append(Sent(path, hashlib.sha256(data).hexdigest(), kind, login, rows))

    for n, name in enumerate(LONG_NAMES):
        data, rows = filled(20 + n)
        put(f"{orgs[20 + n].login}/{name}", data, "long-name", orgs[20 + n].login, rows)
    data, rows = filled(22)
    put(f"{orgs[22].login}/a/x.xlsx", data, "nested", orgs[22].login, rows)
    values = good_values(form, collection, victim, rng)
    put(f"{orgs[23].login}/{victim.login}.xlsx", fill(kit.template(victim), values, form), "foreign",
        orgs[23].login, 0)
    senders = {s.sha256: (s.path.relative_to(kit.settings.inbox).parts[0] if len(s.path.relative_to(
        kit.settings.inbox).parts) > 1 else None) for s in sent}
    return sent, senders, victim.login


def assert_nothing_lost_nor_miscredited(kit: Kit, sent: list[Sent], senders: dict[str, str | None],
                                        victim: str) -> None:
    settings = kit.settings
    assert [p for p in settings.processing.rglob("*") if not p.is_dir()] == [], "a claim was left behind"
    wh = open_warehouse(settings)
    _, rows = wh.sql("SELECT id, sha256, outcome, collection_id, login FROM submissions", max_rows=None)
    by_sha = {r[1]: r for r in rows}
    waiting = {p for p in settings.inbox.rglob("*") if p.is_file()}
    for s in sent:
        archived = (settings.archive / s.sha256[:2] / f"{s.sha256}.bin").is_file() and s.sha256 in by_sha
        assert archived or s.path in waiting, f"{s.path.name} was lost: neither recorded nor waiting"
    for s in sent:
        if s.kind == "long-name":  # a long name is no reason not to take the file
            assert by_sha[s.sha256][2] == "accepted", (s.path.name, by_sha.get(s.sha256))
    # A file is credited to its sender (or to nobody, when it says nothing of who it is).
    for _, sha, _, _, login in rows:
        assert login is None or login == senders[sha], (sha, login, senders[sha])
    # The school whose template another school sent is untouched: no submission, no current
    # data, no answer in its folder.
    assert [r for r in rows if r[4] == victim] == []
    _, current = wh.sql("SELECT c.login, s.sha256, s.outcome FROM current_submissions c "
                        "JOIN submissions s ON s.id = c.submission_id", max_rows=None)
    assert [r for r in current if r[0] == victim] == []
    assert all(senders[sha] == login and outcome.startswith("accepted") for login, sha, outcome in current), current
    assert not [p for p in settings.feedback_dir.rglob("*") if victim in p.parts]
    # Every accepted file's rows loaded once, all of them; nothing loaded from any other file.
    table = "data_spo_specialities_specialities"
    _, counts = wh.sql(f"SELECT submission_id, count(*), count(DISTINCT row_number) FROM {table} "
                       "GROUP BY submission_id", max_rows=None)
    loaded = {r[0]: (r[1], r[2]) for r in counts}
    for s in sent:
        if s.sha256 in by_sha:
            accepted = by_sha[s.sha256][2] == "accepted"
            assert loaded.get(by_sha[s.sha256][0]) == ((s.rows, s.rows) if accepted else None), s.path.name
    # Every recorded file got its answer.
    assert {r[0] for r in rows} - feedback_ids(kit) == set()


def test_ingest_killed_while_awkward_files_arrive_loses_nothing_and_credits_no_one_else(
        tmp_path: Path, server: ForkServer) -> None:
    """The trial of issue 10 repeated: kill -9 at random moments while files arrive, among them
    long Unicode names, a file in a nested folder and one school's folder holding another school's
    template; then one clean run. Nothing is lost (every file recorded and archived, or still
    waiting in the inbox), and nothing is credited or loaded for a school that did not send it."""
    rng = random.Random(1010)
    kit = make_kit(tmp_path / "home")
    sent, senders, victim = awkward_inbox(kit, rng)
    waves = stage(kit, sent, tmp_path / "staging")
    rng.shuffle(waves)  # the awkward files arrive among the others, not last
    killed = _kill_at_random(server, _cli(kit, "ingest", "--without-prefect"), rng, 24, 1.5, waves)
    assert killed >= 10, "most runs must die mid-way, or this proves nothing"
    arrive_all(waves)
    _clean_run(kit)
    assert_nothing_lost_nor_miscredited(kit, sent, senders, victim)
