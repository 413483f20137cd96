"""Safe opening: judge a returned file from its bytes and its zip metadata before any reader
touches it.

calamine and fastexcel abort the whole process (SIGABRT, uncatchable) on a tiny file with cells
at A1 and XFD1048576, and take gigabytes on a zip bomb; openpyxl expands XML entities. So every
file passes here first, using only ``zipfile`` metadata and bounded reads: the declared sizes are
checked, then every XML part is decompressed in 1 MB steps with a hard cap on the bytes actually
produced and on the ratio of produced to consumed bytes (declared sizes are not trusted), and
scanned for DTDs; every worksheet for too many cells, far-away cells, merged cells and formulas
without a stored value. The scan's facts are kept (``Inspection``) so that the reader does not
decompress the sheets a second time for them.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from forms.findings import Finding
from validators import messages as msg
from validators._xmlscan import SheetFacts, scan_sheet
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
# A DTD is the door to entity expansion (billion laughs) and external entities (XXE); no part
# of a workbook written by Excel, LibreOffice or openpyxl has one.
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


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


class _Refused(Exception):
    """Raised inside the pre-check to stop at the first reason to refuse a file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


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
        text = f"файл не удалось прочитать ({exc.strerror or exc})"
        return None, _refused(shown, _Refused("unreadable-file", text))
    return data, inspect_bytes(data, shown, limits=limits)


def inspect_bytes(data: bytes, name: str, *, limits: Limits = DEFAULT_LIMITS) -> Inspection:
    """The pre-check of a file already in memory (read once, then handed to the reader)."""
    try:
        return Inspection((), *_inspect(data, limits))
    except _Refused as refusal:
        return _refused(name, refusal)


def _refused(name: str, refusal: _Refused) -> Inspection:
    text = msg.refusal(name, refusal.code, refusal.message)
    return Inspection((Finding(refusal.code, "error", text, file=name),))


def _too_large(size: int, limits: Limits) -> _Refused:
    return _Refused("too-large", f"файл слишком большой ({_mb(size)}; допустимо не больше "
                                 f"{_mb(limits.max_file_bytes)})")


def _inspect(data: bytes, limits: Limits) -> tuple[dict[str, SheetFacts], SavedWith]:
    if not data:
        raise _Refused("empty-file", "файл пустой (0 байт)")
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
        raise _Refused("truncated", "файл повреждён или передан не полностью") from exc


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} МБ"


def _ole2(data: bytes) -> _Refused:
    if any(stream in data for stream in ENCRYPTED_STREAMS):
        return _Refused("encrypted", "файл зашифрован паролем")
    return _Refused("not-xlsx-xls", "файл в старом формате .xls (Excel 97–2003), а нужен .xlsx")


