"""Budget levels day by day: when each level was crossed in data time (pure).

A catch-up (or late data) can move a node's draw over several days in one
step. Assessed only at the data clock, a household crossing 80 %, 90 % and
100 % on three different days got one alert opening straight at critical. Here
the node is assessed at the end of every day the step changed, up to the data
clock, each day with its draw to date, its budget at that moment and the level
held after the day before (hysteresis), so the alert history gets a notice, a
warning and a critical event, each at the data time of the day it happened
(the day's end; the data clock on the clock's own day). Day granularity is
the roll-ups' (``monitor_node_day``): a node's draw is attributed per day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from monitor.alert_lifecycle import HOLD, Alert, AlertKey, Observation, Severity, Status, observe
from monitor.assessment import NodeBudget, assess
from monitor.budget_alerts import LEVEL_KIND
from monitor.periods import StoredPeriod, day_start, draw_day

Drawn = Mapping[str, Decimal]  # source -> m³


@dataclass(frozen=True, slots=True)
class DayDraws:
    """A node's draw (with descendants) in one period: the total to the data clock and the
    days from ``first`` on, by source."""

    total: Drawn
    days: Mapping[date, Drawn]


def day_ends(first: date, period: StoredPeriod, at: datetime) -> list[tuple[date, datetime]]:
    """Each day from ``first`` (within the period) to the data clock's, with the data time
    it is assessed at: its end, or the clock on the clock's own day."""
    last = min(draw_day(at), period.last_day)
    day = max(first, period.first_day)
    found = []
    while day <= last:
        found.append((day, min(day_start(day + timedelta(days=1)), at)))
        day += timedelta(days=1)
    return found


def to_date(draws: DayDraws, day: date) -> dict[str, Decimal]:
    """The draw up to the end of ``day``: the total less the days after it."""
    found = dict(draws.total)
    for later, volumes in draws.days.items():
        if later > day:
            for source, m3 in volumes.items():
                found[source] = found.get(source, Decimal(0)) - m3
    return found


def level_series(node: Callable[[datetime], NodeBudget], period: StoredPeriod, *,
                 first: date, at: datetime, draws: DayDraws,
                 held: Mapping[str, Severity], hold: timedelta = HOLD
                 ) -> dict[str, list[Observation]]:
    """The ``budget_level`` observations per subject (all sources, per source), one per day
    from ``first`` to the data clock. ``node(moment)``: the node's budget at a moment;
    ``held``: the live level alerts' severities before the first day."""
    state: dict[str, Alert | None] = {}
    found: dict[str, list[Observation]] = {}
    for day, moment in day_ends(first, period, at):
        now_held = {s: a.severity for s, a in state.items() if a is not None and a.live}
        for subject, severity in held.items():
            if subject not in state:
                now_held[subject] = severity
        assessment = assess(node(moment), period, at=moment, drawn=to_date(draws, day),
                            held=now_held)
        for obs in assessment.observations:
            if obs.key.kind != LEVEL_KIND:
                continue
            subject = obs.key.subject
            if subject not in state:
                state[subject] = _start(obs.key, held.get(subject), moment)
            state[subject] = observe(state[subject], obs, hold=hold).alert
            found.setdefault(subject, []).append(obs)
    return found


def _start(key: AlertKey, severity: Severity | None, moment: datetime) -> Alert | None:
    if severity is None:
        return None
    before = moment - timedelta(microseconds=1)
    return Alert(key, 1, Status.OPEN, severity, "", before, before, before)
