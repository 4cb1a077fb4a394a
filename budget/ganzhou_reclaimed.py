"""The reclaimed-water plan (2024年甘州区中水配置计划) and the sector structure check.

Part of the Ganzhou import; see ``budget.ganzhou_import``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from budget.hierarchy import NodeLevel
from budget.import_plan import (
    Discrepancy,
    IssueLine,
    NodeSpec,
    manifest_number,
    numbering_discrepancies,
    parse_number,
    read_rows,
)
from budget.kinds import Sector, SectorFamily, Source
from budget.units import ZERO, from_10k_m3

RECLAIMED_COLUMNS = ("seq", "code", "user", "location", "sector", "used_2023", "planned_2024")


def parse_reclaimed(
    manifest: Mapping[str, object],
    text: str,
    district_code: str,
    codes: set[str],
    problems: list[str],
    nodes: list[NodeSpec],
    issues: list[IssueLine],
    found: list[Discrepancy],
) -> None:
    stated_2023 = manifest_number(manifest, "reclaimed.stated_totals.used_2023", problems)
    stated_2024 = manifest_number(manifest, "reclaimed.stated_totals.planned_2024", problems)
    rows = read_rows(text, "reclaimed", RECLAIMED_COLUMNS, problems)
    sum_2023 = sum_2024 = ZERO
    for index, row in enumerate(rows, start=2):
        where = f"reclaimed line {index}"
        code, user = row["code"].strip(), row["user"].strip()
        if not code or not user:
            problems.append(f"{where}: code and user are required")
        elif code in codes:
            problems.append(f"{where} code: {code!r} is used twice")
        codes.add(code)
        try:
            sector = Sector(row["sector"].strip())
        except ValueError:
            problems.append(f"{where} sector: {row['sector']!r} is not a sector")
            sector = Sector.UNSPECIFIED
        used = parse_number(row["used_2023"], f"{where} used_2023", problems, blank_ok=True)
        planned = parse_number(
            row["planned_2024"], f"{where} planned_2024", problems, blank_ok=True
        )
        name = f"{user}（{row['location'].strip()}）" if row["location"].strip() else user
        nodes.append(NodeSpec(code, name, NodeLevel.UNIT, district_code))
        sum_2023 += used or ZERO
        sum_2024 += planned or ZERO
        if planned is None:
            found.append(Discrepancy("missing", name, f"{name}: no 2024 volume; nothing issued"))
        elif planned:
            issues.append(IssueLine(code, Source.RECLAIMED, sector, from_10k_m3(planned)))
    for label, total, stated in (
        ("2023年用量", sum_2023, stated_2023),
        ("2024年用量", sum_2024, stated_2024),
    ):
        if rows and total != stated:
            found.append(
                Discrepancy(
                    "total",
                    f"中水 合计 {label}",
                    f"中水 合计 {label}: stated {stated}, rows add up to {total}",
                    stated,
                    total,
                )
            )
    found += numbering_discrepancies([r["seq"] for r in rows], "reclaimed")
    issues.insert(
        2, IssueLine(district_code, Source.RECLAIMED, Sector.UNSPECIFIED, from_10k_m3(stated_2024))
    )


_FAMILIES = ("agriculture", "industry", "domestic", "ecology")


def structure_percent(manifest: Mapping[str, object]) -> dict[SectorFamily, Decimal]:
    """The manifest's published structure, percent by sector family (checked by
    ``sector_structure`` first); empty when the manifest gives none."""
    raw = manifest.get("sector_structure_percent")
    if not isinstance(raw, Mapping):
        return {}
    return {SectorFamily(str(k)): Decimal(str(v)) for k, v in raw.items()}


def sector_structure(manifest: Mapping[str, object], problems: list[str]) -> list[Discrepancy]:
    raw = manifest.get("sector_structure_percent")
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        problems.append("manifest sector_structure_percent: must map sector to percent")
        return []
    shares = [
        parse_number(str(v), f"manifest sector_structure_percent.{k}", problems, blank_ok=False)
        for k, v in raw.items()
    ]
    for key in raw:
        if str(key) not in _FAMILIES:
            problems.append(
                f"manifest sector_structure_percent.{key}: not one of {', '.join(_FAMILIES)}"
            )
    total = sum((s or ZERO for s in shares), ZERO)
    if total != 100:
        return [
            Discrepancy(
                "structure",
                "用水结构配置",
                f"sector shares add up to {total}%, not 100%",
                Decimal(100),
                total,
            )
        ]
    return []
