"""``python -m dashboards.benchmark``: every panel query of every dashboard on a
year of data for 5,000 sites, expanded as Grafana expands it; per-panel p50 and
p95 over the runs, and the worst. Target: each under 500 ms.

The data set (``dashboards.benchmark_data``, ``dashboards.benchmark_rollups``)
is a whole budget year, and the dashboards are opened at its last hour, so
year-to-date panels cover the full year. ``--keep`` leaves the database for a
later ``--database NAME`` run (building it takes minutes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dashboards.benchmark_data import (
    Plan,
    drop_indexes,
    write_budget,
    write_registry,
    write_time_series,
)
from dashboards.benchmark_rollups import write_rollups
from dashboards.catalog import rendered
from dashboards.panel_queries import all_queries, result_problems
from dashboards.query_runner import open_dashboard, run
from store.database import (
    create_scratch_database,
    drop_database,
    timescaledb_enabled,
    timescaledb_installable,
)

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 500.0


def build(url: str, plan: Plan) -> None:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            write_registry(conn, plan)
            write_budget(conn, plan)
        print(f"  registry and budget: {time.perf_counter() - started:.0f} s", flush=True)
        conn.execute("SET session_replication_role = replica")  # no per-row triggers
        recreate = drop_indexes(conn)
        write_time_series(conn, plan)
        print(f"  readings, consumption, sessions: {time.perf_counter() - started:.0f} s",
              flush=True)
        conn.execute("SET maintenance_work_mem = '512MB'")
        for statement in recreate:
            conn.execute(statement)
        print(f"  indexes: {time.perf_counter() - started:.0f} s", flush=True)
        conn.execute("SET session_replication_role = origin")
        write_rollups(conn, plan)
        conn.execute("VACUUM ANALYZE")
    print(f"  roll-ups, analyze: {time.perf_counter() - started:.0f} s", flush=True)


def measure(url: str, plan: Plan, *, runs: int) -> list[tuple[str, float, float, int]]:
    """(query, p50 ms, p95 ms, rows) per query of every dashboard."""
    figures = []
    with psycopg.connect(url, autocommit=True) as conn:
        timescaledb = timescaledb_enabled(conn)
        for dashboard in rendered().values():
            viewing = open_dashboard(conn, dashboard, now=plan.now, timescaledb=timescaledb)
            for query in all_queries(dashboard):
                sql = viewing.sql(query)
                result = run(conn, sql)  # warm-up, and the shape check
                problems = result_problems(query, result.columns, result.rows)
                if problems:
                    raise SystemExit(f"{query.name}: {problems}")
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    run(conn, sql)
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                figures.append((query.name, statistics.median(times), p95, len(result.rows)))
    return figures


def report(figures: list[tuple[str, float, float, int]]) -> bool:
    width = max(len(name) for name, *_ in figures)
    print(f"{'panel query':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'rows':>6}")
    for name, p50, p95, rows in figures:
        flag = "  OVER" if p95 > TARGET_MS else ""
        print(f"{name:<{width}}  {p50:8.1f}  {p95:8.1f}  {rows:6d}{flag}")
    worst = max(figures, key=lambda f: f[2])
    print(f"worst p95: {worst[2]:.1f} ms ({worst[0]}); target {TARGET_MS:.0f} ms per panel")
    return worst[2] <= TARGET_MS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--plain", action="store_true", help="plain tables, no TimescaleDB")
    parser.add_argument("--database", help="reuse a database a --keep run left")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)
    admin_url = os.environ.get("WATERBUDGET_DATABASE_URL") or DEFAULT_ADMIN_URL
    plan = Plan(sites=args.sites, year=date.today().year - 1)
    if args.database:
        url = make_conninfo(admin_url, dbname=args.database)
    else:
        timescaledb = not args.plain and timescaledb_installable(admin_url)
        url = create_scratch_database(admin_url, timescaledb=timescaledb, prefix="wbdash")
        print(f"building {args.sites} sites × {plan.year} (hourly) in "
              f"{conninfo_to_dict(url)['dbname']} ({'TimescaleDB' if timescaledb else 'plain'})",
              flush=True)
        build(url, plan)
    try:
        ok = report(measure(url, plan, runs=args.runs))
    finally:
        if args.keep or args.database:
            print(f"database kept: --database {conninfo_to_dict(url)['dbname']}")
        else:
            drop_database(admin_url, url)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
