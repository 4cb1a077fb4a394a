"""Alerts as facts, worded at every edge (issue 15): a township drawing from two sources
has a total and a per-source ``budget_level`` alert, and every edge says which is which,
in Chinese by default and English on request, with whole figures."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from budget import repository as budget_repo
from budget.kinds import Source
from monitor.demo import alert_lines
from monitor.repository.outbox import add_subscription
from tests.integration.monitor_support import (
    at,
    attach,
    drain,
    flow,
    issue,
    meter,
    region,
    save,
    send,
    well,
)
from waterbudget.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def township(database_url: str) -> Iterator[tuple[TestClient, dict[str, str], int, str]]:
    """H1 has 6,000 m³ of groundwater and 9,000 m³ of surface water and draws 12,632.43 m³
    of groundwater: the groundwater budget is overrun, the total (15,000 m³) is at 84 %."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        r = region(conn)
        save(conn, [well("W1", rated_m3h=50_000)], [meter("W1-F", "W1", "flow")])
        attach(conn, r.h1, "site", "W1")
        for node in (r.district, r.village):
            issue(conn, node, 100_000)
        issue(conn, r.h1, 6_000)
        issue(conn, r.h1, 9_000, source=Source.LOCAL_SURFACE)
        (contact,) = conn.execute("SELECT contact_id FROM budget_contacts WHERE node_id = %s",
                                  (r.h1,)).fetchone() or (None,)
        add_subscription(conn, contact_id=contact, channel="wecom",
                         address="https://robot.example/zh")
        add_subscription(conn, contact_id=contact, channel="webhook",
                         address="https://hook.example/en", language="en")
        send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 12_632.43))
        drain(conn)
        token = budget_repo.create_token(conn, name="镇水管员", role="operator",
                                         node_id=r.village)
    with TestClient(create_app(database_url)) as client:
        yield client, {"Authorization": f"Bearer {token}"}, r.h1, database_url


def test_the_total_and_the_source_line_say_which_they_are_everywhere(township) -> None:
    client, headers, h1, url = township
    with psycopg.connect(url) as conn:
        stored = {row[0]: row[1:] for row in conn.execute(
            "SELECT subject, detail, message_zh, message_en, severity FROM monitor_alerts "
            "WHERE kind = 'budget_level' AND node_id = %s", (h1,))}
        assert set(stored) == {f"node/{h1}", f"node/{h1}/groundwater"}
        detail, zh, en, severity = stored[f"node/{h1}/groundwater"]
        assert json.loads(detail)["drawn_m3"] == "12632.430"  # the facts, stored
        assert severity == "critical"
        assert zh.startswith("地下水预算：已超预算：已用 12,632.43 m³，预算 6,000 m³"
                             "（执行率 210.5%")
        assert "超用 6,632.43 m³" in zh
        assert en.startswith("groundwater budget: overrun: drawn 12,632.43 m³ of 6,000 m³")
        assert stored[f"node/{h1}"][1].startswith("总量预算：达到提示线：已用 12,632.43 m³，"
                                                 "预算 15,000 m³")
        bodies: dict[str, str] = dict(conn.execute(
            "SELECT n.channel, n.body FROM monitor_notifications n JOIN monitor_alert_events e "
            "USING (event_id) JOIN monitor_alerts a USING (alert_id) WHERE a.subject = %s",
            (f"node/{h1}/groundwater",)).fetchall())
        rows = conn.execute(
            "SELECT a.kind, a.severity, a.subject, 'H1', a.detail FROM monitor_alerts a "
            "WHERE a.node_id = %s AND a.kind = 'budget_level' ORDER BY a.subject",
            (h1,)).fetchall()
    assert "预算：地下水\n" in bodies["wecom"]
    assert "详情：地下水预算：已超预算：已用 12,632.43 m³" in bodies["wecom"]
    assert "Budget: groundwater\n" in bodies["webhook"]
    assert "Detail: groundwater budget: overrun: drawn 12,632.43 m³" in bodies["webhook"]

    listed = client.get("/monitor/alerts", params={"kind": "budget_level"}, headers=headers)
    assert listed.status_code == 200, listed.text
    by_budget = {a["budget"]: a for a in listed.json() if a["node_id"] == h1}
    assert by_budget["groundwater"]["detail"] == zh
    assert by_budget["total"]["detail"].startswith("总量预算：")
    assert by_budget["groundwater"]["facts"]["budget_m3"] == "6000.000"
    english = client.get("/monitor/alerts", params={"kind": "budget_level", "lang": "en"},
                         headers=headers).json()
    assert {a["detail"] for a in english if a["node_id"] == h1} >= {en}
    one = client.get(f"/monitor/alerts/{by_budget['groundwater']['alert_id']}",
                     headers={**headers, "Accept-Language": "en-GB,en;q=0.9"}).json()
    assert one["detail"] == en
    assert one["events"][0]["detail"] == en

    lines = alert_lines(rows)  # the CLI (the demo's alert list)
    assert lines[0].endswith("H1·总量：" + stored[f"node/{h1}"][1])
    assert "H1·地下水：地下水预算：已超预算" in lines[1]
    assert lines[1].endswith("按当前进度全年预计 " + zh.rsplit("按当前进度全年预计 ", 1)[1])
