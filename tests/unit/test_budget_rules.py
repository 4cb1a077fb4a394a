import contextlib
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.hierarchy import Hierarchy, Node, NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind, LedgerEntry
from budget.rules import (
    BudgetPolicy,
    ControlFigure,
    Permit,
    Rule,
    check_children_within_parent,
    counted_total,
)
from budget.year_ledger import BUDGET_TIMEZONE, RuleError, TradeRequest, YearLedger

T0 = datetime(2024, 1, 1, tzinfo=BUDGET_TIMEZONE)
GW, SW, RW = Source.GROUNDWATER, Source.LOCAL_SURFACE, Source.RECLAIMED
IRR = Sector.IRRIGATION
ids = count(1)

# 1 district ─ 2 township A ─ 4 village a1 ─ 6 household
#            │              └ 5 village a2
#            └ 3 township B ─ 7 village b1
TREE = [
    (1, None, NodeLevel.DISTRICT),
    (2, 1, NodeLevel.TOWNSHIP),
    (3, 1, NodeLevel.TOWNSHIP),
    (4, 2, NodeLevel.UNIT),
    (5, 2, NodeLevel.UNIT),
    (6, 4, NodeLevel.HOUSEHOLD),
    (7, 3, NodeLevel.UNIT),
]


def hierarchy():
    return Hierarchy.of(Node(i, f"n{i}", f"node {i}", lv, p) for i, p, lv in TREE)


def e(node, kind, volume, day=0, source=GW, sector=IRR):
    return LedgerEntry(
        next(ids),
        node,
        2024,
        kind,
        source,
        sector,
        Decimal(volume),
        T0 + timedelta(days=day),
        T0 + timedelta(days=day),
        "approver",
        "test",
    )


def ledger(policy=None, issues=()):
    book = YearLedger(hierarchy(), 2024, policy or BudgetPolicy())
    for node, volume, source in issues:
        book.approve([e(node, EntryKind.ISSUE, volume, source=source)])
    return book


def rules_of(error):
    return {v.rule for v in error.value.violations}


def test_children_may_not_exceed_parent_total():
    book = ledger(issues=[(1, 1000, GW), (2, 600, GW)])
    with pytest.raises(RuleError) as error:
        book.approve([e(3, EntryKind.ISSUE, 401)])
    assert rules_of(error) >= {Rule.CHILDREN_WITHIN_PARENT_TOTAL}
    assert error.value.violations[0].node_id == 1
    assert error.value.violations[0].excess_m3 == 1
    book.approve([e(3, EntryKind.ISSUE, 400)])  # exactly at the limit is fine


def test_children_may_not_exceed_parent_per_source_even_within_the_total():
    book = ledger(issues=[(1, 500, GW), (1, 500, SW)])
    with pytest.raises(RuleError) as error:
        book.approve([e(2, EntryKind.ISSUE, 600, source=GW)])
    assert rules_of(error) == {Rule.CHILDREN_WITHIN_PARENT_SOURCE}
    assert "groundwater" in str(error.value)


def test_a_cut_of_the_parent_below_its_children_is_refused():
    book = ledger(issues=[(1, 1000, GW), (2, 800, GW)])
    with pytest.raises(RuleError) as error:
        book.approve([e(1, EntryKind.CUT, 300, day=50)])
    assert Rule.CHILDREN_WITHIN_PARENT_TOTAL in rules_of(error)


def test_a_back_dated_supplement_that_breaks_a_rule_later_in_the_year_is_refused():
    book = ledger(issues=[(1, 1000, GW), (2, 1000, GW)])
    book.approve([e(1, EntryKind.SUPPLEMENT, 500, day=200)])
    # At day 100 the parent has 1000 and its child 1000: a child supplement valid
    # from day 100 breaks the rule at day 100 already, even though by day 200 it would fit.
    with pytest.raises(RuleError):
        book.approve([e(2, EntryKind.SUPPLEMENT, 300, day=100)])
    book.approve([e(2, EntryKind.SUPPLEMENT, 300, day=200)])


def test_a_cut_may_not_take_a_cell_below_zero():
    book = ledger(issues=[(1, 100, GW)])
    with pytest.raises(RuleError) as error:
        book.approve([e(1, EntryKind.CUT, 101)])
    assert rules_of(error) == {Rule.NON_NEGATIVE}


def test_withdrawal_permit_limits_conventional_water_only():
    policy = BudgetPolicy(permits=(Permit(4, 2024, Decimal(300), reference="取水(甘)字[2024]1"),))
    book = ledger(policy, issues=[(1, 10_000, GW), (1, 1000, RW), (2, 5000, GW), (2, 1000, RW)])
    book.approve([e(4, EntryKind.ISSUE, 300), e(4, EntryKind.ISSUE, 500, source=RW)])
    with pytest.raises(RuleError) as error:
        book.approve([e(4, EntryKind.SUPPLEMENT, 1)])
    assert rules_of(error) == {Rule.WITHIN_WITHDRAWAL_PERMIT}
    assert "取水(甘)字[2024]1" in str(error.value)