def _not_zip(head: bytes) -> _Refused:
    if head.startswith(b"%PDF"):
        return _Refused("not-xlsx", "это файл PDF, а не книга Excel")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<?xml", b"<html", b"<!doctype", b"<table")):
        return _Refused("not-xlsx", "это файл XML или HTML, сохранённый с расширением книги Excel")
    if _looks_like_text(head):
        return _Refused("not-xlsx-csv", "это текстовый файл (CSV или текст), переименованный в .xlsx")
    return _Refused("not-xlsx", "файл не является книгой Excel .xlsx")


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
        raise _Refused("zip-bomb", f"в архиве книги слишком много частей ({len(infos)})")
    _check_declared(infos, limits)
    names = {info.filename for info in infos}
    if "mimetype" in names and zf.read("mimetype")[:64].startswith(ODS_MIMETYPE):
        raise _Refused("not-xlsx-ods", "файл в формате OpenDocument (.ods), а нужен .xlsx")
    if "xl/workbook.bin" in names:
        raise _Refused("not-xlsx", "файл в двоичном формате .xlsb, а нужен .xlsx")
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _Refused("not-xlsx", "в архиве нет частей книги Excel ([Content_Types].xml, xl/workbook.xml)")
    if any(n.endswith("vbaProject.bin") or n.startswith(("xl/macrosheets/", "xl/dialogsheets/")) for n in names):
        raise _Refused("macro", "книга содержит макросы (.xlsm)")
    if any(n.startswith("xl/externalLinks/") for n in names):
        raise _Refused("external-link", "книга содержит связи с другими файлами (внешние ссылки)")
    parts = _read_xml_parts(data, infos, limits, lambda info: not _binary(info.filename))
    if MACRO_CONTENT in parts["[Content_Types].xml"]:
        raise _Refused("macro", "книга содержит макросы (.xlsm)")
    sheet_parts, targets, states, locked = _workbook_parts(parts)
    # Whatever the workbook points at is read by calamine, whatever its name: check it too.
    missed = {t for t in targets if t in names and t not in parts}
    if missed:
        parts.update(_read_xml_parts(data, infos, limits, lambda info: info.filename in missed,
                                     budget=limits.max_total_bytes - sum(map(len, parts.values()))))
    by_part = {part: name for name, part in sheet_parts.items()}
    facts: dict[str, SheetFacts] = {}
    for part, xml in parts.items():
        if not (_SHEET_PART.match(part) or part in by_part):
            continue
        sheet = scan_sheet(xml, limits.max_row, limits.max_column, limits.max_cells)
        where = f"на листе «{by_part.get(part, part)}»"
        if sheet.cells is not None and sheet.cells > limits.max_cells:
            raise _too_many_cells(where, sheet.cells, limits.max_cells)
        if sheet.far:
            raise _Refused("far-cell", f"{where} занята ячейка {sheet.far}, далеко за пределами "
                                       "таблицы шаблона")
        if sheet.unaddressed:
            raise _Refused("far-cell", f"{where} есть ячейки без адреса (файл создан нестандартной "
                                       "программой)")
        if part in by_part:
            facts[by_part[part]] = sheet
    own = {name: parts[part] for name, part in sheet_parts.items() if part in parts}
    return facts, saved_with(parts.get("docProps/app.xml"), states, locked, own)


def _too_many_cells(where: str, cells: int, cap: int) -> _Refused:
    # An unusual writer's cells are counted up to the cap + 1 only: then only "more than" is known.
    found = _thousands(cells) if cells > cap + 1 else f"больше {_thousands(cap)}"
    return _Refused("too-many-cells", f"{where} слишком много ячеек (заполненных или оформленных): "
                                      f"{found}, а допустимо не больше {_thousands(cap)}")


def _thousands(n: int) -> str:
    """12 345 → «12 345», with a no-break space, as Russian text groups digits."""
    return f"{n:,}".replace(",", "\u00a0")


