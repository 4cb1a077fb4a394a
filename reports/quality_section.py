"""Data-quality summary of a report (宁夏 8 数据质量控制).

Measured here, over the listed nodes' own meters and water:

* completeness (8.1 a, 报表必填字段完整率 ≥ 95 %): readings received ÷ readings
  expected of every periodic meter (flow, power) in the month, each meter
  counted up to 100 % so a chatty meter cannot hide a silent one;
* quarantined intervals by reason (ingestion's negative/impossible deltas,
  outliers: water not counted, waiting for review);
* anomalies (8.2 a): use more than 20 % over quota (the year's budget), and use
  30 % or more off the same period of last year (monitor.quality_alerts: the
  same rules as the alerts);
* water of sites attached to no budget node (district reports): counted by
  ingestion, owned by nobody — shown, never dropped.

The other 8.1 b) tolerances (logic errors ≤ 1 %, online vs accounted ≤ 5 %,
manual readings ≤ 8 %, cross-department ≤ 3 %) need data we do not hold yet;
the card-vs-meter deviation (≤ 5 %) is an alert of monitor and appears among
the month's alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from budget.units import ZERO
from monitor.execution import BudgetPeriod, Execution
from monitor.quality_alerts import OFF_SAME_PERIOD, OVER_QUOTA, off_same_period, over_quota
from reports.document import Column, Figure, Figures, Row, Section, Table, Text, ValueKind
from reports.inputs import ReportInputs

V = ValueKind
COMPLETENESS_TOLERANCE = Decimal("0.95")  # 宁夏 8.1 a)


def _pct(value: Decimal) -> str:
    return f"{value * 100:.0f}%"


def sections(
    inputs: ReportInputs, *, rows_of: Sequence[tuple[int, Execution, Decimal]]
) -> list[Section]:
    """The summary figures and the nodes with a finding; ``rows_of`` are the listed nodes
    with their execution and last year's draw of the same period."""
    h = inputs.hierarchy
    listed = {node_id for node_id, _, _ in rows_of}
    own: dict[int, list[int]] = {}  # listed node → [expected, received, quarantined], subtree
    reasons: dict[str, int] = {}
    inside = set(h.subtree(inputs.root_id))
    meters = [m for m in inputs.meters if m.node_id in inside]
    for m in meters:
        quarantined = sum(m.quarantined.values())
        for reason, n in m.quarantined.items():
            reasons[reason] = reasons.get(reason, 0) + n
        for ancestor in h.path_to_root(m.node_id):
            if ancestor in listed:
                sums = own.setdefault(ancestor, [0, 0, 0])
                sums[0] += m.expected
                sums[1] += min(m.received, m.expected)
                sums[2] += quarantined
            if ancestor == inputs.root_id:
                break
    period = BudgetPeriod.of_year(inputs.year)
    table_rows = []
    over_count = off_count = 0
    for node_id, e, last_year in rows_of:
        over = over_quota(subject=e.node_id, period=period, at=inputs.as_of, use_m3=e.drawn_m3,
                          quota_m3=e.budget_m3).active
        off_obs = off_same_period(subject=e.node_id, period=period, at=inputs.as_of,
                                  use_m3=e.drawn_m3, past_m3=[last_year] if last_year else [])
        off = bool(off_obs and off_obs.active)
        if node_id != inputs.root_id:
            over_count += over
            off_count += off
        expected, received, quarantined = own.get(node_id, [0, 0, 0])
        completeness = Decimal(received) / expected if expected else None
        low = completeness is not None and completeness < COMPLETENESS_TOLERANCE
        if node_id != inputs.root_id and (low or quarantined or over or off):
            node = h.nodes[node_id]
            table_rows.append(Row(node.code, (
                node.name, node.code, completeness, quarantined,
                "label.yes" if over else "", "label.yes" if off else "")))
    expected, received, _ = own.get(inputs.root_id, [0, 0, 0])
    completeness = Decimal(received) / expected if expected else None
    flag = "" if completeness is None else (
        "ok" if completeness >= COMPLETENESS_TOLERANCE else "bad")
    items = [
        Figure("meters", "fig.meters", len(meters), V.COUNT),
        Figure("expected", "fig.readings_expected", expected, V.COUNT),
        Figure("received", "fig.readings_received", received, V.COUNT),
        Figure("completeness", "fig.completeness", completeness, V.RATE, flag=flag),  # type: ignore[arg-type]
        Figure("quarantined", "fig.quarantined", sum(reasons.values()), V.COUNT,
               flag="warn" if reasons else "ok"),
        Figure("over_quota", "fig.anomaly_over_quota", over_count, V.COUNT,
               flag="bad" if over_count else "ok"),
        Figure("off_same_period", "fig.anomaly_off_same_period", off_count, V.COUNT,
               flag="warn" if off_count else "ok"),
    ]
    if h.nodes[inputs.root_id].parent_id is None:
        items.append(Figure("unattributed", "fig.unattributed", inputs.unattributed_m3, V.VOLUME,
                            flag="warn" if inputs.unattributed_m3 > ZERO else "ok"))
    notes = (Text("note.quality", {"completeness": _pct(COMPLETENESS_TOLERANCE),
                                   "over_quota": _pct(OVER_QUOTA),
                                   "off_same_period": _pct(OFF_SAME_PERIOD)}),)
    columns = (
        Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
        Column("completeness", "col.completeness", V.RATE),
        Column("quarantined", "col.quarantined", V.COUNT),
        Column("over_quota", "col.anomaly_over_quota", V.LABEL),
        Column("off_same_period", "col.anomaly_off_same_period", V.LABEL),
    )
    reason_rows = tuple(Row(r, (f"quarantine.{r}", n)) for r, n in sorted(reasons.items()))
    return [
        Figures("quality", "section.quality", tuple(items), notes),
        Table("quality_nodes", "section.quality_nodes", columns, tuple(table_rows)),
        Table("quarantine_reasons", "section.quarantine_reasons",
              (Column("reason", "col.reason", V.LABEL), Column("count", "col.count", V.COUNT)),
              reason_rows),
    ]
