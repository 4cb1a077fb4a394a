"""Reports against the real database: issue, store, revise after backfill, API, CLI, scheduler."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from budget import repository as budget_repo
from budget.year_closure import is_closed
from reports import repository as repo
from reports import service
from reports.document import Figures, Table
from reports.monthly import ReportError
from reports.render_pdf import chromium_path
from tests.integration.report_support import (
    at,
    card_session,
    daily_use,
    hourly_readings,
    one_interval,
    roll_up,
    seed_district,
)
from waterbudget.api import create_app
from waterbudget.scheduler import load_jobs, run_job
from waterbudget.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime(2024, 7, 2, 8, tzinfo=UTC)


@pytest.fixture
def district(database_url):
    with psycopg.connect(database_url) as conn:
        ids = seed_district(conn)
        daily_use(conn, meter="W1-F", site="W1", first=at(4), days=91, m3=500)  # 45,500 by June
        daily_use(conn, meter="W2-F", site="W2", first=at(5), days=61, m3=1000)  # 61,000
        daily_use(conn, meter="W1-F", site="W1", first=at(4, year=2023), days=91, m3=400)
        card_session(conn, session="S1", card="C1", start=at(6, 10, 8), hours=4, m3=120,
                     balance=880)
        hourly_readings(conn, meter="W1-F", first=at(6), hours=700)
        roll_up(conn)
    return ids


def nodes_row(document, code):
    table = document.section("nodes")
    assert isinstance(table, Table)
    found = next(r for r in table.rows if r.key == code)
    return {c.key: v for c, v in zip(table.columns, found.cells, strict=True)}


def test_issue_stores_revision_one_with_its_inputs(database_url, district):
    with psycopg.connect(database_url) as conn:
        issued = service.issue(conn, kind="monthly", node_id=district["GZ"], period="2024-06",
                               built_at=NOW, by="test")
        assert issued.created
        assert issued.report.revision == 1
        doc = issued.report.document
        assert doc is not None
        assert nodes_row(doc, "GZ")["drawn"] == Decimal(106_500)
        assert nodes_row(doc, "XM-1")["drawn"] == Decimal(45_500)  # the household's share too
        assert nodes_row(doc, "DM")["month"] == Decimal(30_000)
        assert nodes_row(doc, "XM")["last_year"] == Decimal(36_400)
        stored = conn.execute("SELECT as_of, inputs->'draw', inputs_sha256 FROM reports").fetchone()
        assert stored is not None
        assert stored[0] == at(7)
        assert len(stored[1]) > 0
        assert len(stored[2]) == 32


def test_backfill_after_issue_gives_a_revision_that_says_what_changed(database_url, district):
    with psycopg.connect(database_url) as conn:
        first = service.issue(conn, kind="monthly", node_id=district["XM"], period="2024-06",
                              built_at=NOW, by="test")
        # a meter's buffered readings for 30 June arrive in July: 250 m³ more
        one_interval(conn, meter="W1-F", site="W1", start=at(6, 30, 11), end=at(6, 30, 12),
                     m3=250)
        roll_up(conn)
        second = service.issue(conn, kind="monthly", node_id=district["XM"], period="2024-06",
                               built_at=NOW + timedelta(days=3), by="test")
        assert second.created
        assert second.report.revision == 2
        doc = second.report.document
        assert doc is not None
        assert doc.revision.previous_built_at == NOW
        drawn = [c for c in doc.revision.changes if c.row == "小满镇"
                 and c.column == "col.drawn_ytd"]
        assert [(c.old, c.new) for c in drawn] == [(Decimal(45_500), Decimal(45_750))]
        third = service.issue(conn, kind="monthly", node_id=district["XM"], period="2024-06",
                              built_at=NOW + timedelta(days=4), by="test")
        assert not third.created
        assert third.report.revision == 2
        kept = repo.report_revision(conn, kind="monthly", node_id=district["XM"],
                                    period="2024-06", revision=1)
        assert kept is not None
        assert kept.document == first.report.document


def test_issued_reports_are_never_edited(database_url, district):
    with psycopg.connect(database_url) as conn:
        service.issue(conn, kind="monthly", node_id=district["GZ"], period="2024-06",
                      built_at=NOW, by="test")
        conn.commit()
        with pytest.raises(psycopg.errors.RaiseException, match="never edited"):
            conn.execute("UPDATE reports SET built_by = 'someone else'")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="never edited"):
            conn.execute("DELETE FROM reports")


def test_periods_and_as_of_are_checked(database_url, district):
    with psycopg.connect(database_url) as conn:
        for period, as_of in (("2024-13", None), ("2024", None), ("2024-06", at(7, 2))):
            with pytest.raises(ReportError):
                service.issue(conn, kind="monthly", node_id=district["GZ"], period=period,
                              built_at=NOW, by="test", as_of=as_of)
        with pytest.raises(ReportError, match="not over"):
            service.issue(conn, kind="monthly", node_id=district["GZ"], period="2024-07",
                          built_at=NOW, by="test")
        mid = service.issue(conn, kind="monthly", node_id=district["GZ"], period="2024-07",
                            built_at=NOW, by="test", as_of=at(7, 2))
        assert mid.report.as_of == at(7, 2)


def test_final_accounts_with_the_appendix_tables(database_url, district):
    with psycopg.connect(database_url) as conn:
        issued = service.issue(conn, kind="final_accounts", node_id=district["GZ"],
                               period="2024", built_at=datetime(2025, 1, 5, tzinfo=UTC),
                               by="test")
        doc = issued.report.document
        assert doc is not None
        ledger = doc.section("ledger")
        assert isinstance(ledger, Table)
        assert ledger.rows[0].cells[9] == Decimal(106_500)  # used in the year
        appendix_b = doc.section("appendix_b")
        labels = [r.label for r in appendix_b.table.rows]  # type: ignore[union-attr]
        assert labels[-1] == "甘州区"
        assert "小满一村" in labels


@pytest.fixture
def client(database_url, district):
    with psycopg.connect(database_url) as conn:
        tokens = {
            "admin": budget_repo.create_token(conn, name="admin", role="administrator",
                                              node_id=None),
            "xm": budget_repo.create_token(conn, name="xm-operator", role="operator",
                                           node_id=district["XM"]),
            "h1": budget_repo.create_token(conn, name="zhang", role="water_user",
                                           node_id=district["H1"]),
        }
    with TestClient(create_app(database_url)) as test_client:
        test_client.tokens = tokens
        yield test_client


def bearer(client, who):
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def test_api_issues_lists_and_downloads_every_format(client, district):
    body = {"kind": "monthly", "node_id": district["XM"], "period": "2024-06"}
    made = client.post("/reports", json=body, headers=bearer(client, "xm"))
    assert made.status_code == 201, made.text
    again = client.post("/reports", json=body, headers=bearer(client, "xm"))
    assert again.status_code == 200
    assert again.json()["revision"] == 1
    report_id = made.json()["report_id"]
    xlsx = client.get(f"/reports/{report_id}?format=xlsx", headers=bearer(client, "xm"))
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert any("各预算单元执行情况" in name for name in wb.sheetnames)
    csv_text = client.get(f"/reports/{report_id}?format=csv&lang=en",
                          headers=bearer(client, "xm")).content.decode("utf-8-sig")
    assert "Execution by budget node" in csv_text
    assert "小满镇" in csv_text
    html = client.get(f"/reports/monthly/{district['XM']}/2024-06?format=html",
                      headers=bearer(client, "admin"))
    assert html.status_code == 200
    assert "<svg" in html.text
    assert "小满镇" in html.text
    assert client.get(f"/reports/{report_id}?format=json",
                      headers=bearer(client, "admin")).json()["node_code"] == "XM"
    listed = client.get("/reports", headers=bearer(client, "xm")).json()
    assert [r["report_id"] for r in listed] == [report_id]


@pytest.mark.skipif(chromium_path() is None,
                    reason="PDF needs Debian's chromium (apt-get install chromium fonts-noto-cjk)")
def test_api_pdf_is_printed_by_chromium(client, district):
    body = {"kind": "monthly", "node_id": district["GZ"], "period": "2024-06"}
    report_id = client.post("/reports", json=body, headers=bearer(client, "admin")).json()[
        "report_id"]
    pdf = client.get(f"/reports/{report_id}?format=pdf", headers=bearer(client, "admin"))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert len(pdf.content) > 10_000


def test_api_scopes(client, district):
    body = {"kind": "monthly", "node_id": district["DM"], "period": "2024-06"}
    assert client.post("/reports", json=body, headers=bearer(client, "xm")).status_code == 404
    assert client.post("/reports", json={**body, "node_id": district["H1"]},
                       headers=bearer(client, "h1")).status_code == 403
    made = client.post("/reports", json=body, headers=bearer(client, "admin")).json()
    assert client.get(f"/reports/{made['report_id']}",
                      headers=bearer(client, "xm")).status_code == 404
    assert client.get("/reports", headers=bearer(client, "h1")).json() == []
    assert client.get("/reports").status_code == 401
    bad = client.post("/reports", json={**body, "period": "June"},
                      headers=bearer(client, "admin"))
    assert bad.status_code == 422
    assert "period" in bad.text


def test_cli_issues_every_node_and_exports(database_url, district, tmp_path):
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url}
    cli = [sys.executable, "-m", "waterbudget.cli"]
    run = subprocess.run([*cli, "report", "monthly", "--period", "2024-06", "--node", "GZ",
                          "--all"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("issued monthly 2024-06") == 4  # GZ, DM, XM, XM-1
    assert "report/s" in run.stderr or "4/4" in run.stderr  # the progress bar
    with psycopg.connect(database_url) as conn:
        first = repo.list_reports(conn, node_ids=[district["GZ"]], kind="monthly",
                                  period="2024-06")[0]
    out = tmp_path / "gz.xlsx"
    export = subprocess.run([*cli, "report", "export", str(first.report_id), "--format", "xlsx",
                             "-o", str(out)], env=env, capture_output=True, text=True,
                            timeout=60)
    assert export.returncode == 0, export.stderr
    assert load_workbook(out).sheetnames[0] == "水预算执行进度月报"
    again = subprocess.run([*cli, "report", "monthly", "--period", "2024-06", "--node", "GZ"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert "1 report(s) unchanged" in again.stdout


def test_scheduled_jobs_are_registered_and_refresh_revises(database_url, district):
    assert {"reports.monthly", "reports.refresh"} <= set(load_jobs())
    with psycopg.connect(database_url) as conn:
        service.issue(conn, kind="monthly", node_id=district["DM"], period="2024-06",
                      built_at=NOW, by="test", as_of=at(6, 20))
        one_interval(conn, meter="W2-F", site="W2", start=at(6, 15, 11), end=at(6, 15, 12),
                     m3=99)
        roll_up(conn)
    run_job("reports.refresh", Settings(database_url=database_url), now=NOW)
    with psycopg.connect(database_url) as conn:
        latest = repo.latest_report(conn, kind="monthly", node_id=district["DM"],
                                    period="2024-06")
        assert latest is not None
        assert (latest.revision, latest.built_by) == (2, "scheduler")
        assert latest.as_of == at(6, 20)  # re-issued at its own as-of
    run_job("reports.monthly", Settings(database_url=database_url), now=NOW)
    with psycopg.connect(database_url) as conn:
        issued = repo.list_reports(conn, node_ids=None, kind="monthly", period="2024-06")
    assert {r.node_id for r in issued} == {district[c] for c in ("GZ", "XM", "DM", "XM-1")}


def test_the_final_accounts_texts_are_written_by_the_office_and_revise_the_accounts(
        client, district):
    """Issue 12, 宁夏 附录C: 概述, 特殊情况说明 and 保障措施 are the operator's text."""
    xm = bearer(client, "xm")
    body = {"kind": "final_accounts", "node_id": district["XM"], "period": "2024"}
    first = client.post("/reports", json=body, headers=xm)
    assert first.status_code == 201, first.text
    texts = {"texts": {"region": "小满镇位于甘州区南部。", "special": "6月井灌区停电两周。"}}
    stored = client.put(f"/reports/texts/{district['XM']}/2024", json=texts, headers=xm)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"region": "小满镇位于甘州区南部。", "special": "6月井灌区停电两周。"}
    outside = client.put(f"/reports/texts/{district['DM']}/2024", json=texts, headers=xm)
    assert outside.status_code == 404
    bad = client.put(f"/reports/texts/{district['XM']}/2024", json={"texts": {"x": "y"}},
                     headers=xm)
    assert bad.status_code == 422
    second = client.post("/reports", json=body, headers=xm)
    assert second.status_code == 201  # a changed text is a new revision
    assert second.json()["revision"] == 2
    html = client.get(f"/reports/{second.json()['report_id']}?format=html", headers=xm).text
    assert "6月井灌区停电两周。" in html
    assert "（待水行政主管部门填写）" in html  # 保障措施: nobody wrote it yet


