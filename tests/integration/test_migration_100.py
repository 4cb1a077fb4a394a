"""Migration 100 moves register intervals onto their readings without changing any figure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from store.database import create_scratch_database, drop_database
from store.migrate import migrate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, tzinfo=UTC)
SNAPSHOT = ("SELECT meter_id, ts_end, session_id, ts_start, site_id, method, status, quality, "
            "register_delta, kwh, coefficient, volume_m3 FROM consumption ORDER BY 1, 2, 3")


@pytest.fixture(params=["timescaledb", "plain"])
def url_at_004(request: pytest.FixtureRequest, pg_admin_url: str,
               timescaledb_available: bool) -> Iterator[str]:
    if request.param == "timescaledb" and not timescaledb_available:
        pytest.skip("TimescaleDB is not installed on this server")
    url = create_scratch_database(pg_admin_url, timescaledb=request.param == "timescaledb",
                                  until=4)
    yield url
    drop_database(pg_admin_url, url)


def _seed_version_004(conn: psycopg.Connection) -> None:
    """Data as the schema before migration 100 held it: intervals in their own rows."""
    conn.execute("INSERT INTO sites (site_id, name, kind, source) VALUES "
                 "('S1', 'well', 'well', 'groundwater'), ('S2', 'well', 'well', 'groundwater')")
    conn.execute("INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at) VALUES "
                 "('S1-F', 'S1', 'S1', 'flow', %s), ('S2-P', 'S2', 'S2', 'power', %s), "
                 "('S2-C', 'S2', 'S2', 'card', %s)", (T0, T0, T0))
    for i, value in enumerate([0.0, 5.0, 2.0, 9.0]):
        conn.execute("INSERT INTO register_readings (meter_id, ts, value) VALUES ('S1-F', %s, %s)",
                     (T0 + timedelta(hours=i), value))
    conn.execute("INSERT INTO register_readings (meter_id, ts, value) VALUES ('S2-P', %s, 0), "
                 "('S2-P', %s, 10)", (T0, T0 + timedelta(hours=1)))
    rows = [
        ("S1-F", 1, 0, "S1", "", "measured", "counted", None, 5.0, None, None, 5.0),
        ("S1-F", 2, 1, "S1", "", "measured", "quarantined", "negative_delta", -3.0, None, None,
         0.0),
        ("S1-F", 3, 2, "S1", "", "measured", "counted", None, 7.0, None, None, 7.0),
        ("S2-P", 1, 0, "S2", "", "converted", "counted", None, 10.0, 10.0, 2.5, 25.0),
        ("S2-C", 1, 0, "S2", "sess-1", "card", "counted", None, None, 4.0, None, 11.0),
    ]
    for m, end, start, site, sid, method, status, quality, delta, kwh, coef, vol in rows:
        conn.execute(
            "INSERT INTO consumption (meter_id, ts_end, ts_start, site_id, session_id, method, "
            "status, quality, register_delta, kwh, coefficient, volume_m3) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (m, T0 + timedelta(hours=end), T0 + timedelta(hours=start), site, sid, method, status,
             quality, delta, kwh, coef, vol))


def test_consumption_is_unchanged_by_migration_100(url_at_004: str) -> None:
    with psycopg.connect(url_at_004, autocommit=True) as conn:
        _seed_version_004(conn)
        before = conn.execute(SNAPSHOT).fetchall()
        site_before = conn.execute("SELECT meter_id, ts_end, volume_m3 FROM site_consumption "
                                   "ORDER BY 1, 2").fetchall()
    assert len(before) == 5
    applied = migrate(url_at_004)
    assert "100_readings_carry_their_interval.sql" in applied
    with psycopg.connect(url_at_004, autocommit=True) as conn:
        assert conn.execute(SNAPSHOT).fetchall() == before
        assert conn.execute("SELECT meter_id, ts_end, volume_m3 FROM site_consumption "
                            "ORDER BY 1, 2").fetchall() == site_before
        # register intervals now live on their readings, the card session stays a record
        on_readings = conn.execute("SELECT count(*) FROM register_readings "
                                   "WHERE ts_start IS NOT NULL").fetchone()
        records = conn.execute("SELECT meter_id FROM consumption_records").fetchall()
        first = conn.execute("SELECT ts_start, status, volume_m3 FROM register_readings "
                             "WHERE meter_id = 'S1-F' AND ts = %s", (T0,)).fetchone()
    assert on_readings == (4,)
    assert records == [("S2-C",)]
    assert first == (None, None, None)


def test_an_interval_without_its_figures_is_refused(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO sites (site_id, name, kind, source) "
                     "VALUES ('S1', 'well', 'well', 'groundwater')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO register_readings (meter_id, ts, value, ts_start) "
                         "VALUES ('S1-F', %s, 1, %s)", (T0 + timedelta(hours=1), T0))
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO consumption_records (meter_id, ts_end, ts_start, site_id, "
                         "method, status, volume_m3) VALUES ('S1-F', %s, %s, 'S1', 'measured', "
                         "'counted', 1)", (T0 + timedelta(hours=1), T0))


def test_an_insert_into_the_consumption_view_lands_in_the_records(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO consumption (meter_id, ts_end, ts_start, site_id, method, "
                     "status, volume_m3) VALUES ('G1', %s, %s, 'G1', 'computed', 'counted', 3)",
                     (T0 + timedelta(hours=1), T0))
        assert conn.execute("SELECT method, volume_m3, session_id FROM consumption_records"
                            ).fetchall() == [("computed", 3.0, "")]
        assert conn.execute("SELECT sum(volume_m3) FROM consumption").fetchone() == (3.0,)
