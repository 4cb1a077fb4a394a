"""SQL for over-quota charges: tariffs, the water users' use and quota, the charges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from budget.repository.connection import Conn
from monitor.charges import TierSchedule


def tariffs(conn: Conn, *, year: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM monitor_tariffs WHERE year = %s ORDER BY tariff_id",
                           (year,)).fetchall()


def save_tariff(conn: Conn, *, year: int, area_node_id: int | None, source_family: str | None,
                crop_class: str | None, price_per_m3: Decimal, schedule: TierSchedule,
                by: str) -> int:
    bands = [{"up_to": None if b.up_to is None else str(b.up_to),
              "multiplier": str(b.multiplier)} for b in schedule.bands]
    row = conn.execute(
        "INSERT INTO monitor_tariffs (year, area_node_id, source_family, crop_class, "
        "price_per_m3, bands, recorded_by) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (year, area_node_id, source_family, crop_class) DO UPDATE SET "
        "price_per_m3 = EXCLUDED.price_per_m3, bands = EXCLUDED.bands, "
        "recorded_by = EXCLUDED.recorded_by, recorded_at = now() RETURNING tariff_id",
        (year, area_node_id, source_family, crop_class, price_per_m3, Jsonb(bands), by)
    ).fetchone()
    assert row is not None
    return int(row[0])


def leaf_draws(conn: Conn, *, period: str) -> list[tuple[int, str, Decimal]]:
    """Water users (nodes without children): draw of the period by budget source."""
    return [(int(n), str(s), v) for n, s, v in conn.execute(
        "SELECT d.node_id, d.source, sum(d.total_m3) FROM monitor_node_period d "
        "WHERE d.period = %s AND NOT EXISTS (SELECT 1 FROM budget_nodes c "
        "WHERE c.parent_id = d.node_id) GROUP BY 1, 2", (period,))]


def ancestors(conn: Conn, *, node_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each node's path to the root, nearest first (the node itself included)."""
    found: dict[int, list[int]] = {}
    for node_id, path in conn.execute(
            "SELECT node_id, array_agg(ancestor_id ORDER BY depth) FROM monitor_node_paths "
            "WHERE node_id = ANY(%s) GROUP BY node_id", (list(node_ids),)):
        found[int(node_id)] = [int(a) for a in path]
    return found


def replace_charges(conn: Conn, *, year: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """The year's charges as computed now: rows of (node, family, as_of, use, quota, excess,
    price, base, total, surcharge, bands, tariff_id)."""
    conn.execute("DELETE FROM monitor_charges WHERE year = %s", (year,))
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO monitor_charges (node_id, year, source_family, as_of, use_m3, "
                "quota_m3, excess_m3, price_per_m3, base_amount, total_amount, surcharge, bands, "
                "tariff_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(r[0], year, *r[1:10], Jsonb(json.loads(r[10])), r[11]) for r in rows])


def charges(conn: Conn, *, node_ids: Sequence[int] | None, year: int) -> list[dict[str, Any]]:
    nodes = None if node_ids is None else list(node_ids)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM monitor_charges WHERE year = %s AND (%s::bigint[] IS NULL OR "
            "node_id = ANY(%s)) ORDER BY node_id, source_family", (year, nodes, nodes)).fetchall()


def crop_classes(conn: Conn) -> dict[int, str]:
    return {int(n): str(c) for n, c in conn.execute(
        "SELECT node_id, crop_class FROM monitor_node_settings WHERE crop_class IS NOT NULL")}


def as_of(rows: Sequence[tuple[Any, ...]]) -> datetime | None:
    return max((r[2] for r in rows), default=None)
