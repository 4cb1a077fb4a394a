"""SQL for the ledger: proposed and decided entries, and the imports that issued them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from budget.kinds import Sector, Source
from budget.ledger import EntryKind, LedgerEntry
from budget.repository.connection import Conn

LEDGER_LOCK = 7_411_200  # advisory lock key (with the year): one approval at a time per year


@dataclass(frozen=True, slots=True)
class StoredEntry:
    entry: LedgerEntry  # approved_at/approved_by are placeholders while proposed
    status: str
    proposed_by: str
    proposed_at: datetime


def lock_year(conn: Conn, *, year: int) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LEDGER_LOCK, year))


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
