from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.kinds import Sector, Source
from budget.quota import (
    CropLine,
    HistoryLine,
    ProductLine,
    QuotaError,
    irrigation_quota,
    propose_budget,
    weighted_history,
)

GW = Source.GROUNDWATER


def test_irrigation_quota_is_quota_over_efficiency_times_area():
    # 400 m³/亩 net, Ganzhou coefficient 0.625, 100 亩 → 64,000 m³ gross.
    line = CropLine("玉米制种", Decimal(100), Decimal(400), GW)
    assert irrigation_quota(line, Decimal("0.625")) == Decimal(64_000)


def test_proposal_sums_crops_products_and_history():
    proposal = propose_budget(
        crops=[
            CropLine("玉米", Decimal(100), Decimal(400), GW),
            CropLine("马铃薯", Decimal(50), Decimal(250), Source.LOCAL_SURFACE),
        ],
        efficiency=Decimal("0.625"),
        products=[ProductLine("酵母 t", Decimal(1000), Decimal("2.8"), GW)],
        history=[HistoryLine(GW, Sector.SERVICES, (Decimal(100), Decimal(200), Decimal(300)))],
    )
    assert proposal.total_m3 == 64_000 + 20_000 + 2_800 + (50 + 60 + 60)
    assert proposal.cells()[(GW, Sector.IRRIGATION)] == 64_000
    assert not proposal.capped_by_permit


def test_weighted_history_with_custom_weights_and_adjustment():
    line = HistoryLine(
        GW, Sector.INDUSTRY, (Decimal(90), Decimal(100), Decimal(110)), adjustment=Decimal("0.9")
    )
    weights = (Decimal(1) / 3, Decimal(1) / 3, 1 - 2 * (Decimal(1) / 3))
    assert weighted_history(line, weights) == Decimal(90)


def test_proposal_is_capped_at_the_withdrawal_permit_exactly():
    proposal = propose_budget(
        products=[
            ProductLine("a", Decimal(3), Decimal(100), GW),
            ProductLine("b", Decimal(3), Decimal(200), Source.LOCAL_SURFACE),
        ],
        permit_m3=Decimal(100),
    )
    assert proposal.capped_by_permit
    assert proposal.uncapped_total_m3 == 900
    assert proposal.total_m3 == 100
    assert all("capped at permit" in line.basis for line in proposal.lines)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"crops": [CropLine("x", Decimal(1), Decimal(1), GW)]}, "efficiency"),
        (
            {"crops": [CropLine("x", Decimal(-1), Decimal(1), GW)], "efficiency": Decimal("0.6")},
            "area_mu",
        ),
        (
            {"crops": [CropLine("x", Decimal(1), Decimal(1), GW)], "efficiency": Decimal("1.2")},
            "efficiency",
        ),
        (
            {
                "history": [HistoryLine(GW, Sector.INDUSTRY, (Decimal(1),) * 3)],
                "weights": (Decimal(1), Decimal(1), Decimal(0)),
            },
            "weights",
        ),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(QuotaError, match=field):
        propose_budget(**kwargs)


@given(
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=10**8),
)
def test_capped_proposal_never_exceeds_the_permit(volumes, permit):
    products = [ProductLine(f"p{i}", Decimal(v), Decimal(1), GW) for i, v in enumerate(volumes)]
    proposal = propose_budget(products=products, permit_m3=Decimal(permit))
    assert proposal.total_m3 <= max(Decimal(permit), proposal.uncapped_total_m3)
    assert proposal.total_m3 == min(Decimal(permit), proposal.uncapped_total_m3)
    assert all(line.volume_m3 >= 0 for line in proposal.lines)


def test_residents_quota_is_population_times_norm_and_capped_by_the_seed():
    from budget.quota import ResidentsLine, residents_quota

    urban = ResidentsLine(Decimal(2000), Decimal(120), Source.LOCAL_SURFACE, Sector.URBAN_RESIDENTS)
    assert residents_quota(urban) == Decimal(87_600)  # 2,000 × 120 升 × 365 天
    with pytest.raises(QuotaError, match="cap of 80"):
        residents_quota(ResidentsLine(Decimal(1), Decimal("80.5"), Source.GROUNDWATER))
    with pytest.raises(QuotaError, match="domestic"):
        residents_quota(ResidentsLine(Decimal(1), Decimal(1), Source.GROUNDWATER, Sector.INDUSTRY))
