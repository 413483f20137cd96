"""Scale-out for real: Prefect's server on PostgreSQL, a process work pool, two process workers,
the warehouse on PostgreSQL, and a mixed inbox dispatched over them in batches. Every file must
get exactly one outcome, whichever worker took it, even when it is listed in two batches."""

from __future__ import annotations

import os
import random
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from flows.cli import main
from flows.errors import OperatorError
from flows.scale import (
    BATCHES_DIR,
    ENGINE_COMMAND,
    FULL_NAME,
    MAX_AUTO_BATCH,
    auto_batch_size,
    chunk,
    cluster,
    dispatch_ingest,
    ensure_database,
    python_dir,
    read_manifest,
    run_batches,
    worker_env,
    write_manifests,
)
from flows.settings import load_settings, parse_moment
from flows.simulate import good_values, spoil
from flows.workspace import open_warehouse
from forms import Organisation, builtin_forms, load_collection
from forms.loader import DATA_DIR
from tests.hostile import NOW, SPECIALITIES, Kit, csv_renamed, truncated
from tests.workbooks import SECRET, fill, sample_org
from warehouse import table_name

PG_ENV = "SBOR_TEST_POSTGRES_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drop(base: sa.URL, name: str) -> None:
    with psycopg.connect(host=base.host or "127.0.0.1", port=base.port or 5432, user=base.username or "postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def databases() -> Iterator[tuple[str, str]]:
    """A warehouse database and a database for Prefect's server, both dropped afterwards."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"{PG_ENV} is not set")
    base = sa.make_url(raw)
    tag = uuid.uuid4().hex[:10]
    warehouse = base.set(database=f"sbor_scale_{tag}").render_as_string(hide_password=False)
    prefect = (base.set(drivername="postgresql+asyncpg", database=f"prefect_scale_{tag}")
               .render_as_string(hide_password=False))
    try:
        assert ensure_database(warehouse) and ensure_database(prefect)
        assert not ensure_database(prefect)  # there already: kept
        yield warehouse, prefect
    finally:
        for name in (f"sbor_scale_{tag}", f"prefect_scale_{tag}"):
            _drop(base, name)


def published_kit(home: Path, database_url: str) -> Kit:
    """tests.hostile's kit (40 spo schools, both SPO collections published), its warehouse
    engine closed: a PostgreSQL connection left to the garbage collector is a warning here."""
    settings = replace(load_settings(home, database_url, env={}), fixed_now=parse_moment(NOW, "now"),
                       secret_override=SECRET)
    forms = builtin_forms()
    folder = DATA_DIR.parent / "collections"
    collections = {c.id: c for c in (load_collection(folder / f"{n}.yaml")
                                     for n in ("spo_specialities_2026", "vpr_spo_schedule_2027"))}
    orgs = tuple(sample_org("spo", n) for n in range(1, 41))
    wh = open_warehouse(settings)
    try:
        wh.upsert_organisations(orgs)
        for c in collections.values():
            wh.publish(c, forms[c.form_id], [o.login for o in orgs])
    finally:
        wh.engine.dispose()
    return Kit(settings, forms, collections, orgs)


def _put(path: Path, data: bytes, when: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (when, when))
    return path


def returned(kit: Kit, org: Organisation, rng: random.Random, mistakes: bool = False) -> tuple[bytes, int]:
    """The school's own template filled (correctly, or with a few mistakes); and its rows."""
    form, collection = kit.form_of(SPECIALITIES), kit.collections[SPECIALITIES]
    values = good_values(form, collection, org, rng)
    if mistakes:
        values = spoil(form, values, rng)
    return fill(kit.template(org), values, form), len(values[form.sheets[0].name])


def mixed_inbox(kit: Kit, start: float) -> tuple[Counter[str], int]:
    """Correct files, files with mistakes, the same file twice (adjacent, so in one batch) and
    two hostile ones; returns the outcomes expected and the rows the accepted files hold."""
    inbox = kit.settings.inbox
    rng = random.Random(5)
    expected: Counter[str] = Counter()
    rows = 0
    for i, org in enumerate(kit.orgs[:24]):
        mistakes = i % 6 == 5
        data, n = returned(kit, org, rng, mistakes)
        _put(inbox / org.login / "отчет.xlsx", data, start + 2 * i)
        expected["rejected" if mistakes else "accepted"] += 1
        rows += 0 if mistakes else n
        if i == 0:
            _put(inbox / org.login / "отчет (копия).xlsx", data, start + 2 * i + 1)
            expected["duplicate"] += 1
    for builder, org in ((csv_renamed, kit.orgs[24]), (truncated, kit.orgs[25])):
        os.utime(builder(kit, inbox, org), (start + 60, start + 60))
        expected["unreadable"] += 1
    return expected, rows


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]


