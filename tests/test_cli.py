"""The `sbor` command line: help texts, one-line operator errors, and the verbs end to end on a
real workspace (SQLite, real templates, real workbooks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from flows.cli import cli, main
from forms import load_registry


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        out.append((prefix + name, command))
        if isinstance(command, click.Group):
            out += _commands(command, prefix + name + " ")
    return out


@pytest.mark.parametrize(("name", "command"), _commands(cli), ids=[n for n, _ in _commands(cli)])
def test_every_command_has_help_ending_with_an_example(name: str, command: click.Command) -> None:
    assert command.help, f"sbor {name} has no help"
    last = command.help.strip().splitlines()[-1].strip()
    # An example may set a variable first: "Example: PREFECT_API_URL=… sbor scale worker".
    words = last.split()
    assert words[0] == "Example:" and "sbor" in words and all(w in words for w in name.split()), \
        f"sbor {name}: help ends with {last!r}"


def test_group_help_ends_with_an_example() -> None:
    assert cli.help is not None
    assert cli.help.strip().splitlines()[-1].strip() == "Example: sbor demo"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "--home", str(home), *args],
        capture_output=True, text=True, timeout=300,
    )


def test_unknown_collection_is_one_line_with_exit_1(workspace: Path) -> None:
    result = run(workspace, "publish", "no-such-collection")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: no collection file no-such-collection (and no built-in collection of that id: "
        "spo-specialities-2026, vpr-org-info-2027, vpr-spo-schedule-2027)"
    ]
    assert "Traceback" not in result.stderr


def test_bad_option_is_one_line_with_exit_2(workspace: Path) -> None:
    result = run(workspace, "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: No such option '--bogus'. Did you mean '--verbose'? (see sbor --help)"


def test_bad_registry_lists_every_bad_line_and_loads_nothing(workspace: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = workspace / "registry.csv"
    bad.write_text(
        "login,full_name,short_name,region_code,region_name,municipality_code,municipality_name,kind\n"
        "edu770001,Школа 1,Ш1,77,Москва,7701,ЦАО,edu\n"
        "edu7x0002,Школа 2,Ш2,77,Москва,7701,ЦАО,edu\n"
        "spo500003,Колледж 3,К3,77,Москва,7701,ЦАО,spo\n",
        encoding="utf-8",
    )
    code = main(["--home", str(workspace), "registry", "load", str(bad)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[0].startswith("error: ") and "2 bad lines" in err[0]
    assert any("line 3" in line for line in err[1:]) and any("line 4" in line for line in err[1:])
    main(["--home", str(workspace), "sql", "SELECT count(*) AS n FROM organisations", "--json"])
    assert json.loads(capsys.readouterr().out.strip()) == {"n": 0}


def test_sql_refuses_writes(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--home", str(workspace), "sql", "DELETE FROM organisations"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: ")


def test_registry_generate_then_load(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workspace / "reg.csv"
    assert main(["--home", str(workspace), "registry", "generate", "--size", "40", str(path)]) == 0
    assert len(load_registry(path)) == 40
    assert main(["--home", str(workspace), "registry", "load", str(path)]) == 0
    assert "loaded 40 organisations" in capsys.readouterr().out
    main(["--home", str(workspace), "sql", "SELECT count(*) AS n FROM organisations", "--csv"])
    assert capsys.readouterr().out.splitlines() == ["n", "40"]
