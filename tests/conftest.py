"""Shared fixtures: a real PostgreSQL (TimescaleDB where installed) and a real broker.

* ``WATERBUDGET_TEST_DATABASE_URL``: a server to create test databases on (CI
  points it at the local PostgreSQL 15 with TimescaleDB). Unset: an embedded
  PostgreSQL is started (plain tables only).
* ``WATERBUDGET_TEST_MQTT_URL``: a broker to use. Unset: a mosquitto is started
  with the queue settings production needs (never the system one on 1883,
  whose 1000-message queue limit drops QoS-1 messages).

``database_url`` is parametrised: every test using it runs on a fresh database
with TimescaleDB hypertables ("timescaledb", skipped where the extension is not
installed) and with plain tables ("plain").

The embedded servers stop and their temporary directories go at the end of the
session, also when the run is cut short: SIGTERM (``timeout``, ``kill``, a cancelled CI
job) ends it as Ctrl-C does, with the session fixtures torn down
(tests/integration/test_clean_exit.py).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from store.database import create_scratch_database, drop_database, timescaledb_installable
from waterbudget.embedded import Embedded, start_broker, start_postgres


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM ends the run as Ctrl-C does: pytest then tears the session fixtures down."""
    signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("WATERBUDGET_TEST_DATABASE_URL")
    if url:
        yield url
        return
    embedded = start_postgres()
    try:
        yield embedded.url
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def timescaledb_available(pg_admin_url: str) -> bool:
    return timescaledb_installable(pg_admin_url)


def create_database(admin_url: str, *, timescaledb: bool) -> str:
    return create_scratch_database(admin_url, timescaledb=timescaledb)


@pytest.fixture(params=["timescaledb", "plain"])
def database_url(request: pytest.FixtureRequest, pg_admin_url: str,
                 timescaledb_available: bool) -> Iterator[str]:
    """A freshly migrated database, dropped after the test."""
    with_timescale = request.param == "timescaledb"
    if with_timescale and not timescaledb_available:
        pytest.skip("TimescaleDB is not installed on this server (tools/install-timescaledb.sh)")
    url = create_database(pg_admin_url, timescaledb=with_timescale)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def broker() -> Iterator[Embedded]:
    url = os.environ.get("WATERBUDGET_TEST_MQTT_URL")
    if url:
        yield Embedded(url, lambda: None, os.environ.get("WATERBUDGET_TEST_MQTT_PROTOCOL", "5"))
        return
    embedded = start_broker()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def mqtt_url(broker: Embedded) -> str:
    return broker.url
