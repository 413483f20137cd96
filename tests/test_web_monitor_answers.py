"""A school's answers as its coordinator reads them (issue 14): the form's own rendering,
read-only, the warnings at their inputs with the school's explanations beside them, and the
history of web submissions and files; only for coordinators whose territory holds the school."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cabinet_site import Site, close
from tests.collect_site import COLLEGE, NAMES, SPO
from tests.monitor_site import EXPLANATION, build_explained_site

URL = f"/monitor/{SPO}/schools/{COLLEGE}"


@pytest.fixture()
def esite(tmp_path: Path, database_url: str) -> Iterator[Site]:
    built = build_explained_site(tmp_path, database_url)
    yield built
    close(built)


def test_the_coordinator_reads_the_form_with_the_schools_explanation(esite: Site) -> None:
    for login in ("reg77", "mun7702", "operator"):
        page = esite.signed_in(login, "10.0.3.1").get(URL)
        assert page.status_code == 200, login
        text = page.text
        # The grid of the form page: the five rows of the example, each a read-only input.
        assert all(f'value="{name}"' in text for name in NAMES)
        assert 'id="c-specialities-0-8" data-field="5" value="20"' in text
        warning = "заявлений (20) меньше, чем бюджетных мест (25). Проверьте графы 4 и 5."
        # Beside the warning in the list above the form, linked to its input, and in the history.
        assert re.search(rf'<a href="#c-specialities-0-8">[^<]*{re.escape(warning)}</a>\s*<p class="explanation">'
                         rf"Пояснение организации: «{EXPLANATION}»</p>", text), text
        assert text.count(f"Пояснение организации: «{EXPLANATION}»") == 2
        assert "веб-форма" in text and "Принят с предупреждениями" in text
        assert re.findall(r'<form method="post" action="([^"]+)"', text) == ["/logout"]
    # Another municipality's coordinator gets nothing of it.
    assert esite.signed_in("mun7701", "10.0.3.2").get(URL).status_code == 404
    assert esite.signed_in("reg50", "10.0.3.3").get(URL).status_code == 404
