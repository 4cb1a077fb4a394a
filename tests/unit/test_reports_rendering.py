"""Renderers over documents: XLSX (openpyxl reads it back), HTML, SVG, CSV; labels; page view."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from xml.etree import ElementTree

from openpyxl import load_workbook

from budget.hierarchy import Node, NodeLevel
from budget.kinds import Sector, Source
from budget.plan_profile import IRRIGATION_SEASON
from budget.year_ledger import BUDGET_TIMEZONE
from reports.appendix_layout import header_cells
from reports.document import ValueKind
from reports.final_accounts import final_accounts
from reports.formatting import display, wan
from reports.labels import appendix_label, text
from reports.monthly import monthly_report
from reports.render_csv import render_csv
from reports.render_html import render_html
from reports.render_xlsx import render_xlsx
from reports.revisions import revised
from reports.svg_charts import chart_svg
from tests.unit.report_inputs import inputs
from water_user_page.view import CardSession, my_water

D = Decimal
YEAR_END = datetime(2025, 1, 1, tzinfo=BUDGET_TIMEZONE)


def test_volumes_in_wan_m3_with_two_decimals_and_blank_stays_blank():
    assert wan(D("538260")) == D("53.83")
    assert display(D("5382600"), ValueKind.VOLUME, "zh") == "538.26"
    assert display(D("0.1234"), ValueKind.RATE, "zh") == "12.3%"
    assert display(None, ValueKind.VOLUME, "zh") == ""
    assert display("source.groundwater", ValueKind.LABEL, "en") == "Groundwater"
    assert text("zh", "no.such.key") == "no.such.key"


def test_xlsx_has_numbers_in_wan_m3_and_native_charts():
    doc = monthly_report(inputs())
    wb = load_workbook(io.BytesIO(render_xlsx(doc)))
    nodes = wb[text("zh", "section.nodes")]
    header = [c.value for c in nodes[4]]
    assert header[:5] == ["预算单元", "代码", "层级", "预算水量", "累计用水"]
    first = [c.value for c in nodes[5]]
    assert first[0] == "甘州区"
    assert first[3] == 150.0
    assert first[4] == 18.12
    assert nodes.cell(5, 7).number_format == "0.0%"
    chart_sheet = wb[text("zh", "chart.monthly_plan")]
    assert len(getattr(chart_sheet, "_charts")) == 1  # noqa: B009 - openpyxl's own list
    assert chart_sheet.cell(10, 2).value == 3.02  # June drawn, 万m³


def test_xlsx_appendix_keeps_the_merged_headers():
    doc = final_accounts(inputs(month=12, as_of=YEAR_END))
    wb = load_workbook(io.BytesIO(render_xlsx(doc)))
    sheet = wb[next(n for n in wb.sheetnames if n.startswith("县(区、市)"))]
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert len(merged) > 10
    values = {c.value for row in sheet.iter_rows() for c in row}
    assert {"农业预算水量", "引扬黄灌区", "合计"} <= values


def test_header_grid_spans_the_seed_layout():
    doc = final_accounts(inputs(month=12, as_of=YEAR_END))
    table = doc.section("appendix_a").table  # type: ignore[union-attr]
    cells = header_cells(table.columns)
    top = [c for c in cells if c.row == 0]
    assert top[0].label == "农业预算水量"
    assert top[0].colspan == 8
    total = next(c for c in cells if c.label == "总计")
    assert total.rowspan == 3


def test_html_is_chinese_by_default_with_svg_charts_and_english_on_request():
    doc = monthly_report(inputs())
    html = render_html(doc)
    assert 'lang="zh-CN"' in html
    assert "水预算执行进度月报" in html
    assert "<svg" in html
    assert "Noto Sans CJK SC" in html
    english = render_html(doc, "en")
    assert "Monthly water-budget execution report" in english
    assert "甘州区" in english


def test_svg_is_well_formed_and_escapes_names():
    doc = monthly_report(inputs())
    svg = chart_svg(doc.section("monthly_plan"), "zh")  # type: ignore[arg-type]
    root = ElementTree.fromstring(svg)
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) >= 6


def test_csv_is_utf8_with_bom_and_every_table():
    doc = final_accounts(inputs(month=12, as_of=YEAR_END))
    data = render_csv(doc)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    titles = {r[0] for r in rows if r}
    expected = {"各预算单元决算", "县(区、市)水预算总量核算成果表",
                "自治区和地市水预算总量核算成果表"}
    assert expected <= titles


def test_a_revision_says_what_changed_in_every_format():
    old = monthly_report(inputs())
    new = revised(old, 1, monthly_report(inputs(unattributed_m3=D(7000))))
    assert new is not None
    html = render_html(new)
    assert "修订说明" in html
    assert "第 2 版" in html
    wb = load_workbook(io.BytesIO(render_xlsx(new)))
    cover = [c.value for row in wb.worksheets[0].iter_rows() for c in row]
    assert "修订说明" in cover
    assert "修订说明" in render_csv(new).decode("utf-8-sig")


def test_appendix_labels_in_english():
    assert appendix_label("en", "地下水") == "Groundwater"
    assert appendix_label("zh", "地下水") == "地下水"


def test_water_user_view_shows_budget_use_remaining_and_level():
    node = Node(5, "H1", "张三", NodeLevel.HOUSEHOLD, 4)
    at = datetime(2024, 6, 15, tzinfo=BUDGET_TIMEZONE)
    view = my_water(lang="zh", node=node, year=2024, as_of=at,
                    budget={(Source.GROUNDWATER, Sector.IRRIGATION): D(2000)},
                    used_by_source={"groundwater": D("1850.4")}, factor=D(0),
                    profile=IRRIGATION_SEASON, alerts=[],
                    sessions=[CardSession("C1", at, at, D(120), D("149.6"))])
    assert (view.budget, view.used, view.remaining) == ("2,000", "1,850", "150")
    assert view.level == "warning"
    assert "90%" in view.message
    assert view.percent_used == 92
    assert view.sessions[0].volume == "120"
