"""One budget year's approved ledger over a hierarchy, and the gate every change passes.

``YearLedger.check`` looks at every moment where the state could change (the
valid-from time of each entry of the nodes involved, from the earliest
candidate on), so a back-dated entry cannot slip past a rule that only breaks
later in the year. ``YearLedger.approve`` is all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from budget.hierarchy import Hierarchy
from budget.kinds import Sector, Source
from budget.ledger import Allocation, EntryKind, LedgerEntry, allocation_of
from budget.rules import (
    BudgetPolicy,
    Rule,
    RuleViolation,
    check_children_within_parent,
    check_control_figures,
    check_non_negative,
    check_permits,
)
from budget.units import ZERO

BUDGET_TIMEZONE = ZoneInfo("Asia/Shanghai")


class RuleError(ValueError):
    """A change was refused; ``violations`` name every rule it would break."""

    def __init__(self, violations: Sequence[RuleViolation]) -> None:
        self.violations = list(violations)
        super().__init__("; ".join(f"{v.rule.value}: {v.message}" for v in self.violations))


@dataclass(frozen=True, slots=True)
class TradeRequest:
    """Surplus volume moved from seller to buyer; source and sector are kept."""

    seller_id: int
    buyer_id: int
    year: int
    source: Source
    sector: Sector
    volume_m3: Decimal
    valid_from: datetime
    reason: str


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """Start of the budget year and start of the next one, China time."""
    return (
        datetime(year, 1, 1, tzinfo=BUDGET_TIMEZONE),
        datetime(year + 1, 1, 1, tzinfo=BUDGET_TIMEZONE),
    )


@dataclass(slots=True)
class YearLedger:
    hierarchy: Hierarchy
    year: int
    policy: BudgetPolicy = field(default_factory=BudgetPolicy)
    entries: dict[int, list[LedgerEntry]] = field(default_factory=dict)

    def load(self, entries: Iterable[LedgerEntry]) -> None:
        for entry in entries:
            if entry.year == self.year:
                self.entries.setdefault(entry.node_id, []).append(entry)

    def allocation(
        self, node_id: int, as_of: datetime, known_at: datetime | None = None
    ) -> Allocation:
        return allocation_of(self.entries.get(node_id, ()), as_of=as_of, known_at=known_at)

    def children_allocation(self, node_id: int, as_of: datetime) -> Allocation:
        summed: Allocation = {}
        for child in self.hierarchy.children[node_id]:
            for cell, volume in self.allocation(child, as_of).items():
                summed[cell] = summed.get(cell, ZERO) + volume
        return summed

    def check(self, candidates: Sequence[LedgerEntry]) -> list[RuleViolation]:
        """Every rule the candidates would break, with the ledger as it is."""
        violations = self._check_shape(candidates)
        if violations or not candidates:
            return violations
        changed = {c.node_id for c in candidates}
        parents = set(changed)
        parents.update(p for n in changed if (p := self.hierarchy.parent(n)) is not None)
        involved = set(parents)
        for parent in parents:
            involved.update(self.hierarchy.children[parent])
        merged = {
            n: [*self.entries.get(n, ()), *(c for c in candidates if c.node_id == n)]
            for n in involved
        }
        start = min(c.valid_from for c in candidates)
        moments = sorted(
            {start} | {e.valid_from for n in involved for e in merged[n] if e.valid_from > start}
        )
        found: dict[tuple[Rule, int | None, str], RuleViolation] = {}
        factor = self.policy.non_conventional_factor
        for moment in moments:
            state = {n: allocation_of(merged[n], as_of=moment) for n in involved}
            step: list[RuleViolation] = []
            for node_id in sorted(changed):
                step += check_non_negative(node_id, state[node_id])
                step += check_permits(
                    node_id, state[node_id], self.policy.permits_of(node_id, self.year)
                )
                figures = self.policy.control_figures_of(node_id, self.year)
                step += check_control_figures(node_id, state[node_id], figures, factor)
            for parent in sorted(parents):
                kids = (state[c] for c in self.hierarchy.children[parent])
                step += check_children_within_parent(parent, state[parent], kids, factor)
            for violation in step:
                key = (violation.rule, violation.node_id, violation.subject)
                found.setdefault(key, _at(violation, moment, start))
        return list(found.values())

    def _check_shape(self, candidates: Sequence[LedgerEntry]) -> list[RuleViolation]:
        start, end = year_bounds(self.year)
        violations: list[RuleViolation] = []
        for c in candidates:
            if c.node_id not in self.hierarchy.nodes:
                raise KeyError(f"unknown node {c.node_id}")
            if c.volume_m3 <= ZERO:
                violations.append(
                    RuleViolation(
                        Rule.POSITIVE_VOLUME, c.node_id, f"volume {c.volume_m3} m³ is not positive"
                    )
                )
            early = c.valid_from < start and c.kind is not EntryKind.ISSUE
            if c.year != self.year or early or c.valid_from >= end:
                violations.append(
                    RuleViolation(
                        Rule.ENTRY_WITHIN_YEAR,
                        c.node_id,
                        f"{c.kind.value} valid from {c.valid_from.isoformat()} "
                        f"is outside budget year {self.year}",
                    )
                )
        return violations

    def approve(self, candidates: Sequence[LedgerEntry]) -> None:
        """Add the candidates to the ledger, or none of them (``RuleError``)."""
        violations = self.check(candidates)
        if violations:
            raise RuleError(violations)
        for candidate in candidates:
            self.entries.setdefault(candidate.node_id, []).append(candidate)

    def surplus(
        self, node_id: int, source: Source, sector: Sector, as_of: datetime, used_m3: Decimal
    ) -> Decimal:
        """Unused surplus of one cell: budget − handed to children − used so far."""
        cell = (source, sector)
        own = self.allocation(node_id, as_of).get(cell, ZERO)
        handed_down = self.children_allocation(node_id, as_of).get(cell, ZERO)
        return own - handed_down - used_m3

    def trade_entries(
        self,
        trade: TradeRequest,
        *,
        used_m3: Decimal,
        first_entry_id: int,
        trade_id: int,
        approved_at: datetime,
        approved_by: str,
    ) -> list[LedgerEntry]:
        """The ledger legs of a trade, checked; raises ``RuleError``.

        Seller and buyer may sit in different townships: the volume then moves
        out of every node from the seller up to (not including) their lowest
        common ancestor and into every node from there down to the buyer, so
        no parent ends up with less than its children (宁夏 7.4.1 b/c: 转出区
        核减, 转入区纳入, 不得改变交易水量用途 — hence one source and sector).
        """
        scope = self._trade_scope_violations(trade)
        if scope:
            raise RuleError(scope)
        available = self.surplus(
            trade.seller_id, trade.source, trade.sector, trade.valid_from, used_m3
        )
        if trade.volume_m3 > available:
            raise RuleError(
                [
                    RuleViolation(
                        Rule.TRADE_WITHIN_SURPLUS,
                        trade.seller_id,
                        f"trade of {trade.volume_m3} m³ exceeds the seller's unused surplus of "
                        f"{available} m³ ({trade.source.value}/{trade.sector.value}, "
                        f"used {used_m3} m³)",
                        trade.volume_m3 - available,
                    )
                ]
            )
        lca = self.hierarchy.lowest_common_ancestor(trade.seller_id, trade.buyer_id)
        legs = [(n, EntryKind.TRADE_OUT) for n in self._path_below(trade.seller_id, lca)]
        legs += [(n, EntryKind.TRADE_IN) for n in self._path_below(trade.buyer_id, lca)]
        entries = [
            LedgerEntry(
                entry_id=first_entry_id + i,
                node_id=node_id,
                year=trade.year,
                kind=kind,
                source=trade.source,
                sector=trade.sector,
                volume_m3=trade.volume_m3,
                valid_from=trade.valid_from,
                approved_at=approved_at,
                approved_by=approved_by,
                reason=trade.reason,
                trade_id=trade_id,
            )
            for i, (node_id, kind) in enumerate(legs)
        ]
        violations = self.check(entries)
        if violations:
            raise RuleError(violations)
        return entries

    def _path_below(self, node_id: int, ancestor: int | None) -> list[int]:
        path = []
        for step in self.hierarchy.path_to_root(node_id):
            if step == ancestor:
                break
            path.append(step)
        return path

    def _trade_scope_violations(self, trade: TradeRequest) -> list[RuleViolation]:
        start, end = year_bounds(self.year)
        if trade.year != self.year or not start <= trade.valid_from < end:
            return [
                RuleViolation(
                    Rule.TRADE_SAME_YEAR,
                    trade.seller_id,
                    f"trade valid from {trade.valid_from.isoformat()} must lie "
                    f"in budget year {self.year}",
                )
            ]
        for node_id in (trade.seller_id, trade.buyer_id):
            if node_id not in self.hierarchy.nodes:
                raise KeyError(f"unknown node {node_id}")
        lca = self.hierarchy.lowest_common_ancestor(trade.seller_id, trade.buyer_id)
        if lca is None or lca in (trade.seller_id, trade.buyer_id):
            return [
                RuleViolation(
                    Rule.TRADE_WITHIN_SCOPE,
                    trade.seller_id,
                    "seller and buyer must be two nodes under one managed "
                    "district, neither above the other",
                )
            ]
        if trade.volume_m3 <= ZERO:
            return [
                RuleViolation(
                    Rule.POSITIVE_VOLUME,
                    trade.seller_id,
                    f"volume {trade.volume_m3} m³ is not positive",
                )
            ]
        return []


def _at(violation: RuleViolation, moment: datetime, start: datetime) -> RuleViolation:
    if moment == start:
        return violation
    return RuleViolation(
        violation.rule,
        violation.node_id,
        f"{violation.message} (from {moment.isoformat()})",
        violation.excess_m3,
        violation.subject,
    )
