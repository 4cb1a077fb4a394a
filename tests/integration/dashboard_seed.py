"""Seeded data for the dashboard tests, through the project's own code paths.

The simulator's traffic goes through ingestion (``build_batch`` and
``write_batch``, as the ingestor commits it: readings, consumption with its
quarantines, card sessions, device status, dead letters); a budget hierarchy
district → townships → units gets approved issues and the sites attached to
the units (budget repository).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg

from budget.hierarchy import NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind
from budget.repository.ledger import insert_entry
from budget.repository.nodes import attach, create_node
from ingest.batch import ReceivedMessage, build_batch
from ingest.reading_repository import write_batch
from ingest.registry_repository import load_registry
from ingest.simulator import Meter, SimConfig, build_registry, simulate_messages
from monitor.consumer import Consumer
from monitor.sweep import sweep
from tests.integration.ingest_support import load_sim_registry

ZONE = ZoneInfo("Asia/Shanghai")
# The data's "now": dashboards are opened at this time in the tests.
NOW = datetime(2025, 6, 20, 12, 0, tzinfo=ZONE)
DAYS = 20


@dataclass(frozen=True)
class Seeded:
    now: datetime
    sites: list[str]
    card_sites: list[str]
    flow_sites: list[str]  # the first has a quarantined spike
    site_township: dict[str, str]
    silent_site: str  # its device stops a day before NOW
    district: str
    townships: list[str]
    units: list[str]


def _write(url: str, config: SimConfig, messages: list[ReceivedMessage]) -> None:
    with psycopg.connect(url) as conn:
        registry = load_registry(conn)
        for start in range(0, len(messages), 2000):
            batch = build_batch(messages[start:start + 2000], registry, prefix=config.prefix,
                                default_zone=ZONE, now=NOW + timedelta(minutes=5),
                                max_future=timedelta(minutes=10))
            write_batch(conn, batch, registry)


def _field_events(url: str, config: SimConfig, flow_site: str,
                  devices: list[str]) -> list[ReceivedMessage]:
    """What the simulator leaves out in a short run: a spike on a flow meter (an
    isolated outlier reading, quarantined) and an outage of each device in the
    last week (status off, then on)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT r.ts, r.value FROM register_readings r JOIN meters m USING (meter_id) "
            "WHERE m.site_id = %s AND m.channel = 'flow' AND r.ts <= %s "
            "ORDER BY r.ts DESC LIMIT 1", (flow_site, NOW - timedelta(days=2))).fetchone()
    assert row is not None, f"no flow reading at {flow_site}"
    at, value = row
    spike = {"ts": int((at + timedelta(minutes=30)).timestamp()), "total_m3": value + 500_000}
    messages = [ReceivedMessage(f"{config.prefix}/{flow_site}/flow", json.dumps(spike).encode())]
    # The flow site also has an IC-card controller; its sessions claim 20 % more
    # than the flow meter measured over the same hours (a reconciliation case).
    with psycopg.connect(url) as conn:
        metered = conn.execute(
            "SELECT c.ts_start, c.ts_end, c.volume_m3 FROM consumption c "
            "WHERE c.site_id = %s AND c.method = 'measured' AND c.volume_m3 > 0 "
            "AND c.ts_end > %s ORDER BY c.ts_end LIMIT 12",
            (flow_site, NOW - timedelta(days=5))).fetchall()
    for number, (start, end, volume) in enumerate(metered):
        session = {"session_id": f"S{number:04d}", "card_id": "6200000000001", "holder": "王五",
                   "start": int(start.timestamp()), "end": int(end.timestamp()),
                   "volume_m3": round(volume * 1.2, 3), "balance_m3": 1000 - number}
        messages.append(ReceivedMessage(f"{config.prefix}/{flow_site}/card",
                                        json.dumps(session).encode()))
    for device in devices:
        for hours, online in ((-30, False), (-26, True)):
            status = {"ts": int((NOW + timedelta(hours=hours)).timestamp()), "online": online}
            messages.append(ReceivedMessage(f"{config.prefix}/{device}/status",
                                            json.dumps(status).encode()))
    return messages


