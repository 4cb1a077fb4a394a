"""What a report is built from, as plain data (read by ``reports.repository`` and
``reports.draw_query``; made by hand in unit tests and the benchmark).

Draw is given per node as its **total**: the water attributed to the node and
to every node below it (monitor's roll-up ``monitor_node_day.total_m3``, whose
one definition gives each counted cubic metre to exactly one node: a site's
source of truth, shared among the card holders who drew it). Budgets are each
node's own effective budget from the ledger (``budget.ledger``), not a sum of
its children.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from budget.cut_list import ProtectedVolumes
from budget.hierarchy import Hierarchy
from budget.ledger import Allocation, LedgerEntry
from budget.plan_profile import PlanProfile
from budget.revenue import RevenueRecord
from budget.sector_split import SectorSplit
from budget.year_closure import YearEvent


@dataclass(frozen=True, slots=True)
class DrawRow:
    """Counted water of a node and its subtree in one month of a budget year."""

    node_id: int
    month: int  # 1..12, China time; an interval ending at midnight belongs to the day before
    source: str  # budget.kinds.Source value, or the registry's spelling when it has none
    sector: str  # budget.kinds.Sector value; 'unspecified' where the attachment names none
    volume_m3: Decimal


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert live during the period (monitor's alerts)."""

    node_id: int
    kind: str
    severity: str  # notice | warning | critical
    opened_at: datetime
    resolved_at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class LevelCrossing:
    """A budget level reached, at the data time it happened: an ``opened`` or ``escalated``
    event of a node's all-sources ``budget_level`` alert (monitor's alert history)."""

    node_id: int
    severity: str  # notice | warning | critical (= overrun)
    at: datetime


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """An over-quota progressive charge (monitor's charges, 超定额累进加价)."""

    node_id: int
    source: str
    use_m3: Decimal
    quota_m3: Decimal
    excess_m3: Decimal
    surcharge: Decimal  # yuan above the base price
    total: Decimal  # yuan


@dataclass(frozen=True, slots=True)
class MeterQuality:
    """Readings of one periodic meter (flow or power) in the period, for completeness."""

    node_id: int
    meter_id: str
    expected: int  # readings the meter should have sent (installed time ÷ interval)
    received: int
    quarantined: Mapping[str, int] = field(default_factory=dict)  # reason → intervals


@dataclass(frozen=True, slots=True)
class RollupLag:
    """Data changes the monitor has not rolled up yet when the report is built."""

    pending: int  # monitor_changes rows still waiting
    oldest_recorded_at: datetime  # when the oldest of them was written
    earliest_data_at: datetime | None  # the earliest data time they touch


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Everything a monthly report or the final accounts of one node needs."""

    hierarchy: Hierarchy
    root_id: int
    year: int
    month: int  # 12 for the final accounts
    as_of: datetime  # data up to here
    built_at: datetime  # ledger entries approved by then count (known_at)
    budgets: Mapping[int, Allocation]  # own effective budget at as_of
    profiles: Mapping[int, PlanProfile]  # nodes with their own plan profile
    draw: Sequence[DrawRow]  # this year, up to as_of
    draw_last_year: Sequence[DrawRow]  # last year, up to the same moment
    non_conventional_factor: Decimal = Decimal(0)
    alerts: Sequence[AlertRecord] = ()
    level_crossings: Sequence[LevelCrossing] = ()  # during the period, data time order
    charges: Sequence[ChargeRecord] = ()
    meters: Sequence[MeterQuality] = ()
    unattributed_m3: Decimal = Decimal(0)  # counted water of sites attached to no node
    entries: Sequence[LedgerEntry] = ()  # the year's approved ledger (final accounts)
    revenue: Sequence[RevenueRecord] = ()  # recorded revenue (appendix tables)
    # sector splits of budgets issued by source only (budget.sector_split), by node
    sector_splits: Mapping[int, SectorSplit] = field(default_factory=dict)
    # 7.1.2 figures recorded per node (budget.cut_list), for 收支平衡分析
    protected: Mapping[int, ProtectedVolumes] = field(default_factory=dict)
    # 行政区划代码 of nodes, and the operator-written texts of the root's final accounts
    division_codes: Mapping[int, str] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    # administrators' reopenings of the closed year (budget.year_closure), oldest first
    reopenings: Sequence[YearEvent] = ()
    rollup_lag: RollupLag | None = None  # None: the roll-ups are up to date with the data
    # what is late in the budget procedure of listed nodes (budget.procedure), by node
    procedure_late: Mapping[int, Sequence[str]] = field(default_factory=dict)
