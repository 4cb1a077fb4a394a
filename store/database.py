"""Connections to PostgreSQL / TimescaleDB (psycopg 3)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

CONNECT_ATTEMPTS = 30
CONNECT_INTERVAL_S = 1.0


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=autocommit)


def wait_until_ready(url: str, attempts: int = CONNECT_ATTEMPTS) -> None:
    """Readiness with retries: the database may still be starting."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(CONNECT_INTERVAL_S)


def make_pool(url: str, *, min_size: int = 1, max_size: int = 4) -> ConnectionPool:
    pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=False)
    pool.open(wait=True, timeout=30)
    return pool


def timescaledb_enabled(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return bool(row and row[0])


def create_scratch_database(admin_url: str, *, timescaledb: bool, prefix: str = "wbtest",
                            until: int | None = None) -> str:
    """A new, migrated database on the server of ``admin_url``; returns its conninfo."""
    import uuid

    from psycopg.conninfo import make_conninfo

    from store.migrate import migrate

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(admin_url, dbname=name)
    migrate(url, timescaledb="on" if timescaledb else "off", until=until)
    return url


def drop_database(admin_url: str, url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timescaledb_usable(conn: psycopg.Connection[Any]) -> bool:
    """The extension is installed on this connection's server and preloaded."""
    row = conn.execute("SELECT count(*) FROM pg_available_extensions "
                       "WHERE name = 'timescaledb'").fetchone()
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    return bool(row and row[0]) and "timescaledb" in str(preload[0] if preload else "")


def timescaledb_installable(admin_url: str) -> bool:
    """The extension is installed on the server of ``admin_url`` and preloaded."""
    with psycopg.connect(admin_url) as conn:
        return timescaledb_usable(conn)
