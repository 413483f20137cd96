"""The one-shot ``sbor ingest`` on the embedded default (SQLite, no Prefect server configured), run
as the operator runs it, in a process of its own: a single file is answered by the ingest flow's
own functions without Prefect's temporary server, and an empty inbox ends before any starts.
How fast is measured in bench/bench_oneshot.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from flows.prefect_local import server_configured
from flows.publish import form_for, register, render_all
from flows.settings import Settings, load_settings
from flows.workspace import open_warehouse
from forms import Collection, generate_registry
from tests.workbooks import fill

NOW = "2026-12-01T10:00"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def env(tmp_path: Path, workspace: Path) -> dict[str, str]:
    """The command's environment: no Prefect server, a Prefect home of its own (so that a
    temporary server, had one started, would leave its database there)."""
    out = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
    out["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return out


def _sbor(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", "--home", str(home), "--now", NOW, *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def _published(home: Path, collection: Collection) -> tuple[Settings, list[str]]:
    """A workspace with ``collection`` published: the publish flow's own tasks, called here."""
    settings = load_settings(home, now=NOW)
    open_warehouse(settings).upsert_organisations(generate_registry(80, seed=7))
    form = form_for(collection)
    orgs = register.fn(settings, collection, form)
    render_all.fn(settings, collection, form, orgs, None)
    return settings, [o.login for o in orgs]


def test_one_file_is_answered_by_a_one_shot_ingest(
    workspace: Path, env: dict[str, str], collections_by_form: dict[str, Collection]
) -> None:
    collection = collections_by_form["spo_specialities"]
    settings, logins = _published(workspace, collection)
    login = logins[0]
    template = (settings.templates_dir / collection.id / f"{login}.xlsx").read_bytes()
    rows = [{"1": "38.02.01 Экономика и бухгалтерский учет (по отраслям)", "1.1": "Математика",
             "1.2": "Математика", "2": 1, "3": 24, "3.1": 24, "3.2": 0, "4": 25, "5": 25, "6": "Нет"}]
    sent = settings.inbox / login / "отчет.xlsx"
    sent.parent.mkdir(parents=True, exist_ok=True)
    sent.write_bytes(fill(template, {"Специальности": rows}))
    os.utime(sent, (1_700_000_000, 1_700_000_000))  # long quiet: whole, taken at once

    done = _sbor(workspace, env, "ingest", "--json")

    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    answer = json.loads(line)
    assert (answer["file"], answer["login"], answer["collection"], answer["outcome"]) == (
        "отчет.xlsx", login, collection.id, "accepted")
    receipt = Path(answer["feedback"])
    assert receipt.is_file() and receipt.is_relative_to(settings.feedback_dir / collection.id / login)
    assert load_workbook(receipt).sheetnames  # a workbook the school can open
    assert not sent.exists()
    _, loaded = open_warehouse(settings).sql(
        "SELECT login, count(*) FROM current_spo_specialities_specialities GROUP BY login")
    assert loaded == [(login, 1)]
    # No temporary Prefect server ran: it would have created its database in Prefect's home.
    assert not (Path(env["PREFECT_HOME"]) / "prefect.db").exists()


def test_an_empty_inbox_ends_before_prefect_starts(workspace: Path, env: dict[str, str]) -> None:
    done = _sbor(workspace, env, "ingest", "--json")

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert not (Path(env["PREFECT_HOME"]) / "prefect.db").exists()
    assert not any((workspace / "var" / "processing").glob("*")), "no claim folder left behind"


def test_a_prefect_server_is_configured_by_environment_or_profile(tmp_path: Path) -> None:
    home = tmp_path / "prefect"
    assert not server_configured({"PREFECT_HOME": str(home)})
    assert server_configured({"PREFECT_HOME": str(home), "PREFECT_API_URL": "http://127.0.0.1:4200/api"})
    home.mkdir()
    # What ``prefect config set PREFECT_API_URL=...`` writes into the active profile.
    (home / "profiles.toml").write_text(
        'active = "local"\n\n[profiles.local]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n\n'
        '[profiles.ephemeral]\nPREFECT_SERVER_ALLOW_EPHEMERAL_MODE = "true"\n', encoding="utf-8")
    assert server_configured({"PREFECT_HOME": str(home)})
    assert not server_configured({"PREFECT_HOME": str(home), "PREFECT_PROFILE": "ephemeral"})
