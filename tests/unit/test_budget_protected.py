"""The cut list keeps the protected shares of 宁夏 7.1.2 e): residents, grain, basic flow."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from budget.accounting import ProtectedVolumes, expenditure_items, propose_cuts
from budget.kinds import Sector, Source

GW, SW, YR = Source.GROUNDWATER, Source.LOCAL_SURFACE, Source.YELLOW_RIVER


def test_grain_share_is_spread_over_the_irrigation_sources_and_never_cut():
    cells = {
        (GW, Sector.IRRIGATION): Decimal(1000),
        (SW, Sector.IRRIGATION): Decimal(3000),
        (SW, Sector.URBAN_RESIDENTS): Decimal(500),
    }
    items = expenditure_items("a1", cells, ProtectedVolumes(grain_irrigation_m3=Decimal(2000)))
    protected = {(i.source, i.sector): i.protected_m3 for i in items}
    assert protected[(GW, Sector.IRRIGATION)] == Decimal(500)
    assert protected[(SW, Sector.IRRIGATION)] == Decimal(1500)
    assert protected[(SW, Sector.URBAN_RESIDENTS)] == 0  # protected by its sector instead
    proposal = propose_cuts(items, Decimal(5000))
    assert sum(c.cut_m3 for c in proposal.cuts) == Decimal(2000)
    assert proposal.remaining_shortfall_m3 == Decimal(3000)
    assert {c.item.sector for c in proposal.cuts} == {Sector.IRRIGATION}
    assert [r for _, r in proposal.protected] == ["7.1.2 e) protected: 粮食作物灌溉用水"] * 2


def test_basic_ecological_flow_is_kept_and_landscape_water_is_cut_first():
    cells = {
        (YR, Sector.RIVER_LAKE): Decimal(800),
        (YR, Sector.URBAN_ENVIRONMENT): Decimal(100),
        (YR, Sector.IRRIGATION): Decimal(1000),
    }
    items = expenditure_items("d", cells, ProtectedVolumes(basic_ecological_flow_m3=Decimal(700)))
    proposal = propose_cuts(items, Decimal(150))
    cut = {c.item.sector: c.cut_m3 for c in proposal.cuts}
    assert cut == {Sector.RIVER_LAKE: Decimal("75.000"), Sector.URBAN_ENVIRONMENT: Decimal(75)}
    assert [r for _, r in proposal.protected] == ["7.1.2 e) protected: 基本生态流量用水"]


def test_a_protected_volume_above_the_sector_protects_the_whole_sector_only():
    cells = {(GW, Sector.IRRIGATION): Decimal(300), (GW, Sector.INDUSTRY): Decimal(300)}
    items = expenditure_items("u", cells, ProtectedVolumes(grain_irrigation_m3=Decimal(999)))
    assert [i.protected_m3 for i in items] == [Decimal(300), Decimal(0)]
    proposal = propose_cuts(items, Decimal(400))
    assert [(c.item.sector, c.cut_m3) for c in proposal.cuts] == [(Sector.INDUSTRY, Decimal(300))]
    assert proposal.remaining_shortfall_m3 == Decimal(100)


def test_protected_volumes_add_up_over_children():
    total = ProtectedVolumes(Decimal(1), Decimal(2)) + ProtectedVolumes(Decimal(3), Decimal(4))
    assert total == ProtectedVolumes(Decimal(4), Decimal(6))


volumes = st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n) / 1000)


@given(
    cells=st.dictionaries(
        st.tuples(st.sampled_from(list(Source)), st.sampled_from(list(Sector))), volumes
    ),
    grain=volumes,
    flow=volumes,
    shortfall=volumes,
)
def test_no_cut_ever_reaches_a_protected_share(cells, grain, flow, shortfall):
    items = expenditure_items("n", cells, ProtectedVolumes(grain, flow))
    for sector, recorded in ((Sector.IRRIGATION, grain), (Sector.RIVER_LAKE, flow)):
        in_sector = sum((v for (_, s), v in cells.items() if s is sector and v > 0), Decimal(0))
        kept = sum((i.protected_m3 for i in items if i.sector is sector), Decimal(0))
        assert kept == min(recorded, in_sector)
    proposal = propose_cuts(items, shortfall)
    for line in proposal.cuts:
        assert not line.item.sector.is_residential
        assert line.cut_m3 <= line.item.volume_m3 - line.item.protected_m3
    cut = sum((c.cut_m3 for c in proposal.cuts), Decimal(0))
    assert cut + proposal.remaining_shortfall_m3 == shortfall
