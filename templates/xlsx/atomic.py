"""Writing report files so that nobody ever opens half of one.

The bytes go to a hidden temporary file in the same folder, are flushed to disk (fsync), and
only then renamed over the stable name: a rename within one file system is atomic, so a
coordinator (or a file share syncing the folder) sees the old file or the new one, never a mix.

Scheme: ``status_<collection>.xlsx`` is always the latest; next to it the last ``keep``
versions are kept as ``status_<collection>_<YYYYMMDD-HHMMSS>.xlsx`` (Moscow time). The stable
name is what links, e-mails and the web cabinet point at; the dated copies let a coordinator
compare with yesterday. The dated copy is a hard link to the same bytes where the file system
allows it, so a version costs no second write.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from forms.collection import MOSCOW

_STAMP = "%Y%m%d-%H%M%S"
_STALE_TEMP_SECONDS = 3600  # a temp file this old was left by a crashed run


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _versions(path: Path) -> list[tuple[str, int, Path]]:
    """Dated versions of ``path``, oldest first."""
    pattern = re.compile(re.escape(path.stem) + r"_(\d{8}-\d{6})(?:-(\d+))?" +
                         re.escape(path.suffix) + "$")
    found = []
    for candidate in path.parent.iterdir():
        m = pattern.match(candidate.name)
        if m:
            found.append((m.group(1), int(m.group(2) or 0), candidate))
    return sorted(found)


def _remove_stale_temps(path: Path) -> None:
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for temp in path.parent.glob(f".{path.name}.*.tmp*"):
        with contextlib.suppress(FileNotFoundError):  # another run may have removed it
            if temp.stat().st_mtime < cutoff:
                temp.unlink()


def _dated_name(path: Path, now: datetime) -> Path:
    stamp = now.astimezone(MOSCOW).strftime(_STAMP)
    dated = path.with_name(f"{path.stem}_{stamp}{path.suffix}")
    counter = 1
    while dated.exists():  # two reports within one second
        dated = path.with_name(f"{path.stem}_{stamp}-{counter}{path.suffix}")
        counter += 1
    return dated


def write_atomic(data: bytes, path: Path, *, keep: int = 5, now: datetime | None = None) -> Path:
    """Write ``data`` to ``path`` atomically and keep the last ``keep`` dated versions beside it
    (``keep=0``: only the latest). Returns ``path``."""
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, got {keep}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it 0600; coordinators' shares need to read it
        if keep:
            dated = _dated_name(path, now or datetime.now(MOSCOW))
            try:
                os.link(temp, dated)
            except OSError:  # no hard links here (some network shares): copy, then rename
                copy = temp.with_name(temp.name + ".copy")
                shutil.copy2(temp, copy)
                os.replace(copy, dated)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)
    versions = _versions(path)
    for _, _, old in versions[: max(0, len(versions) - keep)]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return path
