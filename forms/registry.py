"""The organisation registry: reading it from CSV, writing it, generating a synthetic one, and
the reference data it is checked against (regions and SPO specialities in ``forms/data/``).

A registry is all or nothing: ``load_registry`` returns every organisation or raises one
``RegistryError`` that lists every bad line, so the operator fixes the file in one pass.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from forms.errors import SborError
from forms.loader import DATA_DIR
from forms.organisations import ORG_KINDS, Organisation, OrgKind

COLUMNS: tuple[str, ...] = (
    "login", "full_name", "short_name", "region_code", "region_name", "municipality_code",
    "municipality_name", "kind", "specialities",
)
# Every column but the last must be present and filled; a registry without specialities is fine.
REQUIRED: tuple[str, ...] = COLUMNS[:-1]

_T = TypeVar("_T")
_Pick = Callable[[Sequence[Any]], Any]

_LOGIN = re.compile(r"^(edu|ksh|spo)(\d{2})(\d{4})$")
# Inside the specialities cell: ';' as documented, ',' or spaces as people type them.
_CODE_SEPARATORS = re.compile(r"[;,\s]+")


class RegistryError(SborError, ValueError):
    """A registry file that cannot be used: every bad line with what is wrong on it."""

    def __init__(self, path: str, problems: Iterable[tuple[int, str]], *, headline: str = "") -> None:
        self.path = path
        self.problems: tuple[tuple[int, str], ...] = tuple(sorted(problems, key=lambda p: p[0]))
        if headline:  # a problem with the whole file (its header, its encoding): one line
            super().__init__(headline)
            return
        lines = len({line for line, _ in self.problems})
        body = "\n".join(f"  line {line}: {problem}" for line, problem in self.problems)
        super().__init__(f"{path} has {lines} bad line{'s' if lines != 1 else ''}:\n{body}")


# --- reference data -------------------------------------------------------------------------


def _data_rows(name: str) -> list[list[str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return [row for row in csv.reader(fh)][1:]


@cache
def _specialities() -> tuple[tuple[str, str], ...]:
    return tuple((row[0].strip(), row[1].strip()) for row in _data_rows("spo_specialities.csv") if row)


@cache
def _regions() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    return tuple(
        (row[0].strip(), row[1].strip(), tuple(m.strip() for m in row[2].split("|") if m.strip()))
        for row in _data_rows("regions.csv")
        if row
    )


def specialities() -> dict[str, str]:
    """SPO profession and speciality codes and their names: {"38.02.01": "Экономика и …"}."""
    return dict(_specialities())


def regions() -> dict[str, tuple[str, tuple[str, ...]]]:
    """The subjects of the Russian Federation by login region code: {"16": (name, municipalities)}."""
    return {code: (name, municipalities) for code, name, municipalities in _regions()}


# --- reading ---------------------------------------------------------------------------------


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        # utf-8-sig drops the byte order mark Excel writes with "CSV UTF-8".
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Russian Excel's plain "CSV" is Windows-1251.
        return raw.decode("cp1251")
    except UnicodeDecodeError as exc:
        problem = "is neither UTF-8 nor Windows-1251 text: save it as CSV UTF-8 and load it again"
        raise RegistryError(str(path), [(1, problem)], headline=f"{path} {problem}") from exc


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line each starts on (a quoted cell may span lines)."""
    first = text.split("\n", 1)[0]
    # Russian Excel saves CSV with ';' because ',' is its decimal separator.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for row in reader:
        yield start, [cell.strip() for cell in row]
        start = reader.line_num + 1


def _pad(code: str, width: int) -> str:
    # Excel turns "01" into 1 when it reopens a CSV; the login still carries the true code.
    return code.zfill(width) if code.isdigit() and len(code) < width else code


def _check_row(
    cells: dict[str, str], known_regions: dict[str, tuple[str, tuple[str, ...]]],
    known_codes: dict[str, str],
) -> list[str]:
    problems = [f"{col} is empty" for col in REQUIRED if not cells[col]]
    login, kind, region = cells["login"], cells["kind"], cells["region_code"]
    match = _LOGIN.match(login)
    if login and not match:
        problems.append(f"login '{login}' is not like edu770012 (edu|ksh|spo + 2-digit region + "
                        "4-digit number)")
    if kind and kind not in ORG_KINDS:
        problems.append(f"kind '{kind}' is not one of {', '.join(ORG_KINDS)}")
    elif match and kind and kind != match.group(1):
        problems.append(f"kind '{kind}' does not match login '{login}' (it starts with {match.group(1)})")
    if region and region not in known_regions:
        problems.append(f"region_code '{region}' is not a known region (see forms/data/regions.csv)")
    elif match and region and region != match.group(2):
        problems.append(f"region_code '{region}' does not match login '{login}' (region {match.group(2)})")
    codes = [c for c in _CODE_SEPARATORS.split(cells["specialities"]) if c]
    if codes and kind != "spo":
        problems.append(f"only spo organisations have specialities, this one is {kind or 'of no kind'}")
    for code in sorted({c for c in codes if c not in known_codes}):
        problems.append(f"speciality '{code}' is not in spo_specialities.csv")
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"speciality '{code}' is listed twice")
    return problems


