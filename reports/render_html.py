"""Print-ready HTML of a report (A4 landscape, CJK fonts), charts as inline SVG.

Jinja2 with autoescape renders ``templates/report.html`` from a view of the
document in which every value is already text in the chosen language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from reports.appendix_layout import header_cells, header_depth, lead_cells, lead_headers
from reports.document import Appendix, Chart, Document, Figures, Table, Text
from reports.formatting import display, heading, local_time
from reports.labels import appendix_label, language, text
from reports.svg_charts import chart_svg


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=PackageLoader("reports", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True)


@dataclass(slots=True)
class _Cell:
    text: str
    numeric: bool = False
    rowspan: int = 1
    colspan: int = 1


@dataclass(slots=True)
class _Section:
    key: str
    title: str
    kind: str  # table | figures | chart | appendix
    header_rows: list[list[_Cell]] = field(default_factory=list)
    rows: list[tuple[str, int, list[_Cell]]] = field(default_factory=list)  # style, depth, cells
    svg: Markup | None = None
    notes: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    empty: str = ""


def _note(lang: str, note: Text) -> str:
    return text(lang, note.key, **note.params)


def _table(section: Table, lang: str) -> _Section:
    view = _Section(section.key, text(lang, section.title), "table",
                    notes=[_note(lang, n) for n in section.notes], empty=text(lang, "label.none"))
    view.header_rows = [[_Cell(text(lang, c.label)) for c in section.columns]]
    for row in section.rows:
        cells = [_Cell(display(v, c.kind, lang), c.kind.value in ("volume", "rate", "points",
                                                                  "count", "money"))
                 for v, c in zip(row.cells, section.columns, strict=True)]
        if row.style == "total" and cells:
            cells[0].text = text(lang, cells[0].text)
        view.rows.append((row.style, row.depth, cells))
    return view


def _figures(section: Figures, lang: str) -> _Section:
    view = _Section(section.key, text(lang, section.title), "figures",
                    notes=[_note(lang, n) for n in section.notes])
    for item in section.items:
        cell = _Cell(display(item.value, item.kind, lang), True)
        view.rows.append((item.flag, 0, [_Cell(text(lang, item.label)), cell]))
    return view


def _appendix(section: Appendix, lang: str) -> _Section:
    table = section.table
    view = _Section(section.key, appendix_label(lang, table.title), "appendix",
                    notes=list(table.notes))
    view.fields = [(appendix_label(lang, f.label), "" if f.value is None else str(f.value))
                   for f in table.fields]
    depth = header_depth(table.columns)
    grid: list[list[_Cell]] = [[] for _ in range(depth)]
    first, second = lead_headers(table)
    if second:
        grid[0] += [_Cell(appendix_label(lang, first), rowspan=depth),
                    _Cell(appendix_label(lang, second), rowspan=depth)]
    else:  # 行政分区 spans the group and the area name (附录 B)
        grid[0].append(_Cell(appendix_label(lang, first), rowspan=depth, colspan=2))
    for cell in header_cells(table.columns):
        grid[cell.row].append(_Cell(appendix_label(lang, cell.label), rowspan=cell.rowspan,
                                    colspan=cell.colspan))
    view.header_rows = grid
    for i, row in enumerate(table.rows):
        first, second = lead_cells(table, i)
        cells = [_Cell(appendix_label(lang, first)), _Cell(appendix_label(lang, second))]
        cells += [_Cell("" if v is None else f"{v:.2f}", True) for v in row.values]
        view.rows.append((row.kind, 0, cells))
    return view


def render_html(document: Document, lang: str | None = None) -> str:
    lang = language(lang)
    sections: list[_Section] = []
    for section in document.sections:
        if isinstance(section, Table):
            sections.append(_table(section, lang))
        elif isinstance(section, Figures):
            sections.append(_figures(section, lang))
        elif isinstance(section, Chart):
            sections.append(_Section(section.key, text(lang, section.title), "chart",
                                     svg=Markup(chart_svg(section, lang))))
        else:
            sections.append(_appendix(section, lang))
    revision = document.revision
    changes = [
        (text(lang, c.section), text(lang, c.row), text(lang, c.column),
         display(c.old, c.kind, lang), display(c.new, c.kind, lang))
        for c in revision.changes
    ]
    return _environment().get_template("report.html").render(
        lang=lang, t=lambda key, **params: text(lang, key, **params),
        title=text(lang, document.title), document=document, sections=sections,
        heading=heading(document.node_name, document.period, text(lang, document.title), lang),
        as_of=local_time(document.as_of), built_at=local_time(document.built_at),
        level=text(lang, f"level.{document.node_level}"), revision=revision, changes=changes,
        previous=local_time(revision.previous_built_at) if revision.previous_built_at else "",
        more=revision.changes_total - len(revision.changes),
    )
