"""SQL for IC-card pump sessions and the consumption rows that are not register intervals.

Card sessions are inserted on their natural key (meter, session id) with ON
CONFLICT DO NOTHING; a session reported again with other figures keeps the
stored one and is dead-lettered. Their water use, and every other consumption
row that is not a register interval (computed and estimated volumes), lives in
``consumption_records`` (migration 100).
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.batch import DeadLetter, MeterSession
from ingest.bulk_sql import Conn, columns_of, copy_rows, float_array
from ingest.registry import Registry
from ingest.volumes import ConsumptionRow, session_row

RECORD_COLUMNS = ConsumptionRow._fields
RECORD_TYPES = ("text", "timestamptz", "timestamptz", "text", "text", "text", "text",
                "float8", "float8", "float8", "float8", "text")
RECORDS_TARGET = "consumption_records (" + ", ".join(RECORD_COLUMNS) + ")"


def insert_sessions(conn: Conn, sessions: Sequence[MeterSession], registry: Registry,
                    conflicts: list[DeadLetter]) -> int:
    """Insert new sessions and their water use; returns how many were new."""
    s = [m.session for m in sessions]
    inserted = conn.execute(
        "INSERT INTO card_sessions (meter_id, session_id, card_id, holder, started_at, ended_at, "
        "volume_m3, kwh, balance_m3) SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], "
        "%b::text[], %b::timestamptz[], %b::timestamptz[], %b::float8[], %b::float8[], "
        "%b::float8[]) ON CONFLICT DO NOTHING RETURNING meter_id, session_id",
        ([m.meter.meter_id for m in sessions], [x.session_id for x in s],
         [x.card_id for x in s], [x.holder for x in s], [x.started_at for x in s],
         [x.ended_at for x in s], float_array(x.volume_m3 for x in s),
         float_array(x.kwh for x in s), float_array(x.balance_m3 for x in s))).fetchall()
    keys = {(str(m), str(sid)) for m, sid in inserted}
    new = len(keys)
    if new < len(sessions):
        conflicts += _conflicting_sessions(conn, [m for m in sessions
                                                  if (m.meter.meter_id, m.session.session_id)
                                                  not in keys])
    rows = []
    for item in sessions:
        if (item.meter.meter_id, item.session.session_id) in keys:
            keys.discard((item.meter.meter_id, item.session.session_id))
            site = registry.sites[item.meter.site_id]
            rows.append(session_row(item.meter, item.session, registry.register_spec(item.meter),
                                    registry.coefficients.get(item.meter.site_id, []),
                                    site.rated_m3h))
    # a new session's consumption row cannot exist yet: straight in by COPY
    if rows:
        copy_rows(conn, RECORDS_TARGET, RECORD_TYPES, rows)
    return new


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


def upsert_consumption(conn: Conn, rows: Sequence[ConsumptionRow]) -> None:
    """Insert or revise consumption records (card sessions restated, computed volumes)."""
    if not rows:
        return
    columns = ", ".join(RECORD_COLUMNS)
    casts = ", ".join(f"%b::{t}[]" for t in RECORD_TYPES)
    revisable = RECORD_COLUMNS[2:-1]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in revisable)
    stored = ", ".join(f"consumption_records.{c}" for c in revisable)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in revisable)
    conn.execute(f"INSERT INTO consumption_records ({columns}) SELECT * FROM unnest({casts}) "
                 f"ON CONFLICT (meter_id, ts_end, session_id) DO UPDATE SET {updates}, "
                 f"derived_at = now() WHERE ({stored}) IS DISTINCT FROM ({incoming})",
                 columns_of(rows, RECORD_TYPES))
