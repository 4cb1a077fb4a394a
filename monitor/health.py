"""Is the monitor keeping up? The container health check: ``python -m monitor.health``.

Healthy when the last full sweep is at most three sweep intervals old and no
change waits in the change log for longer than ``MAX_BACKLOG`` (a stuck or
stopped monitor leaves both behind). Exit status 0 healthy, 1 not, with the
reason on standard error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from waterbudget.settings import Settings

MAX_BACKLOG = timedelta(minutes=5)


@dataclass(frozen=True)
class Health:
    now: datetime
    swept_at: datetime | None
    oldest_change: datetime | None


def problems(health: Health, *, sweep_every: timedelta) -> list[str]:
    found = []
    if health.swept_at is None or health.now - health.swept_at > 3 * sweep_every:
        found.append(f"no full sweep since {health.swept_at} (every {sweep_every})")
    if health.oldest_change is not None and health.now - health.oldest_change > MAX_BACKLOG:
        found.append(f"changes waiting since {health.oldest_change}")
    return found


def main() -> int:
    settings = Settings()
    with psycopg.connect(settings.database_url, connect_timeout=5) as conn:
        row = conn.execute("SELECT now(), (SELECT swept_at FROM monitor_state), "
                           "(SELECT min(recorded_at) FROM monitor_changes)").fetchone()
    assert row is not None
    found = problems(Health(*row), sweep_every=timedelta(minutes=settings.monitor_sweep_minutes))
    for problem in found:
        print(f"monitor unhealthy: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
