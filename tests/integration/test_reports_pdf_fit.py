"""Issue 12: the final accounts' PDF fits the landscape page — appendix B's 合计 column
was cut off at the page edge. Checked on the rendered pages: Chromium clips what
overflows at the printable area's right edge; the page body keeps 8 px of padding,
so only overflowing content can draw in the last millimetre before that edge."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from budget import repository as budget_repo
from budget import service as budget_service
from budget.ganzhou_files import DEMO_MANIFEST, load_import
from reports import service
from reports.render_pdf import chromium_path, render_pdf

pytestmark = pytest.mark.integration
DPI = 100
MARGIN_MM = 10  # @page margin left and right (reports/templates/report.html)
A4_LANDSCAPE_MM = (297, 210)


def drawn_at_the_right_edge(png: Path) -> int:
    """Non-white pixels in the last millimetre inside the printable area's right edge."""
    image = Image.open(png).convert("L")
    width, height = image.size
    assert abs(width - A4_LANDSCAPE_MM[0] / 25.4 * DPI) < 3, "not an A4 landscape page"
    edge = round((A4_LANDSCAPE_MM[0] - MARGIN_MM) / 25.4 * DPI)
    band = image.crop((edge - round(DPI / 25.4), 0, edge, height))
    return sum(1 for value in band.tobytes() if value < 235)


@pytest.mark.skipif(
    chromium_path() is None or shutil.which("pdftoppm") is None,
    reason="needs Chromium and pdftoppm (apt-get install chromium poppler-utils)",
)
def test_the_ganzhou_final_accounts_fit_the_page(database_url, tmp_path):
    with psycopg.connect(database_url) as conn:
        budget_service.apply_import(
            conn,
            plan=load_import(DEMO_MANIFEST),
            by="test",
            now=datetime(2024, 1, 1, tzinfo=UTC),
            discrepancies=[],
        )
        district = budget_repo.load_hierarchy(conn).by_code("ganzhou")
        assert district is not None
        issued = service.issue(
            conn,
            kind="final_accounts",
            node_id=district.node_id,
            period="2024",
            built_at=datetime(2025, 1, 5, tzinfo=UTC),
            by="test",
        )
        assert issued.report.document is not None
        pdf = tmp_path / "final.pdf"
        pdf.write_bytes(render_pdf(issued.report.document, "zh"))
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3  # the appendices start on pages of their own
    overflowing = {p.name: n for p in pages if (n := drawn_at_the_right_edge(p))}
    assert overflowing == {}
