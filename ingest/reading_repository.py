"""SQL for the reading path: one transaction per batch of messages.

A register reading is stored with the figures of the interval that ends at it
(migration 100), so a new reading is one row: its value and its water use.

* Idempotent: readings, card sessions and statuses are keyed (meter+time,
  meter+session, device+time). Each meter's stored readings around the new ones
  are read first, under a transaction-scoped advisory lock per meter (every
  writer of readings takes it, so several ingest processes in one shared
  subscription stay correct): a reading already stored is a duplicate and
  changes nothing, or — with another value — a conflicting duplicate that keeps
  the stored value and is dead-lettered.
* Order-independent: intervals are recomputed around the new readings with the
  pure rules of ``ingest.consumption``; new readings go in by binary COPY with
  their interval, stored readings whose interval the new ones changed are
  updated, and only where a figure actually changed.
* Clock checks: a reading's ``received_at`` is the transaction's ``now()`` (the
  column's default), read once per batch (with the tails check where there is
  one), so the rules see the same receive times as a later re-derivation
  (``consumption.clock_jumped``); a duplicate keeps the stored one, and the
  registry's readings have none.
* One ingest process may keep each meter's last readings (``RegisterTails``,
  while it holds the tails lock): readings that come after them need no
  context from the database. Every other writer of register readings counts
  its transactions in ``ingest_epoch``, and the tails holder drops its tails
  when that count, or the registry version, moved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from ingest.batch import DeadLetter, IngestBatch, MeterReading, runs_as_readings
from ingest.bulk_sql import Conn, columns_of, copy_encoded, copy_rows
from ingest.consumption import Interval, Point, context_size, derive_intervals, recompute
from ingest.gate_repository import write_gate_readings
from ingest.register_runs import RegisterRun, as_time, plain_run_rows
from ingest.register_tails import RegisterTails
from ingest.registry import Meter, Registry
from ingest.session_repository import insert_sessions, upsert_consumption
from ingest.storable_text import escaped
from ingest.volumes import INTERVAL_COLUMNS, interval_figures

__all__ = ["Conn", "WriteResult", "insert_dead_letters", "lock_meters", "rederive_meter",
           "take_tails_lock", "write_batch"]

TAILS_LOCK = 7_411_978  # session advisory lock of the one process that keeps register tails

READING_COLUMNS = ("meter_id", "ts", "value", "flow_m3h", *INTERVAL_COLUMNS)
READING_TYPES = ("text", "timestamptz", "float8", "float8", "timestamptz", "text", "text", "text",
                 "text", "float8", "float8", "float8", "float8")
READINGS_TARGET = "register_readings (" + ", ".join(READING_COLUMNS) + ")"
NO_INTERVAL = (None,) * len(INTERVAL_COLUMNS)  # a meter's first reading ends no interval
FIGURE_TYPES = READING_TYPES[4:]
_SET_FIGURES = ", ".join(f"{c} = v.{c}" for c in INTERVAL_COLUMNS)
_STORED = ", ".join(f"r.{c}" for c in INTERVAL_COLUMNS)
_GIVEN = ", ".join(f"v.{c}" for c in INTERVAL_COLUMNS)
UPDATE_FIGURES = (
    f"UPDATE register_readings r SET {_SET_FIGURES}, derived_at = now() "
    f"FROM unnest(%b::text[], %b::timestamptz[], "
    + ", ".join(f"%b::{t}[]" for t in FIGURE_TYPES)
    + f") AS v(meter_id, ts, {', '.join(INTERVAL_COLUMNS)}) "
    f"WHERE r.meter_id = v.meter_id AND r.ts = v.ts AND ({_STORED}) IS DISTINCT FROM ({_GIVEN})")

# the receive time the clock check compares (``consumption.clock_jumped``): a device's; the
# registry's readings (a register at installation or removal) were typed in, not received
DEVICE_RECEIVED = "CASE WHEN origin = 'device' THEN received_at END AS received"

Figures = tuple[object, ...]


@dataclass
class WriteResult:
    readings_new: int = 0
    readings_duplicate: int = 0
    sessions_new: int = 0
    statuses_new: int = 0
    consumption_rows: int = 0  # intervals written or revised
    readings_from_columns: int = 0  # of readings_new, those the column path wrote
    dead_letters: int = 0
    # per meter, its stored readings up to its latest, for RegisterTails once committed
    tails: dict[str, list[Point]] = field(default_factory=dict)


def lock_meters(conn: Conn, meter_ids: Iterable[str]) -> None:
    keys = sorted(set(meter_ids))
    if keys:
        conn.execute("SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended(m, 0) AS k "
                     "FROM unnest(%b::text[]) AS m ORDER BY 1) AS ordered", (keys,))


def take_tails_lock(conn: Conn) -> bool:
    """Try to become the one process that keeps register tails (a session lock)."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (TAILS_LOCK,)).fetchone()
    return bool(row and row[0])


