"""Monitor benchmarks: alert latency under ingest load, and a full sweep.

    python -m monitor.benchmark [--probes 40] [--background-messages 30000] [--sweep-nodes 100000]
                                [--only latency|sweep|catchup] [--catchup-site-days 30,60,120,240]

(a) Latency from the publish of the reading that crosses a level to the committed
alert, p50/p95/p99, while an ingestor carries 5,000 readings/s of background load
(500 messages/s of 10 readings, 1,000 flow-metered wells attached to households).
Real pieces as in production: mosquitto with the project's settings, one
``waterbudget ingest`` and one ``waterbudget monitor`` process, the background
publisher in its own process. Each probe well sits at 79 % of its budget; the
clock starts when the crossing reading is published and stops when the alert's
``pg_notify`` (sent on commit) reaches the benchmark.

(b) A full sweep (``monitor.sweep``) over 100,000 meters and 102,021 budget nodes
(district → 20 townships → 2,000 units → 100,000 households, one well each), the
roll-ups loaded directly: the first sweep (opens the alerts), two steady-state sweeps
ten minutes of data time apart (only the nodes time can change and a rotating slice are
assessed, the other snapshots brought forward), and the first sweep of the next day.
(c) Catch-up (``--only catchup``): hourly flow readings of one well for N days (30, 60,
120, 240) and of three wells for a year, one message per six hours through the real write
path, committed while the monitor is behind (``run_catchup``: by default the gateway came
back live, then sent what it missed); the time a ``Consumer`` takes to drain the change log.

Scratch databases on ``WATERBUDGET_DATABASE_URL``'s server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from ingest.batch import ReceivedMessage, build_batch
from ingest.mqtt_source import MqttSource
from ingest.publisher import publish
from ingest.reading_repository import write_batch
from ingest.registry import load_registry_file
from ingest.registry_repository import load_registry, save_registry
from ingest.service import subscription_topics
from ingest.simulator import bench_messages, bench_registry, bench_start, write_registry_yaml
from monitor.consumer import Consumer
from monitor.repository.changes import pending
from monitor.sweep import sweep
from store.database import create_scratch_database, drop_database, timescaledb_installable
from waterbudget.embedded import start_mosquitto
from waterbudget.settings import Settings

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEVICES = 1_000
BATCH = 10
RATE = 500  # messages/s × 10 readings = 5,000 readings/s
INTERVAL_S = 900


def _paced(messages: list[tuple[str, bytes]], rate: float) -> Iterator[tuple[str, bytes]]:
    started = time.monotonic()
    for n, message in enumerate(messages):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield message


def _background(url: str, messages: list[tuple[str, bytes]]) -> None:
    publish(url, _paced(messages, RATE))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


LATENCY_SETUP = """
INSERT INTO budget_nodes (code, name, level) VALUES ('BD', '基准区', 'district');
INSERT INTO budget_nodes (code, name, level, parent_id)
  SELECT 'H' || site_id, site_id, 'household', 1 FROM sites;
INSERT INTO budget_attachments (kind, ref, node_id)
  SELECT 'site', site_id, node_id FROM budget_nodes JOIN sites ON code = 'H' || site_id;
INSERT INTO sites (site_id, name, kind, source, rated_m3h)
  SELECT 'P' || lpad(g::text, 3, '0'), '探针井', 'well', 'groundwater', 1000
  FROM generate_series(1, %(n)s) g;
INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at)
  SELECT site_id || '-F', site_id, site_id, 'flow', %(start)s FROM sites WHERE site_id LIKE 'P%%';
INSERT INTO register_readings (meter_id, ts, value, origin)
  SELECT meter_id, installed_at, 0, 'registry' FROM meters WHERE site_id LIKE 'P%%';
INSERT INTO budget_nodes (code, name, level, parent_id)
  SELECT 'H' || site_id, site_id, 'household', 1 FROM sites WHERE site_id LIKE 'P%%';
INSERT INTO budget_attachments (kind, ref, node_id)
  SELECT 'site', site_id, node_id FROM budget_nodes JOIN sites ON code = 'H' || site_id
  WHERE site_id LIKE 'P%%';
UPDATE registry_version SET version = version + 1;
INSERT INTO budget_entries (node_id, year, kind, source, sector, volume_m3, valid_from, reason,
                            status, proposed_by, decided_by, decided_at)
  SELECT node_id, %(year)s, 'issue', 'groundwater', 'agriculture.irrigation',
         CASE WHEN code LIKE 'HP%%' THEN 100 ELSE 1e9 END, make_date(%(year)s, 1, 1), 'bench',
         'approved', 'bench', 'bench', now() FROM budget_nodes
