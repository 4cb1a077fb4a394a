"""Evaluate the data-quality rules on every day new data touched, and meter silence.

One observation per subject and day, at the day's latest interval end, from the
day's roll-up figures (``day_observations``, pure):

* per meter: quarantined intervals, flow above the site's rated capacity, the
  device clock ahead of the receive time. These only grow as a day's data comes
  in, so the day in progress already raises them; it is observed only when one
  is active (a clear verdict waits for the complete day);
* per site, on **complete** days only (day D holds interval ends in
  (D 00:00, D+1 00:00]; complete once the data clock reaches D+1 00:00,
  ``periods.latest_complete_day``): the flow register still (no movement, the
  quarantined intervals' included) between two readings of that day while the
  pump drew power (a power register without a jump or a step back that day) or
  card sessions ran (a later reading of the day would move it), and card
  volume vs flow-meter
  volume beyond 5 % (sessions are reported when they end).

Evaluated: every day of the sites the step rolled up (all of them, not only the
latest) and every day that became complete because the data clock passed its
end. The stored alerts are settled with these observations
(``alerting.apply_series``): late or revised days make the key's whole series
of the year decide, so the alerts at the end are a function of the data, not of
arrival order or batching. Silence is a sweep rule (time passing alone makes a
meter silent). Observations go to ``monitor.alerting``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from budget.repository.connection import Conn
from monitor import quality_alerts as rules
from monitor.alert_lifecycle import Observation
from monitor.alerting import Applied, Observed, OnEvent, Series, apply, apply_series
from monitor.periods import draw_day, latest_complete_day, year_period
from monitor.repository import quality as repo
from monitor.repository.alerts import AlertContext, Key, key_of
from monitor.repository.quality import MeterDay

ZERO = Decimal(0)
REGISTER_ANOMALIES = frozenset({"negative_delta", "impossible_delta", "outlier_reading"})


def _d(value: float | None) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


def meter_observations(days: list[MeterDay]) -> list[Observed]:
    found = []
    for d in days:
        at = d.last_ts or datetime.combine(d.day, datetime.min.time())
        period = year_period(draw_day(at).year).budget_period
        context = AlertContext(node_id=d.node_id, site_id=d.site_id, meter_id=d.meter_id)
        found.append(Observed(rules.quarantined_use(
            meter_id=f"meter/{d.meter_id}", period=period, at=at,
            reasons=d.quality_reasons if d.quarantined else []), context))
        if d.channel == "flow" and d.rated_m3h and d.max_flow_m3h is not None:
            found.append(Observed(rules.flow_above_capacity(
                meter_id=f"meter/{d.meter_id}", period=period, at=at,
                flow_m3_per_h=_d(d.max_flow_m3h), rated_m3_per_h=_d(d.rated_m3h)), context))
        if d.max_ahead_s is not None and d.readings:
            # readings do not say which arrived live: only a clock ahead is certain skew
            sample = rules.ClockSample(at + timedelta(seconds=d.max_ahead_s), at, backfill=True)
            skew = rules.clock_skew(device_id=f"meter/{d.meter_id}", period=period,
                                    samples=[sample])
            if skew is not None:
                found.append(Observed(skew, context))
    return found


def register_movement(flow: MeterDay) -> Decimal:
    """What the register moved that day: the counted volume and the quarantined intervals'
    register deltas (an impossible jump is movement, just not countable water)."""
    return flow.counted_m3 + abs(flow.quarantined_delta or ZERO)


def site_observations(days: list[MeterDay], *, complete_through: date) -> list[Observed]:
    """The site rules on the complete days (up to ``complete_through``) among ``days``."""
    by_site: dict[tuple[str, date], list[MeterDay]] = defaultdict(list)
    for d in days:
        if d.day <= complete_through:
            by_site[(d.site_id, d.day)].append(d)
    found = []
    for (site_id, day), meters in sorted(by_site.items()):
        flows = [m for m in meters if m.channel == "flow"]
        cards = [m for m in meters if m.channel == "card"]
        powers = [m for m in meters if m.channel == "power"]
        if not flows or not (cards or powers):
            continue  # the site rules compare channels: one channel says nothing
        flow = flows[0]
        # a power register that jumped or went back that day is no evidence the pump ran
        sure = [p for p in powers if not REGISTER_ANOMALIES.intersection(p.quality_reasons)]
        at = max(m.last_ts for m in meters if m.last_ts is not None)
        period = year_period(day.year).budget_period
        context = AlertContext(node_id=flow.node_id, site_id=site_id, meter_id=flow.meter_id)
        if flow.readings >= 2:  # the register seen standing still within the day
            found.append(Observed(rules.register_stuck(
                meter_id=f"meter/{flow.meter_id}", period=period, window_end=at,
                register_delta_m3=register_movement(flow),
                power_kwh=sum((p.kwh or ZERO for p in sure), ZERO) if sure else None,
                pump_running=timedelta(seconds=float(sum((c.running_s or ZERO for c in cards),
                                                         ZERO)))), context))
        if cards:
            found.append(Observed(rules.card_meter_mismatch(
                well_id=f"site/{site_id}", period=period, at=at,
                card_m3=sum((c.counted_m3 for c in cards), ZERO),
                meter_m3=sum((f.counted_m3 for f in flows), ZERO)),
                AlertContext(node_id=flow.node_id, site_id=site_id)))
    return found


def day_observations(days: list[MeterDay], *, complete_through: date) -> list[Observed]:
    """Every rule's observation of each of ``days``; of a day not yet complete only the
    meter rules' active ones (more data that day can only add to them)."""
    complete = [d for d in days if d.day <= complete_through]
    in_progress = [d for d in days if d.day > complete_through]
    return (meter_observations(complete)
            + [o for o in meter_observations(in_progress) if o.observation.active]
            + site_observations(days, complete_through=complete_through))


