"""A year of data for N sites, for ``python -m dashboards.benchmark``.

The registry, the budget hierarchy and the alerts are made in Python and sent
with COPY; the hourly time series (register readings, consumption, card
sessions) and the monitor's roll-ups are made on the server in set-based
``INSERT … SELECT generate_series`` statements, one month at a time, so no row
crosses the wire and nothing is inserted row by row.

Each meter follows a closed-form cumulative draw ``F(h)`` (seasonal, hourly),
so readings, intervals and the daily roll-ups agree without reading back what
was written. Triggers are off (``session_replication_role = replica``) for the
time series only: the monitor's change log is not needed, the roll-ups are
written directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ZONE = ZoneInfo("Asia/Shanghai")
TOWNSHIPS = 20
UNITS_PER_TOWNSHIP = 25


@dataclass(frozen=True)
class Plan:
    sites: int
    year: int  # a whole budget year, opened at its last hour

    @property
    def start(self) -> datetime:
        return datetime(self.year, 1, 1, tzinfo=ZONE)

    @property
    def end(self) -> datetime:
        return datetime(self.year + 1, 1, 1, tzinfo=ZONE)

    @property
    def now(self) -> datetime:
        return self.end - timedelta(hours=1)


# F(h) for meter rate r (m³/h at peak): r·(0.55·h − 0.45·8760/2π·sin(2πh/8760)),
# h hours since the year's start: little in winter, most in summer, never negative.
F = ("({r} * (0.55 * {h} - 0.45 * 8760 / (2 * pi()) * sin(2 * pi() * {h} / 8760)))")


def draw_sql(rate: str, hours: str) -> str:
    return F.format(r=rate, h=hours)


def write_registry(conn: psycopg.Connection[Any], plan: Plan) -> None:
    rng = random.Random(1)
    with conn.cursor().copy("COPY sites (site_id, name, kind, source, township, lat, lon, "
                            "rated_m3h) FROM STDIN") as copy:
        for i in range(plan.sites):
            gate = i % 10 == 9
            copy.write_row((f"S{i:05d}", f"{'闸口' if gate else '机井'}{i:05d}",
                            "canal_gate" if gate else "well",
                            "surface" if gate else "groundwater", f"镇{i % TOWNSHIPS:02d}",
                            38.93 + rng.uniform(-0.3, 0.3), 100.45 + rng.uniform(-0.4, 0.4),
                            float(rng.randrange(30, 400))))
    with conn.cursor().copy("COPY meters (meter_id, site_id, device_id, channel, installed_at, "
                            "register_max, expected_interval_s) FROM STDIN") as copy:
        for i in range(plan.sites):
            site = f"S{i:05d}"
            channel = "power" if i % 10 in (3, 6, 8) else "flow"
            copy.write_row((f"{site}-{channel[0].upper()}", site, site, channel,
                            plan.start - timedelta(days=30), 99_999_999, 3600))
            if i % 10 == 6:  # a card controller on the power-metered well
                copy.write_row((f"{site}-C", site, site, "card",
                                plan.start - timedelta(days=30), None, 3600))
    conn.execute("INSERT INTO power_coefficients (site_id, valid_from, m3_per_kwh, method) "
                 "SELECT site_id, %s, 2.0, 'pump_test' FROM meters WHERE channel = 'power'",
                 (plan.start - timedelta(days=30),))


def write_budget(conn: psycopg.Connection[Any], plan: Plan) -> None:
    """District BM, 20 townships, 25 units each; sites attached to units in turn;
    issues that put some townships near or over their budget by the year's end."""
    conn.execute("INSERT INTO budget_nodes (code, name, level) VALUES ('BM', '基准区', 'district')")
    conn.execute("""
        INSERT INTO budget_nodes (code, name, level, parent_id)
        SELECT 'BM.T' || lpad(t::text, 2, '0'), '镇' || lpad(t::text, 2, '0'), 'township',
               (SELECT node_id FROM budget_nodes WHERE code = 'BM')
        FROM generate_series(0, %s - 1) t""", (TOWNSHIPS,))
    conn.execute("""
        INSERT INTO budget_nodes (code, name, level, parent_id)
        SELECT t.code || '.U' || lpad(u::text, 2, '0'), t.name || u || '村', 'unit', t.node_id
        FROM budget_nodes t CROSS JOIN generate_series(0, %s - 1) u
        WHERE t.level = 'township' ORDER BY t.code, u""", (UNITS_PER_TOWNSHIP,))
    conn.execute("""
        INSERT INTO budget_attachments (kind, ref, node_id)
        SELECT 'site', s.site_id, u.node_id
        FROM sites s
        JOIN budget_nodes u ON u.code = 'BM.T' || lpad((substr(s.site_id, 2)::int %% %s)::text,
                                                        2, '0')
                               || '.U' || lpad((substr(s.site_id, 2)::int / %s %% %s)::text,
                                               2, '0')""",
                 (TOWNSHIPS, TOWNSHIPS, UNITS_PER_TOWNSHIP))
    # Budget: the year's draw of the node's sites × a factor between 0.9 and 1.3.
    conn.execute(f"""
        WITH site_year AS (
          SELECT s.site_id, wb_budget_source(s.source) AS source, a.node_id,
                 {draw_sql('s.rated_m3h', '8760')} AS m3
          FROM sites s JOIN budget_attachments a ON a.kind = 'site' AND a.ref = s.site_id
        ), per_node AS (
          SELECT p.ancestor_id AS node_id, y.source, sum(y.m3) AS m3
          FROM site_year y JOIN monitor_node_paths p ON p.node_id = y.node_id GROUP BY 1, 2
        )
        INSERT INTO budget_entries (node_id, year, kind, source, sector, volume_m3, valid_from,
                                    reason, proposed_by, status, decided_by, decided_at)
        SELECT node_id, %(year)s, 'issue', source, 'agriculture.irrigation',
               round((m3 * (0.9 + (node_id %% 5) * 0.1))::numeric, 3), %(start)s,
               'benchmark', 'benchmark', 'approved', 'benchmark', %(start)s
        FROM per_node WHERE m3 > 0""", {"year": plan.year, "start": plan.start})


