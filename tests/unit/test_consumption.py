"""Register deltas: rollover, resets, replacements, spikes, outliers, clock jumps, arrival
order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.consumption import (
    Interval,
    Point,
    RegisterSpec,
    coefficient_at,
    context_size,
    derive_intervals,
    recompute,
    register_delta,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
YEAR = timedelta(days=365)
WELL = RegisterSpec(register_max=100_000, multiplier=1.0, max_rate_per_h=60)


def series(*values: float) -> list[Point]:
    return [Point(T0 + i * HOUR, v) for i, v in enumerate(values)]


def counted(points: list[Point], spec: RegisterSpec = WELL) -> float:
    return sum(iv.delta for iv in derive_intervals(points, spec) if iv.counted)


def test_plain_deltas_are_counted() -> None:
    ivs = derive_intervals(series(100, 150, 190), WELL)
    assert [(iv.delta, iv.counted, iv.quality) for iv in ivs] == [
        (50, True, None), (40, True, None)]
    assert ivs[0].ts_start == T0
    assert ivs[0].ts_end == T0 + HOUR


def test_rollover_at_register_max_is_counted_once() -> None:
    step = register_delta(Point(T0, 99_980), Point(T0 + HOUR, 30), WELL)
    assert (step.delta, step.ok, step.quality) == (50, True, "rollover")


def test_rollover_without_capacity_needs_values_near_both_ends() -> None:
    spec = RegisterSpec(register_max=100_000)
    assert register_delta(Point(T0, 99_990), Point(T0 + HOUR, 5), spec).quality == "rollover"
    assert register_delta(Point(T0, 50_000), Point(T0 + HOUR, 5), spec).quality == "negative_delta"


def test_reset_is_quarantined_and_counting_resumes_from_the_new_base() -> None:
    ivs = derive_intervals(series(5000, 5040, 3, 40), WELL)
    assert [(iv.counted, iv.quality) for iv in ivs] == [
        (True, None), (False, "negative_delta"), (True, None)]
    assert counted(series(5000, 5040, 3, 40)) == 40 + 37


def test_spike_beyond_rated_capacity_is_quarantined() -> None:
    ivs = derive_intervals(series(1000, 1050, 9000, 9040), WELL)
    assert [(iv.counted, iv.quality) for iv in ivs][1] == (False, "impossible_delta")
    assert all(iv.delta >= 0 or not iv.counted for iv in ivs)


def test_isolated_outlier_reading_is_bridged_not_double_counted() -> None:
    ivs = derive_intervals(series(1000, 1040, 99, 1100, 1150), WELL)
    assert [(iv.counted, iv.quality) for iv in ivs] == [
        (True, None), (False, "outlier_reading"), (True, "bridged"), (True, None)]
    assert counted(series(1000, 1040, 99, 1100, 1150)) == 150
    bridged = ivs[2]
    assert bridged.ts_start == T0 + HOUR
    assert bridged.delta == 60


def test_a_clock_jump_is_quarantined_and_the_readings_after_it_count() -> None:
    """Readings stamped a year behind their receipt, then the clock jumps to the server's time
    (never past it, which the contract refuses)."""
    now = T0 + YEAR
    behind = [Point(T0 + i * HOUR, 100 + 10 * i, now + i * MINUTE) for i in range(3)]
    jumped = [Point(now + 3 * MINUTE + i * HOUR, 125 + 10 * i, now + 3 * MINUTE + i * HOUR)
              for i in range(3)]
    for spec in (WELL, RegisterSpec()):
        ivs = derive_intervals(behind + jumped, spec)
        assert [(iv.delta, iv.counted, iv.quality) for iv in ivs] == [
            (10, True, None), (10, True, None), (5, False, "clock_jump"),
            (10, True, None), (10, True, None)]
        assert (ivs[2].ts_start, ivs[2].ts_end) == (behind[-1].ts, jumped[0].ts)
    assert register_delta(behind[-1], jumped[0], WELL).quality == "clock_jump"
    # without receive times (a plain series) there is nothing to compare: no check
    assert register_delta(behind[-1]._replace(received_at=None), jumped[0], WELL).ok


def test_a_backlog_uploaded_quickly_is_no_clock_jump() -> None:
    """A device back after a year offline uploads its buffered daily readings in minutes: its
    data time advances a year, but in steps of a day."""
    live = Point(T0, 1000, T0 + MINUTE)
    backlog = [Point(T0 + i * DAY, 1000 + 7 * i, T0 + YEAR + i * timedelta(seconds=1))
               for i in range(1, 366)]
    ivs = derive_intervals([live, *backlog], WELL)
    assert {(iv.counted, iv.quality) for iv in ivs} == {(True, None)}
    assert counted([live, *backlog]) == 7 * 365


def test_a_device_offline_for_two_months_is_no_clock_jump() -> None:
    before = Point(T0, 1000, T0 + 5 * MINUTE)
    after = Point(T0 + 60 * DAY, 1300, T0 + 60 * DAY + 3 * MINUTE)
    assert derive_intervals([before, after], WELL) == [
        Interval(T0, T0 + 60 * DAY, 300, True, None)]


def test_a_clock_set_right_again_is_not_double_counted() -> None:
    """One reading stamped a year ahead; the device's next readings are right again. A year
    later its right readings pass the wrong one: the use is bridged over it, as over an
    outlier, and every m³ counts once."""
    spec = RegisterSpec()  # no rated capacity: the capacity check cannot catch it
    a = Point(T0, 100, T0)
    wrong = Point(T0 + YEAR, 110, T0 + 15 * MINUTE)
    right = [Point(T0 + 30 * MINUTE, 120, T0 + 30 * MINUTE),
             Point(T0 + 45 * MINUTE, 130, T0 + 45 * MINUTE)]
    ivs = derive_intervals([a, *right, wrong], spec)
    assert [(iv.counted, iv.quality) for iv in ivs] == [
        (True, None), (True, None), (False, "clock_jump")]
    assert counted([a, *right, wrong], spec) == 30
    later = Point(T0 + YEAR + HOUR, 5000, T0 + YEAR + HOUR)
    ivs = derive_intervals([a, *right, wrong, later], spec)
    assert [(iv.counted, iv.quality) for iv in ivs] == [
        (True, None), (True, None), (False, "clock_jump"), (True, "bridged")]
    assert ivs[-1].ts_start == right[-1].ts
    assert counted([a, *right, wrong, later], spec) == 5000 - 100


def test_multiplier_scales_register_units() -> None:
    spec = RegisterSpec(register_max=9999, multiplier=10, max_rate_per_h=600)
    assert counted(series(10, 15, 30), spec) == 200


def test_negative_delta_is_never_counted_whatever_the_spec() -> None:
    for spec in (RegisterSpec(), WELL, RegisterSpec(register_max=10)):
        assert all(iv.delta >= 0 for iv in derive_intervals(series(50, 20), spec) if iv.counted)


def test_coefficient_at_picks_the_version_valid_at_the_time() -> None:
    versions = [(T0, 1.5), (T0 + 10 * HOUR, 2.0)]
    assert coefficient_at(versions, T0 - HOUR) is None
    assert coefficient_at(versions, T0) == 1.5
    assert coefficient_at(versions, T0 + 9 * HOUR) == 1.5
    assert coefficient_at(versions, T0 + 10 * HOUR) == 2.0


def incremental(points: list[Point], batches: list[list[int]],
                spec: RegisterSpec) -> dict[datetime, tuple[object, ...]]:
    """Insert readings batch by batch, recomputing only the affected span, like the store."""
    stored: dict[datetime, Point] = {}
    rows: dict[datetime, tuple[object, ...]] = {}
    k = context_size()
    for batch in batches:
        new = [points[i] for i in batch]
        for p in new:
            stored[p.ts] = p
        times = sorted(stored)
        lo_t, hi_t = min(p.ts for p in new), max(p.ts for p in new)
        before = [t for t in times if t < lo_t][-k:]
        after = [t for t in times if t > hi_t][:k]
        between = [t for t in times if lo_t <= t <= hi_t]
        context = [stored[t] for t in before + between + after]
        for iv in recompute(context, [p.ts for p in new], spec):
            rows[iv.ts_end] = (iv.ts_start, iv.delta, iv.counted, iv.quality)
    return rows


values = st.lists(
    st.one_of(st.integers(0, 70), st.integers(-5000, 5000), st.just(-99_000)),
    min_size=2, max_size=40)


# time between readings, and how late each is received: long silences, quick backlogs and
# clocks jumping both ways among them
gap_lists = st.lists(st.sampled_from([HOUR, HOUR, HOUR, 6 * DAY, 8 * DAY, 60 * DAY, YEAR]),
                min_size=40, max_size=40)
lag_lists = st.lists(st.sampled_from([None, timedelta(0), timedelta(0), MINUTE, 10 * DAY, YEAR]),
                min_size=40, max_size=40)


def timed(ts: datetime, value: float, lag: timedelta | None) -> Point:
    return Point(ts, value, None if lag is None else ts + lag)


@settings(max_examples=300, deadline=None)
@given(steps=values, seed=st.integers(0, 2**32), batch=st.integers(1, 6), gaps=gap_lists,
       lags=lag_lists)
def test_any_arrival_order_gives_the_same_intervals(steps: list[int], seed: int, batch: int,
                                                    gaps: list[timedelta],
                                                    lags: list[timedelta | None]) -> None:
    value, ts, points = 50_000.0, T0, []
    for step, gap, lag in zip(steps, gaps, lags, strict=False):
        value = (value + step) % 100_000 if step != -99_000 else 0.0
        ts += gap
        points.append(timed(ts, value, lag))
    full = {iv.ts_end: (iv.ts_start, iv.delta, iv.counted, iv.quality)
            for iv in derive_intervals(points, WELL)}
    order = list(range(len(points)))
    random.Random(seed).shuffle(order)
    batches = [order[i:i + batch] for i in range(0, len(order), batch)]
    assert incremental(points, batches, WELL) == full


def test_rows_are_in_the_copy_column_order() -> None:
    from ingest.reading_repository import READING_COLUMNS, READING_TYPES
    from ingest.session_repository import RECORD_COLUMNS, RECORD_TYPES
    from ingest.volumes import ConsumptionRow, IntervalFigures

    assert ConsumptionRow._fields == RECORD_COLUMNS
    assert len(RECORD_TYPES) == len(RECORD_COLUMNS)
    assert READING_COLUMNS[4:] == IntervalFigures._fields
    assert len(READING_TYPES) == len(READING_COLUMNS)


def rules_as_written(points: list[Point], spec: RegisterSpec) -> list[Interval]:
    """The rules transcribed plainly (ingest.consumption's docstring): the oracle for the
    production code, which takes a one-pass shortcut for series without anomalies."""
    n = len(points)
    steps = [register_delta(points[i - 1], points[i], spec) for i in range(1, n)]

    def anomalous(i: int) -> bool:
        return 1 <= i < n and not steps[i - 1].ok

    def candidate(i: int) -> bool:  # a clock jump's reading needs only its neighbours' accord
        return (1 <= i < n - 1 and anomalous(i)
                and (anomalous(i + 1) or steps[i - 1].quality == "clock_jump")
                and register_delta(points[i - 1], points[i + 1], spec).ok)

    def outlier(i: int) -> bool:
        return candidate(i) and not candidate(i - 1) and not candidate(i + 1)

    intervals = []
    for i in range(1, n):
        step, a, b = steps[i - 1], points[i - 1], points[i]
        if outlier(i) and step.quality == "clock_jump":
            intervals.append(Interval(a.ts, b.ts, step.delta, False, "clock_jump"))
        elif outlier(i):
            intervals.append(Interval(a.ts, b.ts, step.delta, False, "outlier_reading"))
        elif i >= 2 and outlier(i - 1):
            bridge = register_delta(points[i - 2], b, spec)
            intervals.append(Interval(points[i - 2].ts, b.ts, bridge.delta, True, "bridged"))
        else:
            intervals.append(Interval(a.ts, b.ts, step.delta, step.ok, step.quality))
    return intervals


specs = st.sampled_from([WELL, RegisterSpec(), RegisterSpec(register_max=100_000),
                         RegisterSpec(register_max=9999, multiplier=10, max_rate_per_h=600),
                         RegisterSpec(max_rate_per_h=0.5)])


@settings(max_examples=500, deadline=None)
@given(steps=st.lists(st.one_of(st.integers(0, 70), st.floats(0, 80),
                                st.integers(-5000, 5000), st.just(-99_000)), max_size=40),
       gaps=st.lists(st.one_of(st.integers(1, 7200), st.integers(6 * 86400, 400 * 86400)),
                     min_size=40, max_size=40),
       lags=lag_lists, spec=specs)
def test_derive_intervals_follows_the_rules_as_written(steps: list[float], gaps: list[int],
                                                       lags: list[timedelta | None],
                                                       spec: RegisterSpec) -> None:
    value, ts, points = 50_000.0, T0, []
    for step, gap, lag in zip(steps, gaps, lags, strict=False):
        value = (value + step) % 100_000 if step != -99_000 else 0.0
        ts += timedelta(seconds=gap)
        points.append(timed(ts, value, lag))
    assert derive_intervals(points, spec) == rules_as_written(points, spec)
