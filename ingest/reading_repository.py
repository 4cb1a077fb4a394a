"""SQL for the reading path: one transaction per batch of messages.

Idempotent: readings, card sessions and statuses are inserted on their natural
keys with ON CONFLICT DO NOTHING, so redelivered, duplicated and replayed
messages change nothing; consumption is recomputed only around readings that
were actually new, and upserted, so the same readings always give the same rows.
Concurrent writers (several ingest processes in one shared subscription) take a
transaction-scoped advisory lock per meter before touching its readings.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ingest.batch import DeadLetter, IngestBatch, MeterReading, MeterSession
from ingest.consumption import Point, context_size, derive_intervals, recompute
from ingest.contract import CardSession
from ingest.gate_repository import write_gate_readings
from ingest.registry import Meter, Registry
from ingest.volumes import ConsumptionRow, register_row, session_row

Conn = psycopg.Connection[Any]

CONSUMPTION_COLUMNS = ("meter_id", "ts_end", "ts_start", "site_id", "method", "status", "quality",
                       "register_delta", "kwh", "coefficient", "volume_m3", "session_id")


@dataclass
class WriteResult:
    readings_new: int = 0
    readings_duplicate: int = 0
    sessions_new: int = 0
    statuses_new: int = 0
    consumption_rows: int = 0
    dead_letters: int = 0


READING_TYPES = ("text", "timestamptz", "float8", "float8")
CONSUMPTION_TYPES = ("text", "timestamptz", "timestamptz", "text", "text", "text", "text",
                     "float8", "float8", "float8", "float8", "text")


def lock_meters(conn: Conn, meter_ids: Iterable[str]) -> None:
    keys = sorted(set(meter_ids))
    if keys:
        conn.execute("SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended(m, 0) AS k "
                     "FROM unnest(%b::text[]) AS m ORDER BY 1) AS ordered", (keys,))


def write_batch(conn: Conn, batch: IngestBatch, registry: Registry) -> WriteResult:
    """Write one batch in one transaction; the caller acknowledges after it returns."""
    result = WriteResult()
    with conn.transaction():
        lock_meters(conn, [r.meter.meter_id for r in batch.registers]
                    + [s.meter.meter_id for s in batch.sessions]
                    + [g.meter.meter_id for g in batch.gates])
        rows: list[ConsumptionRow] = []
        conflicts: list[DeadLetter] = []
        new: dict[str, set[datetime]] = {}
        if batch.registers:
            new = _insert_readings(conn, batch.registers, conflicts, result)
            rows += _recompute_around(conn, new, registry)
        rows += write_gate_readings(conn, batch.gates, registry, conflicts, result)
        # An interval ending at a reading that was just inserted cannot exist yet (consumption
        # rows only end at stored readings), nor can a new card session's: those go straight
        # in by COPY; intervals revised around them are upserted.
        fresh = [r for r in rows if r.ts_end in new.get(r.meter_id, ())]
        revised = [r for r in rows if r.ts_end not in new.get(r.meter_id, ())]
        if batch.sessions:
            fresh += _insert_sessions(conn, batch, registry, result, conflicts)
        _copy(conn, "consumption (" + ", ".join(CONSUMPTION_COLUMNS) + ")", CONSUMPTION_TYPES,
              fresh)
        upsert_consumption(conn, revised)
        result.consumption_rows = len(rows)
        if batch.statuses:
            cur = conn.execute(
                "INSERT INTO device_status (device_id, ts, online, alarms) "
                "SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::boolean[], %b::int[]) "
                "ON CONFLICT DO NOTHING",
                ([s.device_id for s in batch.statuses], [s.ts for s in batch.statuses],
                 [s.online for s in batch.statuses], [s.alarms for s in batch.statuses]))
            result.statuses_new = cur.rowcount
        result.dead_letters = insert_dead_letters(conn, batch.dead_letters + conflicts)
    return result


def _copy(conn: Conn, target: str, types: Sequence[str],
          rows: Sequence[Sequence[object]]) -> None:
    if not rows:
        return
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _insert_readings(conn: Conn, readings: Sequence[MeterReading], conflicts: list[DeadLetter],
                     result: WriteResult) -> dict[str, set[datetime]]:
    """Insert new readings; returns the times actually inserted, by meter.

    Optimistic: one COPY straight into the table, in a savepoint. Only when a
    reading is already stored (a redelivery, a replay) does the batch go the
    slower way, through a staging table and ON CONFLICT DO NOTHING.
    """
    unique: dict[tuple[str, datetime], MeterReading] = {}
    for r in readings:
        first = unique.setdefault((r.meter.meter_id, r.ts), r)
        if first is not r and first.value != r.value:
            conflicts.append(_conflict(r.meter.meter_id, r.ts, r.value, first.value))
    rows = [(r.meter.meter_id, r.ts, r.value, r.flow_m3h) for r in unique.values()]
    try:
        with conn.transaction():
            _copy(conn, "register_readings (meter_id, ts, value, flow_m3h)", READING_TYPES, rows)
        inserted = [(meter_id, ts) for meter_id, ts, _, _ in rows]
    except psycopg.errors.UniqueViolation:
        inserted = _insert_readings_carefully(conn, rows, conflicts)
    new: dict[str, set[datetime]] = defaultdict(set)
    for meter_id, ts in inserted:
        new[meter_id].add(ts)
    result.readings_new = len(inserted)
    result.readings_duplicate = len(readings) - len(inserted)
    return new


ReadingRow = tuple[str, datetime, float, float | None]


def _insert_readings_carefully(conn: Conn, rows: Sequence[ReadingRow],
                               conflicts: list[DeadLetter]) -> list[tuple[str, datetime]]:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS staging_readings (meter_id text, "
                 "ts timestamptz, value double precision, flow_m3h double precision) "
                 "ON COMMIT DELETE ROWS")
    _copy(conn, "staging_readings (meter_id, ts, value, flow_m3h)", READING_TYPES, rows)
    inserted = conn.execute(
        "INSERT INTO register_readings (meter_id, ts, value, flow_m3h) "
        "SELECT meter_id, ts, value, flow_m3h FROM staging_readings "
        "ON CONFLICT DO NOTHING RETURNING meter_id, ts").fetchall()
    # Same meter and time as a stored reading, another value: kept out, and said so.
    for meter_id, ts, value, stored in conn.execute(
            "SELECT s.meter_id, s.ts, s.value, r.value FROM staging_readings s "
            "JOIN register_readings r USING (meter_id, ts) WHERE r.value <> s.value"):
        conflicts.append(_conflict(meter_id, ts, value, stored))
    conn.execute("TRUNCATE staging_readings")
    return [(str(m), ts) for m, ts in inserted]


def _conflict(meter_id: str, ts: datetime, value: float, stored: float) -> DeadLetter:
    payload = f'{{"ts": "{ts.isoformat()}", "value": {value}}}'.encode()
    return DeadLetter(f"meter/{meter_id}", payload, "conflicting_duplicate",
                      f"meter {meter_id} already has {stored} at {ts.isoformat()}; "
                      f"kept the stored value")


def _fetch_context(conn: Conn, new: dict[str, set[datetime]]) -> dict[str, list[Point]]:
    meters = list(new)
    k = context_size()
    found = conn.execute(
        "SELECT b.meter_id, r.ts, r.value FROM unnest(%b::text[], %b::timestamptz[], "
        "%b::timestamptz[]) AS b(meter_id, lo, hi) CROSS JOIN LATERAL ("
        " (SELECT ts, value FROM register_readings WHERE meter_id = b.meter_id AND ts < b.lo"
        "  ORDER BY ts DESC LIMIT %s)"
        " UNION ALL (SELECT ts, value FROM register_readings WHERE meter_id = b.meter_id"
        "  AND ts BETWEEN b.lo AND b.hi)"
        " UNION ALL (SELECT ts, value FROM register_readings WHERE meter_id = b.meter_id"
        "  AND ts > b.hi ORDER BY ts LIMIT %s)) AS r",
        (meters, [min(new[m]) for m in meters], [max(new[m]) for m in meters], k, k)).fetchall()
    points: dict[str, list[Point]] = defaultdict(list)
    for meter_id, ts, value in found:
        points[str(meter_id)].append(Point(ts, float(value)))
    for series in points.values():
        series.sort(key=lambda p: p.ts)
    return points


def _recompute_around(conn: Conn, new: dict[str, set[datetime]],
                      registry: Registry) -> list[ConsumptionRow]:
    if not new:
        return []
    rows = []
    for meter_id, points in _fetch_context(conn, new).items():
        meter = registry.meters[meter_id]
        coefficients = registry.coefficients.get(meter.site_id, [])
        for interval in recompute(points, sorted(new[meter_id]), registry.register_spec(meter)):
            rows.append(register_row(meter, interval, coefficients))
    return rows


def _insert_sessions(conn: Conn, batch: IngestBatch, registry: Registry, result: WriteResult,
                     conflicts: list[DeadLetter]) -> list[ConsumptionRow]:
    s = [m.session for m in batch.sessions]
    inserted = conn.execute(
        "INSERT INTO card_sessions (meter_id, session_id, card_id, holder, started_at, ended_at, "
        "volume_m3, kwh, balance_m3) SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], "
        "%b::text[], %b::timestamptz[], %b::timestamptz[], %b::float8[], %b::float8[], "
        "%b::float8[]) ON CONFLICT DO NOTHING RETURNING meter_id, session_id",
        ([m.meter.meter_id for m in batch.sessions], [x.session_id for x in s],
         [x.card_id for x in s], [x.holder for x in s], [x.started_at for x in s],
         [x.ended_at for x in s], _floats(x.volume_m3 for x in s), _floats(x.kwh for x in s),
         _floats(x.balance_m3 for x in s))).fetchall()
    keys = {(str(m), str(sid)) for m, sid in inserted}
    result.sessions_new = len(keys)
    if len(keys) < len(batch.sessions):
        conflicts += _conflicting_sessions(conn, [m for m in batch.sessions
                                                  if (m.meter.meter_id, m.session.session_id)
                                                  not in keys])
    rows = []
    for item in batch.sessions:
        if (item.meter.meter_id, item.session.session_id) in keys:
            keys.discard((item.meter.meter_id, item.session.session_id))
            rows.append(_session_consumption(item.meter, item.session, registry))
    return rows


def _conflicting_sessions(conn: Conn, resent: Sequence[MeterSession]) -> list[DeadLetter]:
    """A session reported again with other figures: the stored one stays, and it is said."""
    stored = {(str(r[0]), str(r[1])): r[2:] for r in conn.execute(
        "SELECT meter_id, session_id, started_at, ended_at, volume_m3, kwh FROM card_sessions "
        "WHERE (meter_id, session_id) IN (SELECT * FROM unnest(%b::text[], %b::text[]))",
        ([m.meter.meter_id for m in resent], [m.session.session_id for m in resent]))}
    letters = []
    for item in resent:
        s = item.session
        known = stored.get((item.meter.meter_id, s.session_id))
        if known is not None and tuple(known) != (s.started_at, s.ended_at, s.volume_m3, s.kwh):
            letters.append(DeadLetter(
                f"meter/{item.meter.meter_id}",
                f'{{"session_id": "{s.session_id}", "volume_m3": {s.volume_m3}, '
                f'"kwh": {s.kwh}}}'.encode(), "conflicting_duplicate",
                f"card session {s.session_id} on {item.meter.meter_id} is stored as "
                f"{known[2]} m³ / {known[3]} kWh from {known[0]} to {known[1]}; "
                f"kept the stored one"))
    return letters


def _session_consumption(meter: Meter, session: CardSession,
                         registry: Registry) -> ConsumptionRow:
    site = registry.sites[meter.site_id]
    return session_row(meter, session, registry.register_spec(meter),
                       registry.coefficients.get(meter.site_id, []), site.rated_m3h)


def _consumption_tuple(row: ConsumptionRow) -> tuple[object, ...]:
    return row  # a named tuple whose fields are CONSUMPTION_COLUMNS, in that order


def _floats(values: Iterable[float | int | None]) -> list[float | None]:
    """A float8 array parameter: binary arrays take one Python type, so no int among floats."""
    return [None if v is None else float(v) for v in values]


def upsert_consumption(conn: Conn, rows: Sequence[ConsumptionRow]) -> None:
    """Insert or revise consumption rows (recomputed intervals, restatements)."""
    if not rows:
        return
    columns = ", ".join(CONSUMPTION_COLUMNS)
    arrays = [_floats(column) if t == "float8" else list(column) for t, column in
              zip(CONSUMPTION_TYPES, zip(*map(_consumption_tuple, rows), strict=True),
                  strict=True)]
    casts = ", ".join(f"%b::{t}[]" for t in CONSUMPTION_TYPES)
    revisable = CONSUMPTION_COLUMNS[2:]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in revisable)
    # A recomputed interval that comes out as stored is left alone (no new row version,
    # derived_at keeps the time its figures were derived): most revised intervals are
    # the ones just before a new reading, and they rarely change.
    stored = ", ".join(f"consumption.{c}" for c in revisable)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in revisable)
    conn.execute(f"INSERT INTO consumption ({columns}) SELECT * FROM unnest({casts}) "
                 f"ON CONFLICT (meter_id, ts_end, session_id) DO UPDATE SET {updates}, "
                 f"derived_at = now() WHERE ({stored}) IS DISTINCT FROM ({incoming})", arrays)


def insert_dead_letters(conn: Conn, letters: Sequence[DeadLetter]) -> int:
    if not letters:
        return 0
    cur = conn.execute(
        "INSERT INTO dead_letters (topic, payload, payload_sha256, element, reason, detail) "
        "SELECT * FROM unnest(%b::text[], %b::bytea[], %b::bytea[], %b::int[], %b::text[], "
        "%b::text[]) ON CONFLICT DO NOTHING",
        ([d.topic for d in letters], [d.payload for d in letters],
         [hashlib.sha256(d.payload).digest() for d in letters], [d.element for d in letters],
         [d.reason for d in letters], [d.detail for d in letters]))
    return cur.rowcount


def rederive_meter(conn: Conn, registry: Registry, meter: Meter, since: datetime) -> int:
    """Recompute a meter's register intervals ending at or after ``since`` from its readings.

    For restatements (a new coefficient, a back-dated replacement). Returns rows written.
    """
    lock_meters(conn, [meter.meter_id])
    k = context_size()
    found = conn.execute(
        "(SELECT ts, value FROM register_readings WHERE meter_id = %s AND ts < %s "
        " ORDER BY ts DESC LIMIT %s) UNION ALL "
        "(SELECT ts, value FROM register_readings WHERE meter_id = %s AND ts >= %s) ORDER BY 1",
        (meter.meter_id, since, k, meter.meter_id, since)).fetchall()
    points = [Point(ts, float(v)) for ts, v in found]
    conn.execute("DELETE FROM consumption WHERE meter_id = %s AND ts_end >= %s AND session_id = ''",
                 (meter.meter_id, since))
    coefficients = registry.coefficients.get(meter.site_id, [])
    rows = [register_row(meter, iv, coefficients)
            for iv in derive_intervals(points, registry.register_spec(meter)) if iv.ts_end >= since]
    upsert_consumption(conn, rows)
    return len(rows)
