"""Organisations (the registry) as plain data. Reading and generating registries: registry.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OrgKind = Literal["edu", "ksh", "spo"]
ORG_KINDS: tuple[OrgKind, ...] = ("edu", "ksh", "spo")


@dataclass(frozen=True)
class Organisation:
    login: str  # edu|ksh|spo + 2-digit region + 4-digit organisation: "spo770012"
    full_name: str
    short_name: str
    region_code: str  # "77"
    region_name: str
    municipality_code: str  # unique within the region: "7701"
    municipality_name: str
    kind: OrgKind
    # Codes of the SPO professions and specialities it teaches ("38.02.01"); prefills a form.
    specialities: tuple[str, ...] = ()
