"""On-disk size of register readings and consumption intervals per million readings.

    python tools/measure_storage.py [--admin-url URL] [--meters 1000] [--readings 1000]

Creates a scratch database (migrated like production) with TimescaleDB, fills
``register_readings`` with ``meters × readings`` rows straight from SQL
(``INSERT … SELECT … FROM generate_series``): flow-metered wells ``B00001-F1``…
reporting every 15 minutes, cumulative register values growing by 0–95 % of a
100 m³/h rated capacity per interval (rounded to 0.01 m³, as the benchmark's
simulated wells), a receive time a few seconds after the reading, and on each
row the ``measured``/``counted`` interval that ends at it, with the columns the
ingestor writes (``reading_repository.READING_COLUMNS``, migration 100: one row
per reading and its interval; the first reading's interval comes from a reading
before it that is not stored, so every row carries one). Prints table, index and
total sizes per million readings; then enables TimescaleDB compression (segment
by ``meter_id``, order by ``ts``), compresses every chunk and prints the sizes
again with the ratio. Then the same without TimescaleDB (plain tables). The
scratch databases are dropped at the end.

Compression is a Timescale-License feature: on an Apache-only build of the
extension it is reported as unavailable, not estimated.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.database import (
    create_scratch_database,
    drop_database,
    timescaledb_installable,
)

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
START = "2026-03-01 00:00:00+00"
INTERVAL_S = 900
RATED_M3H = 100.0

Conn = psycopg.Connection[Any]

# One row per (meter, reading): a cumulative register from a running sum of
# pseudo-random increments (deterministic: hash of meter and index), with the
# interval that ends at it.
READINGS_SQL = """
INSERT INTO register_readings (meter_id, ts, value, flow_m3h, origin, received_at, ts_start,
                               site_id, method, status, quality, register_delta, kwh,
                               coefficient, volume_m3, derived_at)
SELECT meter_id, ts, total, round((delta * 3600 / %(interval_s)s)::numeric, 2)::float8,
       'device', ts + make_interval(secs => 2 + (k %% 28)),
       ts - make_interval(secs => %(interval_s)s), split_part(meter_id, '-', 1),
       'measured', 'counted', NULL, delta, NULL, NULL, delta,
       ts + make_interval(secs => 2 + (k %% 28)) + interval '40 milliseconds'
