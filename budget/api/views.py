"""Domain results → API response bodies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from budget import schemas as s
from budget.accounting import Finding
from budget.accounting_service import AccountingView, inflow_check
from budget.accounting_tables import AccountingTable
from budget.import_plan import Discrepancy
from budget.ledger import by_sector, by_source, total
from budget.repository import StoredEntry
from budget.revenue import InflowDeviation, RevenueBasis, RevenueRecord, latest
from budget.service import BudgetView
from budget.year_ledger import RuleError


def violations(error: RuleError) -> list[dict[str, object]]:
    return [
        s.ViolationOut(
            rule=v.rule.value,
            section=v.section,
            node_id=v.node_id,
            message=v.message,
            excess_m3=v.excess_m3,
        ).model_dump(mode="json")
        for v in error.violations
    ]


def entry_out(stored: StoredEntry) -> s.EntryOut:
    e = stored.entry
    decided = stored.status != "proposed"
    return s.EntryOut(
        entry_id=e.entry_id,
        node_id=e.node_id,
        year=e.year,
        kind=e.kind.value,
        source=e.source,
        sector=e.sector,
        volume_m3=e.volume_m3,
        valid_from=e.valid_from,
        reason=e.reason,
        status=stored.status,
        proposed_by=stored.proposed_by,
        proposed_at=stored.proposed_at,
        decided_by=e.approved_by if decided else None,
        decided_at=e.approved_at if decided else None,
        trade_id=e.trade_id,
    )


def budget_out(view: BudgetView, known_at: datetime | None) -> s.BudgetOut:
    return s.BudgetOut(
        node_id=view.node.node_id,
        code=view.node.code,
        year=view.year,
        as_of=view.as_of,
        known_at=known_at,
        cells=[
            s.CellOut(source=src, sector=sec, volume_m3=v)
            for (src, sec), v in sorted(view.cells.items())
        ],
        total_m3=total(view.cells),
        counted_total_m3=view.counted_total_m3,
        non_conventional_factor=view.non_conventional_factor,
        by_source=by_source(view.cells),
        by_sector=by_sector(view.cells),
        handed_to_children_m3=total(view.handed_to_children),
        time_progress=view.time_progress,
    )


def findings_out(findings: Iterable[Finding]) -> list[s.FindingOut]:
    return [s.FindingOut(check=f.check, message=f.message, amount_m3=f.amount_m3) for f in findings]


def inflow_out(inflow: InflowDeviation | None) -> s.InflowDeviationOut | None:
    if inflow is None:
        return None
    return s.InflowDeviationOut(
        forecast_m3=inflow.forecast_m3,
        updated_m3=inflow.updated_m3,
        deviation=inflow.deviation,
        by_source_kind={k.value: v for k, v in inflow.by_family.items()},
        triggered=inflow.triggered,
        findings=findings_out(inflow.findings),
    )


def revenue_record_out(record: RevenueRecord) -> s.RevenueRecordOut:
    return s.RevenueRecordOut(
        record_id=record.record_id,
        node_id=record.node_id,
        year=record.year,
        basis=record.basis.value,
        volumes=dict(record.volumes),
        total_m3=record.total_m3,
        reference=record.reference,
        recorded_by=record.recorded_by,
        recorded_at=record.recorded_at,
    )


def revenue_out(node_id: int, year: int, records: Sequence[RevenueRecord]) -> s.RevenueOut:
    forecast = latest(records, RevenueBasis.FORECAST)
    updated = latest(records, RevenueBasis.UPDATED)
    return s.RevenueOut(
        node_id=node_id,
        year=year,
        forecast=revenue_record_out(forecast) if forecast else None,
        updated=revenue_record_out(updated) if updated else None,
        dynamic_adjustment=inflow_out(inflow_check(records)),
        history=[revenue_record_out(r) for r in records],
    )


def accounting_out(view: AccountingView) -> s.AccountingOut:
    b = view.balance
    inflow = view.inflow.findings if view.inflow else ()
    findings = [*b.findings, *view.structure, *view.consistency, *inflow]
    cuts = view.cuts
    return s.AccountingOut(
        revenue_m3=b.revenue_m3,
        expenditure_m3=b.expenditure_m3,
        deviation=b.deviation,
        revenue_basis=view.revenue_basis,
        revenue_by_source=dict(view.revenue_by_source),
        expenditure_by_source=dict(view.expenditure_by_source),
        non_conventional_factor=view.non_conventional_factor,
        inflow_factor=view.inflow_factor,
        dynamic_adjustment=inflow_out(view.inflow),
        findings=findings_out(findings),
        cuts=None
        if cuts is None
        else [
            s.CutOut(
                item=c.item.name,
                source=c.item.source,
                sector=c.item.sector,
                priority=c.priority.value,
                cut_m3=c.cut_m3,
            )
            for c in cuts.cuts
        ],
        remaining_shortfall_m3=None if cuts is None else cuts.remaining_shortfall_m3,
        kept=None
        if cuts is None
        else [
            s.KeptOut(
                item=item.name,
                source=item.source,
                sector=item.sector,
                volume_m3=item.volume_m3,
                protected_m3=item.kept_m3,
                reason=item.reason,
            )
            for item in cuts.kept
        ],
        cut_by_source=None
        if cuts is None
        else [
            s.SourceCutOut(
                source_kind=c.family.value,
                revenue_m3=c.revenue_m3,
                expenditure_m3=c.expenditure_m3,
                shortfall_m3=c.shortfall_m3,
                cut_m3=c.cut_m3,
                remaining_m3=c.remaining_m3,
            )
            for c in cuts.sources
        ],
        surplus=[
            s.SurplusOut(
                source_kind=line.family.value,
                revenue_m3=line.revenue_m3,
                expenditure_m3=line.expenditure_m3,
                surplus_m3=line.surplus_m3,
                uses=[u.value for u in line.uses],
                conditional=[u.value for u in line.conditional],
            )
            for line in view.surplus
        ],
    )


def discrepancy_out(d: Discrepancy) -> s.DiscrepancyOut:
    return s.DiscrepancyOut(
        kind=d.kind,
        where=d.where,
        message=d.message,
        stated=d.stated,
        computed=d.computed,
        difference=d.difference,
    )


def table_out(table: AccountingTable) -> s.AccountingTableOut:
    return s.AccountingTableOut(
        appendix=table.appendix,
        title=table.title,
        unit=table.unit,
        fields=[s.TableFieldOut(label=f.label, value=f.value) for f in table.fields],
        columns=[s.TableColumnOut(key=c.key, header=list(c.header)) for c in table.columns],
        rows=[
            s.TableRowOut(
                number=r.number, group=r.group, label=r.label, kind=r.kind, values=list(r.values)
            )
            for r in table.rows
        ],
        notes=list(table.notes),
    )
