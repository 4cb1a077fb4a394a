"""Optional enforcement (off by default): 以水定电、以电控水.

When a node's ``budget_level`` alert (all sources) opens or escalates to
``critical`` (overrun), a ``shut_off`` command goes to the controller of every
well whose water counts against the node or a node below it, except where an
operator's override keeps it running; when that alert resolves (a supplement,
a trade, a new year), a ``resume`` follows. An override issued while wells
are off resumes them at once. Every command is recorded in
``monitor_enforcement_commands`` and published by the sender (QoS 1, retried);
topic and payload: docs/mqtt-contract.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from budget.repository.connection import Conn
from monitor.alert_lifecycle import Event, Severity
from monitor.alert_text import describe
from monitor.alerting import Applied
from monitor.budget_alerts import LEVEL_KIND
from monitor.channels import DeliveryError
from monitor.repository import enforcement as repo
from monitor.sender import backoff

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class EnforcementPolicy:
    enabled: bool = False
    topic_prefix: str = "waterbudget/v1"

    def topic(self, device_id: str) -> str:
        return f"{self.topic_prefix.rstrip('/')}/{device_id}/command"


def command_payload(*, key: str, action: str, node_code: str, reason: str,
                    at: datetime) -> dict[str, object]:
    return {"command_id": key, "action": action, "node": node_code, "reason": reason,
            "issued_at": at.isoformat()}


def _node_code(conn: Conn, node_id: int) -> str:
    row = conn.execute("SELECT code FROM budget_nodes WHERE node_id = %s", (node_id,)).fetchone()
    return str(row[0]) if row else str(node_id)


class Enforcer:
    def __init__(self, policy: EnforcementPolicy,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.policy = policy
        self.clock = clock  # override expiry is wall-clock business

    def on_event(self, conn: Conn, applied: Applied) -> None:
        alert = applied.alert
        node_id = applied.context.node_id
        if (not self.policy.enabled or node_id is None or alert.key.kind != LEVEL_KIND
                or alert.key.subject != f"node/{node_id}"):
            return
        if applied.event in (Event.OPENED, Event.ESCALATED) and \
                alert.severity is Severity.CRITICAL:
            self.shut_off(conn, node_id=node_id, alert_id=applied.alert_id, at=alert.evaluated_at,
                          reason=describe(alert.key.kind, alert.key.subject, alert.detail))
        elif applied.event is Event.RESOLVED:
            self.resume(conn, node_id=node_id, cause=f"alert-{applied.alert_id}",
                        alert_id=applied.alert_id, override_id=None,
                        at=alert.resolved_at or alert.evaluated_at, reason="budget no longer "
                        "overrun", by=alert.resolved_by or "rule")

    def shut_off(self, conn: Conn, *, node_id: int, alert_id: int, at: datetime,
                 reason: str, by: str = "rule", round_key: str = "") -> int:
        kept = repo.overridden_sites(conn, node_id=node_id, now=self.clock())
        code = _node_code(conn, node_id)
        issued = 0
        for c in repo.controllers(conn, node_id=node_id):
            if None in kept or c.site_id in kept:
                continue
            key = f"wb-cmd-{alert_id}{round_key}-{c.device_id}-shut_off"
            issued += repo.add_command(
                conn, key=key, alert_id=alert_id, override_id=None, node_id=node_id,
                site_id=c.site_id, device_id=c.device_id, action="shut_off",
                topic=self.policy.topic(c.device_id),
                payload=command_payload(key=key, action="shut_off", node_code=code,
                                        reason=reason, at=at),
                reason=reason, by=by) is not None
        return issued

    def resume(self, conn: Conn, *, node_id: int, cause: str, alert_id: int | None,
               override_id: int | None, at: datetime, reason: str, by: str,
               site_id: str | None = None) -> int:
        code = _node_code(conn, node_id)
        issued = 0
        for shut in repo.shut_devices(conn, node_id=node_id):
            if site_id is not None and shut["site_id"] != site_id:
                continue
            key = f"wb-cmd-{cause}-{shut['device_id']}-resume"
            issued += repo.add_command(
                conn, key=key, alert_id=alert_id, override_id=override_id, node_id=node_id,
                site_id=shut["site_id"], device_id=shut["device_id"], action="resume",
                topic=self.policy.topic(shut["device_id"]),
                payload=command_payload(key=key, action="resume", node_code=code, reason=reason,
                                        at=at), reason=reason, by=by) is not None
        return issued

    def override(self, conn: Conn, *, node_id: int, site_id: str | None, reason: str, by: str,
                 until: datetime | None, at: datetime) -> int:
        override_id = repo.add_override(conn, node_id=node_id, site_id=site_id, reason=reason,
                                        by=by, until=until)
        self.resume(conn, node_id=node_id, cause=f"override-{override_id}", alert_id=None,
                    override_id=override_id, at=at, reason=f"operator override: {reason}",
                    by=by, site_id=site_id)
        return override_id

    def revoke(self, conn: Conn, *, override_id: int, by: str, at: datetime) -> bool:
        revoked = repo.revoke_override(conn, override_id=override_id, by=by)
        if revoked is None:
            return False
        alert_id = repo.live_overrun(conn, node_id=int(revoked["node_id"]))
        if alert_id is not None and self.policy.enabled:
            self.shut_off(conn, node_id=int(revoked["node_id"]), alert_id=alert_id, at=at,
                          reason=f"override {override_id} revoked", by=by,
                          round_key=f"-revoked{override_id}")
        return True


def send_commands(conn: Conn, publish: Callable[[str, dict[str, object]], str], *,
                  limit: int = 50) -> int:
    """Publish due commands (QoS 1); retried with backoff, ``dead`` after MAX_ATTEMPTS."""
    with conn.transaction():
        due = repo.claim_commands(conn, limit=limit)
    for command in due:
        now = datetime.now(UTC)
        try:
            publish(command["topic"], dict(command["payload"]))
            ok, error = True, None
        except DeliveryError as exc:
            ok, error = False, str(exc)
            log.warning("command %s to %s failed: %s", command["command_id"],
                        command["device_id"], exc)
        retry = (None if ok or command["attempts"] >= MAX_ATTEMPTS
                 else now + backoff(command["attempts"], base=timedelta(seconds=10)))
        with conn.transaction():
            repo.record_command(conn, command_id=command["command_id"], ok=ok, error=error,
                                retry_at=retry, at=now)
    return len(due)