FROM (
  SELECT format('B%%s-F1', lpad(m::text, 5, '0')) AS meter_id,
         %(start)s::timestamptz + make_interval(secs => i * %(interval_s)s) AS ts,
         d.delta,
         round(sum(d.delta) OVER (PARTITION BY m ORDER BY i)::numeric, 2)::float8 - d.delta
           AS total,
         d.k
  FROM generate_series(1, %(meters)s) AS m,
       generate_series(0, %(readings)s - 1) AS i,
       LATERAL (SELECT abs(hashint8(m::bigint * 1000003 + i)::bigint) AS k) AS h,
       LATERAL (SELECT round((%(per_reading)s * 0.95 * (h.k %% 10007) / 10006.0)::numeric,
                             2)::float8 AS delta, h.k) AS d
) AS r
"""
TABLES = ("register_readings",)


def sizes(conn: Conn, table: str, hypertable: bool) -> tuple[int, int, int]:
    """(table incl. TOAST, indexes, total) bytes."""
    if hypertable:
        row = conn.execute(
            "SELECT table_bytes + coalesce(toast_bytes, 0), index_bytes, total_bytes "
            "FROM hypertable_detailed_size(%s::regclass)", (table,)).fetchone()
    else:
        row = conn.execute(
            "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass), "
            "pg_total_relation_size(%s::regclass)", (table, table, table)).fetchone()
    assert row is not None
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def mib(n: float) -> str:
    return f"{n / 2**20:8.1f} MiB"


def report(conn: Conn, label: str, hypertable: bool, n_readings: int) -> dict[str, int]:
    per = 1_000_000 / n_readings
    totals: dict[str, int] = {}
    print(f"  {label}: per million readings (table incl. TOAST / indexes / total)")
    for table in TABLES:
        tbl, idx, total = sizes(conn, table, hypertable)
        totals[table] = total
        print(f"    {table:18s} {mib(tbl * per)} {mib(idx * per)} {mib(total * per)}"
              f"   ({total * per / 1_000_000:6.1f} bytes/reading)")
    both = sum(totals.values()) * per
    print(f"    {'both':18s} {'':12s} {'':12s} {mib(both)}"
          f"   ({both / 1_000_000:6.1f} bytes/reading)")
    return totals


def load(conn: Conn, meters: int, readings: int) -> float:
    params = {"interval_s": INTERVAL_S, "start": START, "meters": meters, "readings": readings,
              "per_reading": RATED_M3H * INTERVAL_S / 3600}
    t0 = time.perf_counter()
    with conn.transaction():
        conn.execute(READINGS_SQL, params)
    elapsed = time.perf_counter() - t0
    conn.execute("VACUUM ANALYZE register_readings")
    return elapsed


def check(conn: Conn, n_readings: int) -> None:
    row = conn.execute("SELECT (SELECT count(*) FROM register_readings), "
                       "(SELECT count(*) FROM consumption), "
                       "(SELECT min(volume_m3) FROM consumption)").fetchone()
    assert row is not None
    if row[0] != n_readings or row[1] != n_readings or row[2] is None or row[2] < 0:
        raise SystemExit(f"unexpected contents: {row}")


def compress(conn: Conn) -> tuple[bool, str]:
    try:
        conn.execute("ALTER TABLE register_readings SET (timescaledb.compress, "
                     "timescaledb.compress_segmentby = 'meter_id', "
                     "timescaledb.compress_orderby = 'ts')")
    except psycopg.Error as exc:
        return False, str(exc).strip().splitlines()[0]
    t0 = time.perf_counter()
    n = 0
    for table in TABLES:
        for (chunk,) in conn.execute("SELECT show_chunks(%s::regclass)::text", (table,)).fetchall():
            conn.execute("SELECT compress_chunk(%s::regclass)", (chunk,))
            n += 1
    return True, f"{n} chunks compressed in {time.perf_counter() - t0:.1f} s"


def run(admin_url: str, meters: int, readings: int, timescaledb: bool) -> None:
    n = meters * readings
    url = create_scratch_database(admin_url, timescaledb=timescaledb, prefix="wbsize")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            name = "TimescaleDB hypertables" if timescaledb else "plain PostgreSQL tables"
            version = conn.execute("SELECT extversion FROM pg_extension "
                                   "WHERE extname = 'timescaledb'").fetchone()
            print(f"\n{name} ({n:,} readings with their intervals; {meters:,} meters × "
                  f"{readings:,} readings every {INTERVAL_S // 60} min"
                  + (f"; timescaledb {version[0]}" if version else "") + ")")
            print(f"  loaded in {load(conn, meters, readings):.1f} s")
            check(conn, n)
            if timescaledb:
                chunks = conn.execute("SELECT count(*) FROM show_chunks('register_readings')"
                                      ).fetchone()
                print(f"  register_readings chunks: {chunks[0] if chunks else '?'}")
            before = report(conn, "uncompressed", timescaledb, n)
            if not timescaledb:
                return
            ok, detail = compress(conn)
            if not ok:
                print(f"  compression unavailable: {detail}")
                return
            print(f"  {detail}")
            conn.execute("VACUUM ANALYZE register_readings")
            check(conn, n)
            after = report(conn, "compressed", timescaledb, n)
            for table in TABLES:
                print(f"    ratio {table:18s} {before[table] / max(after[table], 1):5.1f} : 1")
            print(f"    ratio {'both':18s} "
                  f"{sum(before.values()) / max(sum(after.values()), 1):5.1f} : 1")
    finally:
        drop_database(admin_url, url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--meters", type=int, default=1_000)
    parser.add_argument("--readings", type=int, default=1_000, help="per meter")
    args = parser.parse_args(argv)
    with psycopg.connect(args.admin_url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    print(f"PostgreSQL {server[0] if server else '?'} at {args.admin_url}")
    if timescaledb_installable(args.admin_url):
        run(args.admin_url, args.meters, args.readings, timescaledb=True)
    else:
        print("\nTimescaleDB is not installed and preloaded on this server: skipped")
    run(args.admin_url, args.meters, args.readings, timescaledb=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
