"""XLSX of a report (openpyxl): one sheet per section, numbers as numbers, native charts.

Volumes are written in 万m³ (format ``0.00``), rates as fractions (``0.0%``), so
officials can compute with the cells. Appendix tables keep the seed's merged
headers. A chart's sheet holds its data and an openpyxl bar/line chart over it.
"""

from __future__ import annotations

import io
import re
from copy import copy
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.appendix_layout import header_cells, header_depth, lead_cells, lead_headers
from reports.document import Appendix, Chart, Document, Figures, Table, Value, ValueKind
from reports.formatting import display, heading, local_time, number, percent, wan
from reports.labels import appendix_label, language, text

V = ValueKind
_FORMATS = {V.VOLUME: "0.00", V.RATE: "0.0%", V.POINTS: "+0.0%;-0.0%;0.0%", V.MONEY: "#,##0.00",
            V.COUNT: "0"}
_BOLD = Font(bold=True)
_HEAD = PatternFill("solid", fgColor="EDF2F7")
_THIN = Side(style="thin", color="A0AEC0")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _sheet_title(wb: Workbook, title: str) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", " ", title)[:28] or "sheet"
    name, n = clean, 2
    while name in wb.sheetnames:
        name, n = f"{clean[:25]}({n})", n + 1
    return name


_STYLES: WeakKeyDictionary[Workbook, dict[tuple[ValueKind, bool], StyleArray]] = (
    WeakKeyDictionary())
"""Cell styles by kind and weight, made once per workbook (a style holds indexes into its
workbook's tables): openpyxl hashes a style object on every assignment, which dominates a
sheet of thousands of cells; copying a made style does not."""


def _put(ws: Worksheet, row: int, col: int, value: Value, kind: ValueKind, lang: str,
         bold: bool = False) -> None:
    cell = ws.cell(row, col)
    assert isinstance(cell, Cell)
    if kind in (V.TEXT, V.LABEL, V.TIME):
        cell.value = display(value, kind, lang) or None
    else:
        cell.value = number(value, kind)
    assert ws.parent is not None
    styles = _STYLES.setdefault(ws.parent, {})
    made = styles.get((kind, bold))
    if made is not None:
        setattr(cell, "_style", copy(made))  # noqa: B010 - openpyxl's style slot, untyped
        return
    if kind not in (V.TEXT, V.LABEL, V.TIME):
        cell.number_format = _FORMATS.get(kind, "General")
    cell.border = _BOX
    if bold:
        cell.font = _BOLD
    styles[(kind, bold)] = copy(getattr(cell, "_style"))  # noqa: B009


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row, col, label)
        cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEAD, _BOX, _CENTRE


def _title(ws: Worksheet, title: str, unit: str) -> int:
    ws.cell(1, 1, title).font = Font(bold=True, size=13)
    ws.cell(2, 1, unit)
    return 4