def test_a_closed_year_is_closed_until_an_administrator_reopens_it(client, district, database_url):
    """Issue 12 (甘州 3.(1) …执行—调整—决算): issuing the district's final accounts closes
    the year; a ledger entry into it is refused with a clear Chinese message; an
    administrator's reopening is recorded and marks the next revision."""
    with psycopg.connect(database_url) as conn:
        second = budget_repo.create_token(conn, name="admin-2", role="administrator",
                                          node_id=None)
    admin, xm = bearer(client, "admin"), bearer(client, "xm")
    checker = {"Authorization": f"Bearer {second}"}
    entry = {"node_id": district["XM-1"], "year": 2024, "kind": "supplement",
             "source": "groundwater", "sector": "agriculture.irrigation", "volume_m3": "100",
             "valid_from": "2024-11-01T00:00:00+08:00", "reason": "补录"}
    pending = client.post("/budget/entries", json=entry, headers=xm)
    assert pending.status_code == 201, pending.text
    town = client.post("/reports", json={"kind": "final_accounts", "node_id": district["XM"],
                                         "period": "2024"}, headers=xm)
    assert town.status_code == 201
    assert client.post("/budget/entries", json=entry, headers=xm).status_code == 201  # open
    final = {"kind": "final_accounts", "node_id": district["GZ"], "period": "2024"}
    first = client.post("/reports", json=final, headers=admin)
    assert first.status_code == 201, first.text
    refused = client.post("/budget/entries", json=entry, headers=xm)
    assert refused.status_code == 409
    message = refused.json()["detail"]
    assert message.startswith("2024年度年终决算已于")
    assert "已关账" in message
    assert "重新开放" in message
    approve = client.post(f"/budget/entries/{pending.json()['entry_id']}/approve",
                          headers=admin)
    assert approve.status_code == 409  # proposed before, approved after: refused too
    assert client.post("/budget/years/2024/reopen", json={"reason": "x"},
                       headers=xm).status_code == 403
    reopened = client.post("/budget/years/2024/reopen", json={"reason": "12月补水漏录"},
                           headers=admin)
    assert reopened.status_code == 200, reopened.text
    assert [e["event"] for e in reopened.json()] == ["closed", "reopened"]
    assert client.post("/budget/years/2024/reopen", json={"reason": "again"},
                       headers=admin).status_code == 409  # not closed
    made = client.post("/budget/entries", json=entry, headers=xm)
    assert made.status_code == 201
    assert client.post(f"/budget/entries/{made.json()['entry_id']}/approve",
                       headers=checker).status_code == 200
    again = client.post("/reports", json=final, headers=admin)
    assert again.status_code == 201
    assert again.json()["revision"] == 2
    html = client.get(f"/reports/{again.json()['report_id']}?format=html", headers=admin).text
    assert "重新开放" in html
    assert "12月补水漏录" in html
    assert client.post("/budget/entries", json=entry, headers=xm).status_code == 409  # closed


