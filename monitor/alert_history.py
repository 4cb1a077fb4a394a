"""A key's alert as a function of everything known, whatever order the data came in (pure).

A rule that observes one subject per day (data-quality rules) or per day of a
catch-up (budget levels) gives a *series* of observations for a key. Applied
in data-time order from nothing (``fold``) they give the key's alert as the
data says it should be. The store holds what earlier evaluations made of the
data they had; ``settle`` brings it to the same answer:

* the new observations all come at or after the stored alert's last
  evaluation: they are applied to it in order (``fold`` from the stored alert);
  every transition (opened, escalated, resolved) is recorded at its data time;
* otherwise (late data, a day revised, or a key with nothing live that the new
  data makes active, whose later days are already known): the whole series of
  the period is folded from nothing and ``reconcile`` moves the stored alert to
  that answer — opening, escalating or resolving it, each escalation at the data
  time it happened.

So the set of live alerts, and their severities, at the end is a function of
the data: tests/unit/test_monitor_alert_history.py checks it over arrival
orders and batch boundaries (hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.alert_lifecycle import (
    HOLD,
    RULE,
    Alert,
    Event,
    Observation,
    Status,
    Transition,
    observe,
)


@dataclass(frozen=True, slots=True)
class Step:
    """One transition to store: the alert after it and its event (data time ``at``)."""

    alert: Alert
    event: Event
    at: datetime


@dataclass(frozen=True, slots=True)
class Settled:
    alert: Alert | None  # the key's latest alert afterwards (None: there never was one)
    steps: list[Step]  # transitions to record, in data-time order
    replayed: bool  # the whole series was folded (the new data was not all later)


def ordered(observations: Sequence[Observation]) -> list[Observation]:
    """Data-time order; of two at the same time the active one last (it is what holds)."""
    return sorted(observations, key=lambda o: (o.at, o.active, o.severity.rank))


def fold(start: Alert | None, observations: Sequence[Observation], *,
         hold: timedelta = HOLD) -> tuple[Alert | None, list[Step]]:
    alert = start
    steps: list[Step] = []
    for obs in ordered(observations):
        if alert is not None and not alert.live and not obs.active:
            continue  # nothing open and nothing to open
        moved: Transition = observe(alert, obs, hold=hold)
        alert = moved.alert
        if moved.event is not None and alert is not None:
            when = alert.resolved_at if moved.event is Event.RESOLVED and alert.resolved_at \
                else obs.at
            steps.append(Step(alert, moved.event, when))
    return alert, steps


def reconcile(stored: Alert | None, ideal: Alert | None, ideal_steps: Sequence[Step], *,
              at: datetime) -> tuple[Alert | None, list[Step]]:
    """Move the stored alert to what the whole series says (``ideal`` and its steps, folded
    from nothing). ``at``: the data time of the evaluation, for a resolution the series
    does not date. A person's acknowledgement stays unless the level rose above it."""
    stored_live = stored is not None and stored.live
    ideal_live = ideal is not None and ideal.live
    if stored_live and stored is not None:
        if not ideal_live:
            when = ideal.resolved_at if ideal is not None and ideal.resolved_at else at
            when = max(when, stored.opened_at)
            resolved = replace(stored, status=Status.RESOLVED, resolved_by=_by(ideal),
                               resolved_at=when, evaluated_at=max(stored.evaluated_at, when))
            return resolved, [Step(resolved, Event.RESOLVED, when)]
        assert ideal is not None
        rises = [s for s in _segment(ideal, ideal_steps)
                 if s.event in (Event.OPENED, Event.ESCALATED)
                 and s.alert.severity.rank > stored.severity.rank]
        steps = []
        current = stored
        for rise in _distinct_rises(rises):
            current = replace(current, status=Status.OPEN, severity=rise.alert.severity,
                              detail=rise.alert.detail, acknowledged_by=None,
                              acknowledged_at=None)
            steps.append(Step(current, Event.ESCALATED, rise.at))
        final = replace(current, severity=ideal.severity, detail=ideal.detail,
                        opened_at=min(stored.opened_at, ideal.opened_at),
                        last_seen_at=ideal.last_seen_at,
                        evaluated_at=max(stored.evaluated_at, ideal.evaluated_at),
                        clear_since=ideal.clear_since)
        return final, steps
    # nothing live: record the occurrences the series has that the store does not know
    # (a late day showing a problem, since cleared, is history too), and a live one
    after = stored.evaluated_at if stored is not None else None
    seq = stored.seq if stored is not None else 0
    latest = stored
    recorded: list[Step] = []
    seqs = sorted({s.alert.seq for s in ideal_steps})
    for number in seqs:
        segment = [s for s in ideal_steps if s.alert.seq == number]
        last = ideal is not None and number == ideal.seq
        if not (last and ideal_live) and after is not None \
                and segment[0].alert.opened_at <= after:
            continue  # the store's history already covers that time
        seq += 1
        recorded += [Step(replace(s.alert, seq=seq), s.event, s.at) for s in segment]
        latest = replace(ideal, seq=seq) if last and ideal is not None else recorded[-1].alert
    return latest, recorded


def _by(ideal: Alert | None) -> str:
    return ideal.resolved_by if ideal is not None and ideal.resolved_by else RULE


def _segment(ideal: Alert, steps: Sequence[Step]) -> list[Step]:
    """The steps of the ideal's own occurrence (its seq)."""
    return [s for s in steps if s.alert.seq == ideal.seq]


def _distinct_rises(rises: list[Step]) -> list[Step]:
    """Each higher severity once, at the first time it was reached."""
    found: list[Step] = []
    for rise in rises:
        if not found or rise.alert.severity.rank > found[-1].alert.severity.rank:
            found.append(rise)
    return found


def earlier(observed_at: datetime, evaluated_at: datetime) -> bool:
    return observed_at < evaluated_at


Revisit = Callable[[datetime, datetime], bool]


def needs_everything(stored: Alert | None, new: Sequence[Observation], *,
                     revisit: Revisit = earlier, dense: bool = False) -> bool:
    """The new observations cannot simply be applied to the stored alert: one revisits what
    its last evaluation already saw (``revisit(observed at, evaluated_at)``: by default an
    earlier time; the data-quality rules say the same day, whose figures may have changed),
    or nothing is live and one is active (later days already known may have cleared it).
    ``dense``: the new observations cover every day from the first one to the data clock
    (budget levels day by day): later days cannot be missing, only an earlier time than
    the stored alert's last evaluation needs the whole series."""
    if not new:
        return False
    if dense:
        return stored is not None and revisit(min(o.at for o in new), stored.evaluated_at)
    if stored is not None and stored.live:
        return revisit(min(o.at for o in new), stored.evaluated_at)
    return any(o.active for o in new)


def settle(stored: Alert | None, new: Sequence[Observation],
           everything: Sequence[Observation], *, at: datetime,
           hold: timedelta = HOLD, needed: bool | None = None) -> Settled:
    """``new``: what this evaluation observed; ``everything``: the key's whole series in its
    period (used only when needed: ``needs_everything``, or as the caller decided)."""
    if not (needs_everything(stored, new) if needed is None else needed):
        alert, steps = fold(stored, new, hold=hold)
        return Settled(alert, steps, False)
    ideal, ideal_steps = fold(None, everything, hold=hold)
    alert, steps = reconcile(stored, ideal, ideal_steps, at=at)
    return Settled(alert, steps, True)
