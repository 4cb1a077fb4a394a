"""Canal gate discharge (orifice formula, rating curves) and computed volumes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ingest.gate_discharge import (
    Discharge,
    Extrapolation,
    Gap,
    GateObservation,
    GateVersion,
    OrificeGate,
    PowerLawCurve,
    Regime,
    TableCurve,
    discharge,
    discharge_series,
    integrate,
    orifice_discharge,
    version_at,
)

GATE = OrificeGate(width_m=2.0, sill_m=100.0, mu=0.6)
T0 = datetime(2024, 5, 1, 8, 0)

# Hand computation, b = 2 m, e = 0.5 m, μ = 0.6, ε = 0.61, H = 2 m, g = 9.81:
#   free:      Q = 0.6·2·0.5·√(2·9.81·2) = 0.6·6.26418 = 3.75851 m³/s
#   h_c = 0.305 m; Fr² = 3.75851² / (9.81·4·0.305³) = 14.12640 / 1.11334 = 12.6883
#   h_c'' = 0.305/2·(√(1 + 8·12.6883) − 1) = 0.1525·(10.1245 − 1) = 1.39148 m
#   submerged at h_t = 1.6 m: Q = 0.6·2·0.5·√(2·9.81·0.4) = 0.6·2.80143 = 1.68086 m³/s
FREE_Q = 3.75851
SUBMERGED_Q = 1.68086


def at(upstream, downstream=None, opening=0.5):
    return orifice_discharge(GATE, upstream_m=upstream, opening_m=opening,
                             downstream_m=downstream)


def test_free_orifice_flow_hand_computed():
    free = at(102.0, 101.0)
    assert free.regime is Regime.FREE
    assert free.q_m3s == pytest.approx(FREE_Q, rel=1e-5)
    assert at(102.0).regime is Regime.FREE_UNCHECKED
    assert at(102.0).q_m3s == pytest.approx(FREE_Q, rel=1e-5)
    assert at(102.0).method == "computed"


def test_submergence_threshold_is_the_conjugate_depth():
    assert at(102.0, 100.0 + 1.38).regime is Regime.FREE
    submerged = at(102.0, 100.0 + 1.40)
    assert submerged.regime is Regime.SUBMERGED
    assert at(102.0, 101.6).q_m3s == pytest.approx(SUBMERGED_Q, rel=1e-5)


def test_submerged_coefficient_can_differ():
    gate = OrificeGate(width_m=2.0, sill_m=100.0, mu=0.6, mu_submerged=0.5)
    q = orifice_discharge(gate, upstream_m=102.0, opening_m=0.5, downstream_m=101.6).q_m3s
    assert q == pytest.approx(SUBMERGED_Q / 0.6 * 0.5, rel=1e-5)


@pytest.mark.parametrize(("upstream", "downstream", "opening", "expected"), [
    (102.0, 101.0, 0.0, Discharge(0.0, Regime.CLOSED)),
    (99.9, None, 0.5, Discharge(0.0, Regime.DRY)),
    (102.0, None, 1.4, Discharge(None, Regime.WEIR)),  # e/H = 0.7 > 0.65
    (102.0, 102.0, 0.5, Discharge(None, Regime.NO_HEAD)),
    (102.0, 102.3, 0.5, Discharge(None, Regime.NO_HEAD)),
])
def test_edge_regimes(upstream, downstream, opening, expected):
    assert at(upstream, downstream, opening) == expected


def test_missing_inputs_give_no_discharge():
    assert discharge(GATE, GateObservation(T0, None, 101.0, 0.5)).q_m3s is None
    assert discharge(GATE, GateObservation(T0, 102.0, 101.0, None)).regime is Regime.MISSING_INPUT


def test_power_law_rating_curve():
    curve = PowerLawCurve(a=5.0, h0=1.0, b=1.5)
    assert discharge(curve, GateObservation(T0, 2.0)).q_m3s == pytest.approx(5.0)
    assert discharge(curve, GateObservation(T0, 5.0)).q_m3s == pytest.approx(40.0)  # 5·4^1.5
    assert discharge(curve, GateObservation(T0, 0.5)) == Discharge(0.0, Regime.RATING)


def test_table_rating_curve_interpolates_and_refuses_outside():
    table = TableCurve(((1.0, 0.0), (2.0, 4.0), (3.0, 10.0)))
    assert discharge(table, GateObservation(T0, 2.5)).q_m3s == pytest.approx(7.0)
    assert discharge(table, GateObservation(T0, 3.0)).q_m3s == pytest.approx(10.0)
    assert discharge(table, GateObservation(T0, 1.0)).q_m3s == pytest.approx(0.0)
    assert discharge(table, GateObservation(T0, 3.5)) == Discharge(None, Regime.OUT_OF_RANGE)
    assert discharge(table, GateObservation(T0, 0.5)) == Discharge(None, Regime.OUT_OF_RANGE)


def test_table_rating_curve_linear_extrapolation_never_negative():
    table = TableCurve(((1.0, 0.0), (2.0, 4.0), (3.0, 10.0)), Extrapolation.LINEAR)
    assert discharge(table, GateObservation(T0, 3.5)).q_m3s == pytest.approx(13.0)
    assert discharge(table, GateObservation(T0, 0.5)).q_m3s == pytest.approx(0.0)


@pytest.mark.parametrize("points", [
    ((1.0, 0.0),),
    ((1.0, 0.0), (1.0, 2.0)),
    ((1.0, -1.0), (2.0, 1.0)),
])
def test_invalid_tables_are_refused(points):
    with pytest.raises(ValueError):  # noqa: PT011
        TableCurve(points)


def test_version_valid_at_a_time():
    v1 = GateVersion(datetime(2024, 1, 1), GATE)
    v2 = GateVersion(datetime(2024, 6, 1), OrificeGate(width_m=2.0, sill_m=100.0, mu=0.65))
    assert version_at([v1, v2], datetime(2023, 12, 31)) is None
    assert version_at([v1, v2], datetime(2024, 1, 1)) is v1
    assert version_at([v1, v2], datetime(2024, 5, 31, 23, 59)) is v1
    assert version_at([v1, v2], datetime(2024, 6, 1)) is v2
    series = discharge_series([GateObservation(datetime(2023, 6, 1), 102.0, None, 0.5),
                               GateObservation(datetime(2024, 5, 1), 102.0, None, 0.5),
                               GateObservation(datetime(2024, 7, 1), 102.0, None, 0.5)],
                              [v1, v2])
    assert series[0][1] == Discharge(None, Regime.NO_PARAMETERS)
    assert series[1][1].q_m3s == pytest.approx(FREE_Q, rel=1e-5)
    assert series[2][1].q_m3s == pytest.approx(FREE_Q / 0.6 * 0.65, rel=1e-5)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def test_trapezoidal_volume():
    result = integrate([(minutes(0), 1.0), (minutes(1), 3.0), (minutes(3), 3.0)],
                       max_gap=timedelta(minutes=15))
    assert result.volume_m3 == pytest.approx(2.0 * 60 + 3.0 * 120)
    assert result.covered == timedelta(minutes=3)
    assert result.gaps == ()
    assert result.method == "computed"


def test_long_silence_is_a_gap_not_interpolated():
    samples = [(minutes(0), 2.0), (minutes(10), 2.0), (minutes(130), 2.0), (minutes(140), 2.0)]
    result = integrate(list(reversed(samples)), max_gap=timedelta(minutes=15))
    assert result.volume_m3 == pytest.approx(2.0 * 1200)
    assert result.gaps == (Gap(minutes(10), minutes(130), "silence"),)
    assert result.covered == timedelta(minutes=20)


def test_samples_without_discharge_make_one_merged_gap():
    samples = [(minutes(0), 1.0), (minutes(5), None), (minutes(10), None), (minutes(15), 1.0),
               (minutes(20), 1.0)]
    result = integrate(samples, max_gap=timedelta(minutes=15))
    assert result.gaps == (Gap(minutes(0), minutes(15), "no_discharge"),)
    assert result.volume_m3 == pytest.approx(300.0)


def test_duplicate_timestamps():
    same = integrate([(minutes(0), 1.0), (minutes(0), 1.0), (minutes(1), 1.0)],
                     max_gap=timedelta(minutes=15))
    assert same.volume_m3 == pytest.approx(60.0)
    with pytest.raises(ValueError, match="two discharges"):
        integrate([(minutes(0), 1.0), (minutes(0), 2.0)], max_gap=timedelta(minutes=15))


def test_nothing_to_integrate():
    result = integrate([(minutes(0), 1.0)], max_gap=timedelta(minutes=15))
    assert result.volume_m3 == 0.0
    assert result.covered == timedelta(0)
