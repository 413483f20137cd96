"""The school's template: the workbook with openpyxl (the reference), its sheets, title,
instruction and validation, the cells that depend on the organisation, and the fast factory that
splices those cells into a base rendered once per collection."""

from templates.school.draft_book import entry_cell, render_with_values
from templates.school.factory import SheetSplicer, TemplateFactory, sheet_members
from templates.school.personal import PROBE_ORG, Personaliser, WrapColumn, clean, personal_cells, wrap_columns
from templates.school.render import render_template, workbook_bytes
from templates.school.sheets import print_setup
from templates.school.title import moment_text
from templates.school.workbook import build_workbook

__all__ = [
    "PROBE_ORG", "Personaliser", "SheetSplicer", "TemplateFactory", "WrapColumn", "build_workbook", "clean",
    "entry_cell", "moment_text", "personal_cells", "print_setup", "render_template", "render_with_values",
    "sheet_members", "workbook_bytes", "wrap_columns",
]
