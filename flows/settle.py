"""Which files in the inbox have fully arrived: the one rule of ``sbor ingest`` and ``sbor watch``.

A file is taken once whole: its size and modification time unchanged for the quiet period
(``Settings.quiet_seconds``) and, when it still looks unfinished (0 bytes, or a zip whose end
record or central directory is not yet in place: a workbook is written front to back), unchanged
for the give-up period (``Settings.give_up_seconds``), so that a truncated upload is answered all
the same. A file written long enough ago counts as quiet by its modification time; a younger one
is looked at twice, the quiet period apart, and taken only if nothing changed. A copy still in
progress is left where it is for the next pass: nothing of it is claimed, refused or lost.
"""

from __future__ import annotations

import os
import stat
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from flows.inbox import Arrival

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_ZIP_HEAD = b"PK\x03\x04"
_SHORT_TAIL = 1024  # a zip without a comment ends with its 22-byte end record: one small read


def zip_complete(path: Path) -> bool:
    """False only for a zip whose end record or central directory is not (yet) where its end
    record says: a file still being written. Reads the last KB (64 KB if the zip has a long
    comment) and 4 bytes, never the whole file. Anything else is True: not a zip, unreadable,
    gone; the ingest judges those."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != _ZIP_HEAD:
                return True
            size = fh.seek(0, os.SEEK_END)
            for span in (_SHORT_TAIL, _EOCD_SIZE + 0xFFFF):
                tail_start = max(0, size - span)
                fh.seek(tail_start)
                tail = fh.read()
                at = tail.rfind(_EOCD)
                if at >= 0 and len(tail) - at >= _EOCD_SIZE:
                    break
                if tail_start == 0:
                    return False
            else:
                return False
            cd_size, cd_offset = struct.unpack("<II", tail[at + 12:at + 20])
            if cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
                # Zip64: the real offsets sit in the zip64 end record; its locator precedes.
                return tail[max(0, at - 20):at].startswith(_ZIP64_LOCATOR)
            if cd_size == 0:
                return True
            if cd_offset + cd_size > tail_start + at:
                return False
            fh.seek(cd_offset)
            return fh.read(4) == _CENTRAL
    except OSError:
        return True


def looks_whole(path: Path, size: int) -> bool:
    """Not visibly unfinished: a copy starts as an empty file and a zip gets its end last."""
    return size > 0 and zip_complete(path)


@dataclass(frozen=True)
class Waiting:
    """A file left in the inbox for now, and why (for the operator's list)."""

    arrival: Arrival
    reason: str


def _look(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:  # taken by another process meanwhile
        return None
    if stat.S_ISDIR(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns


def settled(arrivals: Sequence[Arrival], quiet: float, give_up: float, *,
            sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.time) -> tuple[list[Arrival], list[Waiting]]:
    """The ``arrivals`` that have fully arrived, in their order, and those left waiting. Waits
    at most ``quiet`` seconds, once per call, for files changed less than that ago."""
    give_up = max(give_up, quiet)
    ready: list[Arrival] = []
    waiting: list[Waiting] = []
    second: list[tuple[Arrival, tuple[int, int]]] = []
    now = clock()
    for arrival in arrivals:
        seen = _look(arrival.path)
        if seen is None:
            continue
        age = now - seen[1] / 1e9
        if age >= give_up:  # taken whatever it holds: no need to open it (most of a large inbox)
            ready.append(arrival)
            continue
        whole = looks_whole(arrival.path, seen[0])
        if age >= (quiet if whole else give_up):
            ready.append(arrival)
        elif whole:
            second.append((arrival, seen))
        else:
            waiting.append(Waiting(arrival, f"unfinished ({'0 bytes' if seen[0] == 0 else 'no zip end yet'}), "
                                            f"changed {max(age, 0):.0f} s ago; taken as it is after {give_up:.0f} s"))
    if second:
        # One wait for all: until the youngest has been quiet long enough (a clock ahead of the
        # file server's counts as a full quiet period, observed here).
        youngest = min(now - seen[1] / 1e9 for _, seen in second)
        sleep(min(quiet, max(0.0, quiet - youngest)) if youngest >= 0 else quiet)
        later = clock()
        for arrival, seen in second:
            again = _look(arrival.path)
            if again is None:
                continue
            if again == seen and looks_whole(arrival.path, again[0]):
                ready.append(arrival)
            else:
                waiting.append(Waiting(arrival, f"still being written (changed {max(later - again[1] / 1e9, 0):.1f} s "
                                                f"ago; taken once unchanged for {quiet:g} s)"))
    order = {a.path: i for i, a in enumerate(arrivals)}
    ready.sort(key=lambda a: order[a.path])
    return ready, waiting
