"""``sbor accounts``, ``sbor files`` and ``sbor web``: the cabinet's commands."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import click

from flows.commands.context import console, settings_of


@click.group("accounts")
def accounts_command() -> None:
    """Cabinet accounts: one-time codes, blocking.

    Example: sbor accounts issue
    """


@accounts_command.command("issue")
@click.option("--reissue", is_flag=True, help="New codes for every account, passwords too (ends every session).")
@click.pass_context
def accounts_issue(ctx: click.Context, reissue: bool) -> None:
    """Give every school of the registry, every coordinator and the operator that has no password
    yet a one-time code; write outbox/accounts/<coordinator>.xlsx with each coordinator's schools
    (the operator's: the coordinators). The first sign-in with a code asks for a new password.

    Example: sbor accounts issue
    """
    from flows.cabinet import issue_accounts

    issued = issue_accounts(settings_of(ctx), reissue=reissue)
    console.print(f"issued {issued.accounts} one-time codes; {issued.workbooks} workbooks in {issued.folder}")
    if issued.operator_code:
        console.print(f"operator's one-time code: {issued.operator_code}", soft_wrap=True)


def _blocking(verb: str, blocked: bool, summary: str) -> click.Command:
    """``sbor accounts block`` and ``unblock``: one command, told which way."""

    @click.argument("login")
    @click.pass_context
    def command(ctx: click.Context, login: str) -> None:
        from flows.cabinet import set_blocked

        set_blocked(settings_of(ctx), login, blocked)
        console.print(f"{verb}ed {login}")

    return accounts_command.command(verb, help=f"{summary}\n\nExample: sbor accounts {verb} edu770001")(command)


accounts_block = _blocking("block", True, "Block LOGIN: its open sessions end at once and it cannot sign in.")
accounts_unblock = _blocking("unblock", False, "Unblock LOGIN.")


@click.group("files")
def files_command() -> None:
    """A publication's file storage.

    Example: sbor files add vpr-tech-2027 requirements.pdf
    """


@files_command.command("add")
@click.argument("publication")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--title", help="What the cabinet calls it (default: the file's or the folder's name).")
@click.pass_context
def files_add(ctx: click.Context, publication: str, path: Path, title: str | None) -> None:
    """Add PATH to PUBLICATION: a file for every participant, or a folder with one file per school
    named <login>.<ext> (each school downloads only its own).

    Example: sbor files add vpr-tech-2027 logins/ --title "Логины участников"
    """
    from flows.cabinet import add_files

    added = add_files(settings_of(ctx), publication, path, title)
    kind = "for every participant" if len(added) == 1 and added[0].owner_login is None else "one per school"
    console.print(f"added {len(added)} file(s) to {publication} as {added[0].title!r} ({kind})")


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes (on SQLite keep 1-2; on PostgreSQL as many as cores).")
@click.option("--forwarded-allow-ips", default=None,
              help="Addresses of the load balancers whose X-Forwarded-For names the client "
                   "(sign-in throttling counts per client address; without this, the balancer's).")
@click.pass_context
def web_command(ctx: click.Context, host: str, port: int, workers: int, forwarded_allow_ips: str | None) -> None:
    """Serve the cabinet for this workspace: sign-in, publications by section, the file storage
    and the coordinators' download reports. Set SBOR_COOKIE_SECURE=1 behind HTTPS.

    Behind a load balancer, name it with --forwarded-allow-ips so that sign-in attempts are
    counted per client, not per balancer.

    Example: sbor web --port 8000 --workers 2
    """
    from flows.webserver import serve

    settings = settings_of(ctx)
    # Every worker builds the app from the environment: hand it this command's choices.
    os.environ["SBOR_HOME"] = str(settings.home)
    os.environ["SBOR_DATABASE_URL"] = settings.database_url
    from flows.cabinet import open_cabinet

    # One id for this start's workers: one of them resumes each report an earlier start left.
    os.environ["SBOR_WEB_BOOT"] = uuid.uuid4().hex
    open_cabinet(settings)  # create the tables once, before workers race to
    console.print(f"the cabinet: http://{host}:{port}/ (Ctrl+C to stop)")
    # By name: web/ sits above flows/ in the import order, so flows never imports it.
    serve("web.app:factory", host=host, port=port, workers=workers,
          proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips,
          log_level="warning", server_header=False)
