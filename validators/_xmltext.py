"""The text of one XML part of a workbook, and the DTD test on it.

A package's XML is UTF-8 or UTF-16 (ECMA-376 part 2, 8.1.4) and has no DTD. Excel writes UTF-8,
except the custom XML items of a document tied to SharePoint or OneDrive (``customXml/item1.xml``),
which it writes in UTF-16 LE with a byte order mark. A byte search for ``<!DOCTYPE`` cannot see
through UTF-16, so such a part is decoded (strictly) and scanned as UTF-8. A part in an encoding
where ``<!`` is not those two ASCII bytes and that is not UTF-16 (UTF-32, UTF-7, EBCDIC, or bytes
no encoding explains) cannot be scanned at all: ``utf8`` gives None for it and it is refused.

Every part goes through ``plain`` first: one ``startswith``, one ``memchr`` over its head and a
look at its XML declaration, so that an ordinary UTF-8 part costs a microsecond.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:\-]{1,40})["']""")
_DECLARATION_TEXT = re.compile(r"""^\ufeff?(<\?xml[^>]*?\sencoding\s*=\s*["'])[^"']*(["'])""")
_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_UTF32 = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
# Without a byte order mark an XML document starts with "<" (XML 1.0, appendix F): its first
# bytes give the width of its characters.
_UTF16_START = {b"<\x00?\x00": "utf-16-le", b"\x00<\x00?": "utf-16-be"}
_HEAD = 256
_USUAL = (b'<?xml version="1.0" encoding="UTF-8"', b"<?xml version='1.0' encoding='UTF-8'")


@lru_cache(maxsize=64)
def _ascii_transparent(label: bytes) -> bool:
    """Whether the encoding named ``label`` writes "<!DOCTYPE" and "<!ENTITY" as their ASCII bytes
    (UTF-8, the ISO-8859 and Windows code pages; not UTF-7, UTF-16/32 or EBCDIC), so that a byte
    search finds them. An encoding Python does not know is not."""
    try:
        name = codecs.lookup(label.decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return False
    if name.startswith(("utf-16", "utf-32", "utf-7")):
        return False
    try:
        return all(text.encode(name) == text.encode("ascii") and text.encode("ascii").decode(name) == text
                   for text in ("<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity"))
    except (UnicodeError, LookupError):
        return False


def plain(data: bytes) -> bool:
    """True when a byte search sees the part as a reader does: no UTF-16/32 byte order mark, no
    NUL in its head, and no declared encoding in which "<!" would be other bytes."""
    head = data[:_HEAD]
    if head.startswith(_UTF16) or b"\x00" in head:
        return False
    if not head.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")) or head.startswith(_USUAL):
        return True  # no declaration (the encoding is UTF-8), or the one Excel and openpyxl write
    declared = _DECLARATION.match(head)
    if declared is None:
        return True
    label = declared.group(1).lower()
    if label in (b"utf-8", b"utf8"):
        return True
    if label.startswith((b"utf-16", b"utf16")):
        # Declared UTF-16 but written in single bytes (a .NET StringWriter does so): read as UTF-16
        # it would need NUL bytes to hold a "<", so without any the byte search covers both readings.
        return b"\x00" not in data
    return _ascii_transparent(label)


def has_dtd(data: bytes) -> bool:
    """Whether a plain (or decoded) part declares a DTD or an entity."""
    # "!" alone is found at memory speed (memchr) and most parts have none; "<!" is a slower
    # search, run only when some "!" is there (a text, a defined name like 'Лист'!$A$1).
    return b"!" in data and b"<!" in data and _DTD.search(data) is not None


def encoding_of(data: bytes) -> str:
    """What a part that is not plain seems to be written in, as a message names it: "UTF-16",
    "UTF-32", the declared label, or "неизвестная" (bytes no encoding explains)."""
    if data.startswith(_UTF32) or data[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"):
        return "UTF-32"
    if data.startswith(_UTF16) or data[:4] in _UTF16_START:
        return "UTF-16"
    declared = _DECLARATION.match(data[:_HEAD])
    if declared is not None and b"\x00" not in data[:_HEAD]:
        return declared.group(1).decode("ascii").upper()
    return "неизвестная"


def utf8(data: bytes) -> bytes | None:
    """A part that is not plain as UTF-8, its declaration saying so, when it is UTF-16 (with a byte
    order mark, or starting "<" in UTF-16 LE or BE) and decodes strictly; else None."""
    if data.startswith(_UTF32):
        return None
    if data.startswith(b"\xff\xfe"):
        codec, body = "utf-16-le", data[2:]
    elif data.startswith(b"\xfe\xff"):
        codec, body = "utf-16-be", data[2:]
    elif data[:4] in _UTF16_START:
        codec, body = _UTF16_START[data[:4]], data
    else:
        return None
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        return None
    # A second byte order mark, or a NUL, in the text: not a document any reader would take.
    if "\x00" in text:
        return None
    return _DECLARATION_TEXT.sub(r"\g<1>UTF-8\g<2>", text, count=1).encode("utf-8")
