"""SQL for the registry: sites, meters, coefficients; replacements and restatements.

Every change is one transaction and bumps ``registry_version`` so running
ingestors reload the registry before their next batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from ingest.consumption import context_size
from ingest.contract import CardSession
from ingest.gate_restatement import rederive_gate_meter, restate_gate_sites
from ingest.reading_repository import Conn, lock_meters, rederive_meter
from ingest.registry import (
    Coefficient,
    Meter,
    Registry,
    RegistryError,
    Site,
    check_consistency,
)
from ingest.session_repository import upsert_consumption
from ingest.telemetry_registry_repository import (
    load_gate_ratings,
    load_terminals,
    save_terminals_and_ratings,
)
from ingest.volumes import session_row

SITE_COLUMNS = tuple(f.name for f in fields(Site))
METER_COLUMNS = tuple(f.name for f in fields(Meter))


def registry_version(conn: Conn) -> int:
    row = conn.execute("SELECT version FROM registry_version").fetchone()
    return int(row[0]) if row else 0


def load_registry(conn: Conn) -> Registry:
    sites = [Site(*row) for row in conn.execute(
        f"SELECT {', '.join(SITE_COLUMNS)} FROM sites")]
    meters = [Meter(*row) for row in conn.execute(
        f"SELECT {', '.join(METER_COLUMNS)} FROM meters")]
    coefficients = [Coefficient(*row) for row in conn.execute(
        "SELECT site_id, valid_from, m3_per_kwh, method, note FROM power_coefficients")]
    return Registry.build(sites, meters, coefficients, terminals=load_terminals(conn),
                          gate_ratings=load_gate_ratings(conn))


def _upsert(conn: Conn, table: str, key: str, columns: tuple[str, ...],
            values: list[tuple[object, ...]]) -> None:
    if not values:
        return
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) "
                        f"ON CONFLICT ({key}) DO UPDATE SET {updates}", values)


def _bump(conn: Conn) -> None:
    conn.execute("UPDATE registry_version SET version = version + 1")


def _registry_readings(conn: Conn, meter: Meter) -> None:
    """The register at installation (and at removal) is a reading like any other.

    Without a known initial register there is no installation reading: the meter's first
    reading is its baseline (a registry reading stored by an earlier load is removed).
    """
    marks = []
    if meter.initial_register is not None:
        marks.append((meter.meter_id, meter.installed_at, meter.initial_register))
    else:
        conn.execute("DELETE FROM register_readings WHERE meter_id = %s AND ts = %s "
                     "AND origin = 'registry'", (meter.meter_id, meter.installed_at))
    if meter.removed_at is not None and meter.final_register is not None:
        marks.append((meter.meter_id, meter.removed_at, meter.final_register))
    if not marks:
        return
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO register_readings (meter_id, ts, value, origin) "
                        "VALUES (%s, %s, %s, 'registry') ON CONFLICT (meter_id, ts) DO UPDATE "
                        "SET value = EXCLUDED.value WHERE register_readings.origin = 'registry'",
                        marks)


@dataclass(frozen=True)
class SaveSummary:
    sites: int
    meters: int
    coefficients: int
    restated_sites: list[str]
    # register meters loaded without initial_register: their first reading is the baseline
    baselines: list[Baseline] = field(default_factory=list)


@dataclass(frozen=True)
class Baseline:
    """A meter without initial register and its first reading (None: none yet)."""

    meter_id: str
    ts: datetime | None
    value: float | None


def baselines(conn: Conn, meter_ids: list[str]) -> list[Baseline]:
    return [Baseline(str(m), ts, None if v is None else float(v)) for m, ts, v in conn.execute(
        "SELECT meter_id, baseline_ts, baseline_value FROM meter_baselines "
        "WHERE meter_id = ANY(%s) ORDER BY meter_id", (meter_ids,))]


def save_registry(conn: Conn, incoming: Registry) -> SaveSummary:
    """Merge a registry file into the stored registry: all or nothing.

    Meters whose parameters changed are recomputed from their installation; a
    new or changed coefficient restates its site's converted volumes.
    """
    with conn.transaction():
        conn.execute("LOCK TABLE registry_version IN EXCLUSIVE MODE")
        current = load_registry(conn)
        check_consistency(current.merged_with(incoming))
        _upsert(conn, "sites", "site_id", SITE_COLUMNS,
                [tuple(getattr(s, c) for c in SITE_COLUMNS) for s in incoming.sites.values()])
        _upsert(conn, "meters", "meter_id", METER_COLUMNS,
                [tuple(getattr(m, c) for c in METER_COLUMNS) for m in incoming.meters.values()])
        for meter in incoming.meters.values():
            if meter.channel != "gate":  # a gate meter has no register
                _registry_readings(conn, meter)
        changed = [c for key, c in incoming.coefficient_records.items()
                   if current.coefficient_records.get(key) != c]
        for coefficient in changed:
            _upsert_coefficient(conn, coefficient)
        changed_ratings = save_terminals_and_ratings(conn, current, incoming)
        _bump(conn)
        stored = load_registry(conn)
        for meter in incoming.meters.values():
            if meter != current.meters.get(meter.meter_id):
                rederive = rederive_gate_meter if meter.channel == "gate" else rederive_meter
                rederive(conn, stored, meter, meter.installed_at)
        restated = sorted({c.site_id for c in changed})
        for site_id in restated:
            since = min(c.valid_from for c in changed if c.site_id == site_id)
            restate_site(conn, stored, site_id, since)
        restated = sorted({*restated, *restate_gate_sites(conn, stored, changed_ratings)})
        baseline = baselines(conn, [m.meter_id for m in incoming.meters.values()
                                    if m.initial_register is None])
    return SaveSummary(len(incoming.sites), len(incoming.meters),
                       len(incoming.coefficient_records), restated, baseline)


def _upsert_coefficient(conn: Conn, coefficient: Coefficient) -> None:
    conn.execute(
        "INSERT INTO power_coefficients (site_id, valid_from, m3_per_kwh, method, note) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site_id, valid_from) DO UPDATE SET "
        "m3_per_kwh = EXCLUDED.m3_per_kwh, method = EXCLUDED.method, note = EXCLUDED.note, "
        "recorded_at = now()",
        (coefficient.site_id, coefficient.valid_from, coefficient.m3_per_kwh,
         coefficient.method, coefficient.note))


def restate_site(conn: Conn, registry: Registry, site_id: str, since: datetime) -> None:
    """A coefficient change restates the converted volumes of its validity period.

    Recomputes the site's power-meter intervals and kWh-only card sessions ending
    at or after ``since`` and records totals before and after for the audit trail.
    Known limit: the capacity check in kWh/h uses the site's smallest coefficient
    on record, so a new, smaller coefficient loosens the check for intervals
    before ``valid_from`` too, which are not recomputed here.
    """
    meters = [m for m in registry.meters.values()
              if m.site_id == site_id and m.channel in ("power", "card")]
    ids = [m.meter_id for m in meters]
    lock_meters(conn, ids)
    before = _converted_total(conn, ids, since)
    for meter in meters:
        if meter.channel == "power":
            rederive_meter(conn, registry, meter, since)
    rows = []
    sessions = conn.execute(
        "SELECT meter_id, session_id, card_id, holder, started_at, ended_at, volume_m3, kwh, "
        "balance_m3 FROM card_sessions WHERE meter_id = ANY(%s) AND ended_at >= %s "
        "AND volume_m3 IS NULL", (ids, since)).fetchall()
    for row in sessions:
        meter = registry.meters[str(row[0])]
        session = CardSession(meter.device_id, *row[1:])
        rows.append(session_row(meter, session, registry.register_spec(meter),
                                registry.coefficients.get(site_id, []),
                                registry.sites[site_id].rated_m3h))
    upsert_consumption(conn, rows)
    after = _converted_total(conn, ids, since)
    conn.execute("INSERT INTO coefficient_restatements (site_id, valid_from, intervals, "
                 "volume_before, volume_after) VALUES (%s, %s, %s, %s, %s)",
                 (site_id, since, after[1], before[0], after[0]))


def _converted_total(conn: Conn, meter_ids: list[str], since: datetime) -> tuple[float, int]:
    # converted rows only: card sessions reported in m³ are not restated
    row = conn.execute("SELECT coalesce(sum(volume_m3), 0), count(*) FROM consumption "
                       "WHERE meter_id = ANY(%s) AND ts_end >= %s AND (method = 'converted' "
                       "OR (method = 'card' AND (coefficient IS NOT NULL "
                       "OR quality = 'no_coefficient')))",
                       (meter_ids, since)).fetchone()
    assert row is not None
    return float(row[0]), int(row[1])


def replace_meter(conn: Conn, *, old_meter_id: str, new: Meter, final_register: float) -> None:
    """Record a meter replacement on the same device, possibly back-dated.

    The old meter ends at ``new.installed_at`` with ``final_register``; device
    readings already stored for the old meter at or after that time belong to
    the new register and are moved to it; both meters' use is recomputed from
    there, so no delta is ever taken across the replacement.
    """
    with conn.transaction():
        conn.execute("LOCK TABLE registry_version IN EXCLUSIVE MODE")
        current = load_registry(conn)
        old = current.meters.get(old_meter_id)
        if old is None:
            raise RegistryError(f"unknown meter {old_meter_id}")
        if old.channel == "gate":
            raise RegistryError("a gate meter has no register to carry over: load it with "
                                "removed_at and the new one as a meter of its own")
        if new.installed_at <= old.installed_at:
            raise RegistryError("the replacement must be after the old meter's installation")
        if (old.device_id, old.channel, old.site_id) != (new.device_id, new.channel, new.site_id):
            raise RegistryError("a replacement keeps the device, channel and site of the old meter")
        ended = replace(old, removed_at=new.installed_at, final_register=final_register)
        merged = Registry.build(current.sites.values(),
                                {**current.meters, old.meter_id: ended,
                                 new.meter_id: new}.values(), [])
        check_consistency(merged)
        lock_meters(conn, [old.meter_id, new.meter_id])
        _upsert(conn, "meters", "meter_id", METER_COLUMNS,
                [tuple(getattr(m, c) for c in METER_COLUMNS) for m in (ended, new)])
        conn.execute("UPDATE register_readings SET meter_id = %s WHERE meter_id = %s "
                     "AND ts > %s AND origin = 'device'",
                     (new.meter_id, old.meter_id, new.installed_at))
        conn.execute("DELETE FROM register_readings WHERE meter_id = %s AND ts = %s",
                     (old.meter_id, new.installed_at))
        _registry_readings(conn, ended)
        _registry_readings(conn, new)
        _bump(conn)
        stored = load_registry(conn)
        since = _context_start(conn, old.meter_id, new.installed_at)
        rederive_meter(conn, stored, stored.meters[old.meter_id], since)
        rederive_meter(conn, stored, stored.meters[new.meter_id], new.installed_at)


def _context_start(conn: Conn, meter_id: str, at: datetime) -> datetime:
    """Far enough back that every interval the change can touch is recomputed."""
    rows = conn.execute("SELECT ts FROM register_readings WHERE meter_id = %s AND ts < %s "
                        "ORDER BY ts DESC LIMIT %s", (meter_id, at, context_size())).fetchall()
    return min([r[0] for r in rows], default=at)


def add_coefficient(conn: Conn, coefficient: Coefficient) -> None:
    """Record a (re)calibrated power-to-water coefficient and restate its period."""
    with conn.transaction():
        conn.execute("LOCK TABLE registry_version IN EXCLUSIVE MODE")
        if not conn.execute("SELECT 1 FROM sites WHERE site_id = %s",
                            (coefficient.site_id,)).fetchone():
            raise RegistryError(f"unknown site {coefficient.site_id}")
        _upsert_coefficient(conn, coefficient)
        _bump(conn)
        restate_site(conn, load_registry(conn), coefficient.site_id, coefficient.valid_from)

