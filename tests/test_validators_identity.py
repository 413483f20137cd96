"""Identity comes from the signed «_sbor» sheet, never from the file name: every way a template
can be foreign, forged, outdated, early, late or misdelivered is one clear finding."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from forms import MOSCOW, Collection, Form, Identity
from templates import render_template
from tests.workbooks import SECRET, org_for, sample_org, set_cells
from validators import Context, identify, judge

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=MOSCOW)
NEW_TEMPLATE = "Скачайте шаблон своей организации, перенесите в него данные и отправьте снова."


@pytest.fixture(scope="module")
def form(forms_by_id: dict[str, Form]) -> Form:
    return forms_by_id["spo_specialities"]


@pytest.fixture(scope="module")
def collection(collections_by_form: dict[str, Collection], form: Form) -> Collection:
    return collections_by_form[form.id]


def make_context(forms: list[Form], collections: list[Collection], now: datetime = NOW) -> Context:
    participants = {c.id: [org_for(c).login] for c in collections}
    return Context.build(collections, forms, participants, SECRET, now)


@pytest.fixture(scope="module")
def context(forms_by_id: dict[str, Form], collections_by_form: dict[str, Collection]) -> Context:
    return make_context(list(forms_by_id.values()), list(collections_by_form.values()))


@pytest.fixture(scope="module")
def template(form: Form, collection: Collection) -> bytes:
    return render_template(form, collection, org_for(collection), SECRET)


def write(tmp_path: Path, data: bytes, name: str = "spo770012.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def only(path: Path, context: Context, sender: str | None = None) -> tuple[Identity | None, str, str]:
    identity, findings = identify(path, context=context, sender=sender)
    assert len(findings) == 1, findings
    assert findings[0].severity == "error" and findings[0].file == path.name
    return identity, findings[0].code, findings[0].message


def test_a_real_template_is_identified(template: bytes, context: Context, tmp_path: Path,
                                       form: Form, collection: Collection) -> None:
    identity, findings = identify(write(tmp_path, template, "любое имя.xlsx"), context=context,
                                  sender="spo770012")
    assert findings == []
    assert identity == Identity(collection.id, "spo770012", form.id, form.version, form.fingerprint)


def test_a_workbook_without_identity_is_not_a_template(context: Context, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active["A1"] = "Специальности"
    buffer = io.BytesIO()
    wb.save(buffer)
    assert only(write(tmp_path, buffer.getvalue()), context) == (
        None, "no-identity",
        "Файл «spo770012.xlsx»: файл не является шаблоном сбора (в нём нет служебного листа "
        f"шаблона). {NEW_TEMPLATE}")


def test_identity_sheet_removed(template: bytes, context: Context, tmp_path: Path) -> None:
    wb = load_workbook(io.BytesIO(template))
    del wb["_sbor"]
    buffer = io.BytesIO()
    wb.save(buffer)
    assert only(write(tmp_path, buffer.getvalue()), context)[1] == "no-identity"


def test_one_byte_of_the_signature_forged(template: bytes, context: Context, tmp_path: Path) -> None:
    signature = load_workbook(io.BytesIO(template))["_sbor"]["B6"].value
    forged = signature[:10] + ("0" if signature[10] != "0" else "1") + signature[11:]
    data = set_cells(template, "_sbor", {"B6": forged})
    assert only(write(tmp_path, data), context) == (
        None, "forged-identity",
        "Файл «spo770012.xlsx»: служебные данные шаблона изменены или повреждены (подпись не "
        f"сходится). {NEW_TEMPLATE}")


def test_login_edited_to_another_school(template: bytes, context: Context, tmp_path: Path) -> None:
    data = set_cells(template, "_sbor", {"B2": "spo770013"})
    assert only(write(tmp_path, data), context)[:2] == (None, "forged-identity")


def test_identity_signed_with_another_secret(form: Form, collection: Collection, context: Context,
                                             tmp_path: Path) -> None:
    data = render_template(form, collection, org_for(collection), b"someone else's secret")
    assert only(write(tmp_path, data), context)[:2] == (None, "forged-identity")


def test_another_collection(form: Form, collection: Collection, forms_by_id: dict[str, Form],
                            collections_by_form: dict[str, Collection], tmp_path: Path) -> None:
    """A valid template of a collection this run does not know (another operator's, or removed)."""
    schedule = collections_by_form["vpr_spo_schedule"]
    data = render_template(forms_by_id["vpr_spo_schedule"], schedule, org_for(schedule), SECRET)
    context = make_context([form], [collection])
    identity, code, message = only(write(tmp_path, data), context)
    assert identity is not None and identity.collection == schedule.id
    assert (code, message) == (
        "unknown-collection",
        "Файл «spo770012.xlsx»: сбор «vpr-spo-schedule-2027», для которого выдан шаблон, не найден. "
        "Проверьте, тот ли шаблон вы заполнили; скачайте шаблон своей организации, перенесите в него "
        "данные и отправьте снова.")


def test_outdated_form_version(template: bytes, form: Form, collection: Collection, tmp_path: Path) -> None:
    newer = replace(form, version=form.version + 1)
    identity, code, message = only(write(tmp_path, template), make_context([newer], [collection]))
    assert identity is not None and identity.version == form.version
    assert (code, message) == (
        "outdated-form",
        "Файл «spo770012.xlsx»: шаблон устарел (форма «Информация об ОО, реализующих программы СПО, "
        "профессиях и специальностях», версия 1; действует версия 2), скачайте новый шаблон, "
        "перенесите в него данные и отправьте снова.")


def test_changed_layout_with_the_same_version(template: bytes, form: Form, collection: Collection,
                                              tmp_path: Path) -> None:
    sheet = form.sheets[0]
    moved = replace(form, sheets=(replace(sheet, fields=(sheet.fields[1], sheet.fields[0], *sheet.fields[2:])),))
    assert moved.version == form.version and moved.fingerprint != form.fingerprint
    # Not «версия 1; действует версия 1»: the school is told the template was issued anew, and
    # where to take the new one.
    assert only(write(tmp_path, template), make_context([moved], [collection]))[1:] == (
        "outdated-form",
        "Файл «spo770012.xlsx»: шаблон формы «Информация об ОО, реализующих программы СПО, профессиях "
        "и специальностях» выпущен заново (изменена структура листов), а файл заполнен в прежнем "
        "шаблоне. Скачайте новый шаблон своей организации в личном кабинете, в публикации сбора "
        "«Информация об ОО, реализующих программы СПО, профессиях и специальностях. 2026» (или "
        "получите его у координатора), перенесите в него данные и отправьте снова.")


def test_window_closed(template: bytes, form: Form, collection: Collection, tmp_path: Path) -> None:
    late = make_context([form], [collection], now=datetime(2026, 12, 25, 18, 0, tzinfo=MOSCOW))
    assert only(write(tmp_path, template), late)[1:] == (
        "window-closed",
        "Файл «spo770012.xlsx»: приём файлов по сбору «Информация об ОО, реализующих программы СПО, "
        "профессиях и специальностях. 2026» закрыт 25.12.2026 18:00 (МСК); файл сохранён, но не "
        "загружен. Если сдать отчёт нужно, обратитесь к координатору.")


def test_window_not_open_yet(template: bytes, form: Form, collection: Collection, tmp_path: Path) -> None:
    early = make_context([form], [collection], now=datetime(2026, 11, 1, 8, 59, tzinfo=MOSCOW))
    code, message = only(write(tmp_path, template), early)[1:]
    assert code == "window-not-open"
    assert "начнётся 01.11.2026 12:00 (МСК). Отправьте файл после открытия сбора." in message


def test_window_in_another_time_zone_is_compared_as_a_moment(template: bytes, form: Form,
                                                             collection: Collection, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo
    # 17:59 in Moscow is 14:59 UTC: still open.
    utc = make_context([form], [collection], now=datetime(2026, 12, 25, 14, 59, tzinfo=ZoneInfo("UTC")))
    assert identify(write(tmp_path, template), context=utc)[1] == []


def test_not_a_participant(form: Form, collection: Collection, context: Context, tmp_path: Path) -> None:
    stranger = sample_org(number=99)
    data = render_template(form, collection, stranger, SECRET)
    assert only(write(tmp_path, data), context)[1:] == (
        "not-participant",
        "Файл «spo770012.xlsx»: организация spo770099 не участвует в сборе «Информация об ОО, "
        "реализующих программы СПО, профессиях и специальностях. 2026». Если это ошибка, обратитесь "
        "к координатору.")


def test_sender_folder_is_not_the_signed_login(template: bytes, context: Context, tmp_path: Path) -> None:
    assert only(write(tmp_path, template), context, sender="spo770013")[1:] == (
        "wrong-sender",
        "Файл «spo770012.xlsx»: шаблон выдан организации spo770012, а прислан от spo770013. "
        "Отправьте шаблон своей организации (шаблоны других организаций не принимаются).")


def test_outcomes(template: bytes, context: Context, tmp_path: Path) -> None:
    """No valid identity: unreadable. A valid identity with a finding: rejected, nothing read."""
    forged = set_cells(template, "_sbor", {"B2": "spo770013"})
    assert judge(write(tmp_path, forged, "a.xlsx"), context).outcome == "unreadable"
    verdict = judge(write(tmp_path, template, "b.xlsx"), context, sender="spo770013")
    assert verdict.outcome == "rejected"
    assert verdict.identity is not None and verdict.frames == {}
