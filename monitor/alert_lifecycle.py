"""The alert lifecycle as a pure state machine: open → acknowledged → resolved.

An alert is keyed by (subject, kind, period). For one key there is at most one
live (open or acknowledged) alert: a repeated observation updates it, never
duplicates it. After it is resolved, a new occurrence opens a new alert with
the next ``seq`` (the store keeps (key, seq) unique).

* Hold time (no flapping): an alert resolves only when its condition has been
  clear continuously for ``hold`` (data time). A relapse within the hold keeps
  the alert live and forgets the clear spell.
* Escalation (a higher severity) puts an acknowledged alert back to open: the
  people responsible must see the new level.
* Rollover: observations at or after the period's end close a live alert
  (resolved by ``rollover`` at the period's end) and never open one.
* Out of order: an observation older than the last one applied is stale and
  changes nothing; the evaluator re-evaluates with all data it knows.
* Times are the data's times, passed in; this module never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.execution import BudgetPeriod

HOLD = timedelta(hours=1)
"""Default: clear for an hour of data time before an alert resolves."""


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Event(StrEnum):
    """What a transition tells the people responsible (one notification each)."""

    OPENED = "opened"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    NOTICE = "notice"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.NOTICE: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

ROLLOVER = "rollover"
RULE = "rule"


@dataclass(frozen=True, slots=True)
class AlertKey:
    subject: str  # a node, meter, well or device id
    kind: str  # e.g. budget_level, budget_pace, meter_silent
    period: BudgetPeriod


@dataclass(frozen=True, slots=True)
class Observation:
    """One evaluation of a rule for a key at a data time: does the condition hold?"""

    key: AlertKey
    at: datetime
    active: bool
    severity: Severity = Severity.WARNING
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    key: AlertKey
    seq: int  # 1 for the key's first occurrence, then 2, 3…
    status: Status
    severity: Severity
    detail: str
    opened_at: datetime
    last_seen_at: datetime  # last data time the condition held
    evaluated_at: datetime  # data time of the last observation applied
    clear_since: datetime | None = None  # start of the current clear spell
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None  # RULE, ROLLOVER or a person
    resolved_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.status is not Status.RESOLVED


@dataclass(frozen=True, slots=True)
class Transition:
    alert: Alert | None  # the key's alert after the step (None: there never was one)
    event: Event | None  # None: nothing to notify (a repeat, a stale or clear observation)


def observe(alert: Alert | None, obs: Observation, *, hold: timedelta = HOLD) -> Transition:
    """Apply one observation to the key's latest alert (live or resolved, or None)."""
    if alert is not None and alert.key != obs.key:
        raise ValueError(f"observation for {obs.key} applied to alert {alert.key}")
    if alert is not None and obs.at < alert.evaluated_at:
        return Transition(alert, None)  # stale: a later state is already known
    if obs.at >= obs.key.period.end:
        return close_at_rollover(alert)
    if alert is None or not alert.live:
        if not obs.active:
            return Transition(alert, None)
        seq = 1 if alert is None else alert.seq + 1
        opened = Alert(obs.key, seq, Status.OPEN, obs.severity, obs.detail,
                       opened_at=obs.at, last_seen_at=obs.at, evaluated_at=obs.at)
        return Transition(opened, Event.OPENED)
    if obs.active:
        updated = replace(alert, severity=obs.severity, detail=obs.detail,
                          last_seen_at=obs.at, evaluated_at=obs.at, clear_since=None)
        if obs.severity.rank > alert.severity.rank:
            reopened = replace(updated, status=Status.OPEN, acknowledged_by=None,
                               acknowledged_at=None)
            return Transition(reopened, Event.ESCALATED)
        return Transition(updated, None)
    clear_since = alert.clear_since or obs.at
    if obs.at - clear_since >= hold:
        resolved = replace(alert, status=Status.RESOLVED, resolved_by=RULE, resolved_at=obs.at,
                           evaluated_at=obs.at, clear_since=clear_since)
        return Transition(resolved, Event.RESOLVED)
    return Transition(replace(alert, evaluated_at=obs.at, clear_since=clear_since), None)


def close_at_rollover(alert: Alert | None) -> Transition:
    """Close a live alert at its period's end; anything else is unchanged."""
    if alert is None or not alert.live:
        return Transition(alert, None)
    end = alert.key.period.end
    closed = replace(alert, status=Status.RESOLVED, resolved_by=ROLLOVER, resolved_at=end,
                     evaluated_at=max(alert.evaluated_at, end))
    return Transition(closed, Event.RESOLVED)


def acknowledge(alert: Alert, *, by: str, at: datetime) -> Transition:
    """An operator takes the alert on; idempotent, and only a live alert can be acknowledged."""
    if alert.status is not Status.OPEN:
        return Transition(alert, None)
    acked = replace(alert, status=Status.ACKNOWLEDGED, acknowledged_by=by, acknowledged_at=at)
    return Transition(acked, Event.ACKNOWLEDGED)


def resolve_by_hand(alert: Alert, *, by: str, at: datetime) -> Transition:
    """An operator closes a live alert; if the condition still holds it reopens as a new one."""
    if not alert.live:
        return Transition(alert, None)
    resolved = replace(alert, status=Status.RESOLVED, resolved_by=by, resolved_at=at,
                       evaluated_at=max(alert.evaluated_at, at))
    return Transition(resolved, Event.RESOLVED)
