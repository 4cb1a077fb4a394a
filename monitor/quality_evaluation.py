"""Evaluate the data-quality rules on what the roll-ups just touched, and meter silence.

Per meter, its latest day rolled up: quarantined intervals, flow above the
site's rated capacity, the device clock ahead of the receive time. Per site,
its latest day: the flow register stuck while power was drawn or card
sessions ran; and on its latest *complete* day (card sessions are reported
when they end, so the day in progress would disagree): card volume vs
flow-meter volume beyond 5 %. Silence is a sweep rule (time passing alone
makes a meter silent). Observations go to ``monitor.alerting``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from budget.repository.connection import Conn
from monitor import quality_alerts as rules
from monitor.alerting import Applied, Observed, OnEvent, apply
from monitor.periods import draw_day, year_period
from monitor.repository import quality as repo
from monitor.repository.alerts import AlertContext
from monitor.repository.quality import MeterDay

ZERO = Decimal(0)


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


def site_observations(days: list[MeterDay], *, today: date) -> list[Observed]:
    by_site: dict[tuple[str, date], list[MeterDay]] = defaultdict(list)
    for d in days:
        by_site[(d.site_id, d.day)].append(d)
    found = []
    for (site_id, day), meters in sorted(by_site.items()):
        flows = [m for m in meters if m.channel == "flow"]
        cards = [m for m in meters if m.channel == "card"]
        powers = [m for m in meters if m.channel == "power"]
        if not flows:
            continue
        flow = flows[0]
        at = max(m.last_ts for m in meters if m.last_ts is not None)
        period = year_period(day.year).budget_period
        context = AlertContext(node_id=flow.node_id, site_id=site_id, meter_id=flow.meter_id)
        if (cards or powers) and flow.readings:
            found.append(Observed(rules.register_stuck(
                meter_id=f"meter/{flow.meter_id}", period=period, window_end=at,
                register_delta_m3=flow.counted_m3,
                power_kwh=sum((p.kwh or ZERO for p in powers), ZERO) if powers else None,
                pump_running=timedelta(seconds=float(sum((c.running_s or ZERO for c in cards),
                                                         ZERO)))), context))
        if cards and day < today:
            found.append(Observed(rules.card_meter_mismatch(
                well_id=f"site/{site_id}", period=period, at=at,
                card_m3=sum((c.counted_m3 for c in cards), ZERO),
                meter_m3=sum((f.counted_m3 for f in flows), ZERO)),
                AlertContext(node_id=flow.node_id, site_id=site_id)))
    return found


def evaluate_touched(conn: Conn, *, meter_days: dict[str, date], site_days: dict[str, date],
                     at: datetime, on_event: OnEvent | None = None) -> list[Applied]:
    today = draw_day(at)
    observed = meter_observations(repo.meter_days(conn, latest=meter_days))
    latest = repo.site_meter_days(conn, site_days=site_days)
    complete = repo.site_meter_days(conn, site_days={
        s: min(d, today - timedelta(days=1)) for s, d in site_days.items()})
    observed += [o for o in site_observations(latest, today=today)
                 if o.observation.key.kind == "register_stuck"]
    observed += [o for o in site_observations(complete, today=today)
                 if o.observation.key.kind == "card_meter_mismatch"]
    return apply(conn, observed, on_event=on_event)


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
