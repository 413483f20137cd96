"""Everything that writes a workbook: school templates, feedback and receipts."""

from templates._feedback_fast import FeedbackFactory
from templates.factory import TemplateFactory
from templates.feedback import FINDINGS_SHEET, render_feedback
from templates.receipt import RECEIPT_SHEET, REFUSAL_SHEET, render_receipt, render_refusal
from templates.render import render_template

__all__ = [
    "FINDINGS_SHEET", "FeedbackFactory", "RECEIPT_SHEET", "REFUSAL_SHEET", "TemplateFactory", "render_feedback",
    "render_receipt", "render_refusal", "render_template",
]
