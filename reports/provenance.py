"""What a stored report was built from, as JSON: the inputs of the rows it lists.

Pure. The full ``ReportInputs`` of a district hold every household; a report
lists nodes down to water-user units, so its provenance keeps the listed
nodes' budgets, draw rows (this year and last), the meters' completeness
counts summed per listed node, the alerts, charges and ledger entries it
shows, the year's factor and the plan profiles used. Its SHA-256 over
canonical JSON tells whether two builds saw the same data.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reports.inputs import ReportInputs
from reports.rollup import shown_nodes


def provenance(inputs: ReportInputs) -> dict[str, Any]:
    listed = {n for n, _ in shown_nodes(inputs.hierarchy, inputs.root_id)}
    h = inputs.hierarchy
    return {
        "root": h.nodes[inputs.root_id].code,
        "year": inputs.year,
        "month": inputs.month,
        "as_of": inputs.as_of.isoformat(),
        "built_at": inputs.built_at.isoformat(),
        "non_conventional_factor": str(inputs.non_conventional_factor),
        "nodes": {str(n): [h.nodes[n].code, h.nodes[n].name, h.nodes[n].level.value,
                           h.nodes[n].parent_id] for n in sorted(listed)},
        "budgets": {str(n): {f"{s.value}/{c.value}": str(v) for (s, c), v in sorted(cells.items())}
                    for n, cells in sorted(inputs.budgets.items()) if n in listed},
        "profiles": {str(n): [str(w) for w in p.weights]
                     for n, p in sorted(inputs.profiles.items()) if n in listed},
        "draw": _rows(inputs.draw, listed),
        "draw_last_year": _rows(inputs.draw_last_year, listed),
        "meters": _meters(inputs, listed),
        "alerts": [[a.node_id, a.kind, a.severity, a.opened_at.isoformat(),
                    a.resolved_at.isoformat() if a.resolved_at else None, a.detail]
                   for a in inputs.alerts],
        "charges": [[c.node_id, c.source, str(c.use_m3), str(c.quota_m3), str(c.excess_m3),
                     str(c.surcharge), str(c.total)] for c in inputs.charges],
        "entries": [[e.entry_id, e.node_id, e.kind.value, e.source.value, e.sector.value,
                     str(e.volume_m3), e.valid_from.isoformat(), e.approved_at.isoformat()]
                    for e in inputs.entries if e.node_id in listed],
        "revenue": [[r.node_id, r.basis.value, {s.value: str(v) for s, v in r.volumes.items()}]
                    for r in inputs.revenue if r.node_id in listed],
        "unattributed_m3": str(inputs.unattributed_m3),
        "division_codes": {str(n): c for n, c in sorted(inputs.division_codes.items())
                           if n in listed},
        "texts": dict(sorted(inputs.texts.items())),
        "rollup_lag": None if inputs.rollup_lag is None else [
            inputs.rollup_lag.pending, inputs.rollup_lag.oldest_recorded_at.isoformat()],
        "reopenings": [[e.at.isoformat(), e.by, e.reason] for e in inputs.reopenings],
        "sector_splits": {
            str(n): [x.basis.value, {k.value: str(v) for k, v in x.shares.items()}, x.reference]
            for n, x in sorted(inputs.sector_splits.items())
            if n in listed or n in h.path_to_root(inputs.root_id)
        },
    }


def _rows(rows: Any, listed: set[int]) -> list[list[Any]]:
    return sorted([r.node_id, r.month, r.source, r.sector, str(r.volume_m3)]
                  for r in rows if r.node_id in listed)


def _meters(inputs: ReportInputs, listed: set[int]) -> dict[str, list[int]]:
    """Expected, received and quarantined readings per listed node (its subtree)."""
    sums: dict[int, list[int]] = {}
    for m in inputs.meters:
        for ancestor in inputs.hierarchy.path_to_root(m.node_id):
            if ancestor in listed:
                s = sums.setdefault(ancestor, [0, 0, 0])
                s[0] += m.expected
                s[1] += m.received
                s[2] += sum(m.quarantined.values())
            if ancestor == inputs.root_id:
                break
    return {str(n): v for n, v in sorted(sums.items())}


def digest(data: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON, leaving out when it was built."""
    kept = {k: v for k, v in data.items() if k != "built_at"}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).digest()