def write_batch(conn: Conn, batch: IngestBatch, registry: Registry,
                tails: RegisterTails | None = None) -> WriteResult:
    """Write one batch in one transaction; the caller acknowledges after it returns.

    ``tails``: only for the holder of the tails lock, which passes ``result.tails``
    to ``tails.remember`` after this returns.
    """
    result = WriteResult()
    conflicts: list[DeadLetter] = []
    with conn.transaction():
        lock_meters(conn, [r.meter.meter_id for r in batch.registers]
                    + [r.meter.meter_id for r in batch.runs]
                    + [s.meter.meter_id for s in batch.sessions]
                    + [g.meter.meter_id for g in batch.gates])
        received = _check_tails(conn, tails) if tails is not None else None
        if batch.registers or batch.runs:
            received = received or _received_at(conn)
            registers = batch.registers
            if batch.runs:
                registers = [*registers, *_write_runs(conn, batch, registry, result, tails,
                                                      received)]
            if registers:
                _write_registers(conn, registers, registry, conflicts, result, tails, received)
        if batch.gates:
            upsert_consumption(conn, write_gate_readings(conn, batch.gates, registry, conflicts,
                                                         result))
        if batch.sessions:
            result.sessions_new = insert_sessions(conn, batch.sessions, registry, conflicts)
        if batch.statuses:
            cur = conn.execute(
                "INSERT INTO device_status (device_id, ts, online, alarms) "
                "SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::boolean[], %b::int[]) "
                "ON CONFLICT DO NOTHING",
                ([s.device_id for s in batch.statuses], [s.ts for s in batch.statuses],
                 [s.online for s in batch.statuses], [s.alarms for s in batch.statuses]))
            result.statuses_new = cur.rowcount
        result.dead_letters = insert_dead_letters(conn, batch.dead_letters + conflicts)
        if tails is None and (batch.registers or batch.runs):
            # last, so the row stays locked only until the commit
            conn.execute("UPDATE ingest_epoch SET writes = writes + 1")
    return result


def _received_at(conn: Conn) -> datetime:
    """The transaction's ``now()``: what ``register_readings.received_at`` defaults to."""
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return cast(datetime, row[0])


def _check_tails(conn: Conn, tails: RegisterTails) -> datetime:
    """Tails from before another writer's readings or a registry change are dropped.

    Read under the meter locks, which every writer of readings also takes: a
    transaction that wrote these meters has committed by now, and its count or
    version is seen. Returns the transaction's ``now()`` (``_received_at``), read in the
    same round trip.
    """
    row = conn.execute("SELECT (SELECT version FROM registry_version), "
                       "(SELECT writes FROM ingest_epoch), now()").fetchone()
    assert row is not None
    seen = (int(row[0]), int(row[1]))
    if tails.seen != seen:
        tails.forget()
        tails.seen = seen
    return cast(datetime, row[2])


def _write_runs(conn: Conn, batch: IngestBatch, registry: Registry, result: WriteResult,
               tails: RegisterTails | None, received: datetime) -> list[MeterReading]:
    """Meters whose runs are in-order plain steps after their last stored readings: COPY
    straight from the columns. Returns the other runs' readings, for the scalar path."""
    runs: dict[str, list[RegisterRun]] = {}
    for run in batch.runs:
        runs.setdefault(run.meter.meter_id, []).append(run)
    for reading in batch.registers:  # a meter with readings of both kinds: the scalar way
        runs.pop(reading.meter.meter_id, None)
    spans = {m: (as_time(int(min(r.micros.min() for r in rs))),
                 as_time(int(max(r.micros.max() for r in rs)))) for m, rs in runs.items()}
    last: dict[str, list[Point]] = {}
    for meter_id, (earliest, _) in spans.items():
        tail = tails.context_for(meter_id, Point(earliest, 0.0)) if tails is not None else None
        if tail is not None:
            last[meter_id] = tail
    missing = {m: span for m, span in spans.items() if m not in last}
    if missing:
        for meter_id, context in _fetch_context_spans(conn, missing).items():
            if not context or context[-1].ts < missing[meter_id][0]:  # nothing stored after
                last[meter_id] = context
    data: list[bytes] = []
    left: list[RegisterRun] = [r for r in batch.runs if r.meter.meter_id not in runs]
    for meter_id, meter_runs in runs.items():
        meter = meter_runs[0].meter
        tail = last.get(meter_id)
        rows = None if not tail else plain_run_rows(
            meter, tail, meter_runs, registry.register_spec(meter),
            registry.coefficients.get(meter.site_id, []), received)
        if rows is None:
            left += meter_runs
            continue
        data.append(rows.copy_data)
        result.tails[meter_id] = rows.tail
        result.readings_new += rows.rows
        result.readings_from_columns += rows.rows
        result.consumption_rows += rows.rows
    if data:
        copy_encoded(conn, READINGS_TARGET, data)
    return runs_as_readings(left)


