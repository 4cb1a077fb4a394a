"""One lone ingestor at a time; processes of a shared subscription together."""

from __future__ import annotations

import threading

import psycopg
import pytest

from ingest.reading_repository import take_ingest_lock

pytestmark = pytest.mark.integration


def test_a_second_lone_ingestor_waits_for_the_first(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as first:
        assert take_ingest_lock(first, exclusive=True)
        got = threading.Event()

        def second() -> None:
            with psycopg.connect(database_url, autocommit=True) as conn:
                take_ingest_lock(conn, exclusive=True)
                got.set()

        waiter = threading.Thread(target=second, daemon=True)
        waiter.start()
        assert not got.wait(1.0), "the second lone ingestor must wait"
        with psycopg.connect(database_url, autocommit=True) as shared:
            assert not got.is_set()
            row = shared.execute("SELECT pg_try_advisory_lock_shared(7411978)").fetchone()
            assert row == (False,), "shared holders wait for a lone one too"
    assert got.wait(10), "the first one's session ended: the second one goes on"
    waiter.join(10)


def test_shared_holders_coexist_and_keep_a_lone_one_out(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as a, \
            psycopg.connect(database_url, autocommit=True) as b:
        assert take_ingest_lock(a, exclusive=False)
        assert take_ingest_lock(b, exclusive=False)
        with psycopg.connect(database_url, autocommit=True) as lone:
            row = lone.execute("SELECT pg_try_advisory_lock(7411978)").fetchone()
            assert row == (False,)
