"""The annotated workbook a rejected file earns, the fast way: a probe rendered once per form and
collection by the reference renderer (``templates/answers/feedback.py``), then per file only the parts
that differ: about 1 ms for 50 rows, against 30-60 ms with openpyxl, which at one rejected file in
ten was more than all the rest of ingesting a file (``bench/bench_answers.py``).

What differs between two schools' annotated workbooks: the «Ошибки» sheet, the form sheets'
values and marks with their comments (``templates/answers/feedback_sheets.py``), the organisation's
cells on the title and identity sheets, and the range of the «Ошибки» filter in the workbook
part. The probe is the reference's own output for no values and findings of every severity at
cells it does not mark, so it carries every part, style and relationship the real ones need; its
styles are extended once with each cell style filled in each severity's colour. What the splice
does not cover (a mark on a service sheet, a time of day, a date in a cell without a date
format) is rendered by the reference renderer, for that file only.

One deliberate difference: a marked empty cell in the entry area keeps its column's style
(unlocked, its number format) under the fill, so the school can type into it; the reference
gives it the default style, which is locked on a protected sheet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from openpyxl import Workbook
from openpyxl.utils.cell import get_column_letter

from forms.collection import Collection
from forms.findings import Finding
from forms.organisations import Organisation
from forms.spec import Form
from templates.answers.feedback import (
    FINDINGS_HEADER_ROW,
    FINDINGS_SHEET,
    MARK_COLUMN_MARGIN,
    MARK_ROW_MARGIN,
    _entry_area,
    _findings_sheet,
    _mark,
    _summary,
    render_feedback,
)
from templates.answers.feedback_sheets import (
    CELL,
    DIMENSION,
    ROW,
    SEVERITIES,
    NotSpliceable,
    column_index,
    deflate,
    extend_styles,
    form_sheet,
    inflate,
    number_text,
    sheet_parts,
    string_cell,
    style_of,
)
from templates.answers.findings_table import (
    HEADERS,
    SEVERITY_TEXT,
    cell_position,
    finding_height,
    rule_marks,
    sort_findings,
    text,
    value_cell,
)
from templates.school import (
    PROBE_ORG,
    Personaliser,
    SheetSplicer,
    build_workbook,
    sheet_members,
    workbook_bytes,
    wrap_columns,
)
from templates.xlsx import ZipSkeleton, attr, read_members

_PROBE_FILE = "probe.xlsx"
# Probe findings sit far below every sheet: listed and linked on «Ошибки», never marked.
_FAR_ROW = 1_000_000


class FeedbackFactory:
    """Annotated workbooks of one form and collection, many times over: the same workbook as
    ``render_feedback`` (which it falls back on where the splice does not reach).

    >>> factory = FeedbackFactory(form, collection, secret)
    >>> data = factory.render(org, verdict.cells, verdict.findings, "отчёт.xlsx")
    """

    def __init__(self, form: Form, collection: Collection, secret: bytes) -> None:
        self.form = form
        self.collection = collection
        self.secret = secret
        try:
            self._splice: _Splice | None = _Splice(form, collection, secret)
        except NotSpliceable:
            self._splice = None

    def render(self, org: Organisation, cells: Mapping[str, Mapping[str, object]],
               findings: Sequence[Finding], file_name: str) -> bytes:
        """The school's workbook with its values, every finding marked, and «Ошибки» first."""
        data = self._splice.render(org, cells, findings, file_name) if self._splice is not None else None
        if data is None:
            data = render_feedback(self.form, self.collection, org, self.secret, cells, findings, file_name)
        return data

    @property
    def spliced(self) -> bool:
        """False when this form's workbook is beyond the splice and every file is rendered by
        the reference renderer."""
        return self._splice is not None