def _write_registers(conn: Conn, readings: Sequence[MeterReading], registry: Registry,
                     conflicts: list[DeadLetter], result: WriteResult,
                     tails: RegisterTails | None, received: datetime) -> None:
    incoming: dict[str, dict[datetime, MeterReading]] = {}  # by meter id, then time
    for r in readings:
        by_time = incoming.get(r.meter.meter_id)
        if by_time is None:
            by_time = incoming[r.meter.meter_id] = {}
        first = by_time.setdefault(r.ts, r)
        if first is not r and first.value != r.value:
            conflicts.append(_conflict(r.meter.meter_id, r.ts, r.value, first.value))
    stored: dict[str, list[Point]] = {}
    if tails is not None:
        for meter_id, by_time in incoming.items():
            tail = tails.context_for(meter_id, Point(min(by_time), 0.0))
            if tail is not None:
                stored[meter_id] = tail
    reaching_end = set(stored)  # these contexts end with the meter's latest reading
    missing = {m: b for m, b in incoming.items() if m not in stored}
    if missing:
        fetched = _fetch_context(conn, missing)
        k = context_size()
        for meter_id, by_time in missing.items():
            context = stored[meter_id] = fetched.get(meter_id, [])
            if tails is not None:
                latest_new = max(by_time)
                if sum(1 for p in context if p.ts > latest_new) < k:
                    reaching_end.add(meter_id)
    new_rows: list[tuple[object, ...]] = []
    revised: list[tuple[object, ...]] = []
    for meter_id, by_time in incoming.items():
        meter = next(iter(by_time.values())).meter
        context = stored[meter_id]
        known = {p.ts: p.value for p in context}
        fresh = []
        for ts, r in by_time.items():
            value = known.get(ts)
            if value is None:
                fresh.append(r)
            elif value != r.value:
                conflicts.append(_conflict(meter.meter_id, ts, r.value, value))
        if not fresh:
            if meter_id in reaching_end:
                result.tails[meter_id] = context
            continue
        points = sorted([*context, *(Point(r.ts, r.value, received) for r in fresh)])
        if meter_id in reaching_end:
            result.tails[meter_id] = points
        coefficients = registry.coefficients.get(meter.site_id, [])
        spec = registry.register_spec(meter)
        intervals = {iv.ts_end: iv for iv in recompute(points, sorted(r.ts for r in fresh), spec)}
        for r in fresh:
            interval = intervals.pop(r.ts, None)
            new_rows.append((meter.meter_id, r.ts, r.value, r.flow_m3h,
                             *(NO_INTERVAL if interval is None
                               else interval_figures(meter, interval, coefficients))))
        if intervals:  # stored readings near the new ones: rewritten only if they change
            stored_now = {iv.ts_end: iv for iv in derive_intervals(context, spec)}
            revised += [(meter.meter_id, ts, *interval_figures(meter, iv, coefficients))
                        for ts, iv in intervals.items() if stored_now.get(ts) != iv]
    if new_rows:
        copy_rows(conn, READINGS_TARGET, READING_TYPES, new_rows)
    _update_figures(conn, revised)
    # added to, not set: the column path (_write_runs) has counted its readings already
    result.readings_new += len(new_rows)
    result.readings_duplicate += len(readings) - len(new_rows)
    result.consumption_rows += len(new_rows) + len(revised)


def _update_figures(conn: Conn, rows: Sequence[tuple[object, ...]]) -> None:
    """Rewrite the interval figures of stored readings, where they changed."""
    if rows:
        conn.execute(UPDATE_FIGURES, columns_of(rows, ("text", "timestamptz", *FIGURE_TYPES)))


