"""The hostile corpus: files a school (or an attacker posing as one) may drop into the inbox.

Each builder writes one file into the inbox (or a sender folder in it) and returns its path; the
``CASES`` table says what the ingest must answer. Most start from a real signed template filled
correctly, then break one thing, so that only that one thing can be the reason for the refusal.

Bombs are written without ever holding their inflated size: the 1 GB sheet is one deflate block
of spaces repeated (a full flush resets the compressor, so equal input gives equal output, and
the blocks concatenate), written into a zip by hand.
"""

from __future__ import annotations

import io
import os
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from openpyxl import load_workbook

from flows.settings import Settings, load_settings, parse_moment
from flows.simulate import good_values
from flows.workspace import open_warehouse
from forms import Collection, Form, Organisation, builtin_forms, layout, load_collection
from forms.loader import DATA_DIR
from templates import TemplateFactory
from tests.officezip import mac_zipped, utf16, with_custom_xml
from tests.ole2 import encrypted_workbook, xls_workbook
from tests.workbooks import SECRET, fill, sample_org, set_cells
from validators import limits_for

# Specialities (closes 25.12) still open, the schedule collection (closes 20.12) closed.
NOW = "2026-12-22T10:00"
SPECIALITIES = "spo-specialities-2026"
SCHEDULE = "vpr-spo-schedule-2027"
GIB = 2**30


@dataclass(frozen=True)
class Kit:
    """A published workspace to build files against."""

    settings: Settings
    forms: Mapping[str, Form]
    collections: Mapping[str, Collection]
    orgs: tuple[Organisation, ...]  # participants of both collections

    def form_of(self, collection_id: str) -> Form:
        return self.forms[self.collections[collection_id].form_id]

    def template(self, org: Organisation, collection_id: str = SPECIALITIES) -> bytes:
        return _factory(self.form_of(collection_id), self.collections[collection_id]).render(org)

    def good(self, org: Organisation, collection_id: str = SPECIALITIES, seed: int = 0) -> bytes:
        """The template filled correctly, saved by openpyxl as a spreadsheet program would."""
        form, collection = self.form_of(collection_id), self.collections[collection_id]
        values = good_values(form, collection, org, random.Random(f"{org.login}-{seed}"))
        return fill(self.template(org, collection_id), values, form)


@lru_cache(maxsize=8)
def _factory(form: Form, collection: Collection) -> TemplateFactory:
    return TemplateFactory(form, collection, SECRET)


def make_kit(home: Path, *, participants: int = 80, now: str = NOW, database_url: str | None = None) -> Kit:
    """A workspace in ``home`` with spo participants 1..``participants`` (region 77) and the
    specialities and schedule collections published."""
    settings = replace(load_settings(home, database_url, env={}), fixed_now=parse_moment(now, "now"),
                       secret_override=SECRET)
    forms = builtin_forms()
    folder = DATA_DIR.parent / "collections"
    collections = {c.id: c for c in (load_collection(folder / f"{n}.yaml")
                                     for n in ("spo_specialities_2026", "vpr_spo_schedule_2027"))}
    orgs = tuple(sample_org("spo", n) for n in range(1, participants + 1))
    wh = open_warehouse(settings)
    wh.upsert_organisations(orgs)
    for c in collections.values():
        wh.publish(c, forms[c.form_id], [o.login for o in orgs])
    return Kit(settings, forms, collections, orgs)


# -- zip surgery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    raw: Iterable[bytes] | bytes  # the stored (deflated) bytes, possibly in pieces
    crc: int
    size: int  # as declared in the headers
    compressed: int
    method: int = zipfile.ZIP_DEFLATED


def deflated(name: str, data: bytes, level: int = 6) -> Member:
    co = zlib.compressobj(level, zlib.DEFLATED, -15)
    raw = co.compress(data) + co.flush()
    return Member(name, raw, zlib.crc32(data), len(data), len(raw))


