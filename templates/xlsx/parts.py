"""The parts of a workbook beyond its cells that every workbook sbor streams carries: the
document properties (a title, sbor as the creator) and the print setup (A4, one page wide, a
footer naming the sheet and the page)."""

from __future__ import annotations

from xml.sax.saxutils import escape

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def attr(text: str) -> str:
    """A string as the value of a double-quoted XML attribute."""
    # Not escape(text, {'"': "&quot;"}): its loop over the entities doubles the cost, and the
    # fast feedback calls this for every finding's link and comment.
    return escape(text).replace('"', "&quot;")


# The footer of every printed page: which sheet, which page («Лист «Сводка», страница 1 из 2»).
FOOTER = "&CЛист «&A», страница &P из &N"


def page_setup_xml(landscape: bool) -> str:
    """Margins, A4 one page wide (as many down as it takes) and the footer, in schema order."""
    orientation = "landscape" if landscape else "portrait"
    return ('<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" '
            f'footer="0.3"/><pageSetup paperSize="9" orientation="{orientation}" '
            f'fitToWidth="1" fitToHeight="0"/><headerFooter><oddFooter>{attr(FOOTER)}'
            "</oddFooter></headerFooter>")


CORE_PART = "docProps/core.xml"
CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
CREATOR = "sbor"


def core_xml(title: str, creator: str = CREATOR) -> str:
    """The document properties: a title and sbor as the creator (not «openpyxl», not empty)."""
    return (f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{attr(title)}</dc:title><dc:creator>{attr(creator)}</dc:creator>"
            f"<cp:lastModifiedBy>{attr(creator)}</cp:lastModifiedBy></cp:coreProperties>")


