"""The low-level xlsx writing every workbook shares: splicing members into a zip, the streaming
writer and its one-sheet variant, polars frames as rows, atomic writing, text fitting and the
shared openpyxl styles."""

from templates.xlsx import styles
from templates.xlsx.atomic import write_atomic
from templates.xlsx.frame import append_frame
from templates.xlsx.onesheet import Cell, OneSheet, one_sheet
from templates.xlsx.parts import attr
from templates.xlsx.stream import EXCEL_MAX_ROWS, MAX_SHEET_NAME, Book, SheetWriter, Style, xml_text
from templates.xlsx.textfit import fit_width, fits, longest_word, row_height
from templates.xlsx.zipsplice import CrcAppend, DeflatePieces, Member, ZipSkeleton, read_members

__all__ = [
    "EXCEL_MAX_ROWS", "MAX_SHEET_NAME", "Book", "Cell", "CrcAppend", "DeflatePieces", "Member", "OneSheet",
    "SheetWriter", "Style", "ZipSkeleton", "append_frame", "attr", "fit_width", "fits", "longest_word",
    "one_sheet", "read_members", "row_height", "styles", "write_atomic", "xml_text",
]
