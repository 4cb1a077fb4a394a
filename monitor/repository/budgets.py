"""SQL for what execution reads: periods, draws, ledger entries, plans, levels, the clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta
from decimal import Decimal

from budget import repository as budget_repo
from budget.ledger import LedgerEntry
from budget.plan_profile import PlanProfile
from budget.repository.connection import Conn
from monitor.budget_alerts import AlertLevels
from monitor.periods import StoredPeriod

DEFAULT_HOLD = timedelta(hours=1)


def data_clock(conn: Conn) -> datetime | None:
    row = conn.execute("SELECT data_clock FROM monitor_state").fetchone()
    return row[0] if row else None


def last_sweep(conn: Conn) -> tuple[datetime | None, int]:
    """The data clock of the last sweep, and how many sweeps there have been."""
    row = conn.execute("SELECT swept_data, sweeps FROM monitor_state").fetchone()
    return (row[0], int(row[1])) if row else (None, 0)


def periods_of_days(conn: Conn, *, days: Collection[date]) -> list[StoredPeriod]:
    """Every stored period (year, month, round) containing one of the days."""
    if not days:
        return []
    rows = conn.execute(
        "SELECT DISTINCT p.period, p.kind, p.first_day, p.last_day FROM monitor_periods p "
        "JOIN unnest(%s::date[]) AS d(day) ON d.day BETWEEN p.first_day AND p.last_day",
        (sorted(days),)).fetchall()
    return [StoredPeriod(*r) for r in rows]


def periods_of_years(conn: Conn, *, years: Collection[int]) -> list[StoredPeriod]:
    rows = conn.execute("SELECT period, kind, first_day, last_day FROM monitor_periods "
                        "WHERE year = ANY(%s)", (sorted(years),)).fetchall()
    return [StoredPeriod(*r) for r in rows]


def period(conn: Conn, *, label: str) -> StoredPeriod | None:
    row = conn.execute("SELECT period, kind, first_day, last_day FROM monitor_periods "
                       "WHERE period = %s", (label,)).fetchone()
    return StoredPeriod(*row) if row else None


def node_ids(conn: Conn) -> list[int]:
    return [int(r[0]) for r in conn.execute("SELECT node_id FROM budget_nodes ORDER BY 1")]


def draws(conn: Conn, *, node_ids: Collection[int] | None, periods: Collection[str]
          ) -> dict[tuple[int, str], dict[str, Decimal]]:
    """Total draw (with descendants) per node and period, by source, to the litre (the
    budget's resolution, budget/units.py); None: every node."""
    rows = conn.execute(
        "SELECT node_id, period, source, round(sum(total_m3), 3) FROM monitor_node_period "
        "WHERE period = ANY(%s) AND (%s::bigint[] IS NULL OR node_id = ANY(%s)) "
        "GROUP BY 1, 2, 3",
        (sorted(periods), None if node_ids is None else sorted(node_ids),
         None if node_ids is None else sorted(node_ids))).fetchall()
    found: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(dict)
    for node_id, label, source, volume in rows:
        found[(int(node_id), str(label))][str(source)] = volume
    return found


def day_draws(conn: Conn, *, node_ids: Collection[int], first: date, last: date
              ) -> dict[tuple[int, date], dict[str, Decimal]]:
    """Total draw (with descendants) per node and day, by source, to the litre."""
    found: dict[tuple[int, date], dict[str, Decimal]] = defaultdict(dict)
    for node_id, day, source, volume in conn.execute(
            "SELECT node_id, day, source, round(sum(total_m3), 3) FROM monitor_node_day "
            "WHERE node_id = ANY(%s) AND day BETWEEN %s AND %s GROUP BY 1, 2, 3",
            (sorted(node_ids), first, last)):
        found[(int(node_id), day)][str(source)] = volume
    return found


def entries(conn: Conn, *, node_ids: Collection[int] | None, year: int) -> list[LedgerEntry]:
    if node_ids is None:
        return budget_repo.approved_entries(conn, year=year)
    return [s.entry for s in budget_repo.entries(conn, node_ids=sorted(node_ids), year=year,
                                                 status="approved")]


def factor(conn: Conn, *, year: int) -> Decimal:
    row = conn.execute("SELECT non_conventional_factor FROM budget_years WHERE year = %s",
                       (year,)).fetchone()
    return row[0] if row else Decimal(0)


def profiles(conn: Conn, *, node_ids: Collection[int] | None) -> dict[int, PlanProfile]:
    rows = conn.execute("SELECT node_id, weights FROM budget_plan_profiles "
                        "WHERE %s::bigint[] IS NULL OR node_id = ANY(%s)",
                        (None if node_ids is None else sorted(node_ids),
                         None if node_ids is None else sorted(node_ids))).fetchall()
    return {int(n): PlanProfile(tuple(w)) for n, w in rows}


def settings(conn: Conn, *, node_ids: Collection[int] | None
             ) -> dict[int, tuple[AlertLevels, timedelta, str | None]]:
    """Levels, hold time and crop class per node: its own row, else its nearest ancestor's."""
    rows = conn.execute(
        "SELECT DISTINCT ON (p.node_id) p.node_id, s.notice, s.warning, s.overrun, s.margin, "
        "s.hold_s, s.crop_class FROM monitor_node_paths p "
        "JOIN monitor_node_settings s ON s.node_id = p.ancestor_id "
        "WHERE %s::bigint[] IS NULL OR p.node_id = ANY(%s) ORDER BY p.node_id, p.depth",
        (None if node_ids is None else sorted(node_ids),
         None if node_ids is None else sorted(node_ids))).fetchall()
    return {int(r[0]): (AlertLevels(r[1], r[2], r[3], r[4]), timedelta(seconds=r[5]), r[6])
            for r in rows}


def same_month_history(conn: Conn, *, node_ids: Collection[int] | None, year: int, month: int,
                       years_back: int = 3) -> dict[int, list[Decimal]]:
    """Total draw of the same month in each of the past years that has any, per node."""
    labels = [f"{year - k}-{month:02d}" for k in range(1, years_back + 1)]
    rows = conn.execute(
        "SELECT node_id, period, round(sum(total_m3), 3) FROM monitor_node_period "
        "WHERE period = ANY(%s) AND (%s::bigint[] IS NULL OR node_id = ANY(%s)) GROUP BY 1, 2",
        (labels, None if node_ids is None else sorted(node_ids),
         None if node_ids is None else sorted(node_ids))).fetchall()
    found: dict[int, list[Decimal]] = defaultdict(list)
    for node_id, _label, volume in rows:
        found[int(node_id)].append(volume)
    return found


def set_levels(conn: Conn, *, node_id: int, levels: AlertLevels, hold: timedelta,
               crop_class: str | None, by: str) -> None:
    conn.execute(
        "INSERT INTO monitor_node_settings (node_id, notice, warning, overrun, margin, hold_s, "
        "crop_class, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (node_id) DO UPDATE SET notice = EXCLUDED.notice, "
        "warning = EXCLUDED.warning, overrun = EXCLUDED.overrun, margin = EXCLUDED.margin, "
        "hold_s = EXCLUDED.hold_s, crop_class = EXCLUDED.crop_class, "
        "updated_by = EXCLUDED.updated_by, updated_at = now()",
        (node_id, levels.notice, levels.warning, levels.overrun, levels.margin,
         int(hold.total_seconds()), crop_class, by))
    conn.execute("INSERT INTO monitor_changes (kind, node_ids) SELECT 'budget', array_agg(node_id) "
                 "FROM monitor_node_paths WHERE ancestor_id = %s", (node_id,))
