"""The merged header of a 宁夏 appendix table, as a grid of cells (for HTML and XLSX).

The seed's headers nest (农业预算水量 › 灌溉用水 › 引扬黄灌区); each column carries its
path. A header cell spans the adjacent columns that share its path prefix, and a
column whose path ends early spans the remaining header rows downwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from budget.accounting_tables import AccountingTable, Column


@dataclass(frozen=True, slots=True)
class HeaderCell:
    label: str
    row: int  # 0-based header row
    col: int  # 0-based column among the value columns
    rowspan: int
    colspan: int


def header_depth(columns: tuple[Column, ...]) -> int:
    return max((len(c.header) for c in columns), default=1)


def header_cells(columns: tuple[Column, ...]) -> list[HeaderCell]:
    depth = header_depth(columns)
    cells: list[HeaderCell] = []
    for level in range(depth):
        col = 0
        while col < len(columns):
            path = columns[col].header
            if len(path) <= level:
                col += 1
                continue
            prefix = path[: level + 1]
            span = 1
            while col + span < len(columns) and columns[col + span].header[: level + 1] == prefix:
                span += 1
            rowspan = depth - level if len(path) == level + 1 else 1
            cells.append(HeaderCell(path[level], level, col, rowspan, span))
            col += span
    return cells


def lead_headers(table: AccountingTable) -> tuple[str, ...]:
    """The label columns in front of the figures: 序号 and 水源类型 (A) or 行政分区 (B)."""
    return ("序号", "水源类型") if table.appendix == "A" else ("行政分区", "")


def lead_cells(table: AccountingTable, index: int) -> tuple[str, str]:
    row = table.rows[index]
    if table.appendix == "A":
        return (row.number, row.label)
    return (row.group if row.group != row.label else "", row.label)