def _conflict(meter_id: str, ts: datetime, value: float, stored: float) -> DeadLetter:
    payload = f'{{"ts": "{ts.isoformat()}", "value": {value}}}'.encode()
    return DeadLetter(f"meter/{meter_id}", payload, "conflicting_duplicate",
                      f"meter {meter_id} already has {stored} at {ts.isoformat()}; "
                      f"kept the stored value")


def _fetch_context(conn: Conn, incoming: dict[str, dict[datetime, MeterReading]]
                   ) -> dict[str, list[Point]]:
    return _fetch_context_spans(conn, {meter_id: (min(by_time), max(by_time))
                                       for meter_id, by_time in incoming.items()})


def _fetch_context_spans(conn: Conn, span_of: dict[str, tuple[datetime, datetime]]
                         ) -> dict[str, list[Point]]:
    """Per meter: every stored reading within the span and k on each side, by time."""
    meters = list(span_of)
    spans = list(span_of.values())
    k = context_size()
    found = conn.execute(
        f"SELECT b.meter_id, r.ts, r.value, r.received FROM unnest(%b::text[], "
        f"%b::timestamptz[], %b::timestamptz[]) AS b(meter_id, lo, hi) CROSS JOIN LATERAL ("
        f" (SELECT ts, value, {DEVICE_RECEIVED} FROM register_readings"
        f"  WHERE meter_id = b.meter_id AND ts < b.lo ORDER BY ts DESC LIMIT %s)"
        f" UNION ALL (SELECT ts, value, {DEVICE_RECEIVED} FROM register_readings"
        f"  WHERE meter_id = b.meter_id AND ts BETWEEN b.lo AND b.hi)"
        f" UNION ALL (SELECT ts, value, {DEVICE_RECEIVED} FROM register_readings"
        f"  WHERE meter_id = b.meter_id AND ts > b.hi ORDER BY ts LIMIT %s)) AS r",
        (meters, [lo for lo, _ in spans], [hi for _, hi in spans], k, k)).fetchall()
    points: dict[str, list[Point]] = {}
    for meter_id, ts, value, received_at in found:
        series = points.get(meter_id)
        if series is None:
            series = points[meter_id] = []
        series.append(Point(ts, value, received_at))
    for series in points.values():
        series.sort()
    return points


def insert_dead_letters(conn: Conn, letters: Sequence[DeadLetter]) -> int:
    """Store dead letters; their text escaped, so a letter about unstorable text is storable."""
    if not letters:
        return 0
    cur = conn.execute(
        "INSERT INTO dead_letters (topic, payload, payload_sha256, element, reason, detail) "
        "SELECT * FROM unnest(%b::text[], %b::bytea[], %b::bytea[], %b::int[], %b::text[], "
        "%b::text[]) ON CONFLICT DO NOTHING",
        ([escaped(d.topic) for d in letters], [d.payload for d in letters],
         [hashlib.sha256(d.payload).digest() for d in letters], [d.element for d in letters],
         [escaped(d.reason) for d in letters], [escaped(d.detail) for d in letters]))
    return cur.rowcount


def rederive_meter(conn: Conn, registry: Registry, meter: Meter, since: datetime) -> int:
    """Recompute the intervals of a meter's readings at or after ``since``.

    For restatements (a new coefficient, a back-dated replacement, changed meter
    parameters). Returns the number of readings whose figures were recomputed.
    """
    lock_meters(conn, [meter.meter_id])
    k = context_size()
    found = conn.execute(
        f"(SELECT ts, value, {DEVICE_RECEIVED} FROM register_readings WHERE meter_id = %s "
        f" AND ts < %s ORDER BY ts DESC LIMIT %s) UNION ALL "
        f"(SELECT ts, value, {DEVICE_RECEIVED} FROM register_readings WHERE meter_id = %s "
        f" AND ts >= %s) ORDER BY 1",
        (meter.meter_id, since, k, meter.meter_id, since)).fetchall()
    points = [Point(ts, float(v), received_at) for ts, v, received_at in found]
    coefficients = registry.coefficients.get(meter.site_id, [])
    ending: dict[datetime, Interval] = {iv.ts_end: iv for iv in
                                        derive_intervals(points, registry.register_spec(meter))}
    rows = []
    for p in points:
        if p.ts >= since:
            interval = ending.get(p.ts)
            figures = (NO_INTERVAL if interval is None
                       else interval_figures(meter, interval, coefficients))
            rows.append((meter.meter_id, p.ts, *figures))
    _update_figures(conn, rows)
    return len(rows)