"""


def _setup_latency(url: str, prefix: str, probes: int, background: int) -> tuple[
        list[tuple[str, bytes]], dict[int, str], datetime]:
    start = bench_start(n_devices=DEVICES, n_messages=background, batch=BATCH,
                        interval_s=INTERVAL_S)
    registry_file = Path(tempfile.mkdtemp(prefix="wbbench-")) / "registry.yaml"
    write_registry_yaml(bench_registry(n_devices=DEVICES, start=start - timedelta(minutes=1),
                                       interval_s=INTERVAL_S), registry_file)
    with psycopg.connect(url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(registry_file, Settings().zone))
        year = datetime.now(UTC).year
        _script(conn, LATENCY_SETUP, {"n": probes, "start": start - timedelta(minutes=1),
                                      "year": year})
        nodes = {int(n): str(c)[1:] for n, c in conn.execute(
            "SELECT node_id, code FROM budget_nodes WHERE code LIKE 'HP%'")}
    messages = bench_messages(n_devices=DEVICES, n_messages=background, batch=BATCH,
                              start=start, interval_s=INTERVAL_S, prefix=prefix)
    return messages, nodes, start


def run_latency(admin_url: str, *, probes: int, background: int
                ) -> list[tuple[float, bool]]:
    url = create_scratch_database(admin_url, timescaledb=timescaledb_installable(admin_url),
                                  prefix="wbbench")
    broker = start_mosquitto()
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        messages, probe_nodes, start = _setup_latency(url, prefix, probes, background)
        client_id = f"wb-bench-{uuid.uuid4().hex[:8]}"
        settings = Settings(database_url=url, mqtt_url=broker.url, topic_prefix=prefix)
        session = MqttSource(broker.url, client_id=client_id, topics=subscription_topics(settings))
        session.start()
        session.stop()
        env = {**os.environ, "WATERBUDGET_DATABASE_URL": url, "WATERBUDGET_MQTT_URL": broker.url,
               "WATERBUDGET_TOPIC_PREFIX": prefix, "WATERBUDGET_MQTT_CLIENT_ID": client_id}
        for command in ("ingest", "monitor"):
            workers.append(subprocess.Popen([sys.executable, "-m", "waterbudget.cli", command],
                                            env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
        ts = start + timedelta(hours=1)
        first = [(f"{prefix}/{site}/flow", json.dumps({"ts": ts.isoformat(), "total_m3": 79})
                  .encode()) for site in probe_nodes.values()]
        publish(broker.url, first)
        with psycopg.connect(url, autocommit=True) as listener:
            _wait_rolled_up(listener, list(probe_nodes))
            listener.execute("LISTEN waterbudget_alerts")
            load = multiprocessing.get_context("fork").Process(target=_background,
                                                               args=(broker.url, messages))
            load.start()
            time.sleep(5)  # let the background load settle
            latencies: list[tuple[float, bool]] = []  # (seconds, published under load)
            for node_id, site in probe_nodes.items():
                body = json.dumps({"ts": (ts + timedelta(hours=1)).isoformat(), "total_m3": 81})
                published = time.monotonic()
                loaded = load.is_alive()
                publish(broker.url, [(f"{prefix}/{site}/flow", body.encode())])
                arrived = _await_alert(listener, node_id)
                latencies.append((float("inf") if arrived is None else arrived - published,
                                  loaded))
                time.sleep(0.3)
            load.terminate()
            load.join(10)
        return latencies
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        broker.stop()
        drop_database(admin_url, url)


def _wait_rolled_up(conn: psycopg.Connection[tuple[object, ...]], nodes: list[int]) -> None:
    """Until the monitor has rolled up every probe's first reading (79 m³, year and month)."""
    deadline = time.monotonic() + 120
    query = ("SELECT count(*) FROM monitor_node_period WHERE node_id = ANY(%s) "
             "AND total_m3 = 79")
    while conn.execute(query, (nodes,)).fetchone() != (2 * len(nodes),):
        if time.monotonic() > deadline:
            raise AssertionError("the monitor did not roll up the probes' first readings")
        time.sleep(0.2)


