"""Deliver the outbox: claim due notifications, send each through its channel, record it.

Retries with exponential backoff (``backoff``) up to ``max_attempts``; then the
notification is ``dead`` with its last error, visible in the API and in
``monitor_deliveries``. Sending happens outside any transaction (the claim
holds a lease instead), so a slow receiver never holds locks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from budget.repository.connection import Conn
from monitor.channels import Channel, DeliveryError
from monitor.repository import outbox

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


def backoff(attempt: int, *, base: timedelta = BACKOFF_BASE,
            cap: timedelta = BACKOFF_MAX) -> timedelta:
    """Wait after failed attempt ``attempt`` (1, 2, …): base, 2×base, 4×base … at most cap."""
    wait: timedelta = base * (2 ** max(0, attempt - 1))
    return min(cap, wait)


@dataclass(frozen=True, slots=True)
class SenderConfig:
    base: timedelta = BACKOFF_BASE
    cap: timedelta = BACKOFF_MAX
    max_attempts: int = MAX_ATTEMPTS
    lease: timedelta = LEASE
    batch: int = 50


class Sender:
    def __init__(self, channels: Mapping[str, Channel], config: SenderConfig = SenderConfig(),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.channels = channels
        self.config = config
        self.clock = clock  # delivery scheduling is wall-clock business, not a rule

    def send_due(self, conn: Conn) -> int:
        """One round: returns how many notifications were attempted."""
        with conn.transaction():
            due = outbox.claim_due(conn, limit=self.config.batch, lease=self.config.lease)
        for item in due:
            started = self.clock()
            channel = self.channels.get(item.channel)
            try:
                if channel is None:
                    raise DeliveryError(f"channel {item.channel} is not configured")
                detail, ok = channel.send(item), True
            except DeliveryError as exc:
                detail, ok = str(exc), False
            except Exception as exc:  # a channel bug must not lose the notification
                log.exception("channel %s failed", item.channel)
                detail, ok = f"internal error ({type(exc).__name__})", False
            finished = self.clock()
            retry = None
            if not ok and item.attempts < self.config.max_attempts:
                retry = finished + backoff(item.attempts, base=self.config.base,
                                           cap=self.config.cap)
            with conn.transaction():
                outbox.record_attempt(conn, notification_id=item.notification_id,
                                      attempt=item.attempts, started=started, finished=finished,
                                      ok=ok, detail=detail, retry_at=retry)
            if not ok:
                log.warning("notification %s via %s failed (attempt %s): %s",
                            item.notification_id, item.channel, item.attempts, detail)
        return len(due)
