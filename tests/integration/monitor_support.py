"""What the monitor integration tests share: a small region, readings through the real
write path, budgets through the ledger, and the monitor's own steps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from budget import repository as budget_repo
from budget.hierarchy import Contact, NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind
from ingest.batch import ReceivedMessage, build_batch
from ingest.reading_repository import Conn, WriteResult, write_batch
from ingest.registry import Meter, Registry, Site
from ingest.registry_repository import load_registry, save_registry
from monitor.consumer import Consumer, Step
from tests.integration.ingest_support import ZONE

PREFIX = "wb"
YEAR = 2025  # in the past: readings from the future would be clock skew
JAN = datetime(YEAR, 1, 1, tzinfo=ZONE)
T0 = datetime(YEAR, 6, 1, tzinfo=ZONE)  # midnight, China time
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@dataclass(frozen=True)
class Region:
    district: int
    village: int
    h1: int
    h2: int


def well(site_id: str, source: str = "groundwater", rated_m3h: float = 40.0) -> Site:
    return Site(site_id, f"井 {site_id}", "well", source, township="甘浚镇", rated_m3h=rated_m3h)


def meter(meter_id: str, site_id: str, channel: str, installed_at: datetime = JAN,
          **extra: Any) -> Meter:
    return Meter(meter_id, site_id, site_id, channel, installed_at, **extra)


def save(conn: Conn, sites: list[Site], meters: list[Meter]) -> None:
    save_registry(conn, Registry.build(sites, meters, []))


def region(conn: Conn, *, email: str = "cun@example.org") -> Region:
    """区 D → 村 V → households H1, H2, each with a contact."""
    with conn.transaction():
        d = budget_repo.create_node(conn, code="D", name="甘州区", level=NodeLevel.DISTRICT,
                                    parent_id=None)
        v = budget_repo.create_node(conn, code="V", name="龙渠村", level=NodeLevel.UNIT,
                                    parent_id=d, contacts=[Contact("村水管员", email=email)])
        h1 = budget_repo.create_node(conn, code="H1", name="王五", level=NodeLevel.HOUSEHOLD,
                                     parent_id=v,
                                     contacts=[Contact("王五", email="h1@example.org")])
        h2 = budget_repo.create_node(conn, code="H2", name="赵六", level=NodeLevel.HOUSEHOLD,
                                     parent_id=v)
    return Region(d, v, h1, h2)


def issue(conn: Conn, node_id: int, volume: float, *, source: Source = Source.GROUNDWATER,
          kind: EntryKind = EntryKind.ISSUE, valid_from: datetime = JAN,
          year: int = YEAR, sector: Sector = Sector.IRRIGATION) -> int:
    with conn.transaction():
        return budget_repo.insert_entry(
            conn, node_id=node_id, year=year, kind=kind, source=source,
            sector=sector, volume_m3=Decimal(str(volume)), valid_from=valid_from,
            reason="test", proposed_by="admin", approved_at=valid_from)


def attach(conn: Conn, node_id: int, kind: str, ref: str,
           sector: Sector | None = None) -> None:
    with conn.transaction():
        budget_repo.attach(conn, node_id=node_id, kind=kind, ref=ref, sector=sector)


def send(conn: Conn, device_id: str, channel: str, *elements: dict[str, Any],
         now: datetime | None = None) -> WriteResult:
    """One MQTT message through the real write path (build_batch + write_batch)."""
    body: Any = elements[0] if len(elements) == 1 else list(elements)
    message = ReceivedMessage(f"{PREFIX}/{device_id}/{channel}", json.dumps(body).encode())
    registry = load_registry(conn)
    batch = build_batch([message], registry, prefix=PREFIX, default_zone=ZONE,
                        now=now or T0 + timedelta(days=400), max_future=timedelta(days=1))
    return write_batch(conn, batch, registry)


def flow(ts: datetime, total: float) -> dict[str, Any]:
    return {"ts": ts.isoformat(), "total_m3": total}


def power(ts: datetime, total: float) -> dict[str, Any]:
    return {"ts": int(ts.timestamp()), "total_kwh": total}


def session(session_id: str, card_id: str, start: datetime, end: datetime,
            volume_m3: float) -> dict[str, Any]:
    return {"session_id": session_id, "card_id": card_id, "holder": card_id,
            "start": start.isoformat(), "end": end.isoformat(), "volume_m3": volume_m3}


def drain(conn: Conn, consumer: Consumer | None = None) -> Step:
    return (consumer or Consumer()).drain(conn)


def scalar(conn: Conn, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def totals(conn: Conn, period: str = str(YEAR)) -> dict[int, Decimal]:
    """Total draw (with descendants) of every node in the period, all sources."""
    return {int(n): v for n, v in conn.execute(
        "SELECT node_id, sum(total_m3) FROM monitor_node_period WHERE period = %s "
        "GROUP BY node_id", (period,))}


def own(conn: Conn, period: str = str(YEAR)) -> dict[int, Decimal]:
    return {int(n): v for n, v in conn.execute(
        "SELECT node_id, sum(own_m3) FROM monitor_node_period WHERE period = %s "
        "GROUP BY node_id HAVING sum(own_m3) <> 0", (period,))}


def live_alerts(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT subject, kind, period, severity, status FROM monitor_alerts "
                        "WHERE status <> 'resolved' ORDER BY 1, 2, 3").fetchall()
