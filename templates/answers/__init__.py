"""The answers to schools: the annotated workbook a rejected file earns (reference and fast),
the receipt of an accepted file, the refusal of a file that is not a template, and the table of
findings they share."""

from templates.answers.feedback import FINDINGS_SHEET, render_feedback
from templates.answers.feedback_fast import FeedbackFactory
from templates.answers.findings_table import HEADERS, plural
from templates.answers.receipt import RECEIPT_SHEET, REFUSAL_SHEET, render_receipt, render_refusal

__all__ = [
    "FINDINGS_SHEET", "HEADERS", "RECEIPT_SHEET", "REFUSAL_SHEET", "FeedbackFactory", "plural",
    "render_feedback", "render_receipt", "render_refusal",
]
