"""Simulated schools for the demo and the benchmarks: each fills its own template the way a person
would (openpyxl, like Excel would save it), most correctly, some with mistakes.

It lives in flows/ because it is the demo's stand-in for the schools, not part of the product.
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from openpyxl import load_workbook

from forms import Collection, Form, Organisation, Sheet
from forms.layout import cell_of

Row = dict[str, Any]  # field number → value as typed


def _choice(form: Form, sheet: Sheet, number: str, rng: random.Random, avoid: str | None = None) -> str:
    values = [v for v in form.choices_for(sheet.field(number)) if v != avoid]
    return rng.choice(values)


def specialities_rows(form: Form, sheet: Sheet, org: Organisation, rng: random.Random) -> list[Row]:
    values = form.choices_for(sheet.field("1"))
    by_code = {v.split(" ", 1)[0]: v for v in values}
    chosen = [by_code[c] for c in org.specialities if c in by_code] or rng.sample(list(values), 3)
    rows: list[Row] = []
    for value in chosen:
        budget, paid = rng.randint(0, 60), rng.randint(0, 30)
        quota = rng.randint(0, 50)
        rows.append({
            "1": value, "1.1": _choice(form, sheet, "1.1", rng), "1.2": _choice(form, sheet, "1.2", rng),
            "2": rng.randint(1, 2), "3": budget + paid, "3.1": budget, "3.2": paid,
            "4": quota, "5": quota + rng.randint(0, 40), "6": rng.choice(["Да", "Нет"]),
        })
    return rows


def schedule_rows(form: Form, sheet: Sheet, collection: Collection, rng: random.Random) -> list[Row]:
    start = collection.period_start or date.today()
    end = collection.period_end or start + timedelta(days=30)
    span = (end - start).days
    subjects = [v for v in form.choices_for(sheet.field("1")) if v != "не участвует"]
    if rng.random() < 0.15:
        return [{"1": "не участвует"}]
    rows: list[Row] = []
    for subject in rng.sample(subjects, min(len(subjects), rng.randint(1, 3))):
        for _ in range(rng.randint(1, 2)):
            rows.append({
                "1": subject,
                "2": start + timedelta(days=rng.randint(0, span)), "3": rng.randint(1, 4),
                "4": rng.randint(10, 90),
                "5": start + timedelta(days=rng.randint(0, span)), "6": rng.randint(1, 3),
                "7": rng.randint(5, 60),
            })
    return rows


def card_row(form: Form, sheet: Sheet, org: Organisation, rng: random.Random) -> Row:
    computers = rng.randint(5, 60)
    return {
        "1": org.full_name, "2": rng.choice(["Иванова Мария Петровна", "Смирнов Алексей Игоревич",
                                             "Кузнецова Ольга Викторовна"]),
        "3": rng.choice(["Заместитель директора по УВР", "Директор", "Учитель информатики"]),
        "4": "+7" + "".join(str(rng.randint(0, 9)) for _ in range(10)),
        "5": f"school{org.login[-4:]}@example.ru", "6": computers, "7": rng.randint(0, computers),
        "8": rng.randint(2, 20), "9": _choice(form, sheet, "9", rng),
        **{str(n): rng.choice(["Да", "Нет"]) for n in range(10, 17)},
        "17": rng.randint(100, 1500), "18": date(2027, 3, rng.randint(1, 20)), "19": None,
    }


def good_values(form: Form, collection: Collection, org: Organisation, rng: random.Random) -> dict[str, list[Row]]:
    """Correct answers for every sheet of the form, as a careful school would type them."""
    out: dict[str, list[Row]] = {}
    for sheet in form.sheets:
        if sheet.kind == "card":
            out[sheet.name] = [card_row(form, sheet, org, rng)]
        elif form.id == "spo_specialities":
            out[sheet.name] = specialities_rows(form, sheet, org, rng)
        else:
            out[sheet.name] = schedule_rows(form, sheet, collection, rng)
    return out


def spoil(form: Form, values: dict[str, list[Row]], rng: random.Random, mistakes: int = 3) -> dict[str, list[Row]]:
    """The same answers with a few typical mistakes: a sum that does not add up, text in a number
    cell, a value that is not in the list, a negative count."""
    spoiled = {name: [dict(r) for r in rows] for name, rows in values.items()}
    sheets = [s for s in form.sheets if spoiled.get(s.name)]
    for _ in range(mistakes):
        sheet = rng.choice(sheets)
        row = rng.choice(spoiled[sheet.name])
        numbers = [f for f in sheet.fields if f.type == "integer"]
        kind = rng.choice(["text", "list", "negative"])
        if kind == "text" and numbers:
            row[rng.choice(numbers).number] = rng.choice(["много", "двадцать", "нет данных"])
        elif kind == "negative" and numbers:
            row[rng.choice(numbers).number] = -rng.randint(1, 20)
        else:
            choice = next((f for f in sheet.fields if f.type in ("choice", "yesno")), None)
            if choice is not None:
                row[choice.number] = rng.choice(["Другое", "?", "Прочее"])
    return spoiled


def fill(template: bytes, form: Form, values: Mapping[str, list[Row]]) -> bytes:
    """Type the values into the template's entry cells and save, as Excel would."""
    wb = load_workbook(io.BytesIO(template))
    for sheet in form.sheets:
        ws = wb[sheet.name]
        for i, row in enumerate(values.get(sheet.name, [])):
            for number, value in row.items():
                ws[cell_of(sheet, number, i).address] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