def _await_alert(listener: psycopg.Connection[tuple[object, ...]], node_id: int
                 ) -> float | None:
    """When the probe's alert was announced (monotonic clock); None: not within 60 s."""
    subject = f"node/{node_id}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        notices = list(listener.notifies(timeout=1.0, stop_after=1))
        arrived = time.monotonic()
        for notice in notices:  # the connection is free again once the generator is done
            row = listener.execute("SELECT a.subject, a.kind FROM monitor_alert_events e JOIN "
                                   "monitor_alerts a USING (alert_id) WHERE e.event_id = %s",
                                   (int(notice.payload),)).fetchone()
            if row == (subject, "budget_level"):
                return arrived
    return None


SWEEP_SETUP = """
INSERT INTO budget_nodes (code, name, level) VALUES ('SD', '区', 'district');
INSERT INTO budget_nodes (code, name, level, parent_id)
  SELECT 'ST' || t, '镇' || t, 'township', 1 FROM generate_series(1, 20) t;
INSERT INTO budget_nodes (code, name, level, parent_id)
  SELECT 'SU' || u, '村' || u, 'unit', 1 + 1 + u %% 20 FROM generate_series(0, %(units)s - 1) u;
INSERT INTO budget_nodes (code, name, level, parent_id)
  SELECT 'SH' || h, '户' || h, 'household', 22 + h %% %(units)s
  FROM generate_series(0, %(households)s - 1) h;
INSERT INTO sites (site_id, name, kind, source)
  SELECT 'S' || h, '井' || h, 'well', 'groundwater' FROM generate_series(0, %(households)s - 1) h;
INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at)
  SELECT site_id || '-F', site_id, site_id, 'flow', %(jan)s FROM sites;
INSERT INTO budget_attachments (kind, ref, node_id)
  SELECT 'site', 'S' || substr(code, 3), node_id FROM budget_nodes WHERE level = 'household';
INSERT INTO budget_entries (node_id, year, kind, source, sector, volume_m3, valid_from, reason,
                            status, proposed_by, decided_by, decided_at)
  SELECT node_id, %(year)s, 'issue', 'groundwater', 'agriculture.irrigation',
         CASE level WHEN 'household' THEN 1000 ELSE 1e9 END, %(jan)s, 'bench', 'approved',
         'bench', 'bench', now() FROM budget_nodes;
INSERT INTO monitor_periods (period, kind, year, first_day, last_day) VALUES
  (%(year)s::text, 'year', %(year)s, make_date(%(year)s, 1, 1), make_date(%(year)s, 12, 31)),
  (%(month)s, 'month', %(year)s, make_date(%(year)s, 6, 1), make_date(%(year)s, 6, 30));
-- households draw up to 307 m³ by the clock (on plan); one in a hundred 850 m³ (past the
-- notice level and the pace); the other nodes sum them up
INSERT INTO monitor_node_period (node_id, period, source, sector, own_m3, total_m3)
  SELECT p.ancestor_id, per.period, 'groundwater', '',
         coalesce(sum(d.m3) FILTER (WHERE p.depth = 0), 0), sum(d.m3)
  FROM (SELECT node_id, CASE WHEN hashtext(code) %% 100 = 0 THEN 850
                             ELSE round((hashtext(code) & 1023)::numeric * 0.3, 3) END AS m3
        FROM budget_nodes WHERE level = 'household') d
  JOIN monitor_node_paths p ON p.node_id = d.node_id
  CROSS JOIN (VALUES (%(year)s::text), (%(month)s)) per(period)
  GROUP BY 1, 2;
INSERT INTO monitor_meter_state (meter_id, last_ts)
  SELECT meter_id, %(clock)s - CASE WHEN hashtext(meter_id) %% 100 = 0 THEN interval '5 hours'
                                   ELSE interval '20 minutes' END FROM meters;
UPDATE monitor_state SET data_clock = %(clock)s;
DELETE FROM monitor_changes;
"""


# The sweeps of (b): the first ever (every node; opens the alerts), two more ten minutes of
# data time apart (the steady state), and the first of the next day.
SWEEP_STEPS = (None, timedelta(minutes=10), timedelta(minutes=10), timedelta(hours=12))
SWEEP_LABELS = ("the first: every node assessed, the alerts opened", "10 min later", "10 min later",
                "the first of the next day")


def _script(conn: psycopg.Connection[tuple[object, ...]], script: str,
            params: dict[str, object]) -> None:
    for statement in script.split(";\n"):
        code = "\n".join(line for line in statement.splitlines()
                         if not line.lstrip().startswith("--")).strip()
        if code:
            conn.execute(code.encode(), params)


