"""PDF of a report: the print-ready HTML printed by headless Chromium (Debian's ``chromium``).

The one place that runs the browser for reports. CJK text needs a CJK font on
the machine (Debian ``fonts-noto-cjk``); without Chromium, ``PdfUnavailableError``
says so and the HTML, XLSX and CSV formats still work.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from reports.document import Document
from reports.render_html import render_html

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
PRINT_TIMEOUT_S = 120
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-pdf-header-footer",
                  "--no-first-run")


class PdfUnavailableError(RuntimeError):
    pass


def chromium_path() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str) -> bytes:
    browser = chromium_path()
    if browser is None:
        raise PdfUnavailableError("PDF needs Chromium (apt-get install chromium fonts-noto-cjk); "
                                  "HTML, XLSX and CSV are available")
    with tempfile.TemporaryDirectory(prefix="wb-report-") as folder:
        page, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        result = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={folder}/profile",
             f"--print-to-pdf={pdf}", page.as_uri()],
            capture_output=True, timeout=PRINT_TIMEOUT_S, check=False)
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise PdfUnavailableError(
                f"Chromium printed no PDF (exit {result.returncode}): "
                f"{result.stderr.decode(errors='replace')[-400:]}")
        return pdf.read_bytes()


def render_pdf(document: Document, lang: str | None = None) -> bytes:
    return html_to_pdf(render_html(document, lang))
