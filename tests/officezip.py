"""Workbooks as real programs leave them beyond what our template holds, built from a real
template by rewriting its zip: the custom XML item that Excel adds to a workbook tied to SharePoint
or OneDrive (written in UTF-16 LE with a byte order mark), and the same workbook unpacked and
packed again on a Mac (``__MACOSX/`` AppleDouble entries and ``.DS_Store`` files).
"""

from __future__ import annotations

import io
import struct
import zipfile

# Office's custom XML item of a document in a SharePoint library: its properties, in UTF-16.
SHAREPOINT_PROPERTIES = (
    '<?xml version="1.0" encoding="utf-16"?><p:properties xmlns:p="http://schemas.microsoft.com/office/2006/'
    'metadata/properties" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:pc="http://schemas.'
    'microsoft.com/office/infopath/2007/PartnerControls"><documentManagement><TaxCatchAll xmlns="a1b2c3d4-'
    '0e5f-4a6b-9c7d-8e9f0a1b2c3d" xsi:nil="true"/><lcf76f155ced4ddcb4097134ff3c332f xmlns="5e6f7a8b-9c0d-'
    '4e1f-a2b3-c4d5e6f7a8b9"><Terms xmlns="http://schemas.microsoft.com/office/infopath/2007/PartnerControls">'
    '</Terms></lcf76f155ced4ddcb4097134ff3c332f><_x041e__x0442__x0447__x0451__x0442_ xmlns="5e6f7a8b-9c0d-'
    '4e1f-a2b3-c4d5e6f7a8b9">Отчёт колледжа</_x041e__x0442__x0447__x0451__x0442_></documentManagement>'
    '</p:properties>'
)
ITEM_PROPS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\r\n<ds:datastoreItem ds:itemID="{6A2F1C3B-'
    b'5D4E-4F60-8A7B-9C0D1E2F3A4B}" xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
    b'<ds:schemaRefs><ds:schemaRef ds:uri="http://schemas.microsoft.com/office/2006/metadata/properties"/>'
    b'<ds:schemaRef ds:uri="http://schemas.microsoft.com/office/infopath/2007/PartnerControls"/>'
    b'</ds:schemaRefs></ds:datastoreItem>'
)
ITEM_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="http://schemas.'
    b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    b'openxmlformats.org/officeDocument/2006/relationships/customXmlProps" Target="itemProps1.xml"/>'
    b'</Relationships>'
)
PROPS_TYPE = b"application/vnd.openxmlformats-officedocument.customXmlProperties+xml"
CUSTOM_XML_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"


def utf16(text: str) -> bytes:
    """UTF-16 LE with a byte order mark, as Office writes its custom XML items."""
    return b"\xff\xfe" + text.encode("utf-16-le")


def _rebuilt(workbook: bytes, changes: dict[str, bytes], extra: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, changes.get(info.filename, src.read(info)))
        for name, data in extra:
            dst.writestr(name, data)
    return out.getvalue()


def with_custom_xml(workbook: bytes, item: bytes | None = None) -> bytes:
    """The workbook with Office's custom XML item ``customXml/item1.xml`` (default: SharePoint's
    properties in UTF-16 LE with a BOM), its properties part (named in ``[Content_Types].xml``), the
    item's relationship to them and the workbook's relationship to the item, as Excel writes them."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        types = zf.read("[Content_Types].xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    types = types.replace(b"</Types>", b'<Override PartName="/customXml/itemProps1.xml" ContentType="'
                          + PROPS_TYPE + b'"/></Types>')
    rels = rels.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="' + CUSTOM_XML_REL
                        + b'" Target="../customXml/item1.xml"/></Relationships>')
    return _rebuilt(workbook, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels}, [
        ("customXml/item1.xml", utf16(SHAREPOINT_PROPERTIES) if item is None else item),
        ("customXml/_rels/item1.xml.rels", ITEM_RELS),
        ("customXml/itemProps1.xml", ITEM_PROPS),
    ])


def apple_double() -> bytes:
    """An AppleDouble file (``._name``) as the Finder's "Compress" writes one per file: its
    header, a Finder-info entry carrying the extended attributes (a quarantine flag), and an
    empty resource fork."""
    attr_name = b"com.apple.quarantine\0"
    attr_value = b"0083;65f1a2b3;Safari;"
    header = struct.pack(">II", 0x00051607, 0x00020000) + b"Mac OS X        " + struct.pack(">H", 2)
    attrs = b"ATTR" + struct.pack(">IIIIIIHHIIHB", 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, len(attr_name))
    body = bytes(32) + bytes(2) + attrs + attr_name + attr_value
    start = len(header) + 2 * 12  # the data follows the two entries' descriptors
    entries = struct.pack(">III", 9, start, len(body)) + struct.pack(">III", 2, start + len(body), 0)
    return header + entries + body


def ds_store() -> bytes:
    """A Finder ``.DS_Store``: the "Bud1" buddy allocator's header, some records naming files in
    UTF-16 BE, and zero padding to its usual 6 KB."""
    records = b"".join(struct.pack(">I", len(n)) + n.encode("utf-16-be") + b"Iloc" + b"blob" + bytes(16)
                       for n in ("xl", "docProps", "[Content_Types].xml"))
    head = b"\x00\x00\x00\x01Bud1" + struct.pack(">III", 0x1000, 0x800, 0x1000) + bytes(16)
    return (head + records).ljust(6148, b"\0")


def mac_zipped(workbook: bytes) -> bytes:
    """The workbook unpacked and its files packed again with the Mac's Finder ("Compress"): folder
    entries, a ``.DS_Store`` in the folders opened in the Finder, and an AppleDouble twin of every
    file under ``__MACOSX/``."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        files = [(i.filename, zf.read(i)) for i in zf.infolist()]
    folders = sorted({name.rsplit("/", 1)[0] + "/" for name, _ in files if "/" in name})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for folder in folders:
            dst.writestr(folder, b"")
        for name, data in files:
            dst.writestr(name, data)
        dst.writestr(".DS_Store", ds_store())
        dst.writestr("xl/.DS_Store", ds_store())
        dst.writestr("__MACOSX/", b"")
        for folder in folders:
            dst.writestr(f"__MACOSX/{folder}", b"")
        for name, _ in [*files, (".DS_Store", b""), ("xl/.DS_Store", b"")]:
            head, _, tail = name.rpartition("/")
            dst.writestr(f"__MACOSX/{head + '/' if head else ''}._{tail}", apple_double())
    return out.getvalue()
