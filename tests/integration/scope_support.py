"""Two townships under one district, for the scope tests and the API fuzzing.

TA → household A1 with well WA; TB → household B1-SECRET with well WB, IC card CB (which
drew water at WB), an overrun alert, a proposed entry, a proposed trade, an override and
a contact; CX is a card attached nowhere that drew at WB. Tokens: administrator,
operator of TA, water user of A1.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from budget import repository as budget_repo
from budget.hierarchy import Contact, NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind
from tests.integration.monitor_support import (
    at,
    attach,
    drain,
    flow,
    issue,
    meter,
    save,
    send,
    session,
    well,
)


def two_townships(database_url: str) -> dict[str, Any]:
    """Ids of the objects, and ``Authorization`` headers ``admin``, ``op_a``, ``user_a1``."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            d = budget_repo.create_node(conn, code="D", name="甘州区",
                                        level=NodeLevel.DISTRICT, parent_id=None)
            ta = budget_repo.create_node(conn, code="TA", name="甲镇",
                                         level=NodeLevel.TOWNSHIP, parent_id=d)
            tb = budget_repo.create_node(conn, code="TB", name="乙镇",
                                         level=NodeLevel.TOWNSHIP, parent_id=d)
            a1 = budget_repo.create_node(conn, code="A1", name="张三",
                                         level=NodeLevel.HOUSEHOLD, parent_id=ta,
                                         contacts=[Contact("张三", email="a1@example.org")])
            b1 = budget_repo.create_node(conn, code="B1-SECRET", name="李四",
                                         level=NodeLevel.HOUSEHOLD, parent_id=tb,
                                         contacts=[Contact("李四", email="b1@example.org")])
            b2 = budget_repo.create_node(conn, code="B2", name="王二",
                                         level=NodeLevel.HOUSEHOLD, parent_id=tb)
        save(conn, [well("WA", rated_m3h=500), well("WB", rated_m3h=500)],
             [meter("WA-F", "WA", "flow"), meter("WB-F", "WB", "flow"),
              meter("WB-C", "WB", "card")])
        attach(conn, a1, "site", "WA")
        attach(conn, b1, "site", "WB")
        attach(conn, b1, "card", "CB")
        for node, volume in ((d, 100_000), (ta, 10_000), (tb, 10_000), (a1, 1_000),
                             (b1, 1_000), (b2, 1_000)):
            issue(conn, node, volume)
        send(conn, "WB", "flow", flow(at(0), 0), flow(at(10), 1100))
        send(conn, "WB", "card", session("S1", "CB", at(1), at(2), 600),
             session("S2", "CX", at(3), at(4), 500))  # CX: a card attached nowhere yet
        drain(conn)
        alert_b1 = conn.execute("SELECT alert_id FROM monitor_alerts WHERE node_id = %s "
                                "ORDER BY alert_id LIMIT 1", (b1,)).fetchone()
        assert alert_b1 is not None
        with conn.transaction():
            entry_b1 = budget_repo.insert_entry(
                conn, node_id=b1, year=2025, kind=EntryKind.SUPPLEMENT,
                source=Source.GROUNDWATER, sector=Sector.IRRIGATION, volume_m3=Decimal("5"),
                valid_from=at(0), reason="proposed by B", proposed_by="乙镇操作员")
            trade_b = budget_repo.insert_trade(
                conn, seller_id=b2, buyer_id=b1, year=2025, source=Source.GROUNDWATER,
                sector=Sector.IRRIGATION, volume_m3=Decimal("1"), valid_from=at(0),
                reason="B2 → B1", proposed_by="乙镇操作员")
            override_b = conn.execute(
                "INSERT INTO monitor_enforcement_overrides (node_id, site_id, reason, "
                "created_by) VALUES (%s, NULL, 'B', 'x') RETURNING override_id",
                (tb,)).fetchone()
        assert override_b is not None
        contacts_b1 = [r[0] for r in conn.execute(
            "SELECT contact_id FROM budget_contacts WHERE node_id = %s", (b1,))]
        tokens = {
            "admin": budget_repo.create_token(conn, name="admin", role="administrator",
                                              node_id=None),
            "op_a": budget_repo.create_token(conn, name="甲镇操作员", role="operator",
                                             node_id=ta),
            "user_a1": budget_repo.create_token(conn, name="张三", role="water_user",
                                                node_id=a1),
        }
    return {"d": d, "ta": ta, "tb": tb, "a1": a1, "b1": b1, "b2": b2,
            "alert_b1": alert_b1[0], "entry_b1": entry_b1, "trade_b": trade_b,
            "override_b": override_b[0], "contacts_b1": contacts_b1,
            **{k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}}