def _check_warehouse(kit: Kit, files: int, rows: int) -> None:
    """One submissions row per distinct file content; every accepted row loaded once."""
    form = kit.form_of(SPECIALITIES)
    wh = open_warehouse(kit.settings)
    # The operator's own connection: sql() would log in as the analysts' role, not made here.
    try:
        with wh.engine.connect() as conn:
            [(subs, distinct)] = conn.exec_driver_sql("SELECT count(*), count(DISTINCT sha256) FROM submissions").all()
            assert subs == distinct == files
            table = table_name(form, form.sheets[0])
            twice = conn.exec_driver_sql(f"SELECT submission_id, row_number FROM {table} "
                                         "GROUP BY submission_id, row_number HAVING count(*) > 1").all()
            assert twice == []
            [(loaded,)] = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").all()
            assert loaded == rows
    finally:
        wh.engine.dispose()


def _run_parameters(api_url: str, ids: list[str]) -> list[dict[str, object]]:
    from uuid import UUID

    from prefect import get_client

    from flows.scale import using_api as _api

    with _api(api_url), get_client(sync_client=True) as client:
        runs = [client.read_flow_run(UUID(i)) for i in ids]
        deployment = client.read_deployment_by_name(FULL_NAME)
    assert deployment.job_variables == {"command": ENGINE_COMMAND}
    return [dict(r.parameters) for r in runs]


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_ingest_every_file_exactly_once(workspace: Path, databases: tuple[str, str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse_url, prefect_url = databases
    for name in [k for k in os.environ if k.startswith("PREFECT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PREFECT_HOME", str(workspace / "var" / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
    monkeypatch.setenv("SBOR_NOW", NOW)  # the workers' clock: the collection's window is open
    monkeypatch.setenv("SBOR_DATABASE_URL", warehouse_url)
    kit = published_kit(workspace, warehouse_url)
    settings = kit.settings
    expected, rows = mixed_inbox(kit, 1_700_000_000.0)
    sent = len(_files(settings.inbox))

    with cluster(settings, workers=2, port=_free_port(), prefect_database_url=prefect_url) as cl:
        assert len(cl.workers) == 2
        first = dispatch_ingest(settings, batch_size=-(-sent // 4))
        assert first.batches == 4 and first.failed == ()
        assert first.counts == dict(expected)
        assert sum(first.by_worker.values()) == sent
        assert set(first.by_worker) == set(cl.workers), "both workers took part"
        assert _files(settings.inbox) == [] and _files(settings.processing) == []
        # Each run was started by Prefect's engine directly and carried its list as a manifest
        # on the shared storage, removed once every run had ended.
        params = _run_parameters(cl.api_url, [r["flow_run"] for r in first.runs])
        assert all(set(p) == {"home", "batch"} and p["batch"].startswith(f"var/{BATCHES_DIR}/") for p in params)
        assert not any((settings.runtime / BATCHES_DIR).iterdir())

        # Second round: every file listed in two batches, and one file sent again as it was.
        again = next(p for p in settings.archive.rglob("*.bin"))
        names = []
        rng = random.Random(6)
        for i, org in enumerate(kit.orgs[26:34]):
            data, n = returned(kit, org, rng)
            _put(settings.inbox / org.login / "отчет.xlsx", data, 1_700_000_100.0 + i)
            names.append(f"{org.login}/отчет.xlsx")
            rows += n
        names.append(_put(settings.inbox / "повтор.xlsx", again.read_bytes(), 1_700_000_200.0).name)
        half = len(names) // 2
        second = run_batches(settings, [names[:half], names[half:], names[::-1][:half], names[::-1][half:]])
        assert second.failed == () and second.files == len(names)
        assert second.counts == {"accepted": 8, "duplicate": 1}
        assert sum(second.by_worker.values()) == len(names)

    assert _files(settings.inbox) == [] and _files(settings.processing) == []
    # Distinct contents: everything sent less the two copies.
    _check_warehouse(kit, sent + len(names) - 2, rows)


def test_scale_commands_say_what_is_missing(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli import cli
    from flows.commands.scale import scale_command

    if "scale" not in cli.commands:  # until the command line registers it
        cli.add_command(scale_command)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    assert main(["--home", str(workspace), "scale", "ingest"]) == 1
    assert capsys.readouterr().err == ("error: no Prefect server for this workspace: start one with "
                                       "`sbor scale up`, or set PREFECT_API_URL\n")
    assert main(["--home", str(workspace), "scale", "up"]) == 1
    assert capsys.readouterr().err.startswith("error: scale-out needs the warehouse on PostgreSQL")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/sbor"
    assert main(["--home", str(workspace), "--database-url", url, "scale", "up"]) == 1
    assert capsys.readouterr().err.startswith("error: Prefect's server needs a PostgreSQL database: pass "
                                              "--prefect-database-url")
    sqlite = f"sqlite+aiosqlite:///{workspace / 'prefect.db'}"
    assert main(["--home", str(workspace), "--database-url", url, "scale", "up", "--prefect-database-url", sqlite]) == 1
    assert capsys.readouterr().err.startswith("error: Prefect's server here runs on PostgreSQL (on SQLite it "
                                              "answers 503 under load), not sqlite")
    nowhere = "postgresql+asyncpg://postgres@127.0.0.1:1/prefect_sbor"
    assert main(["--home", str(workspace), "--database-url", url, "scale", "up",
                 "--prefect-database-url", nowhere]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach or create the Prefect database prefect_sbor on 127.0.0.1:1: ")
    assert err.count("\n") == 1


def test_batches_give_every_worker_the_same_number_of_runs() -> None:
    most = MAX_AUTO_BATCH
    assert auto_batch_size(10_104, 2) == 5052  # one run per worker
    assert auto_batch_size(4 * most, 2) == most  # two each
    # five runs would leave one worker a run behind: six
    assert auto_batch_size(4 * most + 1, 2) == -(-(4 * most + 1) // 6)
    assert auto_batch_size(7, 4) == 2 and auto_batch_size(0, 2) == 1 and auto_batch_size(5, 0) == 5
    assert chunk(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert chunk([], 3) == []


def test_batch_manifests_round_trip_and_say_what_is_wrong(workspace: Path) -> None:
    settings = load_settings(workspace)
    batches = [["школа-1/отчет.xlsx", "b.xlsx"], ["c.xlsx"]]
    folder, names = write_manifests(settings, batches)
    assert folder.parent == settings.runtime / BATCHES_DIR
    assert [read_manifest(settings.home / n) for n in names] == batches
    assert not list(folder.glob("*.tmp"))
    with pytest.raises(OperatorError,
                       match=r"batch manifest .*nowhere\.json is missing: is the workspace on storage shared"):
        read_manifest(folder / "nowhere.json")
    (folder / "bad.json").write_text('{"paths": 1}')
    with pytest.raises(OperatorError, match=r"is not a JSON list of inbox paths"):
        read_manifest(folder / "bad.json")


def test_workers_run_the_engine_with_their_own_interpreter(workspace: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(workspace)
    here = python_dir(settings)  # a virtual environment: its own bin/
    assert os.path.samefile(here / "python", sys.executable)
    assert worker_env(settings, "http://127.0.0.1:1/api")["PATH"].split(os.pathsep)[0] == str(here)
    # An interpreter known only as python3.11: a link named python in var/bin/.
    (tmp_path / "python3.11").symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3.11"))
    shim = python_dir(settings)
    assert shim == settings.runtime / "bin" and os.path.samefile(shim / "python", sys.executable)
    assert python_dir(settings) == shim  # the link kept
