"""The cabinet's operator verbs: issue one-time codes (``sbor accounts issue``), block and unblock
accounts, put files into a publication's storage (``sbor files add``)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows.errors import OperatorError
from flows.settings import Settings
from flows.workspace import open_warehouse
from forms.coordinators import coordinators_from_registry
from forms.publications import Publication, builtin_publications
from templates.coordinators import render_codes
from warehouse.accounts import NewAccount
from warehouse.cabinet import Cabinet
from warehouse.storage import NewFile

_SCHOOL_FILE = re.compile(r"^(?P<login>(?:edu|ksh|spo)\d{6})\.(?P<ext>[A-Za-z0-9]{1,10})$")
MAX_FILE = 2 * 1024**3  # a publication's file: 2 GB is already more than a school should fetch


@dataclass(frozen=True)
class Issued:
    accounts: int
    workbooks: int
    folder: Path
    operator_code: str | None


def open_cabinet(settings: Settings) -> Cabinet:
    cabinet = Cabinet(open_warehouse(settings), settings.secret())
    cabinet.create()
    return cabinet


def _write_secret(data: bytes, path: Path) -> None:
    """Codes are secrets: written 0600 and atomically (a half-written workbook is never read)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(temp, path)


@contextmanager
def cabinet_of(settings: Settings) -> Iterator[Cabinet]:
    """The cabinet for one command, its connections closed after it."""
    cabinet = open_cabinet(settings)
    try:
        yield cabinet
    finally:
        cabinet.warehouse.engine.dispose()


def issue_accounts(settings: Settings, *, reissue: bool = False) -> Issued:
    """A one-time code for every school of the registry, every coordinator and the operator that
    has no password yet; each coordinator's workbook lists its schools, the operator's the
    coordinators (and its own code)."""
    with cabinet_of(settings) as cabinet:
        return _issue(settings, cabinet, reissue)


def _issue(settings: Settings, cabinet: Cabinet, reissue: bool) -> Issued:
    orgs = cabinet.warehouse.organisations()
    if not orgs:
        raise OperatorError("the registry is empty: load one first (sbor registry load FILE)")
    coordinators = coordinators_from_registry(orgs, with_operator=True)
    wanted = [NewAccount(o.login, "school", o.region_code, o.municipality_code, o.short_name) for o in orgs]
    wanted += [NewAccount(c.id, c.kind, c.region_code, c.municipality_code or "", c.title) for c in coordinators]
    codes = {acc.login: code for acc, code in cabinet.accounts.issue(wanted, reissue=reissue)}
    folder = settings.outbox / "accounts"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    now = datetime.now(UTC)
    by_area: dict[tuple[str, str], list[tuple[str, str, str, str]]] = defaultdict(list)
    for o in orgs:
        if o.login in codes:
            by_area[(o.region_code, o.municipality_code)].append(
                (o.login, o.short_name, o.municipality_name, codes[o.login]))
    written = 0
    for c in coordinators:
        if c.kind == "operator":
            lines = [(k.id, k.title, k.name, codes[k.id]) for k in coordinators if k.id in codes]
        else:
            lines = [line for (region, mun), rows in sorted(by_area.items())
                     if region == c.region_code and (c.kind == "regional" or mun == c.municipality_code)
                     for line in rows]
        if lines:
            _write_secret(render_codes(c.title, lines, now=now), folder / f"{c.id}.xlsx")
            written += 1
    return Issued(len(codes), written, folder, codes.get("operator"))


def set_blocked(settings: Settings, login: str, blocked: bool) -> None:
    with cabinet_of(settings) as cabinet:
        found = cabinet.accounts.set_blocked(login, blocked)
    if not found:
        raise OperatorError(f"no account {login!r}: issue accounts first (sbor accounts issue)")


def _store(root: Path, source: Path) -> tuple[str, int, str]:
    """Copy ``source`` into the storage under its SHA-256; (relative path, size, sha256)."""
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    relative = f"{sha[:2]}/{sha}"
    target = root / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(target.name + ".tmp")
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    return relative, source.stat().st_size, sha


