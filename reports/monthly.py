"""The monthly execution-progress report of one node (月度水预算执行进度报告), as a Document.

Pure: ``ReportInputs`` in, ``Document`` out. For the node and every node listed
under it (down to water-user units): budget, cumulative draw of the year by
source and sector, execution rate, time progress of the plan profile, the
change against the same period last year, the budget levels reached this month
and monitor's alerts, a data-quality summary (宁夏 8.1 a completeness ≥ 95 %,
8.2 a anomalies) and over-quota charges (超定额累进加价).

The execution figures are monitor's (``monitor.execution.evaluate_execution``
over the budget year, ``monitor.budget_alerts.budget_level``), so the report,
the alerts and the dashboards agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from budget.plan_profile import PlanProfile, profile_for
from budget.units import ZERO
from monitor.budget_alerts import Level, budget_level
from monitor.execution import BudgetPeriod, Execution, evaluate_execution
from reports import quality_section
from reports.breakdown import (
    breakdown_table,
    change,
    charges_table,
    listed_under,
    split_budget,
)
from reports.document import (
    Chart,
    Column,
    Document,
    Figure,
    Figures,
    Row,
    Section,
    Series,
    Table,
    Text,
    ValueKind,
)
from reports.formatting import local_time
from reports.inputs import AlertRecord, ReportInputs
from reports.rollup import (
    NodeDraw,
    budget_cells,
    by_sector,
    by_source,
    counted_budget,
    node_draws,
    shown_nodes,
)

V = ValueKind


class ReportError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class NodeExecution:
    """One listed node's figures for the month (counted volumes, m³)."""

    node_id: int
    depth: int
    execution: Execution  # the year so far, at as_of
    month_m3: Decimal
    last_year_m3: Decimal  # same period last year
    level: Level | None  # reached at as_of
    level_at_month_start: Level | None

    @property
    def change_vs_last_year(self) -> Decimal | None:
        return change(self.execution.drawn_m3, self.last_year_m3)


def profile_of(inputs: ReportInputs, node_id: int) -> PlanProfile:
    """The node's own plan profile, else its budget's dominant sector's (as ``budget.service``
    and the monitor, ``budget.plan_profile.profile_for``)."""
    return profile_for(inputs.profiles.get(node_id), inputs.budgets.get(node_id, {}))


def month_period(inputs: ReportInputs) -> BudgetPeriod:
    period = BudgetPeriod.of_month(inputs.year, inputs.month)
    if not period.start < inputs.as_of <= period.end:
        raise ReportError(f"as_of {inputs.as_of.isoformat()} is not within {period.label}")
    return period


def executions(
    inputs: ReportInputs, draws: dict[int, NodeDraw], last: dict[int, NodeDraw]
) -> list[NodeExecution]:
    year = BudgetPeriod.of_year(inputs.year)
    month_start = month_period(inputs).start
    factor = inputs.non_conventional_factor
    out = []
    for node_id, depth in shown_nodes(inputs.hierarchy, inputs.root_id):
        draw = draws.get(node_id) or NodeDraw()
        budget = counted_budget(inputs.budgets.get(node_id, {}), factor)
        profile = profile_of(inputs, node_id)
        ytd = draw.counted_until(inputs.month)
        month = draw.counted_in(inputs.month)
        execution = evaluate_execution(node_id=inputs.hierarchy.nodes[node_id].code, period=year,
                                       at=inputs.as_of, drawn_m3=ytd, budget_m3=budget,
                                       profile=profile)
        before = evaluate_execution(node_id=execution.node_id, period=year, at=month_start,
                                    drawn_m3=ytd - month, budget_m3=budget, profile=profile)
        out.append(NodeExecution(node_id, depth, execution, month,
                                 (last.get(node_id) or NodeDraw()).counted_until(inputs.month),
                                 budget_level(execution), budget_level(before)))
    return out


