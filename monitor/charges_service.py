"""Over-quota charges of the water users, from the roll-ups, the ledger and the tariffs.

Water users are the leaf nodes. Per year and source family: use = the node's
draw (``monitor_node_period``), quota = its effective budget of that family at
the data clock; use over quota is charged with the most specific tariff
(``choose_tariff``: the nearest area up the hierarchy, then the source family,
then the crop class, each before "any") by ``monitor.charges.progressive_charge``.
Without a tariff for the year nothing is charged (no price, no charge).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.kinds import Source
from budget.ledger import effective_budgets
from budget.repository.connection import Conn
from monitor.charges import TierSchedule, progressive_charge
from monitor.periods import draw_day
from monitor.repository import budgets as budget_repo
from monitor.repository import charges as repo

ZERO = Decimal(0)


def family_of(source: str) -> str | None:
    try:
        return Source(source).family.value
    except ValueError:
        return None


def choose_tariff(tariffs: Sequence[dict[str, Any]], *, path: Sequence[int], family: str,
                  crop_class: str | None) -> dict[str, Any] | None:
    """Nearest area first (then any area), then this source family, then this crop class."""
    index = {(t["area_node_id"], t["source_family"], t["crop_class"]): t for t in tariffs}
    for area in (*path, None):
        for source in (family, None):
            for crop in ((crop_class, None) if crop_class else (None,)):
                found = index.get((area, source, crop))
                if found is not None:
                    return found
    return None


def schedule_of(tariff: dict[str, Any]) -> TierSchedule:
    return TierSchedule.of(*((b["up_to"], b["multiplier"]) for b in tariff["bands"]))


def compute_charges(conn: Conn, *, at: datetime) -> int:
    year = draw_day(at).year
    tariffs = repo.tariffs(conn, year=year)
    if not tariffs:
        repo.replace_charges(conn, year=year, rows=[])
        return 0
    use: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for node_id, source, volume in repo.leaf_draws(conn, period=str(year)):
        family = family_of(source)
        if family is not None:
            use[(node_id, family)] += volume
    nodes = sorted({n for n, _ in use})
    quotas: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    budgets = effective_budgets(budget_repo.entries(conn, node_ids=nodes, year=year),
                                year=year, as_of=at)
    for node_id, cells in budgets.items():
        for (source, _sector), volume in cells.items():
            quotas[(node_id, source.family.value)] += volume
    paths = repo.ancestors(conn, node_ids=nodes)
    crops = repo.crop_classes(conn)
    rows = []
    for (node_id, family), used in sorted(use.items()):
        quota = quotas.get((node_id, family), ZERO)
        if used <= quota:
            continue
        tariff = choose_tariff(tariffs, path=paths.get(node_id, [node_id]), family=family,
                               crop_class=crops.get(node_id))
        if tariff is None:
            continue
        charge = progressive_charge(use_m3=used, quota_m3=quota,
                                    price_per_m3=tariff["price_per_m3"],
                                    schedule=schedule_of(tariff))
        bands = json.dumps([{"from_m3": str(b.from_m3),
                             "to_m3": None if b.to_m3 is None else str(b.to_m3),
                             "volume_m3": str(b.volume_m3), "multiplier": str(b.multiplier),
                             "amount": str(b.amount), "surcharge": str(b.surcharge)}
                            for b in charge.bands])
        rows.append((node_id, family, at, used, quota, charge.excess_m3, charge.price_per_m3,
                     charge.within_quota_amount, charge.total, charge.surcharge, bands,
                     tariff["tariff_id"]))
    repo.replace_charges(conn, year=year, rows=rows)
    return len(rows)


