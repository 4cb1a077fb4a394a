"""SIGTERM stops ``waterbudget monitor`` within seconds, also mid-catch-up, and loses nothing.

A backlog of readings is committed while no monitor runs (a gateway back online: its live
readings first, then what it missed, so most of the backlog revises the live day). The test
holds a lock on a roll-up table, so the monitor's first step is stuck inside a statement,
as a step over a large backlog is inside a long one; SIGTERM must cancel it and end the
process. The interrupted step leaves its change rows pending, untouched (no attempt
counted); a second start drains them, and the roll-ups equal a from-scratch recomputation.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from tests.integration.monitor_support import (
    at,
    attach,
    flow,
    meter,
    region,
    save,
    scalar,
    send,
    well,
)
from tests.integration.test_monitor_appends import from_scratch, snapshot

pytestmark = pytest.mark.integration

SITES = ("W1", "W2", "W3")
BACKLOG_DAYS = 6
EXIT_S = 10.0  # "within seconds"; the step it interrupts would wait for the lock forever


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def monitor_process(database_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATERBUDGET_")}
    env["WATERBUDGET_DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, "-m", "waterbudget.cli", "monitor"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(check: Callable[[], bool], *, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], *, within: float) -> str:
    """SIGTERM; the process must have exited ``within`` seconds. Returns its output."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        output = process.communicate(timeout=within)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        process.kill()  # its stacks (dumped 20 s after the signal) say where it hung
        output = process.communicate(timeout=30)[0].decode(errors="replace")
        raise AssertionError(f"the monitor outlived SIGTERM by {within} s:\n"
                             + output[-8000:]) from None
    assert process.returncode == 0, output[-8000:]
    assert time.monotonic() - sent < within
    return output


def backlog(conn: psycopg.Connection) -> None:
    """Per well: the day after the outage live first, then the outage's days in order, one
    message per six hours (each one revises the live day's first interval)."""
    r = region(conn)
    save(conn, [well(s) for s in SITES], [meter(f"{s}-F", s, "flow") for s in SITES])
    for k, site in enumerate(SITES):
        attach(conn, r.h1 if k % 2 else r.h2, "site", site)

    def total(site: int, hour: int) -> float:
        return round(hour * (2.0 + site * 0.5), 2)

    for k, site in enumerate(SITES):
        live = 24 * (BACKLOG_DAYS + 1)
        send(conn, site, "flow", *(flow(at(h), total(k, h)) for h in range(live, live + 6)))
    for block in range(0, 24 * (BACKLOG_DAYS + 1), 6):
        for k, site in enumerate(SITES):
            send(conn, site, "flow", *(flow(at(h), total(k, h))
                                       for h in range(block + 1, block + 7)))


def blocked_on(conn: psycopg.Connection, table: str) -> bool:
    """Another backend is waiting for a lock on ``table`` (in a statement)."""
    return bool(scalar(conn, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                             "USING (pid) WHERE NOT l.granted AND l.relation = %s::regclass "
                             "AND a.state = 'active'", (table,)))


def test_sigterm_mid_step_exits_within_seconds_and_a_restart_loses_nothing(
        conn: psycopg.Connection, database_url: str) -> None:
    backlog(conn)
    pending = scalar(conn, "SELECT count(*) FROM monitor_changes")
    assert pending > 4 * BACKLOG_DAYS * len(SITES)
    with psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE monitor_meter_day IN SHARE MODE")  # readers pass, writers wait
        process = monitor_process(database_url)
        try:
            wait_for(lambda: blocked_on(conn, "monitor_meter_day"),
                     what="the monitor's step to wait inside its statement")
        except BaseException:
            process.kill()
            raise
        output = stop(process, within=EXIT_S)
        holder.rollback()
    assert "Traceback" not in output, output[-8000:]
    # the interrupted step rolled back: every change row still there, no attempt counted
    assert scalar(conn, "SELECT count(*) FROM monitor_changes") == pending
    assert scalar(conn, "SELECT count(*) FROM monitor_changes WHERE attempts > 0") == 0
    assert scalar(conn, "SELECT count(*) FROM monitor_meter_day") == 0

    process = monitor_process(database_url)
    try:
        wait_for(lambda: scalar(conn, "SELECT count(*) FROM monitor_changes") == 0,
                 what="the second start to drain the change log")
    finally:
        stop(process, within=EXIT_S)
    drained = snapshot(conn)
    assert drained["monitor_site_day"], "the backlog was rolled up"
    assert scalar(conn, "SELECT sum(truth_m3) FROM monitor_site_day") == sum(
        round((24 * (BACKLOG_DAYS + 1) + 5) * (2.0 + k * 0.5), 2) for k in range(len(SITES)))
    rebuilt = from_scratch(conn)
    for table, rows in drained.items():
        assert rows == rebuilt[table], table
