"""The inbox on disk: finding arrived files, claiming them, archiving them.

Nothing is lost: a file is first claimed by an atomic rename into this process's own claim folder
(two processes can never both win the rename), then archived by its SHA-256, and removed from the
claim folder only after its outcome is committed. A process that dies leaves its claims behind; a
later run on any host takes over a folder whose lease lapsed (``flows.lease``) and finishes them.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import socket
import stat
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from flows.lease import SEP, Takeover, now_iso, stale
from flows.names import NAME_MAX, fit
from flows.paths import inside

# Excel's and LibreOffice's lock and temporary files, and partial uploads: never a submission.
_IGNORED = re.compile(
    r"^(~\$.*|\.~lock\..*#|.*\.tmp|.*\.part|.*\.partial|.*\.crdownload|\.#.*|\..*\.swp|\.DS_Store|Thumbs\.db|\.gitkeep)$",
    re.IGNORECASE,
)
_LOGIN = re.compile(r"^(edu|ksh|spo)\d{6}$")
_SENDER, _NO_SENDER = ".", "-"  # a claim's name: <12 hex>.<sender login, or "-">.<file name>


def ignored(name: str) -> bool:
    return bool(_IGNORED.match(name))


@dataclass(frozen=True)
class Arrival:
    """A file waiting in the inbox; ``sender`` is the login of the inbox/<login>/ folder it came
    through, when the delivery channel knows the sender."""

    path: Path
    sender: str | None
    name: str  # the file name as the school sent it (shown back in messages)


@dataclass(frozen=True)
class Claim:
    """A file this process owns now: moved out of the inbox into its claim folder."""

    path: Path
    sender: str | None
    name: str
    recovered: bool = False  # left behind by a process that died


def scan(inbox: Path) -> Iterator[Arrival]:
    """Files in ``inbox/`` and ``inbox/<login>/``, oldest first. Lock and temporary files are
    skipped. Every folder names its files' sender (``folder_sender``), a login or not."""
    found: list[tuple[float, Arrival]] = []
    if not inbox.is_dir():
        return iter(())
    for entry in os.scandir(inbox):
        if entry.is_dir(follow_symlinks=False):
            sender = folder_sender(entry.name)
            for sub in os.scandir(entry.path):
                if not sub.is_dir(follow_symlinks=False) and not ignored(sub.name):
                    found.append((_mtime(sub), Arrival(Path(sub.path), sender, sub.name)))
        elif not ignored(entry.name):
            found.append((_mtime(entry), Arrival(Path(entry.path), None, entry.name)))
    found.sort(key=lambda pair: (pair[0], str(pair[1].path)))
    return iter(a for _, a in found)


# The bytes of a folder's name kept as a sender: a login is 9; a longer name only has to be
# recognisable in the answer's folder, and must leave room for the file's name in a claim's.
_FOLDER_MAX = 64


def folder_sender(name: str) -> str:
    """The sender an ``inbox/<name>/`` folder stands for. A login as it is; any other name (one
    that is not exactly a login: ``EDU770001``, ``школа 1``) stays a sender too, so that its files
    are refused as from an unknown sender rather than trusted by their signature; it is made safe
    to travel in a claim's name (no dots) and to name the answer's folder."""
    if _LOGIN.match(name):
        return name
    cleaned = _safe(name).replace(_SENDER, "_")
    cleaned = cleaned.encode()[:_FOLDER_MAX].decode(errors="ignore")
    return "_" if cleaned == _NO_SENDER else cleaned


