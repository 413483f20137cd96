"""The organisation registry: reading, writing, generating, and the reference data behind it."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from forms.organisations import Organisation
from forms.registry import (
    COLUMNS,
    RegistryError,
    generate_registry,
    load_registry,
    regions,
    specialities,
    write_registry,
)

HEADER = ",".join(COLUMNS)
GOOD = "edu770001,Школа № 1 полное,Школа № 1,77,г. Москва,7701,ЦАО,edu,"
MANUAL_CODES = ("38.02.01", "38.02.05", "40.02.03", "40.02.04", "43.02.17")


def write_lines(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.fixture
def registry() -> tuple[Organisation, ...]:
    return generate_registry(400, seed=7)


# --- round trip and the generator ---------------------------------------------------------------


def test_generate_write_load_round_trip(tmp_path: Path, registry: tuple[Organisation, ...]) -> None:
    path = tmp_path / "registry.csv"
    write_registry(registry, path)
    assert load_registry(path) == registry


def test_written_registry_opens_in_excel_as_utf8(tmp_path: Path) -> None:
    # Without the BOM, Excel reads a UTF-8 CSV as Windows-1251 and shows mojibake.
    path = tmp_path / "registry.csv"
    write_registry(generate_registry(3), path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + HEADER.encode())


def test_generator_is_deterministic_for_a_seed() -> None:
    assert generate_registry(500, seed=3) == generate_registry(500, seed=3)
    assert generate_registry(500, seed=3) != generate_registry(500, seed=4)


def test_generated_registry_is_plausible(registry: tuple[Organisation, ...]) -> None:
    known_regions, known_codes = regions(), specialities()
    assert len(registry) == 400
    assert len({o.login for o in registry}) == 400
    kinds = Counter(o.kind for o in registry)
    assert 240 <= kinds["edu"] <= 320 and 20 <= kinds["ksh"] <= 70 and 50 <= kinds["spo"] <= 120
    for o in registry:
        assert re.fullmatch(rf"{o.kind}{o.region_code}\d{{4}}", o.login)
        name, municipalities = known_regions[o.region_code]
        assert o.region_name == name
        assert o.municipality_name in municipalities
        assert o.municipality_code == f"{o.region_code}{municipalities.index(o.municipality_name) + 1:02d}"
        assert o.municipality_name in o.full_name and o.short_name and o.short_name != o.full_name
        if o.kind == "spo":
            assert 2 <= len(o.specialities) <= 8
            assert len(set(o.specialities)) == len(o.specialities)
            assert all(code in known_codes for code in o.specialities)
            assert "профессиональное образовательное учреждение" in o.full_name
        else:
            assert o.specialities == ()
            assert "общеобразовательное учреждение" in o.full_name


def test_generator_spreads_over_every_region() -> None:
    orgs = generate_registry(5000, seed=1)
    assert {o.region_code for o in orgs} == set(regions())


def test_generator_refuses_a_negative_size() -> None:
    with pytest.raises(ValueError, match="size must not be negative, got -1"):
        generate_registry(-1)


# --- reference data --------------------------------------------------------------------------------


def test_there_are_89_regions_with_their_municipalities() -> None:
    known = regions()
    assert len(known) == 89
    assert all(re.fullmatch(r"\d{2}", code) for code in known)
    assert known["77"][0] == "г. Москва" and known["78"][0] == "г. Санкт-Петербург"
    assert known["16"][0] == "Республика Татарстан" and "г. Казань" in known["16"][1]
    assert known["89"][0] == "Ямало-Ненецкий автономный округ"
    for code, (name, municipalities) in known.items():
        assert name, code
        assert 3 <= len(municipalities) <= 8, code
        assert len(set(municipalities)) == len(municipalities), code


def test_specialities_are_real_codes_including_the_manuals() -> None:
    known = specialities()
    assert len(known) >= 70
    assert all(re.fullmatch(r"\d{2}\.0[12]\.\d{2}", code) for code in known)
    assert len({code[:2] for code in known}) >= 20  # many ФГОС groups, not one
    assert known["38.02.01"] == "Экономика и бухгалтерский учет (по отраслям)"
    assert known["40.02.04"] == "Юриспруденция"
    assert known["43.02.17"] == "Технологии индустрии красоты"
    assert set(MANUAL_CODES) <= set(known)


# --- bad registries -----------------------------------------------------------------------------------


def test_every_bad_line_is_reported_in_one_error(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "registry.csv",
        HEADER,
        GOOD,  # line 2
        "edu7x0012,Школа,Школа,77,г. Москва,7701,ЦАО,edu,",
        "ksh770002,Школа,Школа,77,г. Москва,7701,ЦАО,edu,",
        "edu770003,Школа,Школа,78,г. Санкт-Петербург,7801,Адмиралтейский район,edu,",
        "edu990001,Школа,Школа,99,Нигде,9901,Нигде,edu,",
        "edu770005,,Школа,77,г. Москва,7701,ЦАО,edu,",  # line 7
        "edu770001,Школа,Школа,77,г. Москва,7701,ЦАО,edu,",
        "edu770007,Школа,Школа,77,г. Москва,7701,ЦАО,edu,38.02.01",
        "spo770001,Колледж,Колледж,77,г. Москва,7701,ЦАО,spo,38.02.01;99.99.99;38.02.01",
        "spo770002,Колледж, экономики,Колледж,77,г. Москва,7701,ЦАО,spo,",  # line 11
        "edu770008,Школа,Школа,77,г. Москва,7701,САО,edu,",
    )
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert str(caught.value) == (
        f"{path} has 10 bad lines:\n"
        "  line 3: login 'edu7x0012' is not like edu770012 (edu|ksh|spo + 2-digit region + 4-digit number)\n"
        "  line 4: kind 'edu' does not match login 'ksh770002' (it starts with ksh)\n"
        "  line 5: region_code '78' does not match login 'edu770003' (region 77)\n"
        "  line 6: region_code '99' is not a known region (see forms/data/regions.csv)\n"
        "  line 7: full_name is empty\n"
        "  line 8: login 'edu770001' is already on line 2\n"
        "  line 9: only spo organisations have specialities, this one is edu\n"
        "  line 10: speciality '99.99.99' is not in spo_specialities.csv\n"
        "  line 10: speciality '38.02.01' is listed twice\n"
        "  line 11: has 10 cells, the header has 9 (a comma or ';' inside a name must be in quotes)\n"
        "  line 12: municipality_code '7701' is 'ЦАО' on line 2, here it is 'САО'"
    )
    assert isinstance(caught.value, ValueError)
    assert [line for line, _ in caught.value.problems] == [3, 4, 5, 6, 7, 8, 9, 10, 10, 11, 12]


def test_a_line_with_several_problems_lists_each(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.csv", HEADER, "spo770001,,,77,г. Москва,7701,ЦАО,edu,")
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert caught.value.problems == (
        (2, "full_name is empty"),
        (2, "short_name is empty"),
        (2, "kind 'edu' does not match login 'spo770001' (it starts with spo)"),
    )
    assert str(caught.value).startswith(f"{path} has 1 bad line:\n")


def test_line_numbers_count_lines_of_the_file_not_records(tmp_path: Path) -> None:
    # A quoted name spanning two lines, and a blank line, both shift what follows.
    path = write_lines(
        tmp_path / "r.csv",
        HEADER,
        'edu770001,"Школа\nс переносом",Школа,77,г. Москва,7701,ЦАО,edu,',
        "",
        "edu770002,Школа,Школа,77,г. Москва,7701,ЦАО,spo,",
    )
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert caught.value.problems == ((5, "kind 'spo' does not match login 'edu770002' (it starts with edu)"),)


def test_missing_header_columns_are_one_clear_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.csv", "login,full_name,short_name,region_code,region_name", GOOD)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert str(caught.value) == (
        f"{path}, line 1: the header lacks municipality_code, municipality_name, kind; it must be: "
        f"{HEADER} (specialities may be left out)"
    )
    assert [line for line, _ in caught.value.problems] == [1]


def test_an_empty_file_names_the_header_it_needs(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.csv")
    with pytest.raises(RegistryError, match="line 1: the header lacks login, full_name"):
        load_registry(path)


def test_nothing_is_half_loaded(tmp_path: Path, registry: tuple[Organisation, ...]) -> None:
    path = tmp_path / "registry.csv"
    write_registry(registry, path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[200] = lines[200].replace(",edu,", ",ksh,", 1) if ",edu," in lines[200] else "x" + lines[200]
    write_lines(path, *lines)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    # Only the broken line is blamed, and no organisation came back at all.
    assert [line for line, _ in caught.value.problems] == [201]


# --- what Excel does to a CSV ------------------------------------------------------------------------


def test_bom_and_semicolons_from_russian_excel_are_accepted(tmp_path: Path) -> None:
    orgs = generate_registry(60, seed=2)
    path = tmp_path / "excel.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(
            (o.login, o.full_name, o.short_name, o.region_code, o.region_name, o.municipality_code,
             o.municipality_name, o.kind, ";".join(o.specialities))
            for o in orgs
        )
        writer.writerow([""] * len(COLUMNS))  # Excel's trailing ";;;;;;;;"
    assert path.read_bytes().startswith(b"\xef\xbb\xbflogin;full_name;")
    assert load_registry(path) == orgs


def test_windows_1251_csv_is_accepted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.csv", HEADER.replace(",", ";"), GOOD.replace(",", ";"), encoding="cp1251")
    (org,) = load_registry(path)
    assert org.full_name == "Школа № 1 полное"


def test_a_binary_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\x98\xff\x00binary")  # 0x98 is undefined in Windows-1251 too
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert str(caught.value) == (
        f"{path} is neither UTF-8 nor Windows-1251 text: save it as CSV UTF-8 and load it again"
    )


def test_leading_zeros_excel_dropped_are_restored(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.csv", HEADER, "edu010001,Школа,Школа,1,Республика Адыгея,101,г. Майкоп,edu,")
    (org,) = load_registry(path)
    assert (org.region_code, org.municipality_code) == ("01", "0101")


def test_specialities_column_is_optional_and_tolerates_commas(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.csv", ",".join(COLUMNS[:-1]), GOOD.rstrip(","))
    assert load_registry(path)[0].specialities == ()
    path = write_lines(tmp_path / "s.csv", HEADER,
                       'spo770001,Колледж,Колледж,77,г. Москва,7701,ЦАО,spo,"38.02.01, 40.02.04"')
    assert load_registry(path)[0].specialities == ("38.02.01", "40.02.04")
