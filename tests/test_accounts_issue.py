"""`sbor accounts issue`: a one-time code per account, each coordinator's workbook with its own
schools, the operator's with the coordinators; the codes open the cabinet once."""

from __future__ import annotations

import stat
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from flows.cli import cli
from tests.cabinet_site import ORGS, PASSWORD, A, B, C, build_site, close, sign_in


def _codes(path: Path) -> dict[str, str]:
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "Коды доступа"
    return {row[0]: row[3] for row in sheet.iter_rows(min_row=7, values_only=True) if row[0]}


def test_each_coordinator_gets_its_own_schools_codes(tmp_path: Path) -> None:
    site = build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")
    try:
        folder = tmp_path / "outbox" / "accounts"
        municipal, regional = _codes(folder / "mun7701.xlsx"), _codes(folder / "reg77.xlsx")
        assert set(municipal) == {A, "edu770002"}
        assert set(regional) == {o.login for o in ORGS if o.region_code == "77"}
        assert C not in regional and B in regional
        operator = _codes(folder / "operator.xlsx")
        assert {"operator", "reg77", "mun7701", "reg50", "mun5001"} <= set(operator)
        assert stat.S_IMODE((folder / "mun7701.xlsx").stat().st_mode) == 0o600
        # The site set passwords for everyone after the first issue: a second issue leaves
        # them alone, and the old codes open nothing.
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--database-url", site.settings.database_url,
                                          "accounts", "issue"])
        assert result.exit_code == 0, result.output
        assert "issued 0 one-time codes" in result.output
        assert "Неверный логин или пароль" in sign_in(site.client(), A, municipal[A]).text
        # --reissue gives everyone a new code; the workbook's code opens the first sign-in.
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--database-url", site.settings.database_url,
                                          "accounts", "issue", "--reissue"])
        assert "issued 12 one-time codes" in result.output and "operator's one-time code: " in result.output
        fresh = _codes(folder / "mun7701.xlsx")
        assert fresh[A] != municipal[A]
        response = sign_in(site.client(), A, fresh[A])
        assert response.status_code == 303 and response.headers["location"] == "/password"
    finally:
        close(site)


def test_issue_without_a_registry_is_one_clear_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from flows.cli import main

    assert main(["--home", str(tmp_path), "accounts", "issue"]) == 1
    assert capsys.readouterr().err.strip() == \
        "error: the registry is empty: load one first (sbor registry load FILE)"


def test_block_and_unblock_from_the_command_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`sbor accounts block` ends the school's open session and refuses its sign-in;
    `unblock` lets it sign in again; an unknown login is one clear line."""
    site = build_site(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'var' / 'sbor.db'}")

    def sbor(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--database-url", site.settings.database_url,
                                          "accounts", *args])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    try:
        open_session = site.signed_in(A)
        assert sbor("block", A) == f"blocked {A}"
        assert open_session.get("/").status_code == 303  # back to the sign-in page
        assert "Неверный логин или пароль" in sign_in(site.client(), A, PASSWORD).text
        assert sbor("unblock", A) == f"unblocked {A}"
        assert sign_in(site.client(), A, PASSWORD).status_code == 303
    finally:
        close(site)
    from flows.cli import main

    assert main(["--home", str(tmp_path), "--database-url", site.settings.database_url,
                 "accounts", "block", "edu779999"]) == 1
    assert capsys.readouterr().err.strip() == \
        "error: no account 'edu779999': issue accounts first (sbor accounts issue)"
