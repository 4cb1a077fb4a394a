from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from budget.kinds import Sector, Source
from budget.ledger import (
    EntryKind,
    LedgerEntry,
    allocation_of,
    by_sector,
    by_source,
    effective_budgets,
    total,
)
from budget.year_ledger import BUDGET_TIMEZONE

T0 = datetime(2024, 1, 1, tzinfo=BUDGET_TIMEZONE)
GW_IRR = (Source.GROUNDWATER, Sector.IRRIGATION)


def entry(
    n,
    kind,
    volume,
    day,
    *,
    node=1,
    approved_day=None,
    source=Source.GROUNDWATER,
    sector=Sector.IRRIGATION,
    year=2024,
):
    return LedgerEntry(
        entry_id=n,
        node_id=node,
        year=year,
        kind=kind,
        source=source,
        sector=sector,
        volume_m3=Decimal(volume),
        valid_from=T0 + timedelta(days=day),
        approved_at=T0 + timedelta(days=day if approved_day is None else approved_day),
        approved_by="tester",
        reason="test",
    )


def test_effective_budget_follows_issue_supplement_cut_and_trades():
    entries = [
        entry(1, EntryKind.ISSUE, 1000, 0),
        entry(2, EntryKind.SUPPLEMENT, 200, 100),
        entry(3, EntryKind.CUT, 50, 150),
        entry(4, EntryKind.TRADE_OUT, 30, 160),
        entry(5, EntryKind.TRADE_IN, 5, 170),
    ]
    assert allocation_of(entries, as_of=T0 + timedelta(days=99)) == {GW_IRR: Decimal(1000)}
    assert allocation_of(entries, as_of=T0 + timedelta(days=100)) == {GW_IRR: Decimal(1200)}
    assert allocation_of(entries, as_of=T0 + timedelta(days=365)) == {GW_IRR: Decimal(1125)}


def test_as_known_at_reproduces_the_past_view_of_a_back_dated_entry():
    # A supplement valid from day 10 but only approved on day 200.
    entries = [
        entry(1, EntryKind.ISSUE, 1000, 0),
        entry(2, EntryKind.SUPPLEMENT, 300, 10, approved_day=200),
    ]
    june = T0 + timedelta(days=152)
    assert allocation_of(entries, as_of=june, known_at=june) == {GW_IRR: Decimal(1000)}
    assert allocation_of(entries, as_of=june) == {GW_IRR: Decimal(1300)}


def test_effective_budgets_keeps_years_and_nodes_apart():
    entries = [
        entry(1, EntryKind.ISSUE, 10, 0, node=1),
        entry(2, EntryKind.ISSUE, 20, 0, node=2),
        entry(3, EntryKind.ISSUE, 99, 0, node=1, year=2025),
    ]
    budgets = effective_budgets(entries, year=2024, as_of=T0 + timedelta(days=1))
    assert budgets == {1: {GW_IRR: Decimal(10)}, 2: {GW_IRR: Decimal(20)}}


def test_totals_by_source_and_sector():
    cells = {
        GW_IRR: Decimal(5),
        (Source.RECLAIMED, Sector.INDUSTRY): Decimal(2),
        (Source.GROUNDWATER, Sector.INDUSTRY): Decimal(1),
    }
    assert total(cells) == 8
    assert by_source(cells) == {Source.GROUNDWATER: 6, Source.RECLAIMED: 2}
    assert by_sector(cells) == {Sector.IRRIGATION: 5, Sector.INDUSTRY: 3}


entries_strategy = st.lists(
    st.tuples(
        st.sampled_from(list(EntryKind)),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3),
        st.integers(min_value=0, max_value=364),
        st.integers(min_value=0, max_value=400),
        st.sampled_from([Source.GROUNDWATER, Source.LOCAL_SURFACE, Source.RECLAIMED]),
        st.sampled_from([Sector.IRRIGATION, Sector.INDUSTRY]),
    ),
    max_size=40,
)


@given(
    entries_strategy,
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=400),
)
def test_effective_budget_equals_the_signed_sum_of_the_entries_that_count(raw, day, known):
    entries = [
        entry(i, k, v, d, approved_day=d + late, source=s, sector=c)
        for i, (k, v, d, late, s, c) in enumerate(raw)
    ]
    as_of = T0 + timedelta(days=day)
    known_at = T0 + timedelta(days=known)
    cells = allocation_of(entries, as_of=as_of, known_at=known_at)
    for cell in {e.cell for e in entries}:
        expected = sum(
            (
                e.volume_m3
                if e.kind in (EntryKind.ISSUE, EntryKind.SUPPLEMENT, EntryKind.TRADE_IN)
                else -e.volume_m3
            )
            for e in entries
            if e.cell == cell and e.valid_from <= as_of and e.approved_at <= known_at
        )
        assert cells.get(cell, Decimal(0)) == expected
    bulk = effective_budgets(entries, year=2024, as_of=as_of, known_at=known_at)
    assert {c: v for c, v in bulk.get(1, {}).items() if v} == cells