def series_of(observed: list[Observed]) -> dict[Key, Series]:
    """Observations grouped by key; the context of the latest one is the key's."""
    grouped: dict[Key, list[Observed]] = defaultdict(list)
    for o in observed:
        grouped[key_of(o.observation.key)].append(o)
    return {k: Series([o.observation for o in found],
                      max(found, key=lambda o: o.observation.at).context)
            for k, found in grouped.items()}


def evaluate_touched(conn: Conn, *, site_spans: dict[str, list[tuple[date, date]]],
                     since: datetime | None, at: datetime,
                     on_event: OnEvent | None = None) -> list[Applied]:
    """``site_spans``: the days each site's roll-ups changed in this step; ``since``: the
    data clock before the step (the days completed since are evaluated for every site)."""
    through = latest_complete_day(at)
    before = latest_complete_day(since) if since is not None else through
    completed = (before, through) if before < through else None
    observed = day_observations(repo.meter_days(conn, spans=site_spans, completed=completed),
                                complete_through=through)
    series = series_of(observed)
    sites = {k: s.context.site_id for k, s in series.items()}

    def everything(keys: set[Key]) -> dict[Key, list[Observation]]:
        spans: dict[str, tuple[date, date]] = {}
        for key in keys:
            site = sites[key]
            if site is None:
                continue
            year = int(key[2][:4])
            first, last = spans.get(site, (date(year, 1, 1), date(year, 12, 31)))
            spans[site] = (min(first, date(year, 1, 1)), max(last, date(year, 12, 31)))
        known = series_of(day_observations(repo.meter_days(conn, spans={
            site: [span] for site, span in spans.items()}),
                                           complete_through=through))
        return {k: known[k].observations for k in keys if k in known}

    return apply_series(conn, series, everything=everything, at=at, revisit=same_day_or_before,
                        on_event=on_event)


def same_day_or_before(observed_at: datetime, evaluated_at: datetime) -> bool:
    """A day's figures change as its data comes in (a late reading can even undo a
    quarantine): observing a day the alert was last evaluated on, or an earlier one,
    takes the whole series."""
    return draw_day(observed_at) <= draw_day(evaluated_at)


def evaluate_silence(conn: Conn, *, at: datetime, on_event: OnEvent | None = None
                     ) -> list[Applied]:
    live = repo.live_subjects(conn, kind="meter_silent")
    period = year_period(draw_day(at).year).budget_period
    observed = [
        Observed(rules.meter_silent(meter_id=f"meter/{m.meter_id}", period=period, at=at,
                                    last_seen_at=m.last_seen_at,
                                    expected_interval=timedelta(seconds=m.expected_interval_s)),
                 AlertContext(node_id=m.node_id, site_id=m.site_id, meter_id=m.meter_id))
        for m in repo.silence_candidates(conn, at=at, tolerance=rules.SILENCE_TOLERANCE,
                                         live_subjects=live)]
    return apply(conn, observed, on_event=on_event)
