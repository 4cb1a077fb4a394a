"""Gate reports -> computed consumption intervals: trapezoids, gaps, ratings over time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ingest.gate_discharge import GateVersion, OrificeGate, PowerLawCurve, TableCurve
from ingest.gate_volumes import GatePoint, gate_intervals, gate_row, max_gap
from ingest.registry import Meter
from ingest.szy206_decode import SITE_TZ

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=SITE_TZ)
HOUR = timedelta(hours=1)
GATE = OrificeGate(width_m=2.0, sill_m=100.0, mu=0.6)
ORIFICE = [GateVersion(T0 - timedelta(days=30), GATE)]
# free flow at H = 2 m, e = 0.5 m (hand computation in test_gate_discharge.py): 3.75851 m³/s
FREE_Q = 3.75851
METER = Meter("G1-gate", "G1", "G1", "gate", T0 - timedelta(days=30), expected_interval_s=3600)


def point(hours: float, upstream: float | None = 102.0, downstream: float | None = 100.5,
          opening: float | None = 0.5) -> GatePoint:
    return GatePoint(T0 + hours * HOUR, upstream, downstream, opening)


def intervals(points, versions=ORIFICE, rated_m3h=None):
    return gate_intervals(points, versions, gap=max_gap(METER), rated_m3h=rated_m3h)


def test_steady_free_flow_integrates_to_q_times_duration():
    rows = intervals([point(0), point(1), point(2)])
    assert [(r.counted, r.quality) for r in rows] == [(True, None), (True, None)]
    assert [r.volume_m3 for r in rows] == pytest.approx([FREE_Q * 3600] * 2, rel=1e-5)


def test_trapezoid_between_a_closed_and_an_open_gate():
    rows = intervals([point(0, opening=0.0), point(1)])
    assert rows[0].volume_m3 == pytest.approx(FREE_Q / 2 * 3600, rel=1e-5)


def test_long_silence_is_a_gap_never_interpolated():
    assert max_gap(METER) == timedelta(hours=3)
    rows = intervals([point(0), point(3), point(6.5), point(7)])
    assert [(r.counted, r.quality) for r in rows] == [(True, None), (False, "gap"), (True, None)]
    assert rows[1].volume_m3 == 0.0


def test_report_without_discharge_quarantines_both_sides_with_its_regime():
    rows = intervals([point(0), point(1, opening=None), point(2), point(3, opening=1.9)])
    assert [(r.counted, r.quality) for r in rows] == [
        (False, "missing_input"), (False, "missing_input"), (False, "weir")]


def test_rating_valid_at_each_report_and_none_before_the_first():
    curve = PowerLawCurve(a=2.0, h0=101.0, b=1.5)  # at 102 m: Q = 2 m³/s
    versions = [GateVersion(T0 + HOUR, curve), GateVersion(T0 + 2 * HOUR, GATE)]
    rows = intervals([point(0), point(1), point(2), point(3)], versions)
    assert [(r.counted, r.quality) for r in rows] == [
        (False, "no_parameters"), (True, None), (True, None)]
    assert rows[1].volume_m3 == pytest.approx((2.0 + FREE_Q) / 2 * 3600, rel=1e-5)
    assert rows[2].volume_m3 == pytest.approx(FREE_Q * 3600, rel=1e-5)


def test_without_downstream_level_the_flow_is_free_but_flagged_unchecked():
    rows = intervals([point(0, downstream=None), point(1)])
    assert (rows[0].counted, rows[0].quality) == (True, "free_unchecked")


def test_rating_table_out_of_range_is_not_a_volume():
    table = [GateVersion(T0 - HOUR, TableCurve(((101.0, 0.0), (102.0, 3.0))))]
    rows = intervals([point(0, upstream=101.5), point(1, upstream=102.5)], table)
    assert (rows[0].counted, rows[0].quality) == (False, "out_of_range")


def test_discharge_above_rated_capacity_is_quarantined_and_kept_for_review():
    rows = intervals([point(0), point(1)], rated_m3h=1000.0)  # 13,530 m³/h computed
    assert (rows[0].counted, rows[0].quality) == (False, "impossible_delta")
    row = gate_row(METER, rows[0])
    assert (row.status, row.volume_m3) == ("quarantined", 0.0)
    assert row.register_delta == pytest.approx(FREE_Q * 3600, rel=1e-5)


def test_counted_row_carries_method_computed():
    row = gate_row(METER, intervals([point(0), point(1)])[0])
    assert (row.method, row.status, row.site_id, row.session_id) == (
        "computed", "counted", "G1", "")
    assert (row.ts_start, row.ts_end) == (T0, T0 + HOUR)
