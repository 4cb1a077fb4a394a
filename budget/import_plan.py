"""The result of reading an import file: nodes, issue lines and what did not add up.

Shared by the Ganzhou parsers; pure (standard library only).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from budget.hierarchy import NodeLevel
from budget.kinds import Sector, SectorFamily, Source
from budget.units import ZERO


class ImportFormatError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class NodeSpec:
    code: str
    name: str
    level: NodeLevel
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class IssueLine:
    node_code: str
    source: Source
    sector: Sector
    volume_m3: Decimal


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: str  # row | total | numbering | missing | structure
    where: str  # the row name or total concerned
    message: str
    stated: Decimal | None = None  # in the file's unit (万m³, or % for structure)
    computed: Decimal | None = None

    @property
    def difference(self) -> Decimal | None:
        if self.stated is None or self.computed is None:
            return None
        return self.computed - self.stated


@dataclass(frozen=True, slots=True)
class ImportPlan:
    year: int
    district: NodeSpec
    nodes: tuple[NodeSpec, ...]  # below the district, parents first
    issues: tuple[IssueLine, ...]
    discrepancies: tuple[Discrepancy, ...]
    non_conventional_factor: Decimal
    # The district's revenue (宁夏 5, forecast basis) where the source gives it, m³ by source.
    revenue: Mapping[Source, Decimal] = field(default_factory=dict)
    revenue_reference: str = ""
    # The district's published sector structure, percent by sector family (甘州 2.(1)):
    # recorded as the district's estimated sector split (budget.sector_split).
    sector_structure: Mapping[SectorFamily, Decimal] = field(default_factory=dict)
    district_division_code: str | None = None  # 行政区划代码 (GB/T 2260) of the district


def parse_number(text: str, where: str, problems: list[str], *, blank_ok: bool) -> Decimal | None:
    text = text.strip()
    if not text:
        if not blank_ok:
            problems.append(f"{where}: a number is required")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.append(f"{where}: {text!r} is not a number")
        return None
    if not value.is_finite() or value < 0:
        problems.append(f"{where}: {text!r} must be a non-negative number")
        return None
    return value


def read_rows(
    text: str, name: str, columns: Sequence[str], problems: list[str]
) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        problems.append(f"{name}: missing column(s) {', '.join(missing)}")
        return []
    rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    if not rows:
        problems.append(f"{name}: no rows")
    return rows


def manifest_number(manifest: Mapping[str, object], path: str, problems: list[str]) -> Decimal:
    node: object = manifest
    for key in path.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    value = parse_number(
        str(node) if node is not None else "", f"manifest {path}", problems, blank_ok=False
    )
    return value if value is not None else ZERO


def numbering_discrepancies(seqs: list[str], table: str) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    numbers = [int(s) for s in seqs if s.strip().isdigit()]
    for n in sorted({n for n in numbers if numbers.count(n) > 1}):
        found.append(Discrepancy("numbering", f"{table} #{n}", f"row number {n} is used twice"))
    if numbers:
        gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if gaps:
            found.append(
                Discrepancy(
                    "numbering", table, f"row numbers {', '.join(map(str, gaps))} are missing"
                )
            )
    return found


def describe(discrepancy: Discrepancy) -> str:
    """One line for the operator, amount in the file's unit."""
    if discrepancy.difference is None:
        return discrepancy.message
    return f"{discrepancy.message} (difference {discrepancy.difference:+})"