BULK_TABLES = ("register_readings", "consumption_records", "card_sessions")


def drop_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drops the bulk tables' secondary indexes (keys stay: TimescaleDB does not
    rebuild a primary key on existing chunks); returns the statements that
    recreate them (built once after the load instead of row by row)."""
    indexes = conn.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
                           (list(BULK_TABLES),)).fetchall()
    for index, _ in indexes:
        conn.execute(f"DROP INDEX {index}")
    return [statement for _, statement in indexes]


def write_time_series(conn: psycopg.Connection[Any], plan: Plan) -> None:
    """Hourly readings and intervals, month by month (one chunk per statement)."""
    month = plan.start
    while month < plan.end:
        following = (month + timedelta(days=32)).replace(day=1)
        hours = {"from": month, "to": following, "start": plan.start}
        series = """
          FROM meters m JOIN sites s USING (site_id)
          CROSS JOIN generate_series(%(from)s::timestamptz, %(to)s::timestamptz
                                     - interval '1 hour', interval '1 hour') AS g(ts)
          CROSS JOIN LATERAL (SELECT extract(epoch FROM g.ts - %(start)s) / 3600 AS h,
                                     hashtext(m.meter_id || g.ts) %% 2000 = 0 AS bad) x
          WHERE m.channel <> 'card'"""
        volume = f"({draw_sql('s.rated_m3h', 'x.h')} - {draw_sql('s.rated_m3h', '(x.h - 1)')})"
        # a reading and the interval that ends at it are one row (migration 100); the
        # first reading of the year ends no interval
        first = "g.ts = %(start)s"
        conn.execute(f"""
            INSERT INTO register_readings (meter_id, ts, value, flow_m3h, received_at, ts_start,
                                           site_id, method, status, quality, register_delta,
                                           kwh, coefficient, volume_m3)
            SELECT m.meter_id, g.ts,
                   1000 + {draw_sql('s.rated_m3h', 'x.h')}
                          / CASE m.channel WHEN 'power' THEN 2 ELSE 1 END,
                   CASE m.channel WHEN 'flow' THEN {volume} END, g.ts + interval '40 seconds',
                   CASE WHEN NOT {first} THEN g.ts - interval '1 hour' END,
                   CASE WHEN NOT {first} THEN m.site_id END,
                   CASE WHEN {first} THEN NULL
                        WHEN m.channel = 'flow' THEN 'measured' ELSE 'converted' END,
                   CASE WHEN {first} THEN NULL WHEN x.bad THEN 'quarantined' ELSE 'counted' END,
                   CASE WHEN x.bad AND NOT {first} THEN 'negative_delta' END,
                   CASE WHEN NOT {first} THEN {volume} END,
                   CASE WHEN m.channel = 'power' AND NOT {first} THEN {volume} / 2 END,
                   CASE WHEN m.channel = 'power' AND NOT {first} THEN 2.0 END,
                   CASE WHEN {first} THEN NULL WHEN x.bad THEN 0 ELSE {volume} END
            {series}""", hours)
        conn.execute("""
            INSERT INTO card_sessions (meter_id, session_id, card_id, holder, started_at,
                                       ended_at, volume_m3, balance_m3, received_at)
            SELECT m.meter_id, to_char(d, 'YYYYMMDD') || '-' || k, m.site_id || '-' || k,
                   '持卡人' || k, d + (6 + 8 * k) * interval '1 hour',
                   d + (8 + 8 * k) * interval '1 hour', s.rated_m3h * 1.5, 500, d
            FROM meters m JOIN sites s USING (site_id)
            CROSS JOIN generate_series(%(from)s::timestamptz, %(to)s::timestamptz
                                       - interval '1 day', interval '1 day') AS d
            CROSS JOIN generate_series(0, 1) AS k
            WHERE m.channel = 'card'""", hours)
        month = following
    conn.execute("""
        INSERT INTO consumption_records (meter_id, ts_end, ts_start, site_id, session_id, method,
                                         status, volume_m3)
        SELECT c.meter_id, c.ended_at, c.started_at, m.site_id, c.session_id, 'card', 'counted',
               c.volume_m3
        FROM card_sessions c JOIN meters m USING (meter_id)""")
    conn.execute("""
        INSERT INTO device_status (device_id, ts, online, alarms)
        SELECT DISTINCT m.device_id, d, (extract(day FROM d)::int %% 2 = 0), 0
        FROM meters m CROSS JOIN generate_series(%s::timestamptz, %s, interval '15 days') d""",
                 (plan.start, plan.end))
    conn.execute("""
        INSERT INTO dead_letters (received_at, topic, payload, payload_sha256, reason, detail)
        SELECT %s::timestamptz + n * interval '31 minutes', 'waterbudget/v1/S' ||
               lpad((n %% %s)::text, 5, '0') || '/flow', convert_to('{"ts": "x"}', 'UTF8'),
               sha256(n::text::bytea), (ARRAY['invalid_json', 'wrong_type', 'future_time',
               'unknown_device'])[n %% 4 + 1], 'benchmark dead letter ' || n
        FROM generate_series(0, 16000) n""", (plan.start, plan.sites))
