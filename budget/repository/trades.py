"""SQL for trades of surplus volume, and the counted use a trade is checked against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

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
    """Counted use of the sites, meters and cards attached to ``node_ids`` in [start, until)."""
    row = conn.execute(
        """
        SELECT coalesce(sum(c.volume_m3), 0)
        FROM consumption c JOIN sites s ON s.site_id = c.site_id
        WHERE c.status = 'counted' AND c.ts_end > %(start)s AND c.ts_end <= %(until)s
          AND coalesce(%(map)s::jsonb ->> s.source, s.source) = %(source)s
          AND EXISTS (
            SELECT 1 FROM budget_attachments a
            LEFT JOIN card_sessions cs ON a.kind = 'card' AND cs.card_id = a.ref
                 AND cs.meter_id = c.meter_id AND cs.session_id = c.session_id
            WHERE a.node_id = ANY(%(nodes)s) AND (a.sector IS NULL OR a.sector = %(sector)s)
              AND ((a.kind = 'site' AND a.ref = c.site_id)
                   OR (a.kind = 'meter' AND a.ref = c.meter_id)
                   OR (a.kind = 'card' AND cs.card_id IS NOT NULL)))
        """,
        {
            "start": start,
            "until": until,
            "map": Jsonb(SITE_SOURCES),
            "source": source.value,
            "nodes": list(node_ids),
            "sector": sector.value,
        },
    ).fetchone()
    return Decimal(str(row[0])) if row else Decimal(0)
