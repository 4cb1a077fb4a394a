"""SQL for sector splits of budgets issued by source only, the sector defaults of
registry sites (migration 402), and administrative division codes (migration 403)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from budget.kinds import Sector
from budget.repository.connection import Conn
from budget.sector_split import SectorSplit, SplitBasis
from budget.site_sectors import SitePurpose


def sector_splits(conn: Conn, *, year: int) -> dict[int, SectorSplit]:
    return {
        node_id: SectorSplit(
            SplitBasis(basis),
            {Sector(k): Decimal(str(v)) for k, v in shares.items()},
            reference,
        )
        for node_id, basis, shares, reference in conn.execute(
            "SELECT node_id, basis, shares, reference FROM budget_sector_splits WHERE year = %s",
            (year,),
        )
    }


def set_sector_split(conn: Conn, *, node_id: int, year: int, split: SectorSplit, by: str) -> None:
    conn.execute(
        "INSERT INTO budget_sector_splits (node_id, year, basis, shares, reference, recorded_by) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (node_id, year) DO UPDATE SET "
        "basis = EXCLUDED.basis, shares = EXCLUDED.shares, reference = EXCLUDED.reference, "
        "recorded_by = EXCLUDED.recorded_by, recorded_at = now()",
        (
            node_id,
            year,
            split.basis.value,
            Jsonb({s.value: str(v) for s, v in split.shares.items()}),
            split.reference,
            by,
        ),
    )


def site_of(conn: Conn, *, kind: str, ref: str) -> tuple[str, str | None, str | None] | None:
    """For a site or meter reference: (site kind, recorded purpose, recorded sector);
    None when the registry does not know it."""
    if kind == "site":
        where, arg = "s.site_id = %s", ref
    elif kind == "meter":
        where, arg = "s.site_id = (SELECT site_id FROM meters WHERE meter_id = %s)", ref
    else:
        return None
    row = conn.execute(
        "SELECT s.kind, ss.purpose, ss.sector FROM sites s "
        "LEFT JOIN budget_site_sectors ss ON ss.site_id = s.site_id WHERE " + where,
        (arg,),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def set_site_sector(
    conn: Conn, *, site_id: str, purpose: SitePurpose | None, sector: Sector | None, by: str
) -> bool:
    """Record what a site is and/or its sector; False when the site is unknown."""
    row: Any = conn.execute(
        "INSERT INTO budget_site_sectors (site_id, purpose, sector, recorded_by) "
        "SELECT site_id, %s, %s, %s FROM sites WHERE site_id = %s "
        "ON CONFLICT (site_id) DO UPDATE SET purpose = EXCLUDED.purpose, "
        "sector = EXCLUDED.sector, recorded_by = EXCLUDED.recorded_by, recorded_at = now() "
        "RETURNING site_id",
        (
            purpose.value if purpose else None,
            sector.value if sector else None,
            by,
            site_id,
        ),
    ).fetchone()
    return row is not None


def division_codes(conn: Conn) -> dict[int, str]:
    """Administrative division codes (行政区划代码) recorded for budget nodes."""
    rows = conn.execute("SELECT node_id, division_code FROM budget_division_codes").fetchall()
    return {int(row[0]): str(row[1]) for row in rows}


def set_division_code(conn: Conn, *, node_id: int, division_code: str) -> None:
    conn.execute(
        "INSERT INTO budget_division_codes (node_id, division_code) VALUES (%s, %s) "
        "ON CONFLICT (node_id) DO UPDATE SET division_code = EXCLUDED.division_code",
        (node_id, division_code),
    )