@pytest.mark.parametrize(("factor", "accepted"), [("0", True), ("0.5", True), ("1", False)])
def test_non_conventional_water_left_out_or_discounted_against_the_control_figure(factor, accepted):
    # District control figure 1,100 m³: 1,000 groundwater + 200 reclaimed counted at the factor.
    policy = BudgetPolicy(Decimal(factor), control_figures=(ControlFigure(1, 2024, Decimal(1100)),))
    book = ledger(policy, issues=[(1, 1000, GW)])
    change = [e(1, EntryKind.ISSUE, 200, source=RW)]
    if accepted:
        book.approve(change)
    else:
        with pytest.raises(RuleError) as error:
            book.approve(change)
        assert rules_of(error) == {Rule.WITHIN_CONTROL_FIGURE}
    with pytest.raises(ValueError, match="factor"):
        BudgetPolicy(non_conventional_factor=Decimal("1.5"))


def test_trade_moves_surplus_through_the_common_ancestor():
    book = ledger(issues=[(1, 1000, GW), (2, 500, GW), (3, 300, GW), (4, 200, GW), (7, 100, GW)])
    trade = TradeRequest(4, 7, 2024, GW, IRR, Decimal(50), T0 + timedelta(days=90), "surplus")
    legs = book.trade_entries(
        trade,
        used_m3=Decimal(120),
        first_entry_id=900,
        trade_id=1,
        approved_at=T0 + timedelta(days=90),
        approved_by="boss",
    )
    assert [(x.node_id, x.kind) for x in legs] == [
        (4, EntryKind.TRADE_OUT),
        (2, EntryKind.TRADE_OUT),
        (7, EntryKind.TRADE_IN),
        (3, EntryKind.TRADE_IN),
    ]
    book.approve(legs)
    later = T0 + timedelta(days=100)
    assert book.allocation(4, later) == {(GW, IRR): Decimal(150)}
    assert book.allocation(3, later) == {(GW, IRR): Decimal(350)}
    assert book.allocation(1, later) == {(GW, IRR): Decimal(1000)}


def test_trade_never_moves_more_than_the_unused_surplus():
    book = ledger(issues=[(1, 1000, GW), (2, 500, GW), (3, 300, GW), (4, 200, GW), (6, 150, GW)])
    trade = TradeRequest(4, 5, 2024, GW, IRR, Decimal(31), T0 + timedelta(days=90), "x")
    with pytest.raises(RuleError) as error:  # 200 − 150 handed to household − 20 used = 30
        book.trade_entries(
            trade,
            used_m3=Decimal(20),
            first_entry_id=1,
            trade_id=1,
            approved_at=T0,
            approved_by="b",
        )
    assert rules_of(error) == {Rule.TRADE_WITHIN_SURPLUS}
    assert error.value.violations[0].excess_m3 == 1


@pytest.mark.parametrize(
    ("seller", "buyer", "day", "rule"),
    [
        (4, 2, 10, Rule.TRADE_WITHIN_SCOPE),
        (4, 4, 10, Rule.TRADE_WITHIN_SCOPE),
        (4, 5, 370, Rule.TRADE_SAME_YEAR),
    ],
)
def test_trade_scope_and_year(seller, buyer, day, rule):
    book = ledger(issues=[(1, 1000, GW), (2, 500, GW), (4, 200, GW)])
    trade = TradeRequest(seller, buyer, 2024, GW, IRR, Decimal(1), T0 + timedelta(days=day), "x")
    with pytest.raises(RuleError) as error:
        book.trade_entries(
            trade, used_m3=Decimal(0), first_entry_id=1, trade_id=1, approved_at=T0, approved_by="b"
        )
    assert rules_of(error) == {rule}


def test_entries_outside_the_budget_year_and_non_positive_volumes_are_refused():
    book = ledger(issues=[(1, 1000, GW)])
    with pytest.raises(RuleError) as error:
        book.approve([e(1, EntryKind.SUPPLEMENT, 1, day=-3), e(1, EntryKind.CUT, 0)])
    assert rules_of(error) == {Rule.ENTRY_WITHIN_YEAR, Rule.POSITIVE_VOLUME}


# --- property: no sequence of accepted entries can break a hierarchy rule -----------------

step = st.tuples(
    st.sampled_from([n for n, _, _ in TREE]),
    st.sampled_from(list(EntryKind)),
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=0, max_value=364),
    st.sampled_from([GW, SW, RW]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(step, max_size=30), st.sampled_from(["0", "0.5", "1"]))
def test_no_sequence_of_accepted_entries_breaks_a_rule(steps, factor):
    policy = BudgetPolicy(
        Decimal(factor), (Permit(4, 2024, Decimal(700)),), (ControlFigure(1, 2024, Decimal(3000)),)
    )
    book = YearLedger(hierarchy(), 2024, policy)
    for node, kind, volume, day, source in steps:
        with contextlib.suppress(RuleError):
            book.approve([e(node, kind, volume, day, source)])
    moments = sorted({x.valid_from for xs in book.entries.values() for x in xs})
    tree = book.hierarchy
    for moment in moments:
        state = {n: book.allocation(n, moment) for n in tree.nodes}
        for node in tree.nodes:
            assert all(v >= 0 for v in state[node].values())
            kids = [state[c] for c in tree.children[node]]
            assert check_children_within_parent(node, state[node], kids, Decimal(factor)) == []
        permitted = sum(v for (s, _), v in state[4].items() if not s.is_non_conventional)
        assert permitted <= 700
        assert counted_total(state[1], Decimal(factor)) <= 3000
