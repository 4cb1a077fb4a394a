"""Benchmark: effective budgets of a 100,000-household hierarchy, as of one moment.

    python -m budget.benchmark [--households 100000] [--runs 5]

Builds district → 20 townships → 2,000 units → households (50 per unit), one
issue per node plus supplements and cuts for some households, then times the
derivation of every node's effective budget from the ledger and the roll-up of
what each parent has handed to its children. Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal

from budget.kinds import Cell, Sector, Source
from budget.ledger import EntryKind, LedgerEntry, effective_budgets
from budget.units import ZERO
from budget.year_ledger import BUDGET_TIMEZONE

START = datetime(2024, 1, 1, tzinfo=BUDGET_TIMEZONE)
AS_OF = datetime(2024, 6, 1, tzinfo=BUDGET_TIMEZONE)


def build(households: int) -> tuple[dict[int, int | None], list[LedgerEntry]]:
    parents: dict[int, int | None] = {0: None}
    units = max(1, households // 50)
    townships = 20
    for t in range(townships):
        parents[1 + t] = 0
    for u in range(units):
        parents[1 + townships + u] = 1 + u % townships
    first_household = 1 + townships + units
    for h in range(households):
        parents[first_household + h] = 1 + townships + h % units
    entries: list[LedgerEntry] = []
    cell: Cell = (Source.GROUNDWATER, Sector.IRRIGATION)

    def add(node: int, kind: EntryKind, volume: int, day: int) -> None:
        entries.append(
            LedgerEntry(
                len(entries),
                node,
                2024,
                kind,
                cell[0],
                cell[1],
                Decimal(volume),
                START + timedelta(days=day),
                START + timedelta(days=day),
                "bench",
                "bench",
            )
        )

    for node in parents:
        add(node, EntryKind.ISSUE, 1000 if node >= first_household else 10**9, 0)
    for h in range(0, households, 10):
        add(first_household + h, EntryKind.SUPPLEMENT, 100, 120)
    for h in range(0, households, 20):
        add(first_household + h, EntryKind.CUT, 50, 200)  # after AS_OF: must not count
    return parents, entries


def derive(parents: dict[int, int | None], entries: list[LedgerEntry]) -> dict[int, Decimal]:
    """Every node's effective total, and per parent the total handed to its children."""
    budgets = effective_budgets(entries, year=2024, as_of=AS_OF)
    handed: dict[int, Decimal] = {}
    for node, cells in budgets.items():
        parent = parents[node]
        if parent is not None:
            handed[parent] = handed.get(parent, ZERO) + sum(cells.values(), ZERO)
    return handed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    parents, entries = build(args.households)
    times = []
    for _ in range(args.runs):
        began = time.perf_counter()
        handed = derive(parents, entries)
        times.append(time.perf_counter() - began)
    expected = args.households * 1000 + (args.households // 10) * 100
    assert sum(v for n, v in handed.items() if n > 20) == expected, "wrong derivation"
    print(
        f"{len(parents):,} nodes ({args.households:,} households), {len(entries):,} entries: "
        f"effective budgets as of {AS_OF.date()} in {statistics.median(times):.3f} s "
        f"(median of {args.runs}; min {min(times):.3f} s, max {max(times):.3f} s)"
    )


if __name__ == "__main__":
    main()
