"""Schema migrations: numbered SQL files in ``store/migrations``, applied once each.

TimescaleDB is used where it is available (mode ``auto``), required (``on``) or
left out (``off``); the migrations create hypertables only when the extension
is installed in the database, so the same schema and queries work without it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from store.database import timescaledb_usable

log = logging.getLogger(__name__)
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
LOCK_KEY = 7_411_977  # advisory lock: one migrator at a time


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


class TimescaleUnavailableError(RuntimeError):
    pass


def _enable_timescaledb(conn: psycopg.Connection[Any], mode: str) -> bool:
    if mode == "off":
        return False
    if not timescaledb_usable(conn):
        if mode == "on":
            raise TimescaleUnavailableError(
                "TimescaleDB is required (WATERBUDGET_TIMESCALEDB=on) but is not installed and "
                "preloaded on this server: run tools/install-timescaledb.sh")
        return False
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    return True


def migrate(url: str, *, timescaledb: str = "auto", until: int | None = None) -> list[str]:
    """Apply pending migrations (up to version ``until``, for tests); returns the names applied."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute("SET client_min_messages = warning")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            fresh = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
            if fresh and fresh[0] == 0 and _enable_timescaledb(conn, timescaledb):
                log.info("TimescaleDB enabled: time-series tables become hypertables")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in available_migrations():
                if migration.version in done or (until is not None and migration.version > until):
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                                 (migration.version, migration.name))
                applied.append(migration.name)
                log.info("applied %s", migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied
