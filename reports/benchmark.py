"""Benchmark: the monthly report of a district of 50,000 nodes, from the database to files.

    python -m reports.benchmark [--households 48979] [--runs 3] [--database-url URL]

Builds, in a scratch database on the server of ``--database-url`` (default
``WATERBUDGET_TEST_DATABASE_URL``), a district → 20 townships → 1,000 units →
households (50,000 nodes), one budget per node, the monitor's roll-ups for
January–June of this year and last year (units daily, households every tenth
day), 1,000 metered wells with June's readings, alerts and charges. Then times,
per run: ``reports.service.issue`` of the district's June report (read the
ledger and the roll-ups, shape, compare, store revision 1; rolled back after
each run so every run does the same work) and rendering it as XLSX, HTML and
CSV. Prints each step and the median of the runs; the target is < 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

import psycopg

from reports import service
from reports.render_csv import render_csv
from reports.render_html import render_html
from reports.render_xlsx import render_xlsx
from store.database import create_scratch_database, drop_database, timescaledb_installable

TOWNSHIPS, UNITS = 20, 1_000
BUILT = datetime(2024, 7, 2, tzinfo=UTC)


def seed(url: str, households: int) -> int:
    """The district in one go, inside PostgreSQL (generate_series); returns its node id."""
    with psycopg.connect(url) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("INSERT INTO budget_nodes (code, name, level) VALUES ('D', '测试区', "
                     "'district')")
        conn.execute("INSERT INTO budget_nodes (code, name, level, parent_id) SELECT 'T' || t, "
                     "'乡镇' || t, 'township', 1 FROM generate_series(1, %s) t", (TOWNSHIPS,))
        conn.execute("INSERT INTO budget_nodes (code, name, level, parent_id) SELECT 'U' || u, "
                     "'村' || u, 'unit', 1 + 1 + u %% %s FROM generate_series(1, %s) u",
                     (TOWNSHIPS, UNITS))
        conn.execute("INSERT INTO budget_nodes (code, name, level, parent_id) SELECT 'H' || h, "
                     "'户' || h, 'household', 1 + %s + 1 + h %% %s FROM generate_series(1, %s) h",
                     (TOWNSHIPS, UNITS, households))
        conn.execute(
            "INSERT INTO budget_entries (node_id, year, kind, source, sector, volume_m3, "
            "valid_from, reason, proposed_by, status, decided_by, decided_at) "
            "SELECT node_id, 2024, 'issue', 'groundwater', 'agriculture.irrigation', "
            "CASE level WHEN 'household' THEN 2000 WHEN 'unit' THEN 110000 "
            "WHEN 'township' THEN 5500000 ELSE 120000000 END, '2024-01-01+08', 'bench', "
            "'bench', 'approved', 'bench', '2024-01-01+08' FROM budget_nodes")
        for year in (2023, 2024):
            conn.execute(
                "INSERT INTO monitor_node_day (node_id, day, source, sector, own_m3, total_m3) "
                "SELECT n.node_id, d::date, 'groundwater', 'agriculture.irrigation', 0, "
                "CASE n.level WHEN 'household' THEN 12 WHEN 'unit' THEN 600 "
                "WHEN 'township' THEN 30000 ELSE 600000 END "
                "FROM budget_nodes n CROSS JOIN generate_series(make_date(%s, 1, 1), "
                "make_date(%s, 6, 30), interval '1 day') d "
                "WHERE n.level <> 'household' OR (n.node_id + extract(doy FROM d)::int) %% 10 = 0",
                (year, year))
        conn.execute(  # the monitor adds months as data arrives; its trigger sums them
            "INSERT INTO monitor_periods (period, kind, year, first_day, last_day) "
            "SELECT to_char(m, 'YYYY-MM'), 'month', extract(year FROM m)::int, m::date, "
            "(m + interval '1 month - 1 day')::date FROM generate_series("
            "date '2023-01-01', date '2024-06-01', interval '1 month') m")
        conn.execute("INSERT INTO sites (site_id, name, kind, source) SELECT 'W' || u, 'well', "
                     "'well', 'groundwater' FROM generate_series(1, %s) u", (UNITS,))
        conn.execute("INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at) "
                     "SELECT 'W' || u || '-F', 'W' || u, 'D' || u, 'flow', '2023-01-01+08' "
                     "FROM generate_series(1, %s) u", (UNITS,))
        conn.execute("INSERT INTO budget_attachments (kind, ref, node_id, sector) SELECT 'site', "
                     "'W' || u, n.node_id, 'agriculture.irrigation' FROM generate_series(1, %s) "
                     "u JOIN budget_nodes n ON n.code = 'U' || u", (UNITS,))
        conn.execute(
            "INSERT INTO monitor_meter_day (meter_id, day, site_id, channel, intervals, "
            "counted_m3, truth_m3, quarantined, readings) SELECT 'W' || u || '-F', d::date, "
            "'W' || u, 'flow', 24, 600, 600, 0, CASE WHEN u %% 10 = 0 THEN 20 ELSE 24 END "
            "FROM generate_series(1, %s) u CROSS JOIN generate_series(date '2024-06-01', "
            "date '2024-06-30', interval '1 day') d", (UNITS,))
        conn.execute("INSERT INTO monitor_periods (period, kind, year, first_day, last_day) "
                     "VALUES ('2024', 'year', 2024, '2024-01-01', '2024-12-31')")
        conn.execute(
            "INSERT INTO monitor_alerts (subject, kind, period, seq, status, severity, detail, "
            "node_id, opened_at, last_seen_at, evaluated_at) SELECT 'node/' || node_id, "
            "'budget_level', '2024', 1, 'open', 'warning', 'warning', node_id, "
            "'2024-06-15+08', '2024-06-15+08', '2024-06-15+08' FROM budget_nodes "
            "WHERE level = 'household' AND node_id % 100 = 0")
        conn.execute(
            "INSERT INTO monitor_charges (node_id, year, source_family, as_of, use_m3, quota_m3, "
            "excess_m3, price_per_m3, base_amount, total_amount, surcharge, bands) "
            "SELECT node_id, 2024, 'groundwater', '2024-07-01+08', 2300, 2000, 300, 0.1, 230, "
            "234.5, 4.5, '[]' FROM budget_nodes WHERE level = 'household' AND node_id % 50 = 0")
        conn.execute("ANALYZE")
        count = conn.execute("SELECT count(*) FROM budget_nodes").fetchone()
        assert count is not None
        print(f"seeded {count[0]:,} nodes")
    return 1


def one_run(url: str, district: int) -> dict[str, float]:
    times: dict[str, float] = {}
    began = time.perf_counter()
    with psycopg.connect(url) as conn:
        issued = service.issue(conn, kind="monthly", node_id=district, period="2024-06",
                               built_at=BUILT, by="benchmark")
        times["issue"] = time.perf_counter() - began
        conn.rollback()
    document = issued.report.document
    assert document is not None
    assert issued.created
    for name, render in (("xlsx", render_xlsx), ("html", render_html), ("csv", render_csv)):
        start = time.perf_counter()
        render(document)
        times[name] = time.perf_counter() - start
    times["total"] = time.perf_counter() - began
    rows = len(document.section("nodes").rows)  # type: ignore[union-attr]
    assert rows == 1 + TOWNSHIPS + UNITS, rows
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50_000 - 1 - TOWNSHIPS - UNITS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("WATERBUDGET_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("give --database-url (a server to create a scratch database on)")
    url = create_scratch_database(args.database_url,
                                  timescaledb=timescaledb_installable(args.database_url),
                                  prefix="wbreportbench")
    try:
        began = time.perf_counter()
        district = seed(url, args.households)
        print(f"seeding took {time.perf_counter() - began:.1f} s")
        runs = [one_run(url, district) for _ in range(args.runs)]
        for step in runs[0]:
            values = [r[step] for r in runs]
            print(f"  {step:<6} median {statistics.median(values):6.2f} s "
                  f"(min {min(values):.2f}, max {max(values):.2f})")
        total = statistics.median(r["total"] for r in runs)
        print(f"monthly report of a {1 + TOWNSHIPS + UNITS + args.households:,}-node district "
              f"(database to XLSX, HTML and CSV): {total:.2f} s, median of {args.runs} "
              f"(target < 10 s)")
    finally:
        drop_database(args.database_url, url)


if __name__ == "__main__":
    main()
