"""SQL for trades of surplus volume, and the counted use a trade is checked against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row

from budget.kinds import Sector, Source
from budget.repository.connection import Conn

SITE_SOURCES = {"surface": Source.LOCAL_SURFACE.value}  # registry spelling → Source


def insert_trade(
    conn: Conn,
    *,
    seller_id: int,
    buyer_id: int,
    year: int,
    source: Source,
    sector: Sector,
    volume_m3: Decimal,
    valid_from: datetime,
    reason: str,
    proposed_by: str,
) -> int:
    row = conn.execute(
        "INSERT INTO budget_trades (seller_id, buyer_id, year, source, sector, volume_m3, "
        "valid_from, reason, proposed_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING trade_id",
        (
            seller_id,
            buyer_id,
            year,
            source.value,
            sector.value,
            volume_m3,
            valid_from,
            reason,
            proposed_by,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def trade(conn: Conn, *, trade_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM budget_trades WHERE trade_id = %s FOR UPDATE", (trade_id,)
        ).fetchone()


def decide_trade(
    conn: Conn, *, trade_id: int, status: str, by: str, at: datetime, used_m3: Decimal | None
) -> None:
    conn.execute(
        "UPDATE budget_trades SET status = %s, decided_by = %s, decided_at = %s, "
        "seller_used_m3 = %s WHERE trade_id = %s AND status = 'proposed'",
        (status, by, at, used_m3, trade_id),
    )


def used_m3(
    conn: Conn,
    *,
    node_ids: Sequence[int],
    source: Source,
    sector: Sector,
    start: datetime,
    until: datetime,
) -> Decimal:
    """Use counted against ``node_ids`` from ``start`` until ``until``.

    The one definition of a node's draw, shared with the monitor's roll-ups: SQL function
    ``monitor_site_draw`` (docs/monitor-schema.md) — each site's one source of truth
    (``site_consumption``: flow meter > IC card > power conversion), on the node of the
    truth meter or site, shared among the card holders who drew it; so water metered
    twice at a site (flow meter and card controller) is counted once. By whole China-time
    days: the day containing ``until`` counts in full unless ``until`` is a midnight
    (never overstates the surplus). Attachments without a sector count against any sector.
    """
    row = conn.execute(
        """
        WITH sites AS (
          SELECT DISTINCT site_id FROM (
            SELECT a.ref AS site_id FROM budget_attachments a
            WHERE a.kind = 'site' AND a.node_id = ANY(%(nodes)s)
            UNION ALL SELECT m.site_id FROM budget_attachments a JOIN meters m ON m.meter_id = a.ref
            WHERE a.kind = 'meter' AND a.node_id = ANY(%(nodes)s)
            UNION ALL SELECT m.site_id FROM budget_attachments a
            JOIN card_sessions cs ON cs.card_id = a.ref JOIN meters m ON m.meter_id = cs.meter_id
            WHERE a.kind = 'card' AND a.node_id = ANY(%(nodes)s)) found)
        SELECT coalesce(sum(d.volume_m3), 0)
        FROM monitor_site_draw(
          ARRAY(SELECT site_id FROM sites ORDER BY 1),
          ARRAY(SELECT wb_draw_day(%(start)s::timestamptz + interval '1 microsecond')
                FROM sites ORDER BY site_id),
          ARRAY(SELECT wb_draw_day(%(until)s::timestamptz) FROM sites ORDER BY site_id)) d
        WHERE d.node_id = ANY(%(nodes)s) AND d.source = %(source)s
          AND (d.sector = '' OR d.sector = %(sector)s)
        """,
        {
            "start": start,
            "until": until,
            "source": source.value,
            "nodes": list(node_ids),
            "sector": sector.value,
        },
    ).fetchone()
    return Decimal(row[0]) if row else Decimal(0)