def monthly_report(inputs: ReportInputs) -> Document:
    """The month's execution-progress report of ``inputs.root_id``."""
    period = month_period(inputs)
    h = inputs.hierarchy
    factor = inputs.non_conventional_factor
    draws = node_draws(inputs.draw, factor)
    last = node_draws(inputs.draw_last_year, factor)
    rows = executions(inputs, draws, last)
    root = rows[0]
    root_draw = draws.get(inputs.root_id) or NodeDraw()
    root_last = last.get(inputs.root_id) or NodeDraw()
    split, split_notes = split_budget(inputs, inputs.budgets.get(inputs.root_id, {}))
    own = budget_cells(split)
    month_rolled = _month_cells(inputs)
    month_column = Column("month", "col.drawn_month", V.VOLUME)
    summary = _summary(root)
    sections: list[Section] = [
        replace(summary, notes=lag_notes(inputs) + summary.notes),
        breakdown_table(
            key="by_source", title="section.by_source", by="source", budget=by_source(own),
            drawn=by_source(root_draw.cells),
            extra={"month": (month_column, by_source(month_rolled))},
            last_year=by_source(root_last.cells)),
        replace(breakdown_table(
            key="by_sector", title="section.by_sector", by="sector", budget=by_sector(own),
            drawn=by_sector(root_draw.cells),
            extra={"month": (month_column, by_sector(month_rolled))},
            last_year=by_sector(root_last.cells)), notes=split_notes),
        _monthly_chart(inputs, root, root_draw),
    ]
    children = [r for r in rows if r.depth == 1]
    if children and h.nodes[inputs.root_id].level.value not in ("unit",):
        sections.append(_children_chart(inputs, children))
    sections += [
        _node_table(inputs, rows),
        *procedure_table(inputs),
        _levels_reached(inputs, rows),
        _alerts(inputs),
        *quality_section.sections(inputs, rows_of=[(r.node_id, r.execution, r.last_year_m3)
                                                   for r in rows]),
        charges_table(inputs),
    ]
    node = h.nodes[inputs.root_id]
    return Document("monthly", "title.monthly", node.code, node.name, node.level.value,
                    period.label, inputs.as_of, inputs.built_at, tuple(sections))


def _month_cells(inputs: ReportInputs) -> dict[tuple[str, str], Decimal]:
    """Full volumes of the report's month in the root's subtree, by cell."""
    cells: dict[tuple[str, str], Decimal] = {}
    for row in inputs.draw:
        if row.month == inputs.month and row.node_id == inputs.root_id:
            key = (row.source, row.sector)
            cells[key] = cells.get(key, ZERO) + row.volume_m3
    return cells


def _level_flag(level: Level | None) -> str:
    return {None: "ok", Level.NOTICE: "warn", Level.WARNING: "warn", Level.OVERRUN: "bad"}[level]


def _summary(root: NodeExecution) -> Figures:
    e = root.execution
    planned = e.budget_m3 * e.time_progress
    points = None if e.execution_rate is None else e.execution_rate - e.time_progress
    items = (
        Figure("budget", "fig.budget", e.budget_m3, V.VOLUME),
        Figure("drawn", "fig.drawn_ytd", e.drawn_m3, V.VOLUME),
        Figure("rate", "fig.execution_rate", e.execution_rate, V.RATE,
               flag=_level_flag(root.level)),  # type: ignore[arg-type]
        Figure("time_progress", "fig.time_progress", e.time_progress, V.RATE),
        Figure("planned", "fig.planned_to_date", planned, V.VOLUME),
        Figure("points", "fig.rate_minus_progress", points, V.POINTS),
        Figure("month", "fig.drawn_month", root.month_m3, V.VOLUME),
        Figure("last_year", "fig.last_year", root.last_year_m3, V.VOLUME),
        Figure("change", "fig.change_vs_last_year", root.change_vs_last_year, V.RATE),
        Figure("projected", "fig.projected_year_end", e.projected_m3, V.VOLUME),
        Figure("remaining", "fig.remaining", e.remaining_m3, V.VOLUME,
               flag="bad" if e.remaining_m3 < 0 else ""),
        Figure("exhaustion", "fig.projected_exhaustion", e.exhaustion_at, V.TIME),
    )
    return Figures("summary", "section.summary", items, (Text("note.counted"),))


def procedure_table(inputs: ReportInputs) -> list[Table]:
    """Listed nodes late in the budget procedure (甘州 3.(1)① 45日告知, ⑦ 提前60天调整)."""
    h = inputs.hierarchy
    rows = tuple(
        Row(h.nodes[n].code, (h.nodes[n].name, h.nodes[n].code, "；".join(messages)))
        for n, messages in sorted(inputs.procedure_late.items())
    )
    if not rows:
        return []
    return [Table("procedure_late", "section.procedure_late",
                  (Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
                   Column("late", "col.detail", V.TEXT)), rows)]


def lag_notes(inputs: ReportInputs) -> tuple[Text, ...]:
    """Say plainly when the monitor's roll-ups lag behind the data (and how far):
    the figures then miss water that is in the database."""
    lag = inputs.rollup_lag
    if lag is None:
        return ()
    hours = max(Decimal(0), Decimal((inputs.built_at - lag.oldest_recorded_at).total_seconds())
                / 3600).quantize(Decimal("0.1"))
    return (Text("note.rollup_lag", {
        "pending": str(lag.pending), "hours": f"{hours}",
        "since": local_time(lag.oldest_recorded_at),
        "data": local_time(lag.earliest_data_at) if lag.earliest_data_at else "—",
    }),)


def _monthly_chart(inputs: ReportInputs, root: NodeExecution, draw: NodeDraw) -> Chart:
    profile = profile_of(inputs, inputs.root_id)
    budget = root.execution.budget_m3
    planned = tuple(budget * w for w in profile.weights)
    drawn = tuple(draw.counted_by_month[m] if m < inputs.month else None for m in range(12))
    return Chart("monthly_plan", "chart.monthly_plan", tuple(str(m) for m in range(1, 13)),
                 (Series("series.drawn", drawn, "bar"), Series("series.planned", planned, "line")),
                 V.VOLUME, "axis.month")


