"""SQL for the revenue records of a node's budget year (宁夏 5): append-only, newest wins."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from budget.kinds import Source
from budget.repository.connection import Conn
from budget.revenue import RevenueBasis, RevenueRecord


def record_revenue(
    conn: Conn,
    *,
    node_id: int,
    year: int,
    basis: RevenueBasis,
    volumes: Mapping[Source, Decimal],
    reference: str,
    by: str,
) -> int:
    """Store a new record (it supersedes the older ones of its basis); returns its id."""
    row = conn.execute(
        "INSERT INTO budget_revenue_records (node_id, year, basis, reference, recorded_by) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING record_id",
        (node_id, year, basis.value, reference, by),
    ).fetchone()
    assert row is not None
    record_id: int = row[0]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO budget_revenue_lines (record_id, source, volume_m3) VALUES (%s, %s, %s)",
            [(record_id, source.value, volume) for source, volume in sorted(volumes.items())],
        )
    return record_id


def revenue_records(conn: Conn, *, year: int, node_id: int | None = None) -> list[RevenueRecord]:
    """Every record of the year (of one node, when given), oldest first: the history."""
    where = "r.year = %s" + ("" if node_id is None else " AND r.node_id = %s")
    params = (year,) if node_id is None else (year, node_id)
    heads = conn.execute(
        "SELECT record_id, node_id, basis, reference, recorded_by, recorded_at "
        f"FROM budget_revenue_records r WHERE {where} ORDER BY record_id",
        params,
    ).fetchall()
    lines: dict[int, dict[Source, Decimal]] = {record_id: {} for record_id, *_ in heads}
    for record_id, source, volume in conn.execute(
        "SELECT l.record_id, l.source, l.volume_m3 FROM budget_revenue_lines l "
        f"JOIN budget_revenue_records r USING (record_id) WHERE {where}",
        params,
    ):
        lines[record_id][Source(source)] = volume
    return [
        RevenueRecord(
            node,
            year,
            RevenueBasis(basis),
            lines[record_id],
            reference,
            recorded_by,
            recorded_at,
            record_id,
        )
        for record_id, node, basis, reference, recorded_by, recorded_at in heads
    ]