def test_final_accounts_issued_from_the_command_line_close_the_year(database_url, district):
    """`waterbudget report final` is a person issuing the accounts, as `POST /reports` is:
    the district's year closes (the scheduler's refresh re-issues without closing)."""
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url}
    cli = [sys.executable, "-m", "waterbudget.cli"]
    run = subprocess.run([*cli, "report", "final", "--year", "2024", "--node", "XM"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with psycopg.connect(database_url) as conn:  # a township's accounts close nothing
        assert not is_closed(budget_repo.year_events(conn, year=2024))
    run = subprocess.run([*cli, "report", "final", "--year", "2024", "--node", "GZ"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with psycopg.connect(database_url) as conn:
        events = budget_repo.year_events(conn, year=2024)
    assert is_closed(events)
    assert [(e.event, e.by) for e in events] == [("closed", "cli")]


def test_the_report_says_when_the_roll_ups_lag_behind_the_data(database_url, district):
    """Issue 12, part 5: readings stored but not rolled up yet are said plainly (with how
    far), instead of a silent 0.00; once the monitor catches up the note goes."""
    with psycopg.connect(database_url) as conn:
        daily_use(conn, meter="W2-F", site="W2", first=at(6, 20), days=5, m3=300)
        conn.commit()
        lagging = service.issue(conn, kind="monthly", node_id=district["GZ"],
                                period="2024-06", built_at=NOW, by="test")
        summary = lagging.report.document.section("summary")  # type: ignore[union-attr]
        assert isinstance(summary, Figures)
        [note] = [n for n in summary.notes if n.key == "note.rollup_lag"]
        assert int(note.params["pending"]) >= 1
        assert note.params["data"].startswith("2024-06-2")
        roll_up(conn)
        conn.commit()
        caught_up = service.issue(conn, kind="monthly", node_id=district["GZ"],
                                  period="2024-06", built_at=NOW, by="test")
        summary = caught_up.report.document.section("summary")  # type: ignore[union-attr]
        assert isinstance(summary, Figures)
        assert "note.rollup_lag" not in [n.key for n in summary.notes]
        assert caught_up.report.revision == 2  # the water now counted


def test_the_monthly_report_lists_nodes_late_in_the_procedure(client, district):
    """甘州 3.(1)①: 告知 of 2024 was due by 2023-11-17; recorded now, it is late."""
    admin = bearer(client, "admin")
    step = client.post(f"/budget/nodes/{district['XM']}/procedure",
                       json={"year": 2024, "step": "notified"}, headers=admin)
    assert step.status_code == 200, step.text
    made = client.post("/reports", json={"kind": "monthly", "node_id": district["GZ"],
                                         "period": "2024-06"}, headers=admin)
    assert made.status_code == 201, made.text
    doc = client.get(f"/reports/{made.json()['report_id']}?format=json", headers=admin).json()
    late = next(s for s in doc["sections"] if s["key"] == "procedure_late")
    by_code = {r["key"]: r["cells"][2] for r in late["rows"]}
    assert by_code["XM"].startswith("告知逾期：")
    assert by_code["GZ"] == "未告知：应于2023-11-17前告知（甘州 3.(1)① 45日）"
