"""Names sbor derives from a school's file name, bounded in bytes.

File systems limit a name to 255 BYTES (ext4, XFS, NFS), not characters: 80 Chinese characters
are 240 bytes of UTF-8 and an emoji 4, so a name cut to a number of characters could still be
refused (``File name too long``), and then every answer of the pass after it was never written.
Each derived name keeps the visible start of the school's name and sbor's own suffix, cut on a
UTF-8 character boundary.
"""

from __future__ import annotations

NAME_MAX = 255  # bytes in a file name (ext4, XFS, NFS)
_EXT_MAX = 16  # bytes of an extension worth keeping; anything longer is part of the name


def cut(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` bytes of UTF-8, never inside a character."""
    if room <= 0:
        return ""
    return text.encode()[:room].decode(errors="ignore")


def fit(name: str, room: int = NAME_MAX) -> str:
    """``name`` cut to ``room`` bytes of UTF-8, its extension kept (a rare, very long name)."""
    if len(name.encode()) <= room:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > _EXT_MAX:
        stem, ext = name, ""
    tail = f".{ext}" if ext else ""
    return cut(stem, room - len(tail.encode())) + tail


def derived(prefix: str, stem: str, suffix: str, room: int = NAME_MAX) -> str:
    """``prefix + stem + suffix`` within ``room`` bytes: sbor's own prefix and suffix kept whole,
    the school's ``stem`` cut to what is left."""
    return prefix + cut(stem, room - len(prefix.encode()) - len(suffix.encode())) + suffix
