"""Coordinators: who may see which organisations.

A regional coordinator sees the organisations of its region, a municipal coordinator those of
its municipality, the operator sees all (manual 000, «Мониторинг работы образовательных
организаций региональным/муниципальным координатором»). Coordinators come from the registry
(one per region and municipality present) or from a CSV file of the operator's own.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from forms.errors import SborError
from forms.ids import id_problem

CoordinatorKind = Literal["regional", "municipal", "operator"]
COORDINATOR_KINDS: tuple[CoordinatorKind, ...] = ("regional", "municipal", "operator")
CSV_COLUMNS = ("id", "kind", "region_code", "municipality_code", "name")
# The workbooks a coordinator gets (templates/reports.py writes them). Here, not there, so that
# the command line names them without loading the workbook writers.
REPORT_KINDS = ("status", "results", "statuses", "group")


class Placed(Protocol):
    """Anything with a place in the registry: an Organisation, an OrgStatus."""

    @property
    def region_code(self) -> str: ...

    @property
    def municipality_code(self) -> str: ...


class _Territory(Placed, Protocol):
    @property
    def region_name(self) -> str: ...

    @property
    def municipality_name(self) -> str: ...


@dataclass(frozen=True)
class Coordinator:
    id: str  # "reg77", "mun7701", "operator": also the folder of its reports
    kind: CoordinatorKind
    region_code: str  # "" for the operator
    municipality_code: str | None  # municipal coordinators only
    name: str  # the territory: "Москва", "Район Арбат"; "Оператор" for the operator

    def sees(self, org: Placed) -> bool:
        if self.kind == "operator":
            return True
        if org.region_code != self.region_code:
            return False
        return self.kind == "regional" or org.municipality_code == self.municipality_code

    @property
    def title(self) -> str:
        """How workbooks name it: «Региональный координатор: Москва (77)»."""
        if self.kind == "operator":
            return "Оператор (все организации)"
        if self.kind == "regional":
            return f"Региональный координатор: {self.name} ({self.region_code})"
        return f"Муниципальный координатор: {self.name} ({self.municipality_code})"


OPERATOR = Coordinator("operator", "operator", "", None, "Оператор")


def regional_id(region_code: str) -> str:
    return f"reg{region_code}"


def municipal_id(region_code: str, municipality_code: str) -> str:
    # Municipality codes are unique within a region; the registry's codes start with the
    # region ("7701"), so "mun7701" is unique. Other codes get the region spelled out.
    if municipality_code.startswith(region_code):
        return f"mun{municipality_code}"
    return f"mun{region_code}-{municipality_code}"


def coordinators_from_registry(orgs: Iterable[_Territory], *,
                               with_operator: bool = False) -> tuple[Coordinator, ...]:
    """One regional coordinator per region present and one municipal per municipality present,
    each region followed by its municipalities; the operator first if asked for."""
    regions: dict[str, str] = {}
    municipalities: dict[tuple[str, str], str] = {}
    for org in orgs:
        regions.setdefault(org.region_code, org.region_name)
        municipalities.setdefault((org.region_code, org.municipality_code), org.municipality_name)
    result: list[Coordinator] = [OPERATOR] if with_operator else []
    for region in sorted(regions):
        result.append(Coordinator(regional_id(region), "regional", region, None, regions[region]))
        for (reg, mun), name in sorted(municipalities.items()):
            if reg == region:
                result.append(Coordinator(municipal_id(reg, mun), "municipal", reg, mun, name))
    return tuple(result)


class CoordinatorFileError(SborError, ValueError):
    """A coordinators CSV that cannot be used: lists every bad line."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  line {line}: {problem}" for line, problem in problems)
        count = len(problems)
        super().__init__(f"{path}: {count} bad line{'s' if count != 1 else ''}, "
                         f"fix them and retry:\n{lines}")


def _check(row: dict[str, str]) -> str | None:
    kind, region, mun = row["kind"], row["region_code"], row["municipality_code"]
    # The id names the coordinator's folder in the outbox: a plain name.
    if (problem := id_problem("id", row["id"])) is not None:
        return problem
    if kind not in COORDINATOR_KINDS:
        return f"kind {kind!r} is not one of {', '.join(COORDINATOR_KINDS)}"
    if kind != "operator" and not region:
        return f"a {kind} coordinator needs a region_code"
    if kind == "municipal" and not mun:
        return "a municipal coordinator needs a municipality_code"
    if kind != "municipal" and mun:
        return f"a {kind} coordinator has no municipality_code (got {mun!r})"
    if not row["name"]:
        return "name is empty"
    return None


def load_coordinators(path: Path | str) -> tuple[Coordinator, ...]:
    """Read coordinators from a CSV with the header ``id,kind,region_code,municipality_code,name``
    (UTF-8, a BOM from Excel is fine). Raises ``CoordinatorFileError`` listing every bad line.

    Example line: ``mun7701,municipal,77,7701,Район Арбат``
    """
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != CSV_COLUMNS:
            raise CoordinatorFileError(str(path), [(1, f"the header must be {','.join(CSV_COLUMNS)}"
                                                       f", got {','.join(header or [])!r}")])
        result: list[Coordinator] = []
        problems: list[tuple[int, str]] = []
        seen: dict[str, int] = {}
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines are harmless
            if len(values) != len(CSV_COLUMNS):
                problems.append((line, f"expected {len(CSV_COLUMNS)} values, got {len(values)}"))
                continue
            row = dict(zip(CSV_COLUMNS, (v.strip() for v in values), strict=True))
            problem = _check(row)
            if problem is None and row["id"] in seen:
                problem = f"id {row['id']!r} is already used on line {seen[row['id']]}"
            if problem is not None:
                problems.append((line, problem))
                continue
            seen[row["id"]] = line
            result.append(Coordinator(row["id"], row["kind"],  # type: ignore[arg-type]
                                      row["region_code"], row["municipality_code"] or None,
                                      row["name"]))
    if problems:
        raise CoordinatorFileError(str(path), problems)
    return tuple(result)
