"""Revenue by source (宁夏 5), its use in the balance, and the 7.4.3 a) inflow trigger."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from budget.accounting import check_balance
from budget.accounting_service import inflow_check, revenue_of
from budget.ganzhou_files import load_import
from budget.kinds import Sector, Source, SourceFamily
from budget.revenue import (
    RevenueBasis,
    RevenueRecord,
    by_family,
    check_inflow_deviation,
    check_source_structure,
    counted_cells,
    counted_revenue,
    latest,
)

GW, SW, YR = Source.GROUNDWATER, Source.LOCAL_SURFACE, Source.YELLOW_RIVER
RECLAIMED, MINE = Source.RECLAIMED, Source.MINE_WATER
D = Decimal


def record(record_id: int, basis: RevenueBasis, **volumes: int) -> RevenueRecord:
    return RevenueRecord(
        1, 2024, basis, {Source(k): D(v) for k, v in volumes.items()}, record_id=record_id
    )


def test_the_newest_record_of_a_basis_supersedes_the_older_ones():
    records = [
        record(1, RevenueBasis.FORECAST, groundwater=100),
        record(2, RevenueBasis.UPDATED, groundwater=80),
        record(3, RevenueBasis.FORECAST, groundwater=120),
    ]
    forecast = latest(records, RevenueBasis.FORECAST)
    assert forecast is not None
    assert forecast.record_id == 3
    assert forecast.total_m3 == 120
    updated = latest(records, RevenueBasis.UPDATED)
    assert updated is not None
    assert updated.record_id == 2
    assert latest(records[:1], RevenueBasis.UPDATED) is None


def test_revenue_counts_non_conventional_water_at_the_factor_then_the_what_if():
    volumes = {GW: D(1000), RECLAIMED: D(200)}
    assert counted_revenue(volumes, D(0)) == {GW: D(1000)}
    assert counted_revenue(volumes, D("0.5")) == {GW: D(1000), RECLAIMED: D(100)}
    assert counted_revenue(volumes, D(1), D("0.85")) == {GW: D(850), RECLAIMED: D(170)}


def test_expenditure_cells_count_non_conventional_water_at_the_factor():
    cells = {(GW, Sector.IRRIGATION): D(500), (RECLAIMED, Sector.INDUSTRY): D(40)}
    assert counted_cells(cells, D(0)) == {(GW, Sector.IRRIGATION): D(500)}
    assert counted_cells(cells, D("0.25"))[(RECLAIMED, Sector.INDUSTRY)] == D(10)


def test_recorded_revenue_below_the_budget_is_a_shortfall():
    revenue = counted_revenue({GW: D(800)}, D(0))
    result = check_balance(revenue, {Sector.IRRIGATION: D(900)})
    assert next(f.check for f in result.findings) == "7.1.1 revenue >= expenditure"
    assert result.expenditure_m3 - result.revenue_m3 == 100


def test_source_structure_compares_by_source_kind():
    findings = check_source_structure({GW: D(100), SW: D(500)}, {GW: D(150), SW: D(100)})
    assert [f.amount_m3 for f in findings] == [D(50)]
    assert "groundwater" in findings[0].message
    # non-conventional sub-kinds share one kind (4.3.1 d): reclaimed covers mine water
    assert check_source_structure({RECLAIMED: D(10)}, {MINE: D(10)}) == []
    assert by_family({RECLAIMED: D(1), MINE: D(2)}) == {SourceFamily.NON_CONVENTIONAL: D(3)}


def test_inflow_exactly_fifteen_percent_off_does_not_trigger():
    assert not check_inflow_deviation({YR: D(1000)}, {YR: D(850)}).triggered
    assert not check_inflow_deviation({YR: D(1000)}, {YR: D(1150)}).triggered


def test_inflow_beyond_fifteen_percent_triggers_a_dynamic_adjustment():
    low = check_inflow_deviation({YR: D(1000)}, {YR: D("849.999")})
    assert low.triggered
    assert low.deviation is not None
    assert low.deviation < D("-0.15")
    assert low.findings[0].check == "7.4.3 a) inflow within ±15% of forecast"
    assert low.findings[0].amount_m3 == D("-150.001")
    high = check_inflow_deviation({YR: D(1000)}, {YR: D(1200)})
    assert high.triggered
    assert high.deviation == D("0.2")


def test_one_source_kind_off_triggers_even_when_the_total_is_within():
    result = check_inflow_deviation({YR: D(200), GW: D(800)}, {YR: D(100), GW: D(860)})
    assert result.deviation == D("-0.04")
    assert result.by_family[SourceFamily.YELLOW_RIVER] == D("-0.5")
    assert len(result.findings) == 1
    assert "yellow_river" in result.findings[0].message


def test_inflow_of_a_kind_without_forecast_is_reported():
    result = check_inflow_deviation({GW: D(1000)}, {GW: D(1000), YR: D(10)})
    assert result.by_family[SourceFamily.YELLOW_RIVER] is None
    assert result.triggered
    assert "no forecast" in result.findings[0].message


@given(
    forecast=st.integers(min_value=1, max_value=10**9),
    updated=st.integers(min_value=0, max_value=2 * 10**9),
)
def test_the_trigger_is_exactly_a_deviation_beyond_fifteen_percent(forecast, updated):
    result = check_inflow_deviation({GW: D(forecast)}, {GW: D(updated)})
    assert result.triggered == (abs(D(updated) - D(forecast)) * 100 > 15 * D(forecast))


def test_the_ganzhou_import_carries_the_district_control_figure_as_revenue():
    plan = load_import()
    assert plan.revenue == {SW: D("429340000.000"), GW: D("259660000.000")}
    assert sum(plan.revenue.values()) == D(689_000_000)
    assert "甘州区 2024" in plan.revenue_reference


def test_the_balance_takes_the_updated_inflow_else_the_forecast_else_the_issued_budget():
    issued = {GW: D(900)}
    assert revenue_of([], issued) == ("issued_budget", issued)
    forecast = record(1, RevenueBasis.FORECAST, groundwater=1000)
    assert revenue_of([forecast], issued) == ("forecast", {GW: D(1000)})
    updated = record(2, RevenueBasis.UPDATED, groundwater=700)
    assert revenue_of([updated, forecast], issued) == ("updated", {GW: D(700)})


def test_the_what_if_is_checked_against_the_forecast():
    forecast = record(1, RevenueBasis.FORECAST, groundwater=1000)
    assert inflow_check([forecast]) is None
    assert inflow_check([]) is None
    what_if = inflow_check([forecast], D("0.8"))
    assert what_if is not None
    assert what_if.triggered
    updated = record(2, RevenueBasis.UPDATED, groundwater=800)
    recovered = inflow_check([forecast, updated], D("1.1"))
    assert recovered is not None
    assert recovered.updated_m3 == 880
    assert not recovered.triggered