def load_registry(path: Path) -> tuple[Organisation, ...]:
    """Read a registry CSV (UTF-8 with or without BOM, or Windows-1251; ',' or ';' between cells).

    Raises ``RegistryError`` listing every bad line, or returns every organisation in file order.
    """
    path = Path(path)
    records = _records(_decode(path))
    header_line, header = next(records, (1, []))
    missing = [col for col in REQUIRED if col not in header]
    if missing:
        problem = (f"the header lacks {', '.join(missing)}; it must be: {','.join(COLUMNS)} "
                   "(specialities may be left out)")
        raise RegistryError(str(path), [(header_line, problem)],
                            headline=f"{path}, line {header_line}: {problem}")
    position = {col: header.index(col) for col in COLUMNS if col in header}
    known_regions, known_codes = regions(), specialities()
    problems: list[tuple[int, str]] = []
    orgs: list[Organisation] = []
    seen: dict[str, int] = {}
    municipality_names: dict[str, tuple[str, int]] = {}
    for line, row in records:
        if not any(row):
            continue  # blank lines and Excel's trailing ";;;;;;;;"
        if len(row) > len(header):  # a shifted row: its cells would land in the wrong columns
            problems.append((line, f"has {len(row)} cells, the header has {len(header)} "
                                   "(a comma or ';' inside a name must be in quotes)"))
            continue
        cells = {col: (row[i] if i < len(row) else "") for col, i in position.items()}
        cells.setdefault("specialities", "")
        cells["region_code"] = _pad(cells["region_code"], 2)
        cells["municipality_code"] = _pad(cells["municipality_code"], 4)
        row_problems = _check_row(cells, known_regions, known_codes)
        login = cells["login"]
        if login in seen:
            row_problems.append(f"login '{login}' is already on line {seen[login]}")
        elif login:
            seen[login] = line
        mcode, mname = cells["municipality_code"], cells["municipality_name"]
        if mcode and mname:
            first_name, first_line = municipality_names.setdefault(mcode, (mname, line))
            if first_name != mname:
                row_problems.append(f"municipality_code '{mcode}' is '{first_name}' on line "
                                    f"{first_line}, here it is '{mname}'")
        problems.extend((line, p) for p in row_problems)
        if not row_problems:
            orgs.append(Organisation(
                login=login,
                full_name=cells["full_name"],
                short_name=cells["short_name"],
                region_code=cells["region_code"],
                region_name=cells["region_name"],
                municipality_code=mcode,
                municipality_name=mname,
                kind=cells["kind"],  # type: ignore[arg-type]  # checked against ORG_KINDS above
                specialities=tuple(c for c in _CODE_SEPARATORS.split(cells["specialities"]) if c),
            ))
    if problems:
        raise RegistryError(str(path), problems)
    return tuple(orgs)