def _budget(url: str, sites: list[tuple[str, str]]) -> tuple[str, list[str], list[str]]:
    """District GZ, one township per simulated township with two units (A, B); the
    sites attached to the units in turn; approved issues at every node."""
    year_start = datetime(NOW.year, 1, 1, tzinfo=ZONE)
    issued: dict[int, Decimal] = {}
    units: dict[str, list[int]] = {}
    codes: list[str] = []
    with psycopg.connect(url) as conn:
        district = create_node(conn, code="GZ", name="甘州区", level=NodeLevel.DISTRICT,
                               parent_id=None)
        for number, township in enumerate(sorted({t for _, t in sites}), start=1):
            code = f"GZ.T{number:02d}"
            node = create_node(conn, code=code, name=township, level=NodeLevel.TOWNSHIP,
                               parent_id=district)
            units[township] = [create_node(conn, code=f"{code}.{letter}",
                                           name=f"{township}{letter}村", level=NodeLevel.UNIT,
                                           parent_id=node) for letter in "AB"]
            codes += [f"{code}.A", f"{code}.B"]
            issued |= {unit: Decimal("40000") for unit in units[township]}
            if number == 1:  # the first township's units: one over budget, one near it
                issued |= {units[township][0]: Decimal("100"),
                           units[township][1]: Decimal("2000")}
            issued[node] = Decimal("90000")  # its units' 80,000 plus its own reserve
        issued[district] = Decimal("90000") * len(units) + Decimal("50000")
        for index, (site_id, township) in enumerate(sites):
            attach(conn, node_id=units[township][index % 2], kind="site", ref=site_id,
                   sector=Sector.IRRIGATION)
        for node_id, volume in issued.items():
            for source, share in ((Source.GROUNDWATER, Decimal("0.7")),
                                  (Source.LOCAL_SURFACE, Decimal("0.3"))):
                insert_entry(conn, node_id=node_id, year=NOW.year, kind=EntryKind.ISSUE,
                             source=source, sector=Sector.IRRIGATION,
                             volume_m3=volume * share, valid_from=year_start,
                             reason="dashboard test issue", proposed_by="test",
                             approved_at=year_start)
        conn.commit()
    townships = sorted({c.rsplit(".", 1)[0] for c in codes})
    return "GZ", townships, codes


def _traffic(config: SimConfig, silent: str) -> list[tuple[str, bytes, datetime]]:
    """The simulated traffic, except that one device falls silent a day before NOW."""
    return [(m.topic, m.payload, m.sim_time) for m in simulate_messages(config)
            if not (f"/{silent}/" in m.topic and m.sim_time > NOW - timedelta(days=1))]


def _as_received_at_data_time(url: str) -> None:
    """Dead letters carry the server's receive time; the seeded traffic is from
    the past, so place them in the data's last week, as if received then."""
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE dead_letters SET received_at = %s - (id %% 7) * interval '1 day'",
                     (NOW,))
        conn.commit()


def _monitor(url: str, *, spike_site: str) -> None:
    """The monitor's own maintainer: drain the change log into the roll-ups, then
    the sweep (executions, budget and quality alerts, silence, charges)."""
    with psycopg.connect(url) as conn:
        sweep(conn, consumer=Consumer())
        # A device clock 7 minutes fast: ingestion cannot produce one for traffic
        # from the past (received_at is the server's clock), so set it on the roll-up.
        conn.execute("UPDATE monitor_meter_day SET max_ahead_s = 420 WHERE meter_id = "
                     "(SELECT min(meter_id) FROM meters WHERE site_id = %s AND channel = 'flow') "
                     "AND day = (SELECT max(day) FROM monitor_meter_day)", (spike_site,))
        conn.commit()


def seed(url: str) -> Seeded:
    config = SimConfig(n_sites=8, seed=7, start=NOW - timedelta(days=DAYS),
                       duration=timedelta(days=DAYS), step=timedelta(hours=1))
    registry = build_registry(config)
    card_sites = sorted({m.site_id for m in registry.meters if m.channel == "card"})
    flow_sites = sorted({m.site_id for m in registry.meters if m.channel == "flow"})
    card_on_flow = Meter(f"{flow_sites[0]}-C9", flow_sites[0], flow_sites[0], "card",
                         config.start, expected_interval_s=3600)
    registry = replace(registry, meters=(*registry.meters, card_on_flow))
    load_sim_registry(url, registry)
    silent = next(s.site_id for s in registry.sites
                  if s.site_id not in {*card_sites, flow_sites[0]})
    _write(url, config, [ReceivedMessage(t, p) for t, p, _ in _traffic(config, silent)])
    _write(url, config, _field_events(url, config, flow_sites[0],
                                      [flow_sites[0], card_sites[0]]))
    sites = [(s.site_id, s.township) for s in registry.sites]
    district, townships, units = _budget(url, sites)
    _as_received_at_data_time(url)
    _monitor(url, spike_site=flow_sites[0])
    return Seeded(NOW, [s for s, _ in sites], card_sites, flow_sites, dict(sites), silent,
                  district, townships, units)
