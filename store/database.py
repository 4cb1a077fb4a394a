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
