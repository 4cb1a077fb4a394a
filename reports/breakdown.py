"""Tables both reports share: budget against draw by source and by sector, charges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from budget.kinds import Sector, Source
from budget.ledger import Allocation
from budget.sector_split import split_cells, split_of
from budget.units import ZERO
from reports.document import Column, Row, Table, Text, ValueKind
from reports.inputs import ReportInputs
from reports.rollup import shown_nodes

V = ValueKind


def source_key(source: str) -> str:
    """Message key of a source; a registry spelling without a budget kind shows as it is."""
    return f"source.{source}" if source in _SOURCES else source


def sector_key(sector: str) -> str:
    return f"sector.{sector}" if sector in _SECTORS else sector


_SOURCES = [s.value for s in Source]
_SECTORS = [s.value for s in Sector]


def ordered(keys: set[str], known: list[str]) -> list[str]:
    """Budget kinds in the seed's order, anything else after them by name."""
    return [k for k in known if k in keys] + sorted(keys - set(known))


def rate(part: Decimal, whole: Decimal) -> Decimal | None:
    return part / whole if whole > 0 else None


def change(now: Decimal, before: Decimal) -> Decimal | None:
    """Relative change against the same period last year; None without last year's water."""
    return (now - before) / before if before > 0 else None


def split_budget(inputs: ReportInputs, cells: Allocation) -> tuple[Allocation, tuple[Text, ...]]:
    """The root's budget with 未分行业 volumes spread by its sector split (budget.sector_split)
    and the note the by-sector table shows when the split is an estimate."""
    split = split_of(inputs.hierarchy, inputs.sector_splits, inputs.root_id)
    if split is None or not any(sec is Sector.UNSPECIFIED and v for (_, sec), v in cells.items()):
        return cells, ()
    note = Text(f"note.sector_split.{split.basis.value}", {"reference": split.reference or "—"})
    return split_cells(cells, split), (note,)


def breakdown_table(
    *,
    key: str,
    title: str,
    by: str,  # "source" | "sector"
    budget: Mapping[str, Decimal],
    drawn: Mapping[str, Decimal],
    extra: Mapping[str, tuple[Column, Mapping[str, Decimal]]] | None = None,
    last_year: Mapping[str, Decimal] | None = None,
) -> Table:
    """Budget, draw and rate per kind, with a total row; ``extra`` adds volume columns
    (month draw …) before the rate, ``last_year`` the comparison after it."""
    label: Callable[[str], str] = source_key if by == "source" else sector_key
    known = _SOURCES if by == "source" else _SECTORS
    extra = extra or {}
    keys = set(budget) | set(drawn) | {k for _, m in extra.values() for k in m}
    columns = [
        Column(by, f"col.{by}", V.LABEL),
        Column("budget", "col.budget", V.VOLUME),
        Column("drawn", "col.drawn_ytd", V.VOLUME),
        *(c for c, _ in extra.values()),
        Column("rate", "col.execution_rate", V.RATE),
    ]
    if last_year is not None:
        columns += [
            Column("last_year", "col.last_year", V.VOLUME),
            Column("change", "col.change_vs_last_year", V.RATE),
        ]

    def cells(
        b: Decimal, d: Decimal, more: list[Decimal], ly: Decimal | None
    ) -> tuple[Decimal | None, ...]:
        tail: tuple[Decimal | None, ...] = ()
        if ly is not None:
            tail = (ly, change(d, ly))
        return (b, d, *more, rate(d, b), *tail)

    rows = []
    for k in ordered(keys, known):
        more = [m.get(k, ZERO) for _, m in extra.values()]
        ly = None if last_year is None else last_year.get(k, ZERO)
        rows.append(Row(k, (label(k), *cells(budget.get(k, ZERO), drawn.get(k, ZERO), more, ly))))
    total_more = [sum(m.values(), ZERO) for _, m in extra.values()]
    total_ly = None if last_year is None else sum(last_year.values(), ZERO)
    total = cells(sum(budget.values(), ZERO), sum(drawn.values(), ZERO), total_more, total_ly)
    rows.append(Row("total", ("label.total", *total), style="total"))
    return Table(key, title, tuple(columns), tuple(rows))


def listed_under(inputs: ReportInputs) -> dict[int, int]:
    """Every node of the root's subtree → the listed row it counts in (itself, or the nearest
    listed ancestor: a household's figures appear in its unit's row of a district report)."""
    h = inputs.hierarchy
    listed = {n for n, _ in shown_nodes(h, inputs.root_id)}
    under: dict[int, int] = {}
    for node_id in h.subtree(inputs.root_id):  # parents before children
        parent = h.nodes[node_id].parent_id
        under[node_id] = node_id if node_id in listed or parent is None else under[parent]
    return under


def charges_table(inputs: ReportInputs) -> Table:
    """Over-quota progressive charges (超定额累进加价) of the water users under the root,
    summed per listed row (a unit's report lists each household)."""
    h = inputs.hierarchy
    under = listed_under(inputs)
    columns = (
        Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
        Column("source", "col.source", V.LABEL), Column("users", "col.charged_users", V.COUNT),
        Column("use", "col.use", V.VOLUME), Column("quota", "col.quota", V.VOLUME),
        Column("excess", "col.excess", V.VOLUME), Column("surcharge", "col.surcharge", V.MONEY),
        Column("total", "col.charge_total", V.MONEY),
    )
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for c in inputs.charges:
        row = under.get(c.node_id)
        if row is None:
            continue
        line = sums.setdefault((h.nodes[row].code, c.source), [ZERO] * 6)
        for i, v in enumerate((Decimal(1), c.use_m3, c.quota_m3, c.excess_m3, c.surcharge,
                               c.total)):
            line[i] += v
    codes = {n.code: n for n in (h.nodes[r] for r in set(under.values()))}
    rows = [Row(f"{code}/{source}", (codes[code].name, code, source_key(source), int(v[0]),
                                     *v[1:]))
            for (code, source), v in sorted(sums.items())]
    if rows:
        totals = [sum((v[i] for v in sums.values()), ZERO) for i in range(6)]
        rows.append(Row("total", ("label.total", "", "", int(totals[0]), *totals[1:]),
                        style="total"))
    return Table("charges", "section.charges", columns, tuple(rows), (Text("note.charges"),),
                 revises=False)
