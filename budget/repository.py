"""PostgreSQL adapter of the budget module: the only place with SQL (psycopg 3).

Functions are keyword-only and take the connection; the caller owns the
transaction (``budget.service`` wraps each request in one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from budget.hierarchy import Contact, Hierarchy, Node, NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind, LedgerEntry
from budget.rules import BudgetPolicy, ControlFigure, Permit

Conn = psycopg.Connection[Any]
LEDGER_LOCK = 7_411_200  # advisory lock key (with the year): one approval at a time per year
SITE_SOURCES = {"surface": Source.LOCAL_SURFACE.value}  # registry spelling → Source


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    name: str
    role: str  # administrator | operator | water_user
    node_id: int | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    entry: LedgerEntry  # approved_at/approved_by are placeholders while proposed
    status: str
    proposed_by: str
    proposed_at: datetime


def lock_year(conn: Conn, *, year: int) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LEDGER_LOCK, year))


def create_node(
    conn: Conn,
    *,
    code: str,
    name: str,
    level: NodeLevel,
    parent_id: int | None,
    contacts: Sequence[Contact] = (),
) -> int:
    row = conn.execute(
        "INSERT INTO budget_nodes (code, name, level, parent_id) VALUES (%s, %s, %s, %s) "
        "RETURNING node_id",
        (code, name, level.value, parent_id),
    ).fetchone()
    assert row is not None
    for contact in contacts:
        conn.execute(
            "INSERT INTO budget_contacts (node_id, name, phone, email, role) "
            "VALUES (%s, %s, %s, %s, %s)",
            (row[0], contact.name, contact.phone, contact.email, contact.role),
        )
    return int(row[0])


def attach(conn: Conn, *, node_id: int, kind: str, ref: str, sector: Sector | None) -> None:
    conn.execute(
        "INSERT INTO budget_attachments (kind, ref, node_id, sector) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (kind, ref) DO UPDATE SET node_id = EXCLUDED.node_id, "
        "sector = EXCLUDED.sector",
        (kind, ref, node_id, sector.value if sector else None),
    )


def load_hierarchy(conn: Conn) -> Hierarchy:
    contacts: dict[int, list[Contact]] = {}
    for node_id, name, phone, email, role in conn.execute(
        "SELECT node_id, name, phone, email, role FROM budget_contacts ORDER BY contact_id"
    ):
        contacts.setdefault(node_id, []).append(Contact(name, phone, email, role))
    nodes = [
        Node(node_id, code, name, NodeLevel(level), parent_id, tuple(contacts.get(node_id, ())))
        for node_id, code, name, level, parent_id in conn.execute(
            "SELECT node_id, code, name, level, parent_id FROM budget_nodes ORDER BY node_id"
        )
    ]
    return Hierarchy.of(nodes)


def load_policy(conn: Conn, *, year: int) -> BudgetPolicy:
    row = conn.execute(
        "SELECT non_conventional_factor FROM budget_years WHERE year = %s", (year,)
    ).fetchone()
    permits = tuple(
        Permit(node_id, year, volume, Source(source) if source else None, reference)
        for node_id, source, volume, reference in conn.execute(
            "SELECT node_id, source, volume_m3, reference FROM budget_permits WHERE year = %s",
            (year,),
        )
    )
    figures = tuple(
        ControlFigure(node_id, year, volume)
        for node_id, volume in conn.execute(
            "SELECT node_id, volume_m3 FROM budget_control_figures WHERE year = %s", (year,)
        )
    )
    factor = row[0] if row else Decimal(0)
    return BudgetPolicy(factor, permits, figures)


def set_year(conn: Conn, *, year: int, non_conventional_factor: Decimal) -> None:
    conn.execute(
        "INSERT INTO budget_years (year, non_conventional_factor) VALUES (%s, %s) "
        "ON CONFLICT (year) DO UPDATE SET non_conventional_factor = "
        "EXCLUDED.non_conventional_factor",
        (year, non_conventional_factor),
    )


def add_permit(conn: Conn, *, permit: Permit) -> None:
    conn.execute(
        "INSERT INTO budget_permits (node_id, year, source, volume_m3, reference) "
        "VALUES (%s, %s, %s, %s, %s)",
        (
            permit.node_id,
            permit.year,
            permit.source.value if permit.source else None,
            permit.volume_m3,
            permit.reference,
        ),
    )


def set_control_figure(conn: Conn, *, figure: ControlFigure, reference: str) -> None:
    conn.execute(
        "INSERT INTO budget_control_figures (node_id, year, volume_m3, reference) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (node_id, year) DO UPDATE SET "
        "volume_m3 = EXCLUDED.volume_m3, reference = EXCLUDED.reference",
        (figure.node_id, figure.year, figure.volume_m3, reference),
    )


_ENTRY_COLUMNS = (
    "entry_id, node_id, year, kind, source, sector, volume_m3, valid_from, "
    "coalesce(decided_at, proposed_at), coalesce(decided_by, ''), reason, trade_id, status, "
    "proposed_by, proposed_at"
)


def _stored(row: tuple[Any, ...]) -> StoredEntry:
    entry = LedgerEntry(
        row[0],
        row[1],
        row[2],
        EntryKind(row[3]),
        Source(row[4]),
        Sector(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
    )
    return StoredEntry(entry, row[12], row[13], row[14])


def approved_entries(conn: Conn, *, year: int) -> list[LedgerEntry]:
    rows = conn.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM budget_entries WHERE year = %s AND status = 'approved'",
        (year,),
    )
    return [_stored(row).entry for row in rows]


def entries(
    conn: Conn, *, node_ids: Iterable[int], year: int | None = None, status: str | None = None
) -> list[StoredEntry]:
    rows = conn.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM budget_entries WHERE node_id = ANY(%s) "
        "AND (%s::int IS NULL OR year = %s) AND (%s::text IS NULL OR status = %s) "
        "ORDER BY entry_id",
        (list(node_ids), year, year, status, status),
    )
    return [_stored(row) for row in rows]


def entry(conn: Conn, *, entry_id: int, for_update: bool = False) -> StoredEntry | None:
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM budget_entries WHERE entry_id = %s{lock}", (entry_id,)
    ).fetchone()
    return _stored(row) if row else None


def insert_entry(
    conn: Conn,
    *,
    node_id: int,
    year: int,
    kind: EntryKind,
    source: Source,
    sector: Sector,
    volume_m3: Decimal,
    valid_from: datetime,
    reason: str,
    proposed_by: str,
    approved_at: datetime | None = None,
    trade_id: int | None = None,
    import_id: int | None = None,
) -> int:
    """A proposal, or (with ``approved_at``) an entry approved by its proposer."""
    row = conn.execute(
        "INSERT INTO budget_entries (node_id, year, kind, source, sector, volume_m3, valid_from, "
        "reason, proposed_by, status, decided_by, decided_at, trade_id, import_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING entry_id",
        (
            node_id,
            year,
            kind.value,
            source.value,
            sector.value,
            volume_m3,
            valid_from,
            reason,
            proposed_by,
            "approved" if approved_at else "proposed",
            proposed_by if approved_at else None,
            approved_at,
            trade_id,
            import_id,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def decide_entry(conn: Conn, *, entry_id: int, status: str, by: str, at: datetime) -> None:
    conn.execute(
        "UPDATE budget_entries SET status = %s, decided_by = %s, decided_at = %s "
        "WHERE entry_id = %s AND status = 'proposed'",
        (status, by, at, entry_id),
    )


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


def record_import(
    conn: Conn, *, fmt: str, year: int, by: str, discrepancies: list[dict[str, Any]]
) -> int:
    row = conn.execute(
        "INSERT INTO budget_imports (format, year, imported_by, discrepancies) "
        "VALUES (%s, %s, %s, %s) RETURNING import_id",
        (fmt, year, by, Jsonb(discrepancies)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def plan_profile(conn: Conn, *, node_id: int) -> list[Decimal] | None:
    row = conn.execute(
        "SELECT weights FROM budget_plan_profiles WHERE node_id = %s", (node_id,)
    ).fetchone()
    return list(row[0]) if row else None


def set_plan_profile(conn: Conn, *, node_id: int, weights: Sequence[Decimal]) -> None:
    conn.execute(
        "INSERT INTO budget_plan_profiles (node_id, weights) VALUES (%s, %s) "
        "ON CONFLICT (node_id) DO UPDATE SET weights = EXCLUDED.weights",
        (node_id, list(weights)),
    )


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_token(conn: Conn, *, name: str, role: str, node_id: int | None) -> str:
    """A new API token; only its SHA-256 is stored, the secret is returned once."""
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO budget_api_tokens (token_sha256, name, role, node_id) VALUES (%s, %s, %s, %s)",
        (_digest(secret), name, role, node_id),
    )
    return secret


def principal(conn: Conn, *, secret: str) -> Principal | None:
    row = conn.execute(
        "SELECT token_id, name, role, node_id FROM budget_api_tokens "
        "WHERE token_sha256 = %s AND revoked_at IS NULL",
        (_digest(secret),),
    ).fetchone()
    return Principal(*row) if row else None
