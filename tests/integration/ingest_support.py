"""What the ingest integration tests share: a running ingestor, waiting, loading registries."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from ingest.ingestor import Ingestor
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.service import build_ingestor
from ingest.simulator import Registry as SimRegistry
from ingest.simulator import write_registry_yaml
from waterbudget.settings import Settings

ZONE = ZoneInfo("Asia/Shanghai")


def unique_prefix() -> str:
    return f"wbtest/{uuid.uuid4().hex[:10]}"


def settings_for(database_url: str, mqtt_url: str, prefix: str, protocol: str = "5",
                 client_id: str | None = None, **extra: Any) -> Settings:
    return Settings(database_url=database_url, mqtt_url=mqtt_url, topic_prefix=prefix,
                    mqtt_protocol=protocol,
                    mqtt_client_id=client_id or f"wbtest-{uuid.uuid4().hex[:8]}", **extra)


@contextlib.contextmanager
def running_ingestor(settings: Settings) -> Iterator[Ingestor]:
    source, ingestor = build_ingestor(settings)
    source.start()
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield ingestor
    finally:
        stop.set()
        thread.join(30)
        source.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def scalar(url: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def load_sim_registry(url: str, registry: SimRegistry) -> None:
    """Through the documented YAML format, as an operator would."""
    path = Path(tempfile.mkdtemp(prefix="wbtest-")) / "registry.yaml"
    write_registry_yaml(registry, path)
    with psycopg.connect(url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(path, ZONE))


def consumption_snapshot(url: str) -> list[tuple[Any, ...]]:
    return rows(url, "SELECT meter_id, ts_end, session_id, ts_start, method, status, quality, "
                     "round(volume_m3::numeric, 6), round(coalesce(kwh, 0)::numeric, 6) "
                     "FROM consumption ORDER BY 1, 2, 3")