@lru_cache(maxsize=4)
def repeated(name: str, prefix: bytes, block: bytes, times: int, suffix: bytes) -> Member:
    """prefix + block × times + suffix, deflated once per distinct piece."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    body = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    tail = co.compress(suffix) + co.flush()
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    pieces = (head, *([body] * times), tail)
    return Member(name, pieces, crc, len(prefix) + len(block) * times + len(suffix), sum(map(len, pieces)))


def write_zip(path: Path, members: Iterable[Member]) -> Path:
    """A plain zip (no zip64: every member under 4 GB), written piece by piece."""
    central = []
    with path.open("wb") as fh:
        for m in members:
            name = m.name.encode()
            fields = struct.pack("<HHHHHIIIHH", 20, 0x800, m.method, 0, 0x21, m.crc, m.compressed, m.size,
                                 len(name), 0)
            offset = fh.tell()
            fh.write(b"PK\x03\x04" + fields + name)
            for piece in [m.raw] if isinstance(m.raw, bytes) else m.raw:
                fh.write(piece)
            central.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHII", 0, 0, 0, 0, offset)
                           + name)
        start = fh.tell()
        directory = b"".join(central)
        fh.write(directory + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(central), len(central),
                                                         len(directory), start, 0))
    return path


def members_of(data: bytes, drop: Iterable[str] = ()) -> list[Member]:
    skip = set(drop)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [deflated(i.filename, zf.read(i)) for i in zf.infolist() if i.filename not in skip]


def rezip(data: bytes, changes: Mapping[str, bytes | None]) -> bytes:
    """The workbook with parts replaced, added (bytes) or removed (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in changes:
                dst.writestr(info.filename, src.read(info))
        for name, part in changes.items():
            if part is not None:
                dst.writestr(name, part)
    return out.getvalue()


def sheet_part(data: bytes, sheet: str) -> str:
    """The zip part of worksheet ``sheet`` (our own template: parsing it is safe)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook)
    assert rid is not None, sheet
    target = re.search(rf'<Relationship[^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels)
    assert target is not None, rid.group(1)
    return target.group(1).lstrip("/") if target.group(1).startswith("/") else f"xl/{target.group(1)}"


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


ENTRY = "Специальности"  # the entry sheet of the specialities form
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = b"</sheetData></worksheet>"


def _with_entry_sheet(kit: Kit, org: Organisation, path: Path, sheet: Member | Callable[[str], Member]) -> Path:
    good = kit.good(org)
    name = sheet_part(good, ENTRY)
    member = sheet(name) if callable(sheet) else sheet
    return write_zip(path, [*members_of(good, drop=[name]), member])


# -- the builders: (kit, inbox, org) → the file written ------------------------------------

Builder = Callable[[Kit, Path, Organisation], Path]


def _folder(inbox: Path, login: str) -> Path:
    folder = inbox / login
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def zip_bomb(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """The entry sheet inflates to 1 GB of spaces (about 1 MB on disk), sizes declared honestly."""
    return _with_entry_sheet(kit, org, _folder(inbox, org.login) / "бомба.xlsx",
                             lambda n: repeated(n, SHEET_HEAD, b" " * 2**20, GIB // 2**20, SHEET_TAIL))


def lying_zip_bomb(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """The same 1 GB sheet, its headers claiming 10 KB: only a capped inflate sees the truth."""
    def lying(n: str) -> Member:
        return replace(repeated(n, SHEET_HEAD, b" " * 2**20, GIB // 2**20, SHEET_TAIL), size=10_000)
    return _with_entry_sheet(kit, org, _folder(inbox, org.login) / "бомба-маленькая.xlsx", lying)


def _area_cells(rows: int, columns: int, first_row: int = layout.FIRST_ROW) -> bytes:
    from openpyxl.utils.cell import get_column_letter

    letters = [get_column_letter(c) for c in range(1, columns + 1)]
    return b"".join(
        f'<row r="{r}">'.encode() + b"".join(f'<c r="{col}{r}"><v>1</v></c>'.encode() for col in letters) + b"</row>"
        for r in range(first_row, first_row + rows)
    )


def dense_cells(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """Two million tiny cells, every one inside the rows and columns the pre-check allows (the
    allowed rectangle written 26 times over)."""
    limits = limits_for(kit.forms.values())
    block = _area_cells(limits.max_row - layout.FIRST_ROW + 1, limits.max_column)
    return _with_entry_sheet(kit, org, _folder(inbox, org.login) / "плотная.xlsx",
                             lambda n: repeated(n, SHEET_HEAD, block, 26, SHEET_TAIL))


def dense_at_cap(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """The template's own headers, then every cell inside the rows and columns the pre-check allows
    filled (about 78,000, 177 KB on disk): within every byte cap, refused by the cap on cells."""
    limits = limits_for(kit.forms.values())
    block = _area_cells(limits.max_row - layout.FIRST_ROW + 1, limits.max_column)
    good = kit.good(org)
    name, head, tail = entry_area_split(good)
    path = _folder(inbox, org.login) / "вся-область.xlsx"
    return write_zip(path, [*members_of(good, drop=[name]), deflated(name, head + block + tail)])


def entry_area_split(workbook: bytes) -> tuple[str, bytes, bytes]:
    """The entry sheet's part name and its XML around the entry rows: what comes before the first
    entry row (the template's header cells) and from ``</sheetData>`` on."""
    name = sheet_part(workbook, ENTRY)
    xml = part(workbook, name)
    first = xml.find(b'<row r="%d"' % layout.FIRST_ROW)
    end = xml.index(b"</sheetData>")
    return name, xml[: first if first >= 0 else end], xml[end:]


def million_rows(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """1,000,000 filled rows in the entry area."""
    rows = b"".join(b'<row r="%d"><c r="E%d"><v>1</v></c></row>' % (r, r) for r in range(5, 1_000_005))
    return _with_entry_sheet(kit, org, _folder(inbox, org.login) / "миллион-строк.xlsx",
                             lambda n: deflated(n, SHEET_HEAD + rows + SHEET_TAIL, level=1))


def far_cell(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """One cell at XFD1048576: calamine allocates the whole rectangle (and aborts the process)."""
    good = kit.good(org)
    name = sheet_part(good, ENTRY)
    xml = part(good, name).replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                                                   b"</sheetData>")
    path = _folder(inbox, org.login) / "дальняя-ячейка.xlsx"
    path.write_bytes(rezip(good, {name: xml}))
    return path


def _laughs(root: bytes, body: bytes) -> bytes:
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    return b'<?xml version="1.0"?>\n<!DOCTYPE %s [%s]>\n%s' % (root, entities, body)


SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'


def laughs_in_shared_strings(kit: Kit, inbox: Path, org: Organisation) -> Path:
    good = kit.good(org)
    path = _folder(inbox, org.login) / "смех-строки.xlsx"
    path.write_bytes(rezip(good, {"xl/sharedStrings.xml": _laughs(b"sst", SST + b"<si><t>&lol9;</t></si></sst>")}))
    return path


def laughs_in_sheet(kit: Kit, inbox: Path, org: Organisation) -> Path:
    good = kit.good(org)
    name = sheet_part(good, ENTRY)
    xml = part(good, name)
    body = xml[xml.index(b"<worksheet"):].replace(b"</sheetData>", b'<row r="300"><c r="K300" t="inlineStr">'
                                                  b"<is><t>&lol9;</t></is></c></row></sheetData>")
    path = _folder(inbox, org.login) / "смех-лист.xlsx"
    path.write_bytes(rezip(good, {name: _laughs(b"worksheet", body)}))
    return path


def xxe(kit: Kit, inbox: Path, org: Organisation) -> Path:
    good = kit.good(org)
    xml = (b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           + SST + b"<si><t>&xxe;</t></si></sst>")
    path = _folder(inbox, org.login) / "xxe.xlsx"
    path.write_bytes(rezip(good, {"xl/sharedStrings.xml": xml}))
    return path


def xxe_utf16(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """The same external entity in a UTF-16 part, where a byte search for "<!DOCTYPE" fails."""
    good = kit.good(org)
    xml = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           + SST.decode() + "<si><t>&xxe;</t></si></sst>").encode("utf-16")
    path = _folder(inbox, org.login) / "xxe-utf16.xlsx"
    path.write_bytes(rezip(good, {"xl/sharedStrings.xml": xml}))
    return path


MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def macro_workbook(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """An .xlsm: a VBA project (an OLE2 file) and the macro-enabled content type."""
    good = kit.good(org)
    types = part(good, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", MACRO_MAIN.encode())
    types = types.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.'
                                       b'vbaProject"/></Types>')
    vba = xls_workbook().replace(b"W\0o\0r\0k\0b\0o\0o\0k\0", b"V\0B\0A\0_\0P\0R\0O\0J\0")
    path = _folder(inbox, org.login) / f"{org.login}.xlsm"
    path.write_bytes(rezip(good, {"[Content_Types].xml": types, "xl/vbaProject.bin": vba}))
    return path


def encrypted(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """The good workbook encrypted with a password, as Excel does (agile AES-256)."""
    path = _folder(inbox, org.login) / "с-паролем.xlsx"
    path.write_bytes(encrypted_workbook(kit.good(org), "пароль"))
    return path


def old_xls(kit: Kit, inbox: Path, org: Organisation) -> Path:
    path = _folder(inbox, org.login) / "отчёт.xls"
    path.write_bytes(xls_workbook())
    return path


def ods(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """An OpenDocument spreadsheet: a zip whose first member is an uncompressed "mimetype"."""
    path = _folder(inbox, org.login) / "отчёт.ods"
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                b'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type='
                b'"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>')
    content = (b'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               b'opendocument:xmlns:office:1.0" office:version="1.3"><office:body><office:spreadsheet/>'
               b"</office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def csv_renamed(kit: Kit, inbox: Path, org: Organisation) -> Path:
    path = _folder(inbox, org.login) / f"{org.login}.xlsx"
    path.write_bytes("Код;Специальность;Обучающихся\n38.02.01;Экономика;30\n".encode("cp1251"))
    return path


def _given_up(path: Path) -> Path:
    """An upload that stopped an hour ago: the ingest no longer waits for the rest of it."""
    then = path.stat().st_mtime - 3600
    os.utime(path, (then, then))
    return path


def truncated(kit: Kit, inbox: Path, org: Organisation) -> Path:
    good = kit.good(org)
    path = _folder(inbox, org.login) / "обрезанный.xlsx"
    path.write_bytes(good[: len(good) // 2])
    return _given_up(path)


def empty(kit: Kit, inbox: Path, org: Organisation) -> Path:
    path = _folder(inbox, org.login) / "пустой.xlsx"
    path.write_bytes(b"")
    return _given_up(path)


def huge(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """100 MB that start like a zip (sparse on disk: the test does not write 100 MB)."""
    path = _folder(inbox, org.login) / "огромный.xlsx"
    with path.open("wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(100 * 2**20)
    return path


def external_link(kit: Kit, inbox: Path, org: Organisation) -> Path:
    good = kit.good(org)
    link = (b'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><externalBook r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>'
            b"</externalLink>")
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/externalLinkPath" Target="file:///C:/secret/budget.xlsx" '
            b'TargetMode="External"/></Relationships>')
    path = _folder(inbox, org.login) / "со-ссылкой.xlsx"
    path.write_bytes(rezip(good, {"xl/externalLinks/externalLink1.xml": link,
                                  "xl/externalLinks/_rels/externalLink1.xml.rels": rels}))
    return path


def formula_without_value(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """Graph 3 typed as a formula; openpyxl stores no computed value, as an unrecalculated file."""
    form = kit.form_of(SPECIALITIES)
    sheet = form.sheet(ENTRY)
    cell = layout.table_cell(sheet, "3", 0).address
    first = layout.table_cell(sheet, "3.1", 0).address
    second = layout.table_cell(sheet, "3.2", 0).address
    path = _folder(inbox, org.login) / "формула.xlsx"
    path.write_bytes(set_cells(kit.good(org), ENTRY, {cell: f"={first}+{second}"}))
    return path


def _identity_edited(data: bytes, key: str, value: str) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[layout.IDENTITY_SHEET]
    ws.cell(layout.IDENTITY_KEYS.index(key) + 1, 2).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def forged_identity(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """The school's own file with the login in the identity sheet changed to another school's."""
    other = kit.orgs[-1]
    path = _folder(inbox, org.login) / "подделка.xlsx"
    path.write_bytes(_identity_edited(kit.good(org), "login", other.login))
    return path


def wrong_sender(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """Another school's correct template, sent through this school's inbox folder."""
    other = kit.orgs[-2]
    path = _folder(inbox, org.login) / f"{other.login}.xlsx"
    path.write_bytes(kit.good(other))
    return path


def other_collection(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A signed template of a collection that is not published here (last year's)."""
    collection = replace(kit.collections[SPECIALITIES], id="spo-specialities-2025", title="Сбор 2025 года")
    form = kit.form_of(SPECIALITIES)
    template = _factory(form, collection).render(org)
    values = good_values(form, collection, org, random.Random(1))
    path = _folder(inbox, org.login) / "прошлогодний.xlsx"
    path.write_bytes(fill(template, values, form))
    return path


def outdated_form(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A template of an earlier version of the form (signed, so only the version is wrong)."""
    form = kit.form_of(SPECIALITIES)
    old = replace(form, version=form.version - 1)
    collection = kit.collections[SPECIALITIES]
    template = _factory(old, collection).render(org)
    path = _folder(inbox, org.login) / "старая-версия.xlsx"
    path.write_bytes(fill(template, good_values(form, collection, org, random.Random(2)), form))
    return path


def window_closed(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A correct schedule file; that collection closed on 20.12, two days before NOW."""
    path = _folder(inbox, org.login) / "расписание.xlsx"
    path.write_bytes(kit.good(org, SCHEDULE))
    return path


def non_participant(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A signed template for an organisation of the registry that does not take part, sent
    through its own folder."""
    stranger = sample_org("spo", 9999)
    open_warehouse(kit.settings).upsert_organisations([stranger])
    path = _folder(inbox, stranger.login) / "не-участник.xlsx"
    path.write_bytes(kit.good(stranger))
    return path


def traversal_name(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A correct file whose name looks like a path (URL-encoded slashes)."""
    path = _folder(inbox, org.login) / "..%2f..%2fetc.xlsx"
    path.write_bytes(kit.good(org))
    return path


def control_name(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A name with a BEL character; the content is a CSV, so the refusal must name the file."""
    path = _folder(inbox, org.login) / "имя\x07.xlsx"
    path.write_bytes("а;б\n1;2\n".encode())
    return path


def symlink_out(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A symbolic link to a system file: never followed, never archived."""
    path = _folder(inbox, org.login) / "ссылка.xlsx"
    path.symlink_to("/etc/passwd")
    return path


def sharepoint(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A correct file kept in SharePoint or OneDrive: Excel adds a custom XML item in UTF-16."""
    path = _folder(inbox, org.login) / "из-sharepoint.xlsx"
    path.write_bytes(with_custom_xml(kit.good(org)))
    return path


def mac_packed(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """A correct file unpacked and packed again on a Mac: ``__MACOSX/`` twins and ``.DS_Store``."""
    path = _folder(inbox, org.login) / "с-мака.xlsx"
    path.write_bytes(mac_zipped(kit.good(org)))
    return path


def xxe_in_custom_xml(kit: Kit, inbox: Path, org: Organisation) -> Path:
    """An external entity in the custom XML item, in UTF-16 as Office writes that item."""
    item = utf16('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<p:properties xmlns:p="http://schemas.microsoft.com/office/2006/metadata/properties">&x;'
                 '</p:properties>')
    path = _folder(inbox, org.login) / "xxe-customxml.xlsx"
    path.write_bytes(with_custom_xml(kit.good(org), item))
    return path


@dataclass(frozen=True)
class Case:
    id: str
    build: Builder
    code: str  # the finding the school must get
    outcome: str  # what the ingest records


CASES = (
    Case("zip-bomb", zip_bomb, "zip-bomb", "unreadable"),
    Case("zip-bomb-lying", lying_zip_bomb, "zip-bomb", "unreadable"),
    Case("dense-cells", dense_cells, "zip-bomb", "unreadable"),
    Case("dense-cells-at-cap", dense_at_cap, "too-many-cells", "unreadable"),
    Case("million-rows", million_rows, "zip-bomb", "unreadable"),
    Case("far-cell", far_cell, "far-cell", "unreadable"),
    Case("laughs-shared-strings", laughs_in_shared_strings, "xml-entities", "unreadable"),
    Case("laughs-sheet", laughs_in_sheet, "xml-entities", "unreadable"),
    Case("xxe", xxe, "xml-entities", "unreadable"),
    Case("xxe-utf16", xxe_utf16, "xml-entities", "unreadable"),
    Case("xlsm", macro_workbook, "macro", "unreadable"),
    Case("encrypted", encrypted, "encrypted", "unreadable"),
    Case("xls", old_xls, "not-xlsx-xls", "unreadable"),
    Case("ods", ods, "not-xlsx-ods", "unreadable"),
    Case("csv-renamed", csv_renamed, "not-xlsx-csv", "unreadable"),
    Case("truncated", truncated, "truncated", "unreadable"),
    Case("empty", empty, "empty-file", "unreadable"),
    Case("100mb", huge, "too-large", "unreadable"),
    Case("external-link", external_link, "external-link", "unreadable"),
    Case("formula-without-value", formula_without_value, "formula-without-value", "rejected"),
    Case("forged-identity", forged_identity, "forged-identity", "unreadable"),
    Case("wrong-sender", wrong_sender, "wrong-sender", "rejected"),
    Case("other-collection", other_collection, "unknown-collection", "rejected"),
    Case("outdated-form", outdated_form, "outdated-form", "rejected"),
    Case("window-closed", window_closed, "window-closed", "rejected"),
    Case("non-participant", non_participant, "not-participant", "rejected"),
    Case("traversal-name", traversal_name, "", "accepted"),
    Case("control-name", control_name, "not-xlsx-csv", "unreadable"),
    Case("symlink", symlink_out, "not-a-file", "unreadable"),
    # Real workbooks the pre-check used to refuse (issue 10, part 8), and the hole they must not open.
    Case("sharepoint-custom-xml", sharepoint, "", "accepted"),
    Case("mac-packed", mac_packed, "", "accepted"),
    Case("xxe-utf16-custom-xml", xxe_in_custom_xml, "xml-entities", "unreadable"),
)


def build_corpus(kit: Kit, inbox: Path, cases: Iterable[Case] = CASES, *, good_after: bool = True,
                 start: float = 1_700_000_000.0) -> dict[str, tuple[Path, Path | None]]:
    """Every case into ``inbox``, each followed (by modification time, the ingest's order) by a
    correct file of another school: case id → (hostile path, good path)."""
    out: dict[str, tuple[Path, Path | None]] = {}
    for i, case in enumerate(cases):
        org, next_org = kit.orgs[2 * i], kit.orgs[2 * i + 1]
        path = case.build(kit, inbox, org)
        os.utime(path, (start + 2 * i, start + 2 * i), follow_symlinks=False)
        good: Path | None = None
        if good_after:
            good = _folder(inbox, next_org.login) / f"{next_org.login}.xlsx"
            good.write_bytes(kit.good(next_org))
            os.utime(good, (start + 2 * i + 1, start + 2 * i + 1))
        out[case.id] = (path, good)
    return out
