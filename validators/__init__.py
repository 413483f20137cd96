"""Everything that reads and judges a returned workbook: safe opening, identity, reading to
polars, casting, pandera schemas built from the spec, and findings with cell addresses."""

from validators.casting import cast_sheet
from validators.context import Context, limits_for
from validators.identity import identify
from validators.judge import judge, judge_batch
from validators.reading import read_form
from validators.safety import DEFAULT_LIMITS, Inspection, Limits, inspect_file, precheck
from validators.schema import build_schema, failures_to_findings
from validators.sender import refused_unread, sender_findings
from validators.verdict import Verdict

__all__ = [
    "DEFAULT_LIMITS", "Context", "Inspection", "Limits", "Verdict", "build_schema",
    "cast_sheet", "failures_to_findings", "identify", "inspect_file", "judge", "judge_batch",
    "limits_for", "precheck", "read_form", "refused_unread", "sender_findings",
]