def listed(inbox: Path, paths: Iterable[Path]) -> Iterator[Arrival]:
    """The files of ``paths`` that wait where ``scan`` would find them (``inbox/`` or one folder
    below), oldest first: a dispatched batch of a large inbox looks at its own files only, not at
    the whole inbox again (40,000 entries, a few seconds a run). A symlink is matched as itself."""
    root = inbox.resolve()
    found: list[tuple[float, Arrival]] = []
    for given in paths:
        path = given.parent.resolve() / given.name
        if path.parent == root:
            sender = None
        elif path.parent.parent == root:
            sender = folder_sender(path.parent.name)
        else:
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:  # taken meanwhile
            continue
        if not stat.S_ISDIR(st.st_mode) and not ignored(path.name):
            found.append((st.st_mtime, Arrival(path, sender, path.name)))
    found.sort(key=lambda pair: (pair[0], str(pair[1].path)))
    return iter(a for _, a in found)


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:  # taken by another process between listing and stat
        return 0.0


def claim_folder(processing: Path) -> Path:
    """This process's claim folder, named for its host and pid; its lease (``flows.lease``) says
    whether its owner still holds it."""
    folder = processing / f"{socket.gethostname()}{SEP}{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _claim_path(folder: Path, sender: str | None, name: str) -> Path:
    # A fresh prefix per claim keeps two same-named files apart; the sender and the file's own
    # name (shown back to the school) travel in the claim's name, so a recovered claim still
    # knows both. No folder per claim: a claim costs one rename, its end one unlink.
    prefix = f"{uuid.uuid4().hex[:12]}{_SENDER}{sender or _NO_SENDER}{_SENDER}"
    return folder / (prefix + fit(_safe(name), NAME_MAX - len(prefix.encode())))


def _claims_in(folder: Path) -> list[Claim]:
    """The claims held in a process's claim folder, as recovered ones: oldest name first."""
    if not folder.is_dir():
        return []
    return [c for one in sorted(folder.iterdir()) if (c := _claim_of(one)) is not None]


def _claim_of(path: Path) -> Claim | None:
    """The recovered claim a claim file stands for (None for a folder or a foreign name). A
    claimed symlink is a claim too (it is refused unopened, never followed)."""
    prefix, _, rest = path.name.partition(_SENDER)
    sender, _, name = rest.partition(_SENDER)
    if len(prefix) != 12 or not name or _is_folder(path):
        return None
    return Claim(path, None if sender == _NO_SENDER else sender, name, recovered=True)


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _take(one: Path, mine: Path) -> list[Claim]:
    """A dead process's claim moved into ``mine``: a claim file, or a claim folder of an earlier
    sbor (``<hex>[.<sender>]/[<sender>/]<name>``), whose files become claims of today's kind."""
    if not _is_folder(one):
        moves = [(one, one.name)] if _claim_of(one) is not None else []
    else:
        moves = []
        for f in sorted(p for p in one.rglob("*") if not _is_folder(p)):
            sender = next((part for part in (f.parent.name, one.name.partition(_SENDER)[2]) if _LOGIN.match(part)),
                          None)
            moves.append((f, _claim_path(mine, sender, f.name).name))
    out: list[Claim] = []
    for source, name in moves:
        try:
            os.rename(source, mine / name)
        except FileNotFoundError:  # another process recovered it first
            continue
        if (moved := _claim_of(mine / name)) is not None:
            out.append(moved)
    return out


def _safe(name: str) -> str:
    """The name without path separators or control characters, for use on disk."""
    cleaned = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in name)
    return cleaned.strip(". ") or "file"


def claim(arrival: Arrival, folder: Path) -> Claim | None:
    """Move the file into our claim folder; None if another process took it first."""
    target = _claim_path(folder, arrival.sender, arrival.name)
    try:
        os.rename(arrival.path, target)
    except FileNotFoundError:
        return None
    # The claim carries the cleaned name: it is what messages and answers show, so a control
    # character in a school's file name never reaches a workbook or the file system. It is the
    # whole name even where the claim file's own name had to cut it (``names_match``).
    return Claim(target, arrival.sender, _safe(arrival.name))


def names_match(claimed: Claim, recorded: str) -> bool:
    """Whether ``recorded`` (a file name in the warehouse) is the name ``claimed`` carries: a
    recovered claim knows only as much of a very long name as its claim file could hold."""
    if claimed.name == recorded:
        return True
    return _claim_path(claimed.path.parent, claimed.sender, recorded).name.split(_SENDER, 2)[2] == claimed.name


