"""What became of a received file: one word for the validators' verdict, the warehouse's
submissions, the inbox's answer and the coordinators' status rows."""

from __future__ import annotations

from typing import Literal

# "duplicate" is never judged nor stored: a file whose SHA-256 is known is not a new submission,
# the earlier one answers for it; the school is told so.
Outcome = Literal["accepted", "accepted_with_warnings", "rejected", "unreadable", "duplicate"]
ACCEPTED: tuple[Outcome, ...] = ("accepted", "accepted_with_warnings")