def add_files(settings: Settings, publication_id: str, source: Path, title: str | None = None,
              publications: tuple[Publication, ...] | None = None) -> list[NewFile]:
    """A file for every participant (``source`` is a file), or one file per school (``source`` is
    a folder of ``<login>.<ext>``). A bad folder is refused whole, every bad entry listed."""
    pubs = publications or builtin_publications()
    if publication_id not in {p.id for p in pubs}:
        known = ", ".join(sorted(p.id for p in pubs))
        raise OperatorError(f"no publication {publication_id!r} (known: {known})")
    with cabinet_of(settings) as cabinet:
        return _add(settings, cabinet, publication_id, source, title)


def _add(settings: Settings, cabinet: Cabinet, publication_id: str, source: Path, title: str | None) -> list[NewFile]:
    root = settings.runtime / "files"
    if source.is_symlink():
        raise OperatorError(f"{source} is a symbolic link: give the file itself")
    if source.is_file():
        entries = [(source, None)]
        title = title or source.name
    elif source.is_dir():
        title = title or source.name
        problems: list[str] = []
        entries = []
        for entry in sorted(source.iterdir()):
            match = _SCHOOL_FILE.match(entry.name)
            if entry.is_symlink() or not entry.is_file():
                problems.append(f"{entry.name}: not a plain file (links and folders are refused)")
            elif match is None:
                problems.append(f"{entry.name}: name it <login>.<ext>, e.g. edu770001.pdf")
            else:
                entries.append((entry, match["login"]))
        known = {o.login for o in cabinet.warehouse.organisations([login for _, login in entries if login])}
        problems += [f"{p.name}: no organisation {login} in the registry" for p, login in entries if login not in known]
        if problems:
            raise OperatorError(f"{source}: {len(problems)} bad entries, nothing added:\n"
                                + "\n".join(f"  {p}" for p in problems))
        if not entries:
            raise OperatorError(f"{source} holds no files")
    else:
        raise OperatorError(f"no file or folder {source}")
    too_big = [p.name for p, _ in entries if p.stat().st_size > MAX_FILE]
    if too_big:
        raise OperatorError(f"larger than {MAX_FILE // 1024**3} GB: {', '.join(too_big)}")
    added = []
    for path, owner in entries:
        relative, size, sha = _store(root, path)
        added.append(NewFile(publication_id, title, owner, path.name, relative, size, sha))
    cabinet.storage.add(added)
    return added


@dataclass(frozen=True)
class DemoSignIn:
    login: str
    password: str
    who: str


def demo_cabinet(settings: Settings) -> list[DemoSignIn]:
    """The demo's cabinet: codes for everyone, files in the technical publication (one for all,
    one per school), and passwords for a school, its regional coordinator and the operator so a
    newcomer can sign in at once."""
    issue_accounts(settings)
    with cabinet_of(settings) as cabinet:
        orgs = [o for o in cabinet.warehouse.organisations() if o.kind in ("edu", "ksh")]
        if not orgs:
            raise OperatorError("the demo registry has no edu or ksh schools for the cabinet's publication")
        source = settings.runtime / "demo-files"
        own = source / "logins"
        own.mkdir(parents=True, exist_ok=True)
        common = source / "Технические требования к компьютерам.txt"
        common.write_text("Процессор от 2 ГГц, 4 ГБ памяти, браузер актуальной версии.\n", encoding="utf-8")
        for o in orgs:
            (own / f"{o.login}.txt").write_text(f"Логины участников ВПР для {o.short_name}\n", encoding="utf-8")
        _add(settings, cabinet, "vpr-tech-2027", common, None)
        _add(settings, cabinet, "vpr-tech-2027", own, "Логины участников")
        school = orgs[0]
        chosen = [(school.login, f"школа {school.short_name}"),
                  (f"reg{school.region_code}", f"региональный координатор, регион {school.region_code}"),
                  ("operator", "оператор")]
        sign_ins = []
        for login, who in chosen:
            password = "demo-" + secrets.token_urlsafe(9)
            cabinet.accounts.set_password(login, password)
            sign_ins.append(DemoSignIn(login, password, who))
    return sign_ins