def _children_chart(inputs: ReportInputs, children: list[NodeExecution]) -> Chart:
    names = tuple(inputs.hierarchy.nodes[c.node_id].name for c in children)
    return Chart("children_execution", "chart.children_execution", names,
                 (Series("series.execution_rate",
                         tuple(c.execution.execution_rate for c in children), "bar"),
                  Series("series.time_progress",
                         tuple(c.execution.time_progress for c in children), "line")),
                 V.RATE)


def _node_table(inputs: ReportInputs, rows: list[NodeExecution]) -> Table:
    h = inputs.hierarchy
    columns = (
        Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
        Column("level", "col.level", V.LABEL), Column("budget", "col.budget", V.VOLUME),
        Column("drawn", "col.drawn_ytd", V.VOLUME), Column("month", "col.drawn_month", V.VOLUME),
        Column("rate", "col.execution_rate", V.RATE),
        Column("progress", "col.time_progress", V.RATE),
        Column("points", "col.rate_minus_progress", V.POINTS),
        Column("last_year", "col.last_year", V.VOLUME),
        Column("change", "col.change_vs_last_year", V.RATE),
        Column("remaining", "col.remaining", V.VOLUME), Column("status", "col.status", V.LABEL),
    )
    out = []
    for r in rows:
        node, e = h.nodes[r.node_id], r.execution
        points = None if e.execution_rate is None else e.execution_rate - e.time_progress
        out.append(Row(node.code, (
            node.name, node.code, f"level.{node.level.value}", e.budget_m3, e.drawn_m3,
            r.month_m3, e.execution_rate, e.time_progress, points, r.last_year_m3,
            r.change_vs_last_year, e.remaining_m3, f"status.{r.level.value if r.level else 'ok'}",
        ), style="total" if r.depth == 0 else "child", depth=r.depth))
    return Table("nodes", "section.nodes", columns, tuple(out))


_RANK = {None: 0, Level.NOTICE: 1, Level.WARNING: 2, Level.OVERRUN: 3}


def _levels_reached(inputs: ReportInputs, rows: list[NodeExecution]) -> Table:
    """Budget levels (80/90/100 %) a node reached during the month: warnings and overruns."""
    columns = (
        Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
        Column("before", "col.level_at_month_start", V.LABEL),
        Column("after", "col.level_at_as_of", V.LABEL),
        Column("rate", "col.execution_rate", V.RATE),
        Column("reached_at", "col.level_reached_at", V.TIME),
    )
    out = []
    for r in rows:
        if _RANK[r.level] > _RANK[r.level_at_month_start]:
            node = inputs.hierarchy.nodes[r.node_id]
            before = r.level_at_month_start.value if r.level_at_month_start else "ok"
            after = r.level.value if r.level else "ok"
            out.append(Row(node.code, (node.name, node.code, f"status.{before}",
                                       f"status.{after}", r.execution.execution_rate,
                                       _reached_at(inputs, r.node_id, r.level))))
    return Table("levels_reached", "section.levels_reached", columns, tuple(out),
                 (Text("note.levels"),))


def _reached_at(inputs: ReportInputs, node_id: int, level: Level | None) -> datetime | None:
    """When the node reached its level this month (data time), from the alert history;
    None where the monitor recorded no crossing (no alert before a budget is issued)."""
    if level is None:
        return None
    wanted = level.severity.value
    found = [c.at for c in inputs.level_crossings
             if c.node_id == node_id and c.severity == wanted]
    return min(found) if found else None


def _alerts(inputs: ReportInputs) -> Table:
    """Monitor's alerts live during the month, per listed row, kind and severity: how many,
    the first opened, how many still open (a unit's report lists each household)."""
    h = inputs.hierarchy
    under = listed_under(inputs)
    columns = (
        Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
        Column("kind", "col.alert_kind", V.LABEL), Column("severity", "col.severity", V.LABEL),
        Column("count", "col.alerts", V.COUNT), Column("live", "col.alerts_live", V.COUNT),
        Column("opened", "col.first_opened_at", V.TIME),
    )
    groups: dict[tuple[str, str, str], list[AlertRecord]] = {}
    for a in inputs.alerts:
        row = under.get(a.node_id)
        if row is not None:
            groups.setdefault((h.nodes[row].code, a.kind, a.severity), []).append(a)
    names = {h.nodes[r].code: h.nodes[r].name for r in set(under.values())}
    rows = tuple(
        Row(f"{code}/{kind}/{severity}",
            (names[code], code, f"alert.{kind}", f"severity.{severity}", len(found),
             sum(1 for a in found if a.resolved_at is None), min(a.opened_at for a in found)))
        for (code, kind, severity), found in sorted(groups.items())
    )
    return Table("alerts", "section.alerts", columns, rows, revises=False)
