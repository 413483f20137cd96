"""Statuses through a collection's whole life, and which coordinator sees which school."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from forms import MOSCOW, Organisation
from forms.collection import Collection, Participants
from forms.coordinators import (
    OPERATOR,
    Coordinator,
    CoordinatorFileError,
    coordinators_from_registry,
    load_coordinators,
)
from forms.status import OrgStatus, Status, is_closed, lifecycle, status_of, summarize

OPENS = datetime(2026, 11, 1, 12, 0, tzinfo=MOSCOW)
CLOSES = datetime(2026, 12, 25, 18, 0, tzinfo=MOSCOW)


def org(login: str, region: str, municipality: str) -> Organisation:
    regions = {"77": "Москва", "50": "Московская область"}
    return Organisation(login, f"ГБПОУ «Колледж {login}»", f"Колледж {login}", region,
                        regions[region], municipality, f"Район {municipality}", "spo")


@pytest.fixture
def registry() -> list[Organisation]:
    return [org("spo770001", "77", "7701"), org("spo770002", "77", "7701"),
            org("spo770003", "77", "7702"), org("spo500001", "50", "5001"),
            org("spo500002", "50", "5002")]


@pytest.fixture
def collection() -> Collection:
    return Collection("spo-2026", "Сведения о специальностях", "ВПР СПО", "spo_specialities",
                      OPENS, CLOSES, Participants(kinds=("spo",)))


@pytest.mark.parametrize(("files", "accepted", "closed", "expected"), [
    (0, 0, False, "Не приступал"),
    (2, 0, False, "В работе"),
    (1, 1, False, "Сдано"),
    (5, 1, False, "Сдано"),
    (0, 0, True, "Не приступало"),
    (3, 0, True, "Не сдано"),
    (3, 2, True, "Сдано"),
])
def test_lifecycle_labels_are_the_manuals(files: int, accepted: int, closed: bool,
                                          expected: str) -> None:
    assert lifecycle(files, accepted, closed) == expected


def test_one_school_through_the_whole_lifecycle(registry: list[Organisation],
                                                collection: Collection) -> None:
    school = registry[0]
    first = datetime(2026, 11, 3, 9, 15, tzinfo=MOSCOW)

    def at(moment: datetime, row: OrgStatus) -> str:
        return status_of(row, is_closed(collection, moment))

    before_opening = OPENS - timedelta(days=1)
    assert not is_closed(collection, before_opening)
    assert at(before_opening, OrgStatus.of(school)) == "Не приступал"
    # A file with errors: the school is at work, the start date is that file.
    in_work = OrgStatus.of(school, first_received_at=first, files=1, last_errors=3)
    assert at(first, in_work) == "В работе"
    # The corrected file is accepted: submitted.
    accepted_at = first + timedelta(days=2)
    done = OrgStatus.of(school, first_received_at=first, last_accepted_at=accepted_at, files=2,
                        accepted=1)
    assert at(accepted_at, done) == "Сдано"
    # A later file with errors does not undo the submission.
    resent = OrgStatus.of(school, first_received_at=first, last_accepted_at=accepted_at,
                          files=3, accepted=1, last_errors=2)
    assert at(accepted_at + timedelta(days=1), resent) == "Сдано"
    # The window closes: the closing moment itself is closed.
    assert is_closed(collection, CLOSES)
    assert at(CLOSES, resent) == "Сдано"
    assert at(CLOSES, in_work) == "Не сдано"
    assert at(CLOSES, OrgStatus.of(school)) == "Не приступало"


def test_summary_counts_open_and_closed(registry: list[Organisation]) -> None:
    t = datetime(2026, 11, 5, 10, 0, tzinfo=MOSCOW)
    rows = [
        OrgStatus.of(registry[0]),
        OrgStatus.of(registry[1], first_received_at=t, files=1, last_errors=1),
        OrgStatus.of(registry[2], first_received_at=t, last_accepted_at=t, files=1, accepted=1),
        OrgStatus.of(registry[3], first_received_at=t, last_accepted_at=t, files=2, accepted=2),
        OrgStatus.of(registry[4]),
    ]
    assert summarize(rows, closed=False).lines() == (
        ("Всего", 5), ("Не приступило", 2), ("В работе", 1), ("Сдано", 2))
    assert summarize(rows, closed=True).lines() == (
        ("Всего", 5), ("Сдано", 2), ("Не сдано", 1), ("Не приступило", 2))
    assert summarize([], closed=False).lines() == (
        ("Всего", 0), ("Не приступило", 0), ("В работе", 0), ("Сдано", 0))


def test_status_is_a_plain_string() -> None:
    assert Status.SUBMITTED == "Сдано"
    assert f"{Status.NOT_SUBMITTED}" == "Не сдано"


def test_naive_times_are_refused(registry: list[Organisation]) -> None:
    with pytest.raises(ValueError, match="first_received_at must be timezone-aware"):
        OrgStatus.of(registry[0], first_received_at=datetime(2026, 11, 5, 10, 0), files=1)
    utc = datetime(2026, 11, 5, 7, tzinfo=UTC)
    aware = OrgStatus.of(registry[0], last_accepted_at=utc)
    assert aware.last_accepted_at is not None


def test_coordinators_from_registry(registry: list[Organisation]) -> None:
    coordinators = coordinators_from_registry(registry)
    assert [(c.id, c.kind, c.region_code, c.municipality_code, c.name) for c in coordinators] == [
        ("reg50", "regional", "50", None, "Московская область"),
        ("mun5001", "municipal", "50", "5001", "Район 5001"),
        ("mun5002", "municipal", "50", "5002", "Район 5002"),
        ("reg77", "regional", "77", None, "Москва"),
        ("mun7701", "municipal", "77", "7701", "Район 7701"),
        ("mun7702", "municipal", "77", "7702", "Район 7702"),
    ]
    assert coordinators_from_registry(registry, with_operator=True)[0] == OPERATOR


def test_each_coordinator_sees_only_its_schools(registry: list[Organisation]) -> None:
    by_id = {c.id: c for c in coordinators_from_registry(registry, with_operator=True)}
    rows = [OrgStatus.of(o) for o in registry]

    def seen(coordinator_id: str) -> set[str]:
        return {r.login for r in rows if by_id[coordinator_id].sees(r)}

    assert seen("reg77") == {"spo770001", "spo770002", "spo770003"}
    assert seen("reg50") == {"spo500001", "spo500002"}
    assert seen("mun7701") == {"spo770001", "spo770002"}
    assert seen("mun7702") == {"spo770003"}
    assert seen("operator") == {o.login for o in registry}
    # Organisations and status rows are judged alike.
    assert all(by_id["reg77"].sees(o) == (o.region_code == "77") for o in registry)


def test_municipality_codes_shared_by_two_regions_do_not_leak() -> None:
    # A coordinators file may use short municipality codes that repeat across regions.
    moscow, oblast = org("edu770001", "77", "01"), org("edu500001", "50", "01")
    coordinators = {c.id: c for c in coordinators_from_registry([moscow, oblast])}
    assert set(coordinators) == {"reg77", "reg50", "mun77-01", "mun50-01"}
    assert coordinators["mun77-01"].sees(moscow)
    assert not coordinators["mun77-01"].sees(oblast)
    assert not coordinators["reg77"].sees(oblast)


def test_coordinator_titles() -> None:
    assert Coordinator("reg77", "regional", "77", None, "Москва").title == (
        "Региональный координатор: Москва (77)")
    assert Coordinator("mun7701", "municipal", "77", "7701", "Район Арбат").title == (
        "Муниципальный координатор: Район Арбат (7701)")


def test_load_coordinators(tmp_path: Path) -> None:
    path = tmp_path / "coordinators.csv"
    path.write_text("\ufeffid,kind,region_code,municipality_code,name\n"
                    "reg77,regional,77,,Москва\n"
                    "\n"
                    "mun7701,municipal,77,7701,Район Арбат\n"
                    "operator,operator,,,Оператор\n", encoding="utf-8")
    assert load_coordinators(path) == (
        Coordinator("reg77", "regional", "77", None, "Москва"),
        Coordinator("mun7701", "municipal", "77", "7701", "Район Арбат"),
        Coordinator("operator", "operator", "", None, "Оператор"),
    )


def test_load_coordinators_lists_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "coordinators.csv"
    path.write_text("id,kind,region_code,municipality_code,name\n"
                    "reg77,regoinal,77,,Москва\n"
                    "mun7701,municipal,77,,Район Арбат\n"
                    "reg50,regional,50,,Московская область\n"
                    "reg50,regional,50,,Дубль\n"
                    "../x,regional,50,,Путь\n"
                    "reg51,regional,51\n", encoding="utf-8")
    with pytest.raises(CoordinatorFileError) as caught:
        load_coordinators(path)
    assert str(caught.value) == (
        f"{path}: 5 bad lines, fix them and retry:\n"
        "  line 2: kind 'regoinal' is not one of regional, municipal, operator\n"
        "  line 3: a municipal coordinator needs a municipality_code\n"
        "  line 5: id 'reg50' is already used on line 4\n"
        "  line 6: id '../x' is not a plain id (lower-case latin letters, digits, '-' and '_', "
        "starting with a letter or digit, at most 64): it names a folder or a file\n"
        "  line 7: expected 5 values, got 3")
    assert [line for line, _ in caught.value.problems] == [2, 3, 5, 6, 7]


def test_load_coordinators_checks_the_header(tmp_path: Path) -> None:
    path = tmp_path / "coordinators.csv"
    path.write_text("id;kind;region\n", encoding="utf-8")
    with pytest.raises(CoordinatorFileError, match="line 1: the header must be "
                                                   "id,kind,region_code,municipality_code,name"):
        load_coordinators(path)


def test_every_status_reads_as_one_of_the_manuals_four_words() -> None:
    assert {s.label for s in Status} == {"Не приступило", "В работе", "Сдано", "Не сдано"}
    assert Status.NOT_STARTED.label == Status.NEVER_STARTED.label == "Не приступило"
