"""The download formats of a report, by name: what the API and the command line offer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reports.document import Document
from reports.render_csv import render_csv
from reports.render_html import render_html
from reports.render_pdf import render_pdf
from reports.render_xlsx import render_xlsx


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    media_type: str
    render: Callable[[Document, str | None], bytes]


FORMATS = {
    f.name: f
    for f in (
        Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               render_xlsx),
        Format("html", "text/html; charset=utf-8",
               lambda d, lang: render_html(d, lang).encode("utf-8")),
        Format("pdf", "application/pdf", render_pdf),
        Format("csv", "text/csv; charset=utf-8", render_csv),
    )
}


def file_name(document: Document, fmt: str) -> str:
    revision = f"-r{document.revision.number}" if document.revision.number > 1 else ""
    return f"{document.node_code}-{document.kind}-{document.period}{revision}.{fmt}"