def recover(processing: Path, mine: Path, lease_seconds: float) -> tuple[list[Claim], list[Takeover]]:
    """Claims of stale folders (``flows.lease``: a lease not renewed, on any host, or a process
    gone on this host), moved into ``mine``, and the operator's record of each."""
    out: list[Claim] = []
    record: list[Takeover] = []
    if not processing.is_dir():
        return out, record
    for folder in sorted(processing.iterdir()):
        if folder == mine or not _is_folder(folder) or (why := stale(folder, lease_seconds)) is None:
            continue
        taken: list[Claim] = []
        for one in sorted(folder.iterdir()):
            taken += _take(one, mine)
        # Only empty folders go: anything not taken (a stranger's file) stays where it is.
        for sub in sorted((p for p in folder.rglob("*") if _is_folder(p)), key=lambda p: -len(p.parts)):
            _rmdir(sub)
        _rmdir(folder)
        out += taken
        record += [Takeover(now_iso(), folder.name, c.name, c.sender, why) for c in taken]
    return out, record


def leftovers(mine: Path) -> list[Claim]:
    """Claims still in this process's own folder from an earlier pass that failed (a long-running
    watcher lives on after a failed batch; nobody else would ever finish them)."""
    return _claims_in(mine)


def _rmdir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty, or gone
        pass


def release_folder(mine: Path) -> None:
    """Remove this process's claim folder once it holds nothing."""
    try:
        mine.rmdir()
    except OSError:  # not empty (a claim kept for the next pass) or already gone
        return


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Linking may be refused (a file system without hard links, a mount boundary): then the file is
# copied and synced on its own.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES}


def archive_many(items: Sequence[tuple[Path, str]], archive_dir: Path) -> list[tuple[Path, bool]]:
    """Keep each claimed file of a batch, given as (path, sha256), by its SHA-256 before
    anything else happens. Returns, per item, where it is kept and whether that content was in
    the archive already (received before). The same content is stored once.

    A claim and the archive lie on one file system (both in the runtime folder), so a file is
    kept by a hard link: nothing is copied, and the link appears whole or not at all. Then one
    ``syncfs`` makes every new entry and every file's data durable before any outcome is
    recorded: a fsync per file cost 0.3-1.2 ms of each file here, the disk's time."""
    out: list[tuple[Path, bool]] = []
    new: set[Path] = set()
    for path, sha256 in items:
        target = inside(archive_dir, archive_dir / sha256[:2] / f"{sha256}.bin")
        if target in new:
            out.append((target, False))
            continue
        try:
            _keep(path, target)
        except FileExistsError:
            out.append((target, True))
            continue
        new.add(target)
        out.append((target, False))
    if new:
        _sync(archive_dir)
    return out


def _keep(path: Path, target: Path) -> None:
    """``path`` kept at ``target`` (FileExistsError if that content is kept already)."""
    try:
        os.link(path, target, follow_symlinks=False)
    except FileNotFoundError:
        if not path.exists():
            raise
        target.parent.mkdir(parents=True, exist_ok=True)
        _keep(path, target)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_LINK:
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "kept already", str(target)) from None
        tmp = target.with_name(f".tmp-{uuid.uuid4().hex}")
        shutil.copyfile(path, tmp)
        _fsync(tmp)
        os.replace(tmp, target)  # the same content, should another process have kept it meanwhile


def _sync(folder: Path) -> None:
    """Everything written on ``folder``'s file system on disk (Linux syncfs; elsewhere sync)."""
    syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(folder))
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_regular(path: Path) -> bool:
    """A plain file (not a symlink, device or folder): the only kind sbor will open."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    return stat.S_ISREG(mode)


def done(claimed: Claim) -> None:
    """The outcome is committed: the claim (its file and its own folder) can go."""
    claimed.path.unlink(missing_ok=True)
