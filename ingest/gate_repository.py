"""SQL for gate reports: store them and derive their computed volumes, in the batch's
transaction (``reading_repository.write_batch`` calls :func:`write_gate_readings`).

Idempotent like register readings: a report is keyed on (meter, ts). A report
that fills a value the stored one lacks (SZY206 terminals send levels and gate
position in separate frames with the same time label) completes it; a value that
differs from a stored one is a ``conflicting_duplicate`` and the stored value
stays. Consumption is recomputed around the reports actually stored or completed:
the interval ending at each and the one after it. The caller holds the meters'
advisory locks and writes the returned rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from ingest.batch import DeadLetter
from ingest.gate_contract import VALUE_FIELDS, GateMeterReading
from ingest.gate_volumes import GatePoint, gate_intervals, gate_row, max_gap
from ingest.registry import Meter, Registry
from ingest.volumes import ConsumptionRow

if TYPE_CHECKING:
    from ingest.reading_repository import WriteResult

Conn = psycopg.Connection[Any]
Values = list[float | None]  # upstream_m, downstream_m, opening_m
Key = tuple[str, datetime]


def write_gate_readings(conn: Conn, gates: Sequence[GateMeterReading], registry: Registry,
                        conflicts: list[DeadLetter], result: WriteResult) -> list[ConsumptionRow]:
    """Store new and completed gate reports; returns the consumption rows they change."""
    if not gates:
        return []
    incoming: dict[Key, Values] = {}
    for gate in gates:  # within the batch: the first value received is kept
        key = (gate.meter.meter_id, gate.report.ts)
        values = [gate.report.upstream_m, gate.report.downstream_m, gate.report.opening_m]
        known = incoming.get(key)
        if known is None:
            incoming[key] = values
        else:
            _merge(key, known, values, conflicts)
    stored = _stored(conn, list(incoming))
    changed: dict[Key, Values] = {}
    for key, values in incoming.items():
        before = stored.get(key)
        if before is None:
            changed[key] = values
            continue
        merged = list(before)
        _merge(key, merged, values, conflicts)
        if merged != before:
            changed[key] = merged
    if changed:
        keys = list(changed)
        conn.execute(
            "INSERT INTO gate_readings AS g (meter_id, ts, upstream_m, downstream_m, opening_m) "
            "SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::float8[], %b::float8[], "
            "%b::float8[]) ON CONFLICT (meter_id, ts) DO UPDATE SET "
            "upstream_m = EXCLUDED.upstream_m, downstream_m = EXCLUDED.downstream_m, "
            "opening_m = EXCLUDED.opening_m",
            ([m for m, _ in keys], [ts for _, ts in keys],
             *([changed[k][i] for k in keys] for i in range(3))))
    result.readings_new += len(changed)
    result.readings_duplicate += len(gates) - len(changed)
    times: dict[str, list[datetime]] = defaultdict(list)
    for meter_id, ts in changed:
        times[meter_id].append(ts)
    return _recompute_around(conn, times, registry)


def _merge(key: Key, known: Values, values: Values, conflicts: list[DeadLetter]) -> None:
    """Fill ``known``'s missing values from ``values``; a differing value is a conflict."""
    for i, value in enumerate(values):
        if value is None:
            continue
        if known[i] is None:
            known[i] = value
        elif known[i] != value:
            meter_id, ts = key
            name = VALUE_FIELDS[i]
            conflicts.append(DeadLetter(
                f"meter/{meter_id}", f'{{"ts": "{ts.isoformat()}", "{name}": {value}}}'.encode(),
                "conflicting_duplicate",
                f"gate meter {meter_id} already has {name}={known[i]} at {ts.isoformat()}; "
                f"kept the stored value"))


def _stored(conn: Conn, keys: list[Key]) -> dict[Key, Values]:
    found = conn.execute(
        "SELECT g.meter_id, g.ts, g.upstream_m, g.downstream_m, g.opening_m FROM gate_readings g "
        "JOIN unnest(%b::text[], %b::timestamptz[]) AS k(meter_id, ts) USING (meter_id, ts)",
        ([m for m, _ in keys], [ts for _, ts in keys])).fetchall()
    return {(str(m), ts): [up, down, opening] for m, ts, up, down, opening in found}


def _points(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[GatePoint]]:
    points: dict[str, list[GatePoint]] = defaultdict(list)
    for meter_id, ts, up, down, opening in rows:
        points[str(meter_id)].append(GatePoint(ts, up, down, opening))
    for series in points.values():
        series.sort(key=lambda p: p.ts)
    return points


def _recompute_around(conn: Conn, times: dict[str, list[datetime]],
                      registry: Registry) -> list[ConsumptionRow]:
    """Intervals ending at the changed reports, between them, and at the report after."""
    if not times:
        return []
    meters = list(times)
    found = conn.execute(
        "SELECT b.meter_id, r.* FROM unnest(%b::text[], %b::timestamptz[], %b::timestamptz[]) "
        "AS b(meter_id, lo, hi) CROSS JOIN LATERAL ("
        " (SELECT ts, upstream_m, downstream_m, opening_m FROM gate_readings"
        "  WHERE meter_id = b.meter_id AND ts < b.lo ORDER BY ts DESC LIMIT 1)"
        " UNION ALL (SELECT ts, upstream_m, downstream_m, opening_m FROM gate_readings"
        "  WHERE meter_id = b.meter_id AND ts BETWEEN b.lo AND b.hi)"
        " UNION ALL (SELECT ts, upstream_m, downstream_m, opening_m FROM gate_readings"
        "  WHERE meter_id = b.meter_id AND ts > b.hi ORDER BY ts LIMIT 1)) AS r",
        (meters, [min(times[m]) for m in meters], [max(times[m]) for m in meters])).fetchall()
    rows: list[ConsumptionRow] = []
    for meter_id, points in _points(found).items():
        rows += _rows(registry.meters[meter_id], points, registry)
    return rows


def _rows(meter: Meter, points: Sequence[GatePoint], registry: Registry) -> list[ConsumptionRow]:
    intervals = gate_intervals(points, registry.gate_versions(meter.site_id), gap=max_gap(meter),
                               rated_m3h=registry.sites[meter.site_id].rated_m3h)
    return [gate_row(meter, interval) for interval in intervals]


def rederive_gate_rows(conn: Conn, registry: Registry, meter: Meter,
                       since: datetime) -> list[ConsumptionRow]:
    """Drop a gate meter's intervals ending at or after ``since``; return them derived anew.

    For restatements (a new gate rating, changed meter parameters). The caller
    holds the meter's advisory lock and writes the rows.
    """
    found = conn.execute(
        "(SELECT meter_id, ts, upstream_m, downstream_m, opening_m FROM gate_readings "
        " WHERE meter_id = %s AND ts < %s ORDER BY ts DESC LIMIT 1) UNION ALL "
        "(SELECT meter_id, ts, upstream_m, downstream_m, opening_m FROM gate_readings "
        " WHERE meter_id = %s AND ts >= %s)",
        (meter.meter_id, since, meter.meter_id, since)).fetchall()
    conn.execute("DELETE FROM consumption_records WHERE meter_id = %s AND ts_end >= %s",
                 (meter.meter_id, since))
    return _rows(meter, _points(found).get(meter.meter_id, []), registry)
