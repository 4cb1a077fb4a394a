"""``waterbudget demo``: database, broker, ingestor and a device simulator in one process.

Uses the configured database and broker where set, embedded ones otherwise, so
a newcomer sees readings flowing within a minute of the first command.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from ingest.publisher import PublishError, publish_realtime
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.service import run_ingest
from ingest.simulator import SimConfig, build_registry, simulate_messages, write_registry_yaml
from monitor.demo import print_alerts, seed_budgets
from monitor.service import MonitorService
from store.migrate import migrate
from waterbudget.embedded import Embedded, start_broker, start_postgres
from waterbudget.settings import Settings

log = logging.getLogger(__name__)

SUMMARY = """
SELECT s.township, c.method, count(*) AS intervals,
       round(sum(c.volume_m3)::numeric, 1) AS counted_m3,
       count(*) FILTER (WHERE c.status = 'quarantined') AS quarantined
FROM site_consumption c JOIN sites s USING (site_id)
GROUP BY 1, 2 ORDER BY 1, 2
"""


def run_demo(settings: Settings, *, sites: int, days: int, speedup: float,
             seconds: float | None) -> None:
    services: list[Embedded] = []
    if not settings.database_url:
        services.append(start_postgres())
        settings = settings.model_copy(update={"database_url": services[-1].url})
        print(f"embedded PostgreSQL: {settings.database_url}")
    if not settings.mqtt_url:
        services.append(start_broker())
        settings = settings.model_copy(update={"mqtt_url": services[-1].url,
                                               "mqtt_protocol": services[-1].protocol})
        print(f"embedded MQTT broker: {settings.mqtt_url}")
    try:
        _run(settings, sites=sites, days=days, speedup=speedup, seconds=seconds)
    finally:
        for service in reversed(services):
            service.stop()


def _run(settings: Settings, *, sites: int, days: int, speedup: float,
         seconds: float | None) -> None:
    print("schema:", ", ".join(migrate(settings.database_url, timescaledb=settings.timescaledb))
          or "up to date")
    start = (datetime.now(UTC) - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    config = SimConfig(n_sites=sites, seed=2024, start=start, duration=timedelta(days=days))
    registry_file = Path(tempfile.mkdtemp(prefix="waterbudget-demo-")) / "registry.yaml"
    write_registry_yaml(build_registry(config), registry_file)
    loaded = load_registry_file(registry_file, settings.zone)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        summary = save_registry(conn, loaded)
    print(f"registry: {summary.sites} sites, {summary.meters} meters ({registry_file})")
    towns = seed_budgets(settings.database_url, loaded, start=start)
    print(f"budgets: {towns} townships with small budgets, so the replay raises alerts")
    stop = threading.Event()
    ingest = threading.Thread(target=run_ingest, args=(settings, stop), name="ingest")
    ingest.start()
    monitor = threading.Thread(target=MonitorService(settings).run, args=(stop,),
                               name="monitor")
    monitor.start()
    publisher = threading.Thread(target=_simulate, args=(settings.mqtt_url, config, speedup, stop),
                                 name="simulator", daemon=True)
    publisher.start()
    print(f"simulating {sites} sites over {days} days at {speedup:g}× speed; Ctrl-C to stop")
    deadline = time.monotonic() + seconds if seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.1, (deadline or 1e18) - time.monotonic())))
            _print_summary(settings.database_url)
            if not publisher.is_alive() and deadline is None:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        ingest.join(30)
        monitor.join(30)
    _print_summary(settings.database_url)


def _simulate(url: str, config: SimConfig, speedup: float, stop: threading.Event) -> None:
    try:
        result = publish_realtime(url, simulate_messages(config), speedup=speedup)
        print(f"simulator: published {result.sent} messages")
    except PublishError:
        if not stop.is_set():
            raise


def _print_summary(url: str) -> None:
    with psycopg.connect(url) as conn:
        readings = conn.execute("SELECT count(*) FROM register_readings").fetchone()
        sessions = conn.execute("SELECT count(*) FROM card_sessions").fetchone()
        letters = conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY 1 "
                               "ORDER BY 2 DESC").fetchall()
        rows = conn.execute(SUMMARY).fetchall()
    print(f"\n{datetime.now():%H:%M:%S} readings {readings[0] if readings else 0}, "
          f"card sessions {sessions[0] if sessions else 0}, dead letters "
          + (", ".join(f"{reason} {n}" for reason, n in letters) or "none"))
    for township, method, intervals, m3, quarantined in rows:
        print(f"  {township:<8} {method:<10} {intervals:>6} intervals {m3:>12} m³"
              f"  quarantined {quarantined}")
    print_alerts(url)