def _table(ws: Worksheet, section: Table, lang: str, start: int) -> None:
    _header(ws, start, [text(lang, c.label) for c in section.columns])
    for r, row in enumerate(section.rows, start=start + 1):
        for c, (value, column) in enumerate(zip(row.cells, section.columns, strict=True), 1):
            shown = text(lang, str(value)) if row.style == "total" and c == 1 else value
            _put(ws, r, c, shown, column.kind, lang, bold=row.style == "total")
        if row.depth:
            ws.cell(r, 1).alignment = Alignment(indent=row.depth)
    last = start + len(section.rows) + 2
    for i, note in enumerate(section.notes):
        ws.cell(last + i, 1, text(lang, note.key, **note.params))
    for c in range(1, len(section.columns) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 16 if c > 1 else 24


def _figures(ws: Worksheet, section: Figures, lang: str, start: int) -> None:
    for r, item in enumerate(section.items, start=start):
        ws.cell(r, 1, text(lang, item.label)).border = _BOX
        _put(ws, r, 2, item.value, item.kind, lang)
    for i, note in enumerate(section.notes):
        ws.cell(start + len(section.items) + 1 + i, 1, text(lang, note.key, **note.params))
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 18


def _chart(ws: Worksheet, section: Chart, lang: str, start: int) -> None:
    _header(ws, start, [text(lang, section.category_label) or "",
                        *(text(lang, s.label) for s in section.series)])
    for r, category in enumerate(section.categories, start=start + 1):
        ws.cell(r, 1, category)
        for c, series in enumerate(section.series, start=2):
            value = series.values[r - start - 1]
            shown = None if value is None else float(
                wan(value) if section.kind is V.VOLUME else percent(value))
            ws.cell(r, c, shown).number_format = "0.00" if section.kind is V.VOLUME else "0.0"
    end = start + len(section.categories)
    cats = Reference(ws, min_col=1, min_row=start + 1, max_row=end)
    unit = text(lang, "label.unit_short") if section.kind is V.VOLUME else "%"
    bars, lines = BarChart(), LineChart()
    for c, series in enumerate(section.series, start=2):
        target = bars if series.style == "bar" else lines
        target.add_data(Reference(ws, min_col=c, min_row=start, max_row=end), titles_from_data=True)
    chart = bars if bars.series else lines
    chart.set_categories(cats)
    if bars.series and lines.series:
        lines.set_categories(cats)
        chart += lines
    chart.title = text(lang, section.title)
    chart.y_axis.title = unit
    chart.width, chart.height = 24, 11
    ws.add_chart(chart, f"{get_column_letter(len(section.series) + 3)}{start}")


def _appendix(ws: Worksheet, section: Appendix, lang: str, start: int) -> None:
    table = section.table
    for i, f in enumerate(table.fields):
        ws.cell(start + i, 1, appendix_label(lang, f.label))
        ws.cell(start + i, 3, None if f.value is None else str(f.value))
    top = start + len(table.fields) + 1
    depth = header_depth(table.columns)
    first, second = lead_headers(table)
    ws.cell(top, 1, appendix_label(lang, first))
    if second:
        ws.cell(top, 2, appendix_label(lang, second))
        ws.merge_cells(start_row=top, start_column=1, end_row=top + depth - 1, end_column=1)
        ws.merge_cells(start_row=top, start_column=2, end_row=top + depth - 1, end_column=2)
    else:  # 行政分区 spans the group and the area name (附录 B)
        ws.merge_cells(start_row=top, start_column=1, end_row=top + depth - 1, end_column=2)
    for h in header_cells(table.columns):
        row, col = top + h.row, 3 + h.col
        ws.cell(row, col, appendix_label(lang, h.label))
        if h.rowspan > 1 or h.colspan > 1:
            ws.merge_cells(start_row=row, start_column=col, end_row=row + h.rowspan - 1,
                           end_column=col + h.colspan - 1)
    for r in range(top, top + depth):
        for c in range(1, 3 + len(table.columns)):
            cell = ws.cell(r, c)
            cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEAD, _BOX, _CENTRE
    for i, line in enumerate(table.rows):
        r = top + depth + i
        first, second = lead_cells(table, i)
        ws.cell(r, 1, appendix_label(lang, first) or None).border = _BOX
        ws.cell(r, 2, appendix_label(lang, second)).border = _BOX
        for c, value in enumerate(line.values, start=3):
            cell = ws.cell(r, c, None if value is None else float(value))
            cell.number_format, cell.border = "0.00", _BOX
            if line.kind in ("total", "subtotal"):
                cell.font = _BOLD
    for i, note in enumerate(table.notes):
        ws.cell(top + depth + len(table.rows) + 1 + i, 1, note)
    ws.column_dimensions["B"].width = 18


def render_xlsx(document: Document, lang: str | None = None) -> bytes:
    lang = language(lang)
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = _sheet_title(wb, text(lang, document.title))
    head = heading(document.node_name, document.period, text(lang, document.title), lang)
    cover.cell(1, 1, head).font = Font(bold=True, size=14)
    meta = [("label.node", f"{document.node_name} ({document.node_code})"),
            ("label.period", document.period), ("label.as_of", local_time(document.as_of)),
            ("label.built_at", local_time(document.built_at)),
            ("label.revision", str(document.revision.number))]
    for i, (key, value) in enumerate(meta, start=2):
        cover.cell(i, 1, text(lang, key))
        cover.cell(i, 2, value)
    if document.revision.number > 1:
        _revision(cover, document, lang, len(meta) + 3)
    unit = text(lang, "label.unit")
    for section in document.sections:
        if isinstance(section, Appendix):
            title = appendix_label(lang, section.table.title)
        else:
            title = text(lang, section.title)
        ws = wb.create_sheet(_sheet_title(wb, title))
        start = _title(ws, title, unit)
        if isinstance(section, Table):
            _table(ws, section, lang, start)
        elif isinstance(section, Figures):
            _figures(ws, section, lang, start)
        elif isinstance(section, Chart):
            _chart(ws, section, lang, start)
        else:
            _appendix(ws, section, lang, start)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _revision(ws: Worksheet, document: Document, lang: str, row: int) -> None:
    r = document.revision
    previous = local_time(r.previous_built_at) if r.previous_built_at else ""
    ws.cell(row, 1, text(lang, "section.revision")).font = _BOLD
    ws.cell(row + 1, 1, text(lang, "revision.revised", number=str(r.number), previous=previous,
                             count=str(r.changes_total)))
    _header(ws, row + 2, [text(lang, k) for k in
                          ("col.section", "col.row", "col.figure", "col.old", "col.new")])
    for i, c in enumerate(r.changes, start=row + 3):
        for col, value in enumerate((text(lang, c.section), text(lang, c.row),
                                     text(lang, c.column)), start=1):
            ws.cell(i, col, value)
        _put(ws, i, 4, c.old, c.kind, lang)
        _put(ws, i, 5, c.new, c.kind, lang)
    if r.changes_total > len(r.changes):
        ws.cell(row + 3 + len(r.changes), 1,
                text(lang, "revision.more", count=str(r.changes_total - len(r.changes))))
    ws.column_dimensions["A"].width = 24
