"""What the operator must see about the inbox: files left in it and why, claims taken over.

Every file that enters the inbox ends with an answer to its sender or in this list: files the
ingest never takes (in a nested folder, a folder named like a workbook, a lock or temporary
name), files waiting to become whole, claims held by a folder whose lease has lapsed and not yet
taken over, and the record of stale claims recovered (``flows.lease``). ``sbor status`` prints it.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.inbox import Arrival, ignored, scan
from flows.lease import Takeover, read_takeovers, stale
from flows.settings import Settings
from flows.settle import looks_whole

_SPREADSHEET = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")


@dataclass(frozen=True)
class Left:
    """A file (or folder) in the inbox the ingest will not take now, and why."""

    path: str  # relative to the inbox
    reason: str


@dataclass(frozen=True)
class InboxReport:
    left: tuple[Left, ...]
    stale_claims: tuple[Left, ...]  # relative to var/processing
    recovered: tuple[Takeover, ...]

    def as_json(self) -> dict[str, object]:
        return {"left": [asdict(x) for x in self.left], "stale_claims": [asdict(x) for x in self.stale_claims],
                "recovered": [asdict(x) for x in self.recovered]}


def _waiting(arrival: Arrival, settings: Settings, now: float) -> str:
    try:
        st = os.lstat(arrival.path)
    except FileNotFoundError:
        return ""
    quiet = now - st.st_mtime
    if looks_whole(arrival.path, st.st_size):
        if quiet < settings.quiet_seconds:
            return (f"still being written (changed {quiet:.0f} s ago): "
                    f"taken once unchanged for {settings.quiet_seconds:g} s")
        return "whole, waiting for the next ingest"
    kind = "0 bytes" if st.st_size == 0 else "a zip without its end yet"
    return (f"unfinished ({kind}, changed {quiet:.0f} s ago): taken as it is, and answered, once "
            f"unchanged for {settings.give_up_seconds:g} s")


def _never_taken(inbox: Path) -> list[Left]:
    """Entries the ingest's scan passes over: lock and temporary names, folders inside a sender
    folder (nested files, a folder named like a workbook) and whatever they hold."""
    out: list[Left] = []
    for top in sorted(os.scandir(inbox), key=lambda e: e.name):
        if not top.is_dir(follow_symlinks=False):
            if ignored(top.name):
                out.append(Left(top.name, _lock_reason()))
            continue
        if top.name.lower().endswith(_SPREADSHEET):
            out.append(Left(top.name + "/", _folder_reason()))
        for sub in sorted(os.scandir(top.path), key=lambda e: e.name):
            rel = f"{top.name}/{sub.name}"
            if not sub.is_dir(follow_symlinks=False):
                if ignored(sub.name):
                    out.append(Left(rel, _lock_reason()))
                continue
            if sub.name.lower().endswith(_SPREADSHEET):
                out.append(Left(rel + "/", _folder_reason()))
            for root, dirs, files in os.walk(sub.path):
                dirs.sort()
                for name in sorted(files):
                    nested = Path(root, name).relative_to(inbox).as_posix()
                    out.append(Left(nested, f"in a nested folder: sbor takes files only from inbox/ and "
                                            f"inbox/<login>/; move it to inbox/{top.name}/"))
    return out


def _folder_reason() -> str:
    return "a folder named like a workbook, not a file: sbor takes files only; put the workbook itself in its place"


def _lock_reason() -> str:
    return ("a lock or temporary name (Office ~$…, .~lock…#, .tmp, .part, .crdownload): left alone; "
            "if it is a submission, give it its real name")


def inbox_report(settings: Settings) -> InboxReport:
    now = time.time()
    left: list[Left] = []
    if settings.inbox.is_dir():
        left += _never_taken(settings.inbox)
        for arrival in scan(settings.inbox):
            if (why := _waiting(arrival, settings, now)):
                left.append(Left(arrival.path.relative_to(settings.inbox).as_posix(), why))
    stale_claims: list[Left] = []
    if settings.processing.is_dir():
        for folder in sorted(settings.processing.iterdir()):
            lapsed = stale(folder, settings.lease_seconds, now) if stat.S_ISDIR(os.lstat(folder).st_mode) else None
            if lapsed is None:
                continue
            for one in sorted(folder.rglob("*")):
                if one.is_file():
                    stale_claims.append(Left(one.relative_to(settings.processing).as_posix(),
                                             f"stale claim ({lapsed}): the next ingest takes it over"))
    return InboxReport(tuple(left), tuple(stale_claims), tuple(read_takeovers(settings.runtime)))



def print_inbox(report: InboxReport, console: Console) -> None:
    """The operator's section of ``sbor status``: one table per list, or a line saying it is empty."""
    for title, rows in (("left in the inbox, and why", report.left),
                        ("stale claims, not yet taken over", report.stale_claims)):
        if not rows:
            console.print(f"{title}: none")
            continue
        table = Table(title=title)
        table.add_column("file", overflow="fold")
        table.add_column("why", overflow="fold")
        for row in rows:
            table.add_row(row.path, row.reason)
        console.print(table)
    if not report.recovered:
        console.print("stale claims recovered: none")
        return
    table = Table(title=f"stale claims recovered (last {len(report.recovered)})")
    for col in ("when (UTC)", "file", "sender", "claim folder", "why"):
        table.add_column(col, overflow="fold")
    for t in report.recovered:
        table.add_row(t.at, t.file, t.sender or "-", t.folder, t.why)
    console.print(table)
