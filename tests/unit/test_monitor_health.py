"""The monitor's container health check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.health import Health, problems

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EVERY = timedelta(minutes=10)


def test_a_recent_sweep_and_an_empty_change_log_are_healthy() -> None:
    assert problems(Health(NOW, NOW - timedelta(minutes=25), None), sweep_every=EVERY) == []
    assert problems(Health(NOW, NOW, NOW - timedelta(minutes=4)), sweep_every=EVERY) == []


def test_an_old_sweep_or_a_waiting_change_is_not() -> None:
    assert len(problems(Health(NOW, NOW - timedelta(minutes=31), None), sweep_every=EVERY)) == 1
    assert len(problems(Health(NOW, None, None), sweep_every=EVERY)) == 1
    both = problems(Health(NOW, None, NOW - timedelta(minutes=6)), sweep_every=EVERY)
    assert len(both) == 2
