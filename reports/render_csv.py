"""CSV of a report: every table one after another, each under its title row.

UTF-8 with a byte-order mark, so spreadsheet programs open the Chinese text
right; volumes in 万m³ and rates in % as printed, blank cells blank.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from reports.appendix_layout import lead_cells, lead_headers
from reports.document import Appendix, Chart, Document, Figures, Table
from reports.formatting import display, heading, local_time, percent, wan
from reports.labels import appendix_label, language, text


def render_csv(document: Document, lang: str | None = None) -> bytes:
    lang = language(lang)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([heading(document.node_name, document.period, text(lang, document.title), lang)])
    w.writerow([text(lang, "label.node"), document.node_name, document.node_code])
    w.writerow([text(lang, "label.as_of"), local_time(document.as_of)])
    w.writerow([text(lang, "label.built_at"), local_time(document.built_at)])
    w.writerow([text(lang, "label.revision"), document.revision.number])
    w.writerow([text(lang, "label.unit")])
    for c in document.revision.changes:
        w.writerow([text(lang, "section.revision"), text(lang, c.section), text(lang, c.row),
                    text(lang, c.column), display(c.old, c.kind, lang),
                    display(c.new, c.kind, lang)])
    for section in document.sections:
        w.writerow([])
        if isinstance(section, Table):
            w.writerow([text(lang, section.title)])
            w.writerow([text(lang, c.label) for c in section.columns])
            for row in section.rows:
                cells = [display(v, c.kind, lang) for v, c in zip(row.cells, section.columns,
                                                                   strict=True)]
                if row.style == "total":
                    cells[0] = text(lang, cells[0])
                w.writerow(cells)
        elif isinstance(section, Figures):
            w.writerow([text(lang, section.title)])
            for item in section.items:
                w.writerow([text(lang, item.label), display(item.value, item.kind, lang)])
        elif isinstance(section, Chart):
            w.writerow([text(lang, section.title)])
            w.writerow([text(lang, section.category_label),
                        *(text(lang, s.label) for s in section.series)])
            for i, category in enumerate(section.categories):
                values = [s.values[i] for s in section.series]
                w.writerow([category, *("" if v is None else
                                        f"{wan(v):.2f}" if section.kind.value == "volume"
                                        else f"{percent(v):.1f}%" for v in values)])
        else:
            _appendix(w.writerow, section, lang)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _appendix(writerow: Callable[[list[str]], object], section: Appendix, lang: str) -> None:
    """The merged header as one row: each column's header path joined with " / "."""
    table = section.table
    writerow([appendix_label(lang, table.title)])
    for f in table.fields:
        writerow([appendix_label(lang, f.label), "" if f.value is None else str(f.value)])
    writerow([appendix_label(lang, h) for h in lead_headers(table)]
                    + [" / ".join(appendix_label(lang, p) for p in c.header)
                       for c in table.columns])
    for i, row in enumerate(table.rows):
        writerow([appendix_label(lang, x) for x in lead_cells(table, i)]
                        + ["" if v is None else f"{v:.2f}" for v in row.values])