class _Splice:
    """The probe taken apart, and the per-file splice."""

    def __init__(self, form: Form, collection: Collection, secret: bytes) -> None:
        self.form = form
        self.secret = secret
        self.personaliser = Personaliser(form, collection)
        form_names = {s.name for s in form.sheets}
        probe_findings = [Finding("probe", severity, "—", _PROBE_FILE, form.sheets[0].name,
                                  f"A{_FAR_ROW + i}", None, "—") for i, severity in enumerate(SEVERITIES)]
        probe_findings.append(Finding("probe", "error", "—", _PROBE_FILE))
        wb = build_workbook(form, collection)
        _mark(wb, form, probe_findings)
        _findings_sheet(wb, form, probe_findings, _PROBE_FILE)
        _select_findings(wb)
        members = {m.name: m for m in read_members(workbook_bytes(wb))}
        self.paths = sheet_members({n: inflate(members[n]).encode()
                                    for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")})
        self.sheet_names = frozenset(self.paths)
        self.styles = extend_styles(inflate(members["xl/styles.xml"]))
        self.workbook = inflate(members["xl/workbook.xml"])
        probe_filter = f"'{FINDINGS_SHEET}'!$A${FINDINGS_HEADER_ROW}:$G${FINDINGS_HEADER_ROW + len(probe_findings)}"
        if attr(probe_filter) not in self.workbook:
            raise NotSpliceable("no filter range of the findings sheet in the probe's workbook part")
        self._filter = attr(probe_filter)
        self.findings_sheet = _FindingsSheet(inflate(members[self.paths[FINDINGS_SHEET]]))
        wrapping = wrap_columns(form)
        self.sheets = {s.name: form_sheet(s, self.paths[s.name], inflate(members[self.paths[s.name]]), members,
                                          wrapping.get(s.name))
                       for s in form.sheets}
        personal = {t: c for t, c in self.personaliser.cells(PROBE_ORG, secret).items() if t not in form_names}
        self._splicers = {t: SheetSplicer(inflate(members[self.paths[t]]).encode(), frozenset(c))
                          for t, c in personal.items()}
        members["xl/styles.xml"] = members["xl/styles.xml"].with_content(*deflate(self.styles.xml))
        variable = {self.paths[FINDINGS_SHEET], "xl/workbook.xml", *(self.paths[t] for t in personal)}
        for part in self.sheets.values():
            variable.add(part.path)
            if part.comments is not None:
                variable |= {part.comments.path, part.comments.vml_path}
        self.skeleton = ZipSkeleton(list(members.values()), variable)

    def render(self, org: Organisation, cells: Mapping[str, Mapping[str, object]],
               findings: Sequence[Finding], file_name: str) -> bytes | None:
        """The annotated workbook; None when something in it needs the reference renderer."""
        by_cell = self._marks(rule_marks(self.form, findings))
        if by_cell is None:
            return None
        parts: dict[str, tuple[bytes, int, int]] = {}
        for name, part in self.sheets.items():
            written = sheet_parts(part, self.styles, cells.get(name), by_cell.get(name, {}))
            if written is None:
                return None
            for path, xml in written.items():
                parts[path] = deflate(xml)
        personal = self.personaliser.cells(org, self.secret)
        for title, splicer in self._splicers.items():
            parts[self.paths[title]] = splicer.splice(personal.get(title, {}))
        ordered = sort_findings(findings, [s.name for s in self.form.sheets])
        xml, last = self.findings_sheet.render(ordered, file_name, findings, self.sheet_names)
        parts[self.paths[FINDINGS_SHEET]] = deflate(xml)
        own_filter = attr(f"'{FINDINGS_SHEET}'!$A${FINDINGS_HEADER_ROW}:$G${last}")
        parts["xl/workbook.xml"] = deflate(self.workbook.replace(self._filter, own_filter))
        return self.skeleton.write(parts)

    def _marks(self, findings: Sequence[Finding]) -> dict[str, dict[tuple[int, int], list[Finding]]] | None:
        """Findings by form sheet and cell, as the reference marks them; None if one would be
        marked on a sheet the splice leaves alone."""
        by_cell: dict[str, dict[tuple[int, int], list[Finding]]] = {}
        for finding in findings:
            position = cell_position(finding.cell)
            # The reference marks before it adds «Ошибки»: a finding there is never marked.
            if finding.worksheet not in self.sheet_names or finding.worksheet == FINDINGS_SHEET or position is None:
                continue
            part = self.sheets.get(finding.worksheet)
            last, width = (60, 10) if part is None else _entry_area(part.sheet)[1:]
            if position[0] > last + MARK_ROW_MARGIN or position[1] > width + MARK_COLUMN_MARGIN:
                continue
            if part is None:
                return None  # a mark on the title, instruction or a hidden sheet
            by_cell.setdefault(finding.worksheet, {}).setdefault(position, []).append(finding)
        return by_cell


def _select_findings(wb: Workbook) -> None:
    """As render_feedback leaves it: the «Ошибки» sheet first, active and the only one selected."""
    wb.active = 0
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws.title == FINDINGS_SHEET


class _FindingsSheet:
    """The «Ошибки» sheet of the probe, taken apart: its frame, and the style of each column
    of a finding's row by severity (the cell column's with a link and without)."""

    def __init__(self, xml: str) -> None:
        start, end = xml.index("<sheetData>") + len("<sheetData>"), xml.index("</sheetData>")
        self.head = DIMENSION.sub("{dimension}", xml[:start].replace("{", "{{").replace("}", "}}"), count=1)
        rows = {int(m.group(1)): (m.group(2),
                                  {column_index(c.group(1)): c.group(0) for c in CELL.finditer(m.group(3) or "")})
                for m in ROW.finditer(xml[start:end])}
        self.title_style = style_of(rows[1][1][1])
        self.hint_style = style_of(rows[2][1][1])
        self.header = f'<row r="{FINDINGS_HEADER_ROW}"{rows[FINDINGS_HEADER_ROW][0]}>' + "".join(
            rows[FINDINGS_HEADER_ROW][1][c] for c in sorted(rows[FINDINGS_HEADER_ROW][1])) + "</row>"
        probe = [rows[FINDINGS_HEADER_ROW + 1 + i][1] for i in range(len(SEVERITIES) + 1)]
        # The probe's rows, sorted as the reference sorts: the file-level error (no link), then
        # the linked error, warning and note.
        linked = {severity: [style_of(cells[c]) for c in range(1, len(HEADERS) + 1)]
                  for severity, cells in zip(("error-file", "error", "warning", "note"), probe, strict=True)}
        self.styles = {s: linked[s] for s in SEVERITIES}
        self.unlinked = linked["error-file"][2]  # the cell column without a link
        tail = xml[end:]
        tail = re.sub(r'<autoFilter ref="[^"]*" ?/>', "{filter}", tail.replace("{", "{{").replace("}", "}}"), count=1)
        tail = re.sub(r"<hyperlinks>.*?</hyperlinks>", "{links}", tail, count=1, flags=re.S)
        if "{filter}" not in tail or "{links}" not in tail:
            raise NotSpliceable("the probe's findings sheet has no filter or no links")
        self.tail = tail

    def render(self, ordered: Sequence[Finding], file_name: str, findings: Sequence[Finding],
               linkable: frozenset[str]) -> tuple[str, int]:
        """(the sheet's XML, its last row)."""
        head, how = _summary(file_name, findings)
        rows = [f'<row r="1">{string_cell("A1", self.title_style, head)}</row>',
                f'<row r="2">{string_cell("A2", self.hint_style, how)}</row>', self.header]
        links: list[str] = []
        row = FINDINGS_HEADER_ROW
        for n, finding in enumerate(ordered, start=1):
            row += 1
            styles = list(self.styles.get(finding.severity, self.styles["note"]))
            link = finding.worksheet in linkable and cell_position(finding.cell) is not None
            if not link:
                styles[2] = self.unlinked
            values = (finding.worksheet, finding.cell, finding.field, value_cell(finding.value), finding.message,
                      SEVERITY_TEXT.get(finding.severity, finding.severity))
            cells = [f'<c r="A{row}" s="{styles[0]}" t="n"><v>{n}</v></c>']
            for col, value in enumerate(values, start=2):
                address = f"{get_column_letter(col)}{row}"
                if isinstance(value, (int, float)):  # a number the school typed, as a number
                    cells.append(f'<c r="{address}" s="{styles[col - 1]}" t="n"><v>{number_text(value)}</v></c>')
                    continue
                shown = text(value)
                cells.append(string_cell(address, styles[col - 1], shown) if shown
                             else f'<c r="{address}" s="{styles[col - 1]}"/>')
            height = finding_height(finding)
            rows.append(f'<row r="{row}" ht="{height:g}" customHeight="1">{"".join(cells)}</row>')
            if link:
                location = f"'{finding.worksheet}'!{finding.cell}"
                links.append(f'<hyperlink ref="C{row}" location="{attr(location)}" '
                             f'display="{attr(str(finding.cell))}" />')
        last = max(row, FINDINGS_HEADER_ROW + 1)
        tail = self.tail.format(filter=f'<autoFilter ref="A{FINDINGS_HEADER_ROW}:G{last}" />',
                                links=f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "")
        dimension = f'<dimension ref="A1:G{max(row, FINDINGS_HEADER_ROW)}" />'
        return self.head.format(dimension=dimension) + "".join(rows) + tail, last

