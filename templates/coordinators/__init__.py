"""The coordinators' workbooks: status, statuses export, group report, results (workbook and
analysts' files), and the cabinet's codes and download report, in one house style."""

from templates.coordinators.cabinet_books import render_codes, render_downloads
from templates.coordinators.reports import (
    render_group_report,
    render_status,
    render_statuses_export,
    report_file,
)
from templates.coordinators.results import render_named_results, render_results, write_results_files

__all__ = [
    "render_codes", "render_downloads", "render_group_report", "render_named_results", "render_results",
    "render_status",
    "render_statuses_export", "report_file", "write_results_files",
]
