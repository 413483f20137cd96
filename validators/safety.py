"""Safe opening: judge a returned file from its bytes and its zip metadata before any reader
touches it.

calamine and fastexcel abort the whole process (SIGABRT, uncatchable) on a tiny file with cells
at A1 and XFD1048576, and take gigabytes on a zip bomb; openpyxl expands XML entities. So every
file passes here first, using only ``zipfile`` metadata and bounded reads: the declared sizes are
checked, then every XML part is decompressed in 1 MB steps with a hard cap on the bytes actually
produced and on the ratio of produced to consumed bytes (declared sizes are not trusted), and
scanned for DTDs (``_xmltext``: a UTF-16 part, as Office writes custom XML items, is decoded
first); every worksheet for too many cells, far-away cells, merged cells and formulas without a
stored value. A part that nothing names (``_package``: no content type, no relationship, no
reader's fixed path; a Mac's ``__MACOSX/`` twins and ``.DS_Store`` files) is inflated for its
size only: whatever it holds, nobody reads it. The scan's facts are kept (``Inspection``) so that
the reader does not decompress the sheets a second time for them.

Every refusal's words are in ``forms/catalogue.py``: its code's entry, the wording by the key given here.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from forms.errors import SborError
from forms.findings import Finding, finding
from validators import messages as msg
from validators._package import named_parts, workbook_sheets
from validators._xmlscan import SheetFacts, scan_sheet
from validators._xmltext import encoding_of, has_dtd, plain, utf8
from validators.saving import SavedWith, saved_with

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument"
# An encrypted xlsx is an OLE2 container holding these streams (names are UTF-16LE).
ENCRYPTED_STREAMS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
MACRO_CONTENT = b"macroEnabled"
# Parts no reader of ours parses (pictures, printer settings): only their sizes are checked.
# Every other part is inflated and checked as XML, whatever its name.
BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".bin",
                   ".wdp", ".jfif")
BINARY_FOLDERS = ("xl/media/", "xl/embeddings/", "xl/printerSettings/")


def _binary(name: str) -> bool:
    return name.lower().endswith(BINARY_SUFFIXES) or name.startswith(BINARY_FOLDERS)


_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")


@dataclass(frozen=True)
class Limits:
    """Caps on what a returned file may be. A real template filled with a few hundred rows is
    under 200 KB zipped and 2 MB of XML, so these leave a wide margin for honest files."""

    max_file_bytes: int = 10 * 2**20
    max_members: int = 200
    max_member_bytes: int = 20 * 2**20  # declared and actual, any one part
    max_total_bytes: int = 60 * 2**20  # declared and actual, all parts together
    max_ratio: float = 200.0  # uncompressed / compressed, for parts above ratio_floor
    ratio_floor: int = 2**20
    # No cell beyond this row or column on any worksheet: calamine allocates the whole
    # rectangle from A1 to the farthest cell.
    max_row: int = 5000
    max_column: int = 200
    # No worksheet may hold more cells (<c> elements, filled or only formatted): a 177 KB file
    # filling every allowed row and column holds 78,000 cells, within every other cap, and costs
    # seconds to read and judge. ``cell_cap`` gives a form's own figure; this default is far above
    # any form of ours (the largest entry sheet spans 3,040 cells from A1).
    max_cells: int = 50_000

    @staticmethod
    def cell_cap(rows: int, columns: int) -> int:
        """The cells a worksheet may hold when the largest sheet of the forms spans ``rows`` ×
        ``columns`` from A1 to the far corner of its entry area: that area twice over (every entry
        cell filled and formatted, and as much again formatted around it), plus 2,000 for notes."""
        return 2 * rows * columns + 2000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Inspection:
    """What the pre-check learnt: its findings and, for a file that passed, the facts of every
    worksheet by its name (far cells, merges, formulas without values)."""

    findings: tuple[Finding, ...]
    sheets: Mapping[str, SheetFacts] = field(default_factory=dict)
    # The program that saved the file and the template settings it kept (validators/saving.py).
    saved: SavedWith | None = None

    @property
    def passed(self) -> bool:
        return not self.findings


class _Refused(SborError):
    """Raised inside the pre-check to stop at the first reason to refuse a file: the finding's
    code, the key of its wording in the catalogue and the values they name."""

    def __init__(self, code: str, key: str, detail: str | None = None, **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.key = key
        self.detail = detail
        self.values = values


def precheck(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> list[Finding]:
    """Findings that refuse ``path`` before any reader opens it; empty when it is safe to read."""
    return list(inspect_file(path, limits=limits).findings)


def inspect_file(path: Path, *, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> Inspection:
    """The pre-check with its facts. ``name`` is the file name to show (default: path's name)."""
    return load(path, limits=limits, name=name)[1]


def load(path: Path, *, limits: Limits = DEFAULT_LIMITS,
         name: str | None = None) -> tuple[bytes | None, Inspection]:
    """The file's bytes (read once, and only when under the size cap) and its pre-check."""
    shown = name or path.name
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            return None, _refused(shown, _too_large(size, limits))
        data = path.read_bytes()
    except OSError as exc:
        return None, _refused(shown, _Refused("unreadable-file", "unreadable", str(exc.strerror or exc)))
    return data, inspect_bytes(data, shown, limits=limits)


def inspect_bytes(data: bytes, name: str, *, limits: Limits = DEFAULT_LIMITS) -> Inspection:
    """The pre-check of a file already in memory (read once, then handed to the reader)."""
    try:
        return Inspection((), *_inspect(data, limits))
    except _Refused as refusal:
        return _refused(name, refusal)


def _refused(name: str, refusal: _Refused) -> Inspection:
    detail = f" Для специалиста: {refusal.detail}." if refusal.detail else ""
    wording = "" if refusal.key == refusal.code else refusal.key
    return Inspection((finding(refusal.code, file=name, wording=wording, detail=detail, **refusal.values),))


def _too_large(size: int, limits: Limits) -> _Refused:
    return _Refused("too-large", "too-large", size=msg.megabytes(size), cap=msg.megabytes(limits.max_file_bytes))


def _inspect(data: bytes, limits: Limits) -> tuple[dict[str, SheetFacts], SavedWith]:
    if not data:
        raise _Refused("empty-file", "empty")
    if len(data) > limits.max_file_bytes:
        raise _too_large(len(data), limits)
    head = data[:512]
    if head.startswith(OLE2_MAGIC):
        raise _ole2(data)
    if not head.startswith(ZIP_MAGIC):
        raise _not_zip(head)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _inspect_zip(zf, data, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
        raise _Refused("truncated", "truncated") from exc


def _ole2(data: bytes) -> _Refused:
    if any(stream in data for stream in ENCRYPTED_STREAMS):
        return _Refused("encrypted", "password")
    return _Refused("not-xlsx-xls", "xls")


def _not_zip(head: bytes) -> _Refused:
    if head.startswith(b"%PDF"):
        return _Refused("not-xlsx", "pdf")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<?xml", b"<html", b"<!doctype", b"<table")):
        return _Refused("not-xlsx", "html")
    if _looks_like_text(head):
        return _Refused("not-xlsx-csv", "csv")
    return _Refused("not-xlsx", "not-excel")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "cp1251"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError:
            continue
        return all(ch.isprintable() or ch in "\t\r\n" for ch in text)
    return False


def _inspect_zip(zf: zipfile.ZipFile, data: bytes, limits: Limits) -> tuple[dict[str, SheetFacts], SavedWith]:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise _Refused("zip-bomb", "too-many-parts", count=len(infos), cap=limits.max_members)
    _check_declared(infos, limits)
    names = {info.filename for info in infos}
    if "mimetype" in names and zf.read("mimetype")[:64].startswith(ODS_MIMETYPE):
        raise _Refused("not-xlsx-ods", "ods")
    if "xl/workbook.bin" in names:
        raise _Refused("not-xlsx", "xlsb")
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _Refused("not-xlsx", "no-workbook", "в архиве нет [Content_Types].xml или xl/workbook.xml")
    if any(n.endswith("vbaProject.bin") or n.startswith(("xl/macrosheets/", "xl/dialogsheets/")) for n in names):
        raise _Refused("macro", "macro")
    if any(n.startswith("xl/externalLinks/") for n in names):
        raise _Refused("external-link", "external-link")
    parts, odd = _read_xml_parts(data, infos, limits, lambda info: not _binary(info.filename))
    if odd:
        # Some part is not plain UTF-8 or declares a DTD: judged only if something names it.
        judged: dict[str, bytes] = {}

        def text(name: str) -> bytes | None:
            if name in odd and name not in judged:
                judged[name] = _judged(name, odd[name])
            return judged.get(name, parts.get(name))

        parts.update((n, text(n) or b"") for n in named_parts(names, text) if n in odd)
    if MACRO_CONTENT in parts["[Content_Types].xml"]:
        raise _Refused("macro", "macro")
    try:
        book = workbook_sheets(parts["xl/workbook.xml"], parts.get("xl/_rels/workbook.xml.rels"))
    except ElementTree.ParseError as exc:
        raise _Refused("truncated", "truncated", "не разбирается xl/workbook.xml или его связи") from exc
    if book.linked:
        raise _Refused("external-link", "external-link")
    sheet_parts, targets = book.sheets, book.targets
    # Whatever the workbook points at is read by calamine, whatever its name: check it too.
    missed = {t for t in targets if t in names and t not in parts}
    parts.update((t, _judged(t, odd[t])) for t in missed if t in odd)
    missed -= set(odd)
    if missed:
        extra, odd = _read_xml_parts(data, infos, limits, lambda info: info.filename in missed,
                                     budget=limits.max_total_bytes - sum(map(len, parts.values())))
        parts.update(extra)
        parts.update((n, _judged(n, raw)) for n, raw in odd.items())
    by_part = {part: name for name, part in sheet_parts.items()}
    facts: dict[str, SheetFacts] = {}
    for part, xml in parts.items():
        if not (_SHEET_PART.match(part) or part in by_part):
            continue
        sheet = scan_sheet(xml, limits.max_row, limits.max_column, limits.max_cells)
        where = by_part.get(part, part)
        if sheet.cells is not None and sheet.cells > limits.max_cells:
            raise _too_many_cells(where, sheet.cells, limits.max_cells)
        if sheet.far:
            raise _Refused("far-cell", "far-cell", sheet=where, far=sheet.far)
        if sheet.unaddressed:
            raise _Refused("far-cell", "unaddressed", sheet=where)
        if part in by_part:
            facts[by_part[part]] = sheet
    own = {name: parts[part] for name, part in sheet_parts.items() if part in parts}
    return facts, saved_with(parts.get("docProps/app.xml"), book.states, book.locked, own)


def _too_many_cells(sheet: str, cells: int, cap: int) -> _Refused:
    # An unusual writer's cells are counted up to the cap + 1 only: then only "more than" is known.
    found = msg.thousands(cells) if cells > cap + 1 else f"больше {msg.thousands(cap)}"
    return _Refused("too-many-cells", "too-many-cells", sheet=sheet, found=found, cap=msg.thousands(cap))


def _check_declared(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _Refused("encrypted", "zip-password", f"часть {info.filename} зашифрована")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused("not-xlsx", "odd-compression",
                           f"часть {info.filename} сжата методом {info.compress_type}")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_member_bytes or total > limits.max_total_bytes:
            raise _Refused("zip-bomb", "too-big-inside",
                           f"часть {info.filename} распаковывается в {msg.megabytes(info.file_size)}")
        if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            raise _too_squeezed(info.filename, ratio)


def _read_xml_parts(data: bytes, infos: list[zipfile.ZipInfo], limits: Limits,
                    wanted: Callable[[zipfile.ZipInfo], bool],
                    budget: int | None = None) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The wanted parts, inflated straight from the archive's bytes with ``max_length`` as a hard
    cap on what is actually produced (declared sizes are not trusted) and checked against their
    CRC: those in plain UTF-8 without a DTD, and the others (to be judged if something names
    them). Going past ``ZipFile.open`` keeps a normal workbook's pre-check near a millisecond."""
    parts: dict[str, bytes] = {}
    odd: dict[str, bytes] = {}
    budget = limits.max_total_bytes if budget is None else budget
    for info in infos:
        if not wanted(info) or info.is_dir():
            continue
        cap = min(limits.max_member_bytes, budget)
        out = _inflate(data, info, cap, limits)
        budget -= len(out)
        if plain(out) and not has_dtd(out):
            parts[info.filename] = out
        else:
            odd[info.filename] = out
    return parts, odd


def _inflate(data: bytes, info: zipfile.ZipInfo, cap: int, limits: Limits) -> bytes:
    if not 0 <= info.header_offset <= len(data) - zipfile.sizeFileHeader:
        raise _Refused("truncated", "truncated")
    fields = struct.unpack_from(zipfile.structFileHeader, data, info.header_offset)
    if fields[zipfile._FH_SIGNATURE] != zipfile.stringFileHeader:
        raise _Refused("truncated", "truncated")
    start = (info.header_offset + zipfile.sizeFileHeader + fields[zipfile._FH_FILENAME_LENGTH]
             + fields[zipfile._FH_EXTRA_FIELD_LENGTH])
    # A view, not a copy: the inflater reads the archive's bytes where they lie.
    raw = memoryview(data)[start: start + info.compress_size]
    if len(raw) < info.compress_size:
        raise _Refused("truncated", "truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(raw)
        if len(out) > cap or len(out) > info.file_size:
            raise _too_big(info)
    else:
        out = _inflate_capped(raw, info, cap, limits)
    if zlib.crc32(out) != info.CRC or len(out) != info.file_size:
        raise _Refused("truncated", "truncated")
    return out


def _inflate_capped(raw: memoryview, info: zipfile.ZipInfo, cap: int, limits: Limits) -> bytes:
    """Inflate ``raw`` a step (``ratio_floor``, 1 MB) at a time, judging what each step actually
    produced against what it consumed: a part whose headers lie about its size is refused at the
    first step that shows a bomb's ratio, or that passes its declared size or the cap, instead of
    after inflating up to the cap. An honest part (well under 1 MB) is one step and one buffer."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    step = max(limits.ratio_floor, 2**16)
    pieces: list[bytes] = []
    produced = 0
    pending: bytes | memoryview = raw
    while True:
        # cap + 1 - produced is at least 1 here: 0 would mean "no limit" to zlib.
        piece = inflater.decompress(pending, min(step, cap + 1 - produced))
        pieces.append(piece)
        produced += len(piece)
        if inflater.eof:
            break
        consumed = len(raw) - len(inflater.unconsumed_tail)
        if produced >= limits.ratio_floor and produced > limits.max_ratio * consumed:
            raise _too_squeezed(info.filename, produced / max(consumed, 1))
        if produced > cap or produced > info.file_size:
            raise _too_big(info)
        pending = inflater.unconsumed_tail
        if not piece and not pending:  # the stream stops short of its end
            raise _Refused("truncated", "truncated")
    if produced > limits.ratio_floor and produced > limits.max_ratio * info.compress_size:
        raise _too_squeezed(info.filename, produced / max(info.compress_size, 1))
    if produced > cap or produced > info.file_size:
        raise _too_big(info)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _too_big(info: zipfile.ZipInfo) -> _Refused:
    return _Refused("zip-bomb", "too-big-inside",
                    f"часть {info.filename} распаковывается в больший объём, чем указано в архиве")


def _too_squeezed(name: str, ratio: float) -> _Refused:
    return _Refused("zip-bomb", "squeezed", f"часть {name} сжата в {ratio:.0f} раз, признак «zip-бомбы»")


def _judged(name: str, data: bytes) -> bytes:
    """A named part that is not plain UTF-8 without a DTD: as UTF-8 if it is UTF-16 and declares
    no DTD; else refused. A DTD is the door to entity expansion (billion laughs) and external
    entities (XXE); no part of a workbook written by Excel, LibreOffice or openpyxl has one."""
    text = data if plain(data) else utf8(data)
    if text is None:
        found = encoding_of(data)
        found += ", записанной с ошибками" if found == "UTF-16" else ""  # UTF-16 itself is read
        raise _Refused("xml-entities", "encoding", f"часть {name} в кодировке {found}")
    if has_dtd(text):
        raise _Refused("xml-entities", "dtd", f"часть {name} содержит объявление DTD/ENTITY")
    return text
