"""SQL for the registry records of field telemetry: SZY206 terminals and gate ratings.

Called from ``registry_repository`` inside its transactions: loading the
registry, and merging a registry file into it. Gate-rating restatements are in
``ingest.gate_restatement``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ingest.gate_ratings import GateRating, rating_from, rating_params
from ingest.registry import Registry
from ingest.szy206_terminals import Terminal

Conn = psycopg.Connection[Any]


def load_terminals(conn: Conn) -> list[Terminal]:
    return [Terminal(address, device_id, flow_unit, tuple(levels), gateway)
            for address, device_id, flow_unit, levels, gateway in conn.execute(
                "SELECT address, device_id, flow_unit, levels, gateway FROM szy206_terminals")]


def load_gate_ratings(conn: Conn) -> list[GateRating]:
    return [GateRating(str(site_id), valid_from,
                       rating_from(kind, params, f"gate rating {site_id} {valid_from}"), note)
            for site_id, valid_from, kind, params, note in conn.execute(
                "SELECT site_id, valid_from, kind, params, note FROM gate_ratings")]


def save_terminals_and_ratings(conn: Conn, current: Registry,
                               incoming: Registry) -> list[GateRating]:
    """Upsert the incoming terminals and gate ratings; returns the ratings new or changed."""
    terminals = [t for address, t in incoming.terminals.items()
                 if current.terminals.get(address) != t]
    if terminals:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO szy206_terminals (address, device_id, flow_unit, levels, gateway) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (address) DO UPDATE SET "
                "device_id = EXCLUDED.device_id, flow_unit = EXCLUDED.flow_unit, "
                "levels = EXCLUDED.levels, gateway = EXCLUDED.gateway, recorded_at = now()",
                [(t.address, t.device_id, t.flow_unit, list(t.levels), t.gateway)
                 for t in terminals])
    changed = [r for key, r in incoming.gate_ratings.items()
               if current.gate_ratings.get(key) != r]
    if changed:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO gate_ratings (site_id, valid_from, kind, params, note) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site_id, valid_from) DO UPDATE SET "
                "kind = EXCLUDED.kind, params = EXCLUDED.params, note = EXCLUDED.note, "
                "recorded_at = now()",
                [(r.site_id, r.valid_from, r.kind, Jsonb(rating_params(r.rating)), r.note)
                 for r in changed])
    return changed
