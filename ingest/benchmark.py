"""Ingest benchmark: sustained readings/s from first publish to last commit, QoS 1 end to end.

    python -m ingest.benchmark [--rounds 2] [--messages 60000] [--batched-messages 6000]
                               [--processes 1] [--only single|batched]
                               [--timestamps both|epoch|iso]

Runs the real pieces as in production: a mosquitto with the project's queue
settings, one ``waterbudget ingest`` process (or ``--processes N`` in one shared
subscription), and publishers in separate processes. The publishers use
libmosquitto, the C client library (``ingest.libmosquitto_publisher``), about
17 µs of CPU per QoS-1 message, so that the device load takes as little as it
can of the two cores the ingestor is measured on; ``--publisher paho`` uses the
simulator's paho publisher (~40 µs per message) instead. The
clock starts at the first publish and stops when the ingestor's own
``waterbudget_ingest_messages_total`` counter (incremented after each commit)
reaches the number published; the database is then checked row for row. Peak
memory is the ingest process's VmHWM. Prints each round and the median.
Each scenario runs with epoch-second timestamps and with ISO 8601 text
(``"2026-05-01T11:00:00+08:00"``, as gateways send it), one after the other;
``--timestamps`` picks one.

Each round also prints the CPU time per reading of every component (ingest
processes, their database backends, the broker, the publishers), read from
/proc: unlike readings/s, these hold on a machine that other work shares, and
"all cores would carry" is the machine's core count over their sum. WAL writer,
checkpointer and other PostgreSQL background work are not included.

The database is a scratch database on ``WATERBUDGET_DATABASE_URL``'s server
(default: the local PostgreSQL), with TimescaleDB where installed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg

from ingest.ingestor import APPLICATION_NAME
from ingest.libmosquitto_publisher import LibmosquittoSession
from ingest.mqtt_source import MqttSource
from ingest.publisher import SessionFactory, partition_by_device, publish_parallel
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.service import subscription_topics
from ingest.simulator import bench_messages, bench_registry, bench_start, write_registry_yaml
from store.database import create_scratch_database, drop_database, timescaledb_installable
from waterbudget.embedded import free_port, start_mosquitto, wait_for_port
from waterbudget.settings import Settings

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEVICES = 1_000
PUBLISHERS = 2


@dataclass
class Round:
    scenario: str
    timestamps: str  # epoch | iso
    messages: int
    readings: int
    seconds: float
    peak_rss_mib: float
    timescaledb: bool
    cpu_s: dict[str, float]  # CPU seconds by component over the round
    batches: int  # database transactions the ingestors committed

    def cpu_us_per_reading(self, component: str) -> float:
        return self.cpu_s[component] / self.readings * 1e6

    @property
    def cpu_capacity(self) -> float:
        """Readings/s the machine's cores would carry at this CPU cost per reading."""
        total = sum(self.cpu_s.values())
        return (os.cpu_count() or 1) * self.readings / total if total else 0.0

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ingest_backends_cpu_seconds(url: str) -> float:
    """CPU of the database backends serving the ingestors (they connect at their first batch)."""
    with psycopg.connect(url) as conn:
        pids = [int(r[0]) for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s", (APPLICATION_NAME,))]
    return sum(_cpu_seconds(pid) for pid in pids)


def _sum_metric(ports: list[int], name: str) -> float:
    return sum(_metric(port, name) for port in ports)


def run_round(admin_url: str, *, scenario: str, messages: int, batch: int,
              processes: int = 1, publisher: str = "libmosquitto",
              timestamps: str = "epoch") -> Round:
    timescale = timescaledb_installable(admin_url)
    url = create_scratch_database(admin_url, timescaledb=timescale, prefix="wbbench")
    broker = start_mosquitto()
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    run_id = uuid.uuid4().hex[:8]
    group = f"bench{run_id}" if processes > 1 else ""
    workers: list[subprocess.Popen[bytes]] = []
    try:
        start = bench_start(n_devices=DEVICES, n_messages=messages, batch=batch)
        registry_file = Path(tempfile.mkdtemp(prefix="wbbench-")) / "registry.yaml"
        write_registry_yaml(bench_registry(n_devices=DEVICES, start=start - timedelta(minutes=1)),
                            registry_file)
        settings = Settings(database_url=url, mqtt_url=broker.url, topic_prefix=prefix)
        with psycopg.connect(url, autocommit=True) as conn:
            save_registry(conn, load_registry_file(registry_file, settings.zone))
        stream = bench_messages(n_devices=DEVICES, n_messages=messages, batch=batch,
                                start=start, prefix=prefix, timestamps=timestamps)
        ports = []
        for index in range(processes):
            client_id = f"wb-bench-{run_id}-{index}"
            # the ingestor's persistent session exists before devices publish
            session = MqttSource(broker.url, client_id=client_id,
                                 topics=subscription_topics(settings), share_group=group)
            session.start()
            session.stop()
            ports.append(free_port())
            env = {**os.environ, "WATERBUDGET_DATABASE_URL": url,
                   "WATERBUDGET_MQTT_URL": broker.url, "WATERBUDGET_TOPIC_PREFIX": prefix,
                   "WATERBUDGET_MQTT_CLIENT_ID": client_id, "WATERBUDGET_MQTT_SHARE_GROUP": group,
                   "WATERBUDGET_METRICS_PORT": str(ports[-1])}
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "waterbudget.cli", "ingest"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in ports:
            wait_for_port(port, 30)
        streams = partition_by_device(stream, PUBLISHERS)
        ingest_cpu = sum(_cpu_seconds(w.pid) for w in workers)
        broker_cpu = _cpu_seconds(broker.pid) if broker.pid else 0.0
        publisher_cpu = _children_cpu_seconds()
        started = time.monotonic()
        factory: SessionFactory | None = (LibmosquittoSession if publisher == "libmosquitto"
                                          else None)
        published = (publish_parallel(broker.url, streams, session=factory) if factory
                     else publish_parallel(broker.url, streams))
        assert published.acked == messages, published
        while _sum_metric(ports, "waterbudget_ingest_messages_total") < messages:
            time.sleep(0.1)
        seconds = time.monotonic() - started
        cpu = {"ingest": sum(_cpu_seconds(w.pid) for w in workers) - ingest_cpu,
               "database": _ingest_backends_cpu_seconds(url),
               "broker": (_cpu_seconds(broker.pid) - broker_cpu) if broker.pid else 0.0,
               "publishers": _children_cpu_seconds() - publisher_cpu}
        peak = max(_peak_rss_mib(worker.pid) for worker in workers)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM register_readings "
                               "WHERE origin = 'device'").fetchone()
        stored = int(row[0]) if row else 0
        if stored != messages * batch:
            raise AssertionError(f"{stored} readings stored, {messages * batch} published")
        batches = int(_sum_metric(ports, "waterbudget_ingest_commit_seconds_count"))
        return Round(scenario, timestamps, messages, messages * batch, seconds, peak, timescale,
                     cpu, batches)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        broker.stop()
        drop_database(admin_url, url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, default=1,
                        help="ingest processes in one MQTT shared-subscription group")
    parser.add_argument("--messages", type=int, default=60_000,
                        help="one-reading messages per round")
    parser.add_argument("--batched-messages", type=int, default=6_000,
                        help="messages of 100 readings per round")
    parser.add_argument("--publisher", choices=("libmosquitto", "paho"), default="libmosquitto")
    parser.add_argument("--only", choices=("single", "batched"),
                        help="run one scenario: one-reading messages or batches of 100")
    parser.add_argument("--timestamps", choices=("both", "epoch", "iso"), default="both",
                        help="epoch seconds, ISO 8601 text with an offset, or each in turn")
    args = parser.parse_args(argv)
    admin_url = os.environ.get("WATERBUDGET_DATABASE_URL") or DEFAULT_ADMIN_URL
    scenarios = [("one reading per message", args.messages, 1),
                 ("batches of 100 readings", args.batched_messages, 100)]
    if args.only:
        scenarios = [scenarios[0 if args.only == "single" else 1]]
    print(f"ingest benchmark: {DEVICES} devices, {PUBLISHERS} {args.publisher} publishers, "
          f"{args.processes} ingest process(es), QoS 1, {os.cpu_count()} cores")
    forms = ["epoch", "iso"] if args.timestamps == "both" else [args.timestamps]
    for (scenario, messages, batch), form in [(s, f) for s in scenarios for f in forms]:
        name = f"{scenario}, {form} timestamps"
        rounds = [run_round(admin_url, scenario=scenario, messages=messages, batch=batch,
                            processes=args.processes, publisher=args.publisher,
                            timestamps=form)
                  for _ in range(args.rounds)]
        for r in rounds:
            print(f"  {name}: {r.messages:,} messages, {r.readings:,} readings in "
                  f"{r.seconds:.2f} s = {r.messages_per_s:,.0f} messages/s, "
                  f"{r.readings_per_s:,.0f} readings/s, ingest peak RSS {r.peak_rss_mib:.0f} MiB"
                  f" ({'TimescaleDB' if r.timescaledb else 'plain PostgreSQL'})")
            print("    CPU per reading: " + ", ".join(
                f"{c} {r.cpu_us_per_reading(c):.1f} µs" for c in r.cpu_s)
                + f"; all {os.cpu_count()} cores would carry {r.cpu_capacity:,.0f} readings/s; "
                f"{r.batches:,} transactions of {r.messages / max(r.batches, 1):,.0f} messages")
        print(f"  {name}: median {statistics.median(r.readings_per_s for r in rounds):,.0f} "
              f"readings/s, {statistics.median(r.messages_per_s for r in rounds):,.0f} "
              f"messages/s, ingest CPU "
              f"{statistics.median(r.cpu_us_per_reading('ingest') for r in rounds):.2f} µs per "
              f"reading, peak RSS {max(r.peak_rss_mib for r in rounds):.0f} MiB; "
              f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
