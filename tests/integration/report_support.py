"""A small district in the real database for the report and water-user page tests.

Budgets go through the budget repository (approved entries); sites, meters,
consumption and card sessions are inserted as ingestion stores them; the
monitor's roll-ups are then maintained by the monitor's own consumer
(``roll_up``), as in production.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from budget import repository as budget_repo
from budget.hierarchy import NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind
from budget.year_ledger import BUDGET_TIMEZONE
from monitor.consumer import Consumer

JAN1 = datetime(2024, 1, 1, tzinfo=BUDGET_TIMEZONE)
JULY1 = datetime(2024, 7, 1, tzinfo=BUDGET_TIMEZONE)
IRR = Sector.IRRIGATION


def at(month: int, day: int = 1, hour: int = 0, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BUDGET_TIMEZONE)


def seed_district(conn: budget_repo.Conn) -> dict[str, int]:
    """甘州区 → 小满镇 (小满一村 → 张三) and 大满镇; wells W1 (groundwater, flow meter and
    a card controller) and W2 (surface canal gate)."""
    ids: dict[str, int] = {}
    for code, name, level, parent in (
        ("GZ", "甘州区", NodeLevel.DISTRICT, None), ("XM", "小满镇", NodeLevel.TOWNSHIP, "GZ"),
        ("DM", "大满镇", NodeLevel.TOWNSHIP, "GZ"), ("XM-1", "小满一村", NodeLevel.UNIT, "XM"),
        ("H1", "张三", NodeLevel.HOUSEHOLD, "XM-1"),
    ):
        ids[code] = budget_repo.create_node(conn, code=code, name=name, level=level,
                                            parent_id=ids[parent] if parent else None)
    for code, source, m3 in (
        ("GZ", Source.GROUNDWATER, 1_000_000), ("GZ", Source.LOCAL_SURFACE, 2_000_000),
        ("XM", Source.GROUNDWATER, 500_000), ("DM", Source.LOCAL_SURFACE, 400_000),
        ("XM-1", Source.GROUNDWATER, 100_000), ("H1", Source.GROUNDWATER, 2_000),
    ):
        budget_repo.insert_entry(conn, node_id=ids[code], year=2024, kind=EntryKind.ISSUE,
                                 source=source, sector=IRR, volume_m3=Decimal(m3),
                                 valid_from=JAN1, reason="test", proposed_by="seed",
                                 approved_at=JAN1)
    conn.execute(
        "INSERT INTO sites (site_id, name, kind, source) VALUES "
        "('W1', '1号井', 'well', 'groundwater'), ('W2', '2号闸', 'canal_gate', 'surface')")
    conn.execute(
        "INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at, "
        "expected_interval_s) VALUES ('W1-F', 'W1', 'D1', 'flow', %(t)s, 3600), "
        "('W1-C', 'W1', 'D1', 'card', %(t)s, 3600), ('W2-F', 'W2', 'D2', 'flow', %(t)s, 3600)",
        {"t": datetime(2023, 1, 1, tzinfo=BUDGET_TIMEZONE)})
    budget_repo.attach(conn, node_id=ids["XM-1"], kind="site", ref="W1", sector=IRR)
    budget_repo.attach(conn, node_id=ids["DM"], kind="site", ref="W2", sector=IRR)
    budget_repo.attach(conn, node_id=ids["H1"], kind="card", ref="C1", sector=IRR)
    return ids


# A register interval lives on the reading it ends at (migration 100): these
# helpers write the reading with its interval's figures, or add the figures
# to a reading already there.
UPSERT_INTERVAL = (
    "ON CONFLICT (meter_id, ts) DO UPDATE SET ts_start = EXCLUDED.ts_start, "
    "site_id = EXCLUDED.site_id, method = EXCLUDED.method, status = EXCLUDED.status, "
    "register_delta = EXCLUDED.register_delta, volume_m3 = EXCLUDED.volume_m3")


def daily_use(conn: budget_repo.Conn, *, meter: str, site: str, first: datetime,
              days: int, m3: float, method: str = "measured") -> None:
    """One counted interval per day ending at midnight (it counts on the day before)."""
    conn.execute(
        "INSERT INTO register_readings (meter_id, ts, value, ts_start, site_id, method, status, "
        "register_delta, volume_m3) "
        "SELECT %(m)s, t + interval '1 day', %(v)s * row_number() OVER (ORDER BY t), t, %(s)s, "
        "%(method)s, 'counted', %(v)s, %(v)s "
        "FROM generate_series(%(a)s::timestamptz, %(b)s::timestamptz, interval '1 day') t "
        + UPSERT_INTERVAL,
        {"m": meter, "s": site, "method": method, "v": m3, "a": first,
         "b": first + timedelta(days=days - 1)})


def one_interval(conn: budget_repo.Conn, *, meter: str, site: str, start: datetime,
                 end: datetime, m3: float) -> None:
    """A measured interval from ``start`` to ``end`` (a late reading, say)."""
    conn.execute(
        "INSERT INTO register_readings (meter_id, ts, value, ts_start, site_id, method, status, "
        "register_delta, volume_m3) VALUES (%s, %s, 0, %s, %s, 'measured', 'counted', %s, %s) "
        + UPSERT_INTERVAL, (meter, end, start, site, m3, m3))


def card_session(conn: budget_repo.Conn, *, session: str, card: str, start: datetime,
                 hours: int, m3: float, balance: float) -> None:
    end = start + timedelta(hours=hours)
    conn.execute(
        "INSERT INTO card_sessions (meter_id, session_id, card_id, holder, started_at, ended_at, "
        "volume_m3, balance_m3) VALUES ('W1-C', %s, %s, '张三', %s, %s, %s, %s)",
        (session, card, start, end, m3, balance))
    conn.execute(
        "INSERT INTO consumption (meter_id, ts_end, ts_start, site_id, session_id, method, "
        "status, volume_m3) VALUES ('W1-C', %s, %s, 'W1', %s, 'card', 'counted', %s)",
        (end, start, session, m3))


def hourly_readings(conn: budget_repo.Conn, *, meter: str, first: datetime, hours: int) -> None:
    conn.execute(
        "INSERT INTO register_readings (meter_id, ts, value) "
        "SELECT %s, t, extract(epoch FROM t - %s::timestamptz) / 3600 "
        "FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') t "
        "ON CONFLICT (meter_id, ts) DO NOTHING",  # a reading daily_use wrote stays
        (meter, first, first, first + timedelta(hours=hours - 1)))


def roll_up(conn: budget_repo.Conn) -> None:
    """The monitor's own consumer: change log → roll-ups (and its rules), until drained."""
    Consumer().drain(conn)