def _check_declared(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _Refused("encrypted", "части книги зашифрованы")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused("not-xlsx", "архив книги сжат способом, который Excel не использует")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_member_bytes or total > limits.max_total_bytes:
            raise _Refused("zip-bomb", f"после распаковки файл занимает слишком много места "
                                       f"(часть {info.filename}: {_mb(info.file_size)})")
        if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            raise _too_squeezed(info.filename, ratio)


def _read_xml_parts(data: bytes, infos: list[zipfile.ZipInfo], limits: Limits,
                    wanted: Callable[[zipfile.ZipInfo], bool], budget: int | None = None) -> dict[str, bytes]:
    """The wanted parts, inflated straight from the archive's bytes with ``max_length`` as a hard
    cap on what is actually produced (declared sizes are not trusted), checked against their CRC
    and for DTDs. Going past ``ZipFile.open`` keeps a normal workbook's pre-check near a
    millisecond."""
    parts: dict[str, bytes] = {}
    budget = limits.max_total_bytes if budget is None else budget
    for info in infos:
        if not wanted(info) or info.is_dir():
            continue
        cap = min(limits.max_member_bytes, budget)
        out = _inflate(data, info, cap, limits)
        budget -= len(out)
        _check_xml(info.filename, out)
        parts[info.filename] = out
    return parts


def _inflate(data: bytes, info: zipfile.ZipInfo, cap: int, limits: Limits) -> bytes:
    if not 0 <= info.header_offset <= len(data) - zipfile.sizeFileHeader:
        raise _Refused("truncated", "файл повреждён или передан не полностью")
    fields = struct.unpack_from(zipfile.structFileHeader, data, info.header_offset)
    if fields[zipfile._FH_SIGNATURE] != zipfile.stringFileHeader:
        raise _Refused("truncated", "файл повреждён или передан не полностью")
    start = (info.header_offset + zipfile.sizeFileHeader + fields[zipfile._FH_FILENAME_LENGTH]
             + fields[zipfile._FH_EXTRA_FIELD_LENGTH])
    # A view, not a copy: the inflater reads the archive's bytes where they lie.
    raw = memoryview(data)[start: start + info.compress_size]
    if len(raw) < info.compress_size:
        raise _Refused("truncated", "файл повреждён или передан не полностью")
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(raw)
        if len(out) > cap or len(out) > info.file_size:
            raise _too_big(info)
    else:
        out = _inflate_capped(raw, info, cap, limits)
    if zlib.crc32(out) != info.CRC or len(out) != info.file_size:
        raise _Refused("truncated", "файл повреждён или передан не полностью")
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
            raise _Refused("truncated", "файл повреждён или передан не полностью")
    if produced > limits.ratio_floor and produced > limits.max_ratio * info.compress_size:
        raise _too_squeezed(info.filename, produced / max(info.compress_size, 1))
    if produced > cap or produced > info.file_size:
        raise _too_big(info)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _too_big(info: zipfile.ZipInfo) -> _Refused:
    return _Refused("zip-bomb", f"часть {info.filename} распаковывается в слишком большой объём")


def _too_squeezed(name: str, ratio: float) -> _Refused:
    return _Refused("zip-bomb", f"часть {name} сжата в {ratio:.0f} раз — так сжимается «zip-бомба», "
                                "а не книга Excel")


def _check_xml(name: str, data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:256]:
        # Excel writes UTF-8 only; a UTF-16 part would hide a DTD from the byte scan below.
        raise _Refused("xml-entities", f"часть {name} записана в необычной кодировке")
    # "!" alone is found at memory speed (memchr) and most parts have none; "<!" is a slower
    # search, run only when some "!" is there (a text, a defined name like 'Лист'!$A$1).
    if b"!" in data and b"<!" in data and _DTD.search(data):
        raise _Refused("xml-entities", f"часть {name} содержит объявления DTD/ENTITY "
                                       "(так устроены «XML-бомбы»)")


def _workbook_parts(parts: Mapping[str, bytes]) -> tuple[dict[str, str], set[str], dict[str, str], bool]:
    """Worksheet name → its part ("xl/worksheets/sheet1.xml"), every part the workbook's
    relationships point at, worksheet name → its state (visible, hidden, veryHidden), and whether
    the structure is locked. Both XML files were checked for DTDs, so ElementTree parses them
    safely."""
    try:
        workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
        rels_xml = parts.get("xl/_rels/workbook.xml.rels")
        rels = ElementTree.fromstring(rels_xml) if rels_xml else None
    except ElementTree.ParseError as exc:
        raise _Refused("truncated", "описание книги (xl/workbook.xml) повреждено") from exc
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
            if rel.get("Type", "").endswith("/externalLink"):
                raise _Refused("external-link", "книга содержит связи с другими файлами (внешние ссылки)")
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            target = target[1:] if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            targets[rel.get("Id", "")] = target
    sheets: dict[str, str] = {}
    states: dict[str, str] = {}
    locked = False
    for sheet in workbook.iter():
        if sheet.tag.endswith("}sheet") or sheet.tag == "sheet":
            rid = sheet.get(f"{_REL_NS}id", "")
            states[sheet.get("name", "")] = sheet.get("state", "visible")
            if rid in targets:
                sheets[sheet.get("name", "")] = targets[rid]
        elif sheet.tag.endswith("}workbookProtection") or sheet.tag == "workbookProtection":
            locked = sheet.get("lockStructure", "0").lower() in ("1", "true")
    return sheets, set(targets.values()), states, locked