def run_sweep(admin_url: str, *, households: int) -> list[tuple[float, int, int, int]]:
    url = create_scratch_database(admin_url, timescaledb=timescaledb_installable(admin_url),
                                  prefix="wbbench")
    year = datetime.now(UTC).year - 1
    clock = datetime(year, 6, 15, 12, tzinfo=Settings().zone)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            _script(conn, SWEEP_SETUP, {"units": max(1, households // 50),
                                        "households": households, "year": year,
                                        "month": f"{year}-06", "clock": clock,
                                        "jan": datetime(year, 1, 1, tzinfo=clock.tzinfo)})
            conn.execute("VACUUM ANALYZE")
        rounds = []
        with psycopg.connect(url) as conn:
            for step in SWEEP_STEPS:
                if step:  # data time moves on (and every meter with it), as in production
                    with conn.transaction():
                        conn.execute("UPDATE monitor_state SET data_clock = data_clock + %s",
                                     (step,))
                        conn.execute("UPDATE monitor_meter_state SET last_ts = last_ts + %s",
                                     (step,))
                began = time.perf_counter()
                swept = sweep(conn, consumer=Consumer())
                rounds.append((time.perf_counter() - began, swept.snapshots,
                               swept.brought_forward, len(swept.events)))
        return rounds
    finally:
        drop_database(admin_url, url)


CATCHUP_SETUP = """
INSERT INTO budget_nodes (code, name, level) VALUES ('CD', '区', 'district');
INSERT INTO sites (site_id, name, kind, source, rated_m3h)
  SELECT 'C' || lpad(g::text, 3, '0'), '井' || g, 'well', 'groundwater', 100
  FROM generate_series(1, %(sites)s) g;
INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at)
  SELECT site_id || '-F', site_id, site_id, 'flow', %(jan)s FROM sites;
INSERT INTO register_readings (meter_id, ts, value, origin)
  SELECT meter_id, installed_at, 0, 'registry' FROM meters;
INSERT INTO budget_nodes (code, name, level, parent_id)
  SELECT 'H' || site_id, site_id, 'household', 1 FROM sites;
INSERT INTO budget_attachments (kind, ref, node_id)
  SELECT 'site', site_id, node_id FROM budget_nodes JOIN sites ON code = 'H' || site_id;
UPDATE registry_version SET version = version + 1;
INSERT INTO budget_entries (node_id, year, kind, source, sector, volume_m3, valid_from, reason,
                            status, proposed_by, decided_by, decided_at)
  SELECT node_id, %(year)s, 'issue', 'groundwater', 'agriculture.irrigation', 1e6, %(jan)s,
         'bench', 'approved', 'bench', 'bench', now() FROM budget_nodes
"""
CATCHUP_READINGS_PER_MESSAGE = 6  # hourly readings, a message every six hours


def _catchup_messages(sites: int, first_day: int, days: int, jan: datetime
                      ) -> list[list[ReceivedMessage]]:
    """Hourly flow readings of every site for ``days`` days from day ``first_day`` of the
    year, in time order: one message per site and six hours, one write per message."""
    out = []
    per = CATCHUP_READINGS_PER_MESSAGE
    for block in range(first_day * 24 // per, (first_day + days) * 24 // per):
        for k in range(1, sites + 1):
            hours = range(block * per + 1, block * per + per + 1)
            body = json.dumps([{"ts": (jan + timedelta(hours=h)).isoformat(),
                                "total_m3": round(h * (2.0 + k % 5 * 0.25), 2)} for h in hours])
            out.append([ReceivedMessage(f"bench/C{k:03d}/flow", body.encode())])
    return out


def _write(conn: psycopg.Connection[tuple[object, ...]],
           messages: list[list[ReceivedMessage]]) -> None:
    registry = load_registry(conn)
    now = datetime.now(UTC)
    for batch in messages:
        write_batch(conn, build_batch(batch, registry, prefix="bench", default_zone=Settings().zone,
                                      now=now, max_future=timedelta(days=1)), registry)


def run_catchup(admin_url: str, *, sites: int, days: int, kind: str = "gap",
                limit_s: float = 600.0) -> tuple[float, int, int]:
    """``days`` days of ``sites`` wells written while the monitor is behind, in time order
    (a gateway's backlog); returns the seconds to drain the change log (``limit_s`` if it
    did not), the change rows written and those still pending.

    ``kind``: ``gap`` — the monitor has rolled up the first day and the day after the
    backlog (the gateway came back live, then sent what it had missed: late data, whole
    days recomputed); ``after`` — it has rolled up the first day only (the backlog comes
    after everything rolled up: added); ``fresh`` — nothing rolled up yet."""
    url = create_scratch_database(admin_url, timescaledb=timescaledb_installable(admin_url),
                                  prefix="wbbench")
    year = datetime.now(UTC).year - 1
    jan = datetime(year, 1, 1, tzinfo=Settings().zone)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            _script(conn, CATCHUP_SETUP, {"sites": sites, "year": year, "jan": jan})
            if kind != "fresh":
                _write(conn, _catchup_messages(sites, 0, 1, jan))
                if kind == "gap":
                    _write(conn, _catchup_messages(sites, days + 1, 1, jan))
                Consumer().drain(conn)
            _write(conn, _catchup_messages(sites, 1, days, jan))
            conn.execute("VACUUM ANALYZE")
            backlog = pending(conn)
            consumer = Consumer()
            began = time.perf_counter()
            while pending(conn) and time.perf_counter() - began < limit_s:
                consumer.drain(conn, max_steps=1)
            seconds = time.perf_counter() - began
            return seconds, backlog, pending(conn)
    finally:
        drop_database(admin_url, url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--background-messages", type=int, default=60_000,
                        help="background messages of 10 readings (at 500/s: 2 minutes)")
    parser.add_argument("--sweep-nodes", type=int, default=100_000, help="households (and wells)")
    parser.add_argument("--catchup-site-days", default="30,60,120,240",
                        help="(c) backlogs of one well, days")
    parser.add_argument("--catchup-year-sites", type=int, default=3,
                        help="(c) wells whose year is replayed in order (0: none)")
    parser.add_argument("--catchup-limit", type=float, default=600.0,
                        help="(c) give up draining after this many seconds")
    parser.add_argument("--catchup-kind", choices=["gap", "after", "fresh"], default="gap",
                        help="(c) where the backlog falls (run_catchup)")
    parser.add_argument("--only", choices=["latency", "sweep", "catchup"])
    args = parser.parse_args(argv)
    admin_url = os.environ.get("WATERBUDGET_DATABASE_URL") or DEFAULT_ADMIN_URL
    print(f"monitor benchmark, {os.cpu_count()} cores, "
          f"{'TimescaleDB' if timescaledb_installable(admin_url) else 'plain PostgreSQL'}")
    if args.only in (None, "catchup"):
        for n in range(args.rounds):
            cases = [(1, int(d)) for d in args.catchup_site_days.split(",") if d]
            if args.catchup_year_sites:
                cases.append((args.catchup_year_sites, 364))
            for sites, days in cases:
                seconds, backlog, left = run_catchup(admin_url, sites=sites, days=days,
                                                     kind=args.catchup_kind,
                                                     limit_s=args.catchup_limit)
                print(f"  (c) round {n + 1}, catch-up on {sites} well(s) × {days} days "
                      f"({sites * days:,} site-days, {backlog:,} change rows): {seconds:.2f} s"
                      + (f", {left:,} change rows still pending" if left else ""))
    if args.only in (None, "latency"):
        for n in range(args.rounds):
            measured = run_latency(admin_url, probes=args.probes,
                                   background=args.background_messages)
            for label, under_load in (("under 5,000 readings/s", True), ("after the load", False)):
                lat = [x for x, loaded in measured if loaded is under_load]
                if not lat:
                    continue
                missed = sum(1 for x in lat if x == float("inf"))
                print(f"  (a) round {n + 1}, {label}: publish → committed alert, {len(lat)} "
                      f"probes ({missed} not within 60 s): p50 {_percentile(lat, .5):.3f} s, "
                      f"p95 {_percentile(lat, .95):.3f} s, p99 {_percentile(lat, .99):.3f} s")
    if args.only in (None, "sweep"):
        for n in range(args.rounds):
            for k, (seconds, snapshots, forward, events) in enumerate(
                    run_sweep(admin_url, households=args.sweep_nodes)):
                print(f"  (b) round {n + 1}, sweep {k + 1} ({SWEEP_LABELS[k]}): "
                      f"{args.sweep_nodes:,} meters, "
                      f"{args.sweep_nodes + args.sweep_nodes // 50 + 21:,} nodes: {seconds:.2f} s "
                      f"({snapshots:,} snapshots assessed, {forward:,} brought forward, "
                      f"{events:,} alert events)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
