"""Apply observations to the stored alerts: the lifecycle, its events, their notifications.

For each observed key, in one sorted order: lock the live alert, apply the
pure lifecycle (``alert_lifecycle.observe``), store the result, and for a
transition write its event and the outbox rows of everyone subscribed — all
in the caller's transaction, so an alert, its event and its notifications
commit together or not at all. Two evaluators observing the same key at once
end with one alert: the loser of the insert re-reads the winner and applies
its observation to it (``repository.alerts``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from budget.repository.connection import Conn
from monitor.alert_history import Revisit, earlier, needs_everything, settle
from monitor.alert_lifecycle import HOLD, RULE, Alert, Event, Observation, Transition, observe
from monitor.alert_lifecycle import acknowledge as acknowledge_alert
from monitor.alert_lifecycle import resolve_by_hand as resolve_alert
from monitor.execution import BudgetPeriod
from monitor.messages import AlertNote
from monitor.repository import alerts as repo
from monitor.repository import outbox
from monitor.repository.alerts import AlertContext, Key, StoredAlert, key_of


@dataclass(frozen=True, slots=True)
class Applied:
    alert_id: int
    event_id: int
    event: Event
    alert: Alert
    context: AlertContext


OnEvent = Callable[[Conn, Applied], None]


@dataclass(frozen=True, slots=True)
class Observed:
    observation: Observation
    context: AlertContext
    hold: timedelta = HOLD


@dataclass(frozen=True, slots=True)
class Series:
    """What one evaluation observed for a key (several days of it, in any order)."""

    observations: list[Observation]
    context: AlertContext
    hold: timedelta = HOLD


Everything = Callable[[set[Key]], dict[Key, list[Observation]]]


def apply_series(conn: Conn, series: dict[Key, Series], *, everything: Everything,
                 at: datetime, revisit: Revisit = earlier, dense: bool = False,
                 on_event: OnEvent | None = None) -> list[Applied]:
    """Settle each key with its new observations (``alert_history.settle``): applied in
    data-time order where they all come after the stored alert's last evaluation, else
    the key's whole series of its period (``everything``, loaded for those keys at once)
    decides. ``dense``: each key's observations cover every day to the data clock. Every
    transition is stored and notified at the data time it happened."""
    if not series:
        return []
    periods = {k[2]: s.observations[0].key.period for k, s in series.items()}
    live = repo.lock_live(conn, keys=set(series), periods=periods)
    wanted = {k for k, s in series.items()
              if k not in live and (dense or any(o.active for o in s.observations))}
    stored = {**repo.latest_resolved(conn, keys=wanted, periods=periods), **live}
    need = {k for k, s in series.items()
            if needs_everything(stored[k].alert if k in stored else None, s.observations,
                                revisit=revisit, dense=dense)}
    histories = everything(need) if need else {}
    applied: list[Applied] = []
    for key in sorted(series):
        item = series[key]
        current = stored.get(key)
        settled = settle(current.alert if current else None, item.observations,
                         histories.get(key, []), at=at, hold=item.hold,
                         needed=key in need)
        if settled.alert is None or (current is not None and settled.alert == current.alert):
            continue
        alert_id = current.alert_id if current else None
        seq = current.alert.seq if current else None
        written: Alert | None = current.alert if current else None
        for step in settled.steps:
            alert_id = _write(conn, alert_id if seq == step.alert.seq else None, step.alert,
                              item.context, key)
            seq, written = step.alert.seq, step.alert
            result = _record(conn, alert_id, Transition(step.alert, step.event), item.context,
                             by=RULE, at=step.at)
            if result is not None:
                applied.append(result)
                if on_event is not None:
                    on_event(conn, result)
        if settled.alert != written:
            _write(conn, alert_id if seq == settled.alert.seq else None, settled.alert,
                   item.context, key)
    return applied


def _write(conn: Conn, alert_id: int | None, alert: Alert, context: AlertContext,
           key: Key) -> int:
    if alert_id is not None:
        repo.update(conn, alert_id=alert_id, alert=alert)
        return alert_id
    inserted = repo.insert(conn, alert=alert, context=context)
    if inserted is None:  # the roll-up lock keeps other evaluators out: should not happen
        raise RuntimeError(f"alert {key} was opened by someone else meanwhile")
    return inserted


def apply(conn: Conn, observed: Iterable[Observed], *,
          on_event: OnEvent | None = None) -> list[Applied]:
    latest: dict[Key, Observed] = {}
    for item in observed:
        key = key_of(item.observation.key)
        if key not in latest or latest[key].observation.at <= item.observation.at:
            latest[key] = item
    periods = {k[2]: o.observation.key.period for k, o in latest.items()}
    live = repo.lock_live(conn, keys=set(latest), periods=periods)
    wanted = {k for k, o in latest.items() if o.observation.active and k not in live}
    resolved = repo.latest_resolved(conn, keys=wanted, periods=periods)
    applied: list[Applied] = []
    for key in sorted(latest):
        item = latest[key]
        current = live.get(key) or resolved.get(key)
        if not item.observation.active and (current is None or not current.alert.live):
            continue  # nothing open and nothing to open: the common case of a sweep
        result = _apply_one(conn, key, item, current, periods)
        if result is not None:
            applied.append(result)
            if on_event is not None:
                on_event(conn, result)
    return applied


def _apply_one(conn: Conn, key: Key, item: Observed, current: StoredAlert | None,
               periods: dict[str, BudgetPeriod]) -> Applied | None:
    for _ in range(3):
        step = observe(current.alert if current else None, item.observation, hold=item.hold)
        if step.alert is None or (current is not None and step.alert == current.alert):
            return None
        if current is not None and current.alert.live:
            repo.update(conn, alert_id=current.alert_id, alert=step.alert)
            return _record(conn, current.alert_id, step, item.context, by=RULE)
        alert_id = repo.insert(conn, alert=step.alert, context=item.context)
        if alert_id is not None:
            return _record(conn, alert_id, step, item.context, by=RULE)
        # another evaluator opened this key meanwhile: apply the observation to its alert
        current = repo.lock_live(conn, keys={key}, periods=periods).get(key)
    raise RuntimeError(f"alert {key} keeps changing under the evaluator")


def _record(conn: Conn, alert_id: int, step: Transition, context: AlertContext,
            *, by: str, at: datetime | None = None) -> Applied | None:
    if step.event is None or step.alert is None:
        return None
    alert = step.alert
    when = at or _event_time(alert, step.event)
    who = alert.resolved_by or by if step.event is Event.RESOLVED else by
    event_id = repo.insert_event(conn, alert_id=alert_id, event=step.event, alert=alert,
                                 at=when, by=who)
    note = AlertNote(alert_id, event_id, step.event.value, alert.key.kind, alert.severity.value,
                     alert.status.value, alert.key.subject,
                     outbox.subject_name(conn, node_id=context.node_id,
                                         fallback=alert.key.subject),
                     alert.key.period.label, alert.detail, when, who)
    outbox.enqueue(conn, note=note, node_id=context.node_id)
    return Applied(alert_id, event_id, step.event, alert, context)


def _event_time(alert: Alert, event: Event) -> datetime:
    if event is Event.RESOLVED and alert.resolved_at is not None:
        return alert.resolved_at
    return alert.evaluated_at


def _context(columns: dict[str, object]) -> AlertContext:
    def text(name: str) -> str | None:
        value = columns.get(name)
        return value if isinstance(value, str) else None

    node = columns.get("node_id")
    return AlertContext(node if isinstance(node, int) else None, text("site_id"),
                        text("meter_id"), text("source"))


def acknowledge(conn: Conn, *, alert_id: int, by: str, at: datetime,
                on_event: OnEvent | None = None) -> tuple[Alert, Applied | None] | None:
    """An operator takes the alert on (idempotent); None if there is no such alert."""
    found = repo.stored(conn, alert_id=alert_id, for_update=True)
    if found is None:
        return None
    stored, columns = found
    step = acknowledge_alert(stored.alert, by=by, at=at)
    return _by_hand(conn, stored, columns, step, by=by, at=at, on_event=on_event)


def resolve(conn: Conn, *, alert_id: int, by: str, at: datetime,
            on_event: OnEvent | None = None) -> tuple[Alert, Applied | None] | None:
    found = repo.stored(conn, alert_id=alert_id, for_update=True)
    if found is None:
        return None
    stored, columns = found
    step = resolve_alert(stored.alert, by=by, at=at)
    return _by_hand(conn, stored, columns, step, by=by, at=at, on_event=on_event)


def _by_hand(conn: Conn, stored: StoredAlert, columns: dict[str, object], step: Transition, *,
             by: str, at: datetime, on_event: OnEvent | None) -> tuple[Alert, Applied | None]:
    if step.event is None or step.alert is None:
        return stored.alert, None
    repo.update(conn, alert_id=stored.alert_id, alert=step.alert)
    applied = _record(conn, stored.alert_id, step, _context(columns), by=by, at=at)
    if applied is not None and on_event is not None:
        on_event(conn, applied)
    return step.alert, applied