def write_registry(orgs: Iterable[Organisation], path: Path) -> None:
    """Write the registry CSV that ``load_registry`` reads, with a BOM so Excel shows Cyrillic."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for o in orgs:
            writer.writerow((o.login, o.full_name, o.short_name, o.region_code, o.region_name,
                             o.municipality_code, o.municipality_name, o.kind, ";".join(o.specialities)))


# --- a synthetic registry ---------------------------------------------------------------------

_KIND_WEIGHTS: tuple[int, ...] = (70, 10, 20)  # edu, ksh, spo, as in ORG_KINDS
_OWNERS = (  # (full, short) for municipal schools
    ("Муниципальное бюджетное", "МБОУ"), ("Муниципальное автономное", "МАОУ"),
    ("Муниципальное казённое", "МКОУ"),
)
_SCHOOLS = (  # (full, short, weight)
    ("Средняя общеобразовательная школа", "СОШ", 12), ("Основная общеобразовательная школа", "ООШ", 3),
    ("Гимназия", "Гимназия", 2), ("Лицей", "Лицей", 2), ("Центр образования", "ЦО", 1),
)
_BOARDING = (  # (owner full, owner short, name full, name short)
    ("Государственное бюджетное", "ГБОУ", "Школа-интернат", "Школа-интернат"),
    ("Государственное бюджетное", "ГБОУ", "Кадетская школа-интернат", "КШИ"),
    ("Государственное казённое", "ГКОУ", "Специальная (коррекционная) школа-интернат", "С(К)ШИ"),
    ("Муниципальное бюджетное", "МБОУ", "Кадетская школа", "Кадетская школа"),
)
_COLLEGE_OWNERS = (
    ("Государственное бюджетное", "ГБПОУ"), ("Государственное автономное", "ГАПОУ"),
)
# A college's profile, and the ФГОС groups (first two digits of the code) it mostly teaches.
_PROFILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Политехнический", ("08", "09", "13", "15", "22", "23")),
    ("Медицинский", ("31", "32", "33", "34")),
    ("Педагогический", ("44", "49", "53")),
    ("Технологический", ("19", "29", "43", "54")),
    ("Строительный", ("08", "21")),
    ("Аграрный", ("35", "36", "21")),
    ("Торгово-экономический", ("38", "43", "42")),
    ("Колледж информационных технологий", ("09", "10", "11")),
    ("Колледж культуры и искусств", ("51", "53", "54")),
    ("Многопрофильный", ()),
    ("Индустриальный", ("13", "15", "18", "23")),
    ("Социально-правовой", ("39", "40", "46")),
)


# Expanded by weight so that one uniform draw picks a school type.
_SCHOOL_BAG: tuple[tuple[str, str], ...] = tuple(
    (full, short) for full, short, weight in _SCHOOLS for _ in range(weight)
)


def _name(
    kind: OrgKind, pick: _Pick, number: int, place: str
) -> tuple[str, str, tuple[str, ...]]:
    """Full name, short name and (for a college) its profile's code groups."""
    if kind == "edu":
        owner, owner_short = pick(_OWNERS)
        full, short = pick(_SCHOOL_BAG)
        return (f"{owner} общеобразовательное учреждение «{full} № {number}» ({place})",
                f"{owner_short} «{short} № {number}»", ())
    if kind == "ksh":
        owner, owner_short, full, short = pick(_BOARDING)
        return (f"{owner} общеобразовательное учреждение «{full} № {number}» ({place})",
                f"{owner_short} «{short} № {number}»", ())
    owner, owner_short = pick(_COLLEGE_OWNERS)
    profile, groups = pick(_PROFILES)
    if profile.startswith("Колледж"):
        title = f"{profile} № {number}"
    else:
        title = f"{profile} {pick(('колледж', 'колледж', 'техникум'))} № {number}"
    return (f"{owner} профессиональное образовательное учреждение «{title}» ({place})",
            f"{owner_short} «{title}»", groups)


def generate_registry(size: int, seed: int = 0) -> tuple[Organisation, ...]:
    """A synthetic registry of ``size`` organisations over every region, the same for a seed.

    About 70% edu, 10% ksh and 20% spo; each spo teaches 2–8 specialities, mostly of its profile.
    Sorted by login.
    """
    if size < 0:
        raise ValueError(f"size must not be negative, got {size}")
    region_list = _regions()
    capacity = len(region_list) * len(ORG_KINDS) * 9999
    if size > capacity:
        raise ValueError(f"at most {capacity} organisations fit the login pattern, asked for {size}")
    rng = random.Random(seed)
    draw = rng.random

    def pick(seq: Sequence[_T]) -> _T:
        # One C-level draw per choice: rng.choice costs several Python calls, and 40,000
        # organisations make hundreds of thousands of choices.
        return seq[int(draw() * len(seq))]

    all_codes = tuple(code for code, _ in _specialities())
    pools = {groups: tuple(c for c in all_codes if c[:2] in groups) for _, groups in _PROFILES}
    kinds = rng.choices(ORG_KINDS, weights=_KIND_WEIGHTS, k=size)
    last_login: dict[tuple[str, str], int] = {}  # (kind, region) -> last organisation number used
    last_number: dict[tuple[str, str], int] = {}  # (kind, municipality) -> last school number used
    orgs: list[Organisation] = []
    for kind in kinds:
        region_code, region_name, municipalities = pick(region_list)
        while last_login.get((kind, region_code), 0) >= 9999:  # only near capacity
            region_code, region_name, municipalities = pick(region_list)
        m = int(draw() * len(municipalities))
        municipality_code = f"{region_code}{m + 1:02d}"
        org_no = last_login[(kind, region_code)] = last_login.get((kind, region_code), 0) + 1
        number = last_number[(kind, municipality_code)] = last_number.get((kind, municipality_code), 0) + 1
        full, short, groups = _name(kind, pick, number, municipalities[m])
        chosen: tuple[str, ...] = ()
        if kind == "spo":
            count = 2 + int(draw() * 7)
            pool = pools[groups] or all_codes
            picked = set(rng.sample(pool, min(len(pool), count - 1)))
            # The rest from the whole list: real colleges often teach beyond their profile.
            while len(picked) < count:
                picked.add(pick(all_codes))
            chosen = tuple(sorted(picked))
        orgs.append(Organisation(
            login=f"{kind}{region_code}{org_no:04d}",
            full_name=full,
            short_name=short,
            region_code=region_code,
            region_name=region_name,
            municipality_code=municipality_code,
            municipality_name=municipalities[m],
            kind=kind,
            specialities=chosen,
        ))
    orgs.sort(key=lambda o: o.login)
    return tuple(orgs)
