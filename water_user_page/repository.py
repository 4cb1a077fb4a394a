"""SQL of the water-user page: one node's budget entries, draw, alerts, charges and card
sessions; the short sign-in codes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

import psycopg

from budget import repository as budget_repo
from budget.ledger import LedgerEntry
from monitor.charges import BandCharge
from reports.inputs import AlertRecord
from water_user_page.codes import new_code
from water_user_page.view import CardSession, ChargeRecord

Conn = budget_repo.Conn
ALERTS_SHOWN = 10
SESSIONS_SHOWN = 20


def entries(conn: Conn, *, node_id: int, year: int) -> list[LedgerEntry]:
    return [s.entry for s in budget_repo.entries(conn, node_ids=[node_id], year=year,
                                                 status="approved")]


def used_by_source(conn: Conn, *, node_id: int, year: int) -> dict[str, Decimal]:
    """The node's total draw this year by source (monitor_node_day)."""
    rows = conn.execute(
        "SELECT source, sum(total_m3) FROM monitor_node_day WHERE node_id = %s "
        "AND day >= make_date(%s, 1, 1) AND day <= make_date(%s, 12, 31) GROUP BY source",
        (node_id, year, year))
    return {source: Decimal(v) for source, v in rows}


def data_clock(conn: Conn) -> datetime | None:
    """The latest interval end the monitor has rolled up (its data time)."""
    row = conn.execute("SELECT data_clock FROM monitor_state").fetchone()
    return row[0] if row else None


def my_alerts(conn: Conn, *, node_id: int, year: int) -> list[AlertRecord]:
    """Live alerts first, then the latest resolved ones, of this budget year."""
    rows = conn.execute(
        "SELECT a.node_id, a.kind, a.severity, a.opened_at, a.resolved_at, a.detail "
        "FROM monitor_alerts a JOIN monitor_periods p ON p.period = a.period "
        "WHERE a.node_id = %s AND p.year = %s "
        "ORDER BY a.resolved_at IS NULL DESC, a.opened_at DESC LIMIT %s",
        (node_id, year, ALERTS_SHOWN))
    return [AlertRecord(*r) for r in rows]


def my_sessions(conn: Conn, *, node_id: int) -> list[CardSession]:
    rows = conn.execute(
        "SELECT cs.card_id, cs.started_at, cs.ended_at, cs.volume_m3, cs.balance_m3 "
        "FROM card_sessions cs JOIN budget_attachments a ON a.kind = 'card' "
        "AND a.ref = cs.card_id WHERE a.node_id = %s ORDER BY cs.ended_at DESC LIMIT %s",
        (node_id, SESSIONS_SHOWN))
    return [CardSession(card, start, end,
                        None if volume is None else Decimal(str(volume)),
                        None if balance is None else Decimal(str(balance)))
            for card, start, end, volume, balance in rows]


def _band(b: dict[str, str | None]) -> BandCharge:
    def dec(key: str) -> Decimal:
        return Decimal(str(b[key]))
    return BandCharge(dec("from_m3"), None if b["to_m3"] is None else dec("to_m3"),
                      dec("volume_m3"), dec("multiplier"), dec("amount"), dec("surcharge"))


def my_charges(conn: Conn, *, node_id: int, year: int) -> list[ChargeRecord]:
    """The node's over-quota charges as the monitor last computed them (``monitor_charges``)."""
    rows = conn.execute(
        "SELECT source_family, quota_m3, excess_m3, price_per_m3, total_amount, surcharge, bands "
        "FROM monitor_charges WHERE node_id = %s AND year = %s ORDER BY source_family",
        (node_id, year))
    return [ChargeRecord(family, Decimal(quota), Decimal(excess), Decimal(price),
                         Decimal(total), Decimal(surcharge), tuple(_band(b) for b in bands))
            for family, quota, excess, price, total, surcharge, bands in rows]


def _code_digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


def create_code(conn: Conn, *, secret: str) -> str:
    """A short sign-in code for the water_user token ``secret`` (replacing an earlier one)."""
    found = budget_repo.principal(conn, secret=secret)
    if found is None or found.role != "water_user":
        raise ValueError("short codes are for water_user tokens only")
    conn.execute("DELETE FROM water_user_codes WHERE token_id = %s", (found.token_id,))
    while True:  # a clash with another household's code is rare (31⁸ codes): draw again
        code = new_code()
        try:
            with conn.transaction():
                conn.execute("INSERT INTO water_user_codes (code_sha256, token_id) "
                             "VALUES (%s, %s)", (_code_digest(code), found.token_id))
        except psycopg.errors.UniqueViolation:
            continue
        return code


def principal_of_code(conn: Conn, *, code: str) -> budget_repo.Principal | None:
    """The token a short code stands for, unless the token is revoked."""
    row = conn.execute(
        "SELECT t.token_id, t.name, t.role, t.node_id FROM water_user_codes c "
        "JOIN budget_api_tokens t USING (token_id) "
        "WHERE c.code_sha256 = %s AND t.revoked_at IS NULL", (_code_digest(code),)).fetchone()
    return budget_repo.Principal(*row) if row else None
