"""A gate rating changes: restate the computed volumes of its validity period.

As a power-to-water coefficient restates converted volumes (docs/registry.md):
a new or changed rating of a site recomputes every gate-meter interval of that
site ending at or after its ``valid_from`` (earlier intervals use only earlier
ratings), writes the rows, and records the totals before and after in
``gate_restatements``. A gate meter whose own parameters changed (its expected
interval sets the gap threshold) is recomputed from its installation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ingest.gate_ratings import GateRating
from ingest.gate_repository import rederive_gate_rows
from ingest.reading_repository import Conn, lock_meters
from ingest.registry import Meter, Registry
from ingest.session_repository import upsert_consumption


def rederive_gate_meter(conn: Conn, registry: Registry, meter: Meter, since: datetime) -> int:
    """Recompute a gate meter's intervals ending at or after ``since``; returns rows written."""
    lock_meters(conn, [meter.meter_id])
    rows = rederive_gate_rows(conn, registry, meter, since)
    upsert_consumption(conn, rows)
    return len(rows)


def restate_gate_sites(conn: Conn, registry: Registry, changed: Sequence[GateRating]) -> list[str]:
    """Restate every site with a new or changed rating; returns the sites restated."""
    sites = sorted({rating.site_id for rating in changed})
    for site_id in sites:
        since = min(r.valid_from for r in changed if r.site_id == site_id)
        restate_gate_site(conn, registry, site_id, since)
    return sites


def restate_gate_site(conn: Conn, registry: Registry, site_id: str, since: datetime) -> None:
    meters = [m for m in registry.meters.values() if m.site_id == site_id and m.channel == "gate"]
    ids = [m.meter_id for m in meters]
    lock_meters(conn, ids)
    before = _computed_total(conn, ids, since)
    intervals = sum(rederive_gate_meter(conn, registry, meter, since) for meter in meters)
    after = _computed_total(conn, ids, since)
    conn.execute("INSERT INTO gate_restatements (site_id, valid_from, intervals, volume_before, "
                 "volume_after) VALUES (%s, %s, %s, %s, %s)",
                 (site_id, since, intervals, before, after))


def _computed_total(conn: Conn, meter_ids: list[str], since: datetime) -> float:
    row = conn.execute("SELECT coalesce(sum(volume_m3), 0) FROM consumption "
                       "WHERE meter_id = ANY(%s) AND ts_end >= %s AND method = 'computed'",
                       (meter_ids, since)).fetchone()
    assert row is not None
    return float(row[0])
