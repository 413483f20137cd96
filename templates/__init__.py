"""Everything that writes a workbook, in rooms by what it serves: ``school`` (the school's
template), ``answers`` (feedback, receipt, refusal), ``coordinators`` (their workbooks) and
``xlsx`` (the low-level writing they share)."""

from templates.answers import (
    FINDINGS_SHEET,
    RECEIPT_SHEET,
    REFUSAL_SHEET,
    FeedbackFactory,
    render_feedback,
    render_receipt,
    render_refusal,
)
from templates.school import TemplateFactory, render_template

__all__ = [
    "FINDINGS_SHEET", "FeedbackFactory", "RECEIPT_SHEET", "REFUSAL_SHEET", "TemplateFactory", "render_feedback",
    "render_receipt", "render_refusal", "render_template",
]
