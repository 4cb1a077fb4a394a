"""Parse the Ganzhou allocation table and reclaimed-water plan into an import plan.

Pure: takes the manifest (already parsed YAML) and the CSV texts; the file
format is documented in docs/budget-import.md. Two kinds of trouble:

- a malformed file (missing column, not a number, unknown level or sector,
  duplicate code) raises ``ImportFormatError`` listing every problem by file,
  row and field — nothing is imported;
- figures that do not add up (a row whose subtotal is not surface + ground,
  a column whose sum is not the stated total, numbering gaps, a percentage
  structure that is not 100) are *reported* as ``Discrepancy`` by name and
  amount. Nothing is corrected: the issued volumes are the source cells as
  printed, and the operator decides whether to import them.
"""

from __future__ import annotations

from collections.abc import Mapping

from budget.ganzhou_reclaimed import parse_reclaimed, sector_structure, structure_percent
from budget.hierarchy import NodeLevel
from budget.import_plan import (
    Discrepancy,
    ImportFormatError,
    ImportPlan,
    IssueLine,
    NodeSpec,
    manifest_number,
    numbering_discrepancies,
    parse_number,
    read_rows,
)
from budget.kinds import Sector, Source
from budget.units import ZERO, from_10k_m3

ALLOCATION_COLUMNS = ("seq", "code", "name", "level", "subtotal", "local_surface", "groundwater")


def parse_ganzhou(
    manifest: Mapping[str, object], allocation_csv: str, reclaimed_csv: str | None = None
) -> ImportPlan:
    problems: list[str] = []
    if manifest.get("unit") != "10k_m3":
        problems.append("manifest unit: must be '10k_m3' (万m³)")
    year_value = manifest.get("year")
    year = year_value if isinstance(year_value, int) and 2000 <= year_value <= 2100 else 0
    if not year:
        problems.append("manifest year: must be a year such as 2024")
    district_raw = manifest.get("district")
    district_map = district_raw if isinstance(district_raw, Mapping) else {}
    district_code = str(district_map.get("code") or "").strip()
    district_name = str(district_map.get("name") or "").strip()
    if not district_code or not district_name:
        problems.append("manifest district: code and name are required")
    district = NodeSpec(district_code, district_name, NodeLevel.DISTRICT, None)
    division_code = str(district_map.get("division_code") or "").strip()
    if division_code and not (division_code.isdigit() and len(division_code) in (6, 9, 12)):
        problems.append(
            f"manifest district.division_code: {division_code!r} is not a 行政区划代码 "
            "(6, 9 or 12 digits)"
        )
    factor = manifest_number(manifest, "non_conventional_factor", problems)
    if factor > 1:
        problems.append("manifest non_conventional_factor: must lie in [0, 1]")
    stated = {
        k: manifest_number(manifest, f"stated_totals.{k}", problems)
        for k in ("subtotal", "local_surface", "groundwater")
    }

    nodes: list[NodeSpec] = []
    issues: list[IssueLine] = []
    found: list[Discrepancy] = []
    codes = {district_code}
    rows = read_rows(allocation_csv, "allocation", ALLOCATION_COLUMNS, problems)
    sums = {"subtotal": ZERO, "local_surface": ZERO, "groundwater": ZERO}
    for index, row in enumerate(rows, start=2):
        where = f"allocation line {index}"
        code, name = row["code"].strip(), row["name"].strip()
        if not code or not name:
            problems.append(f"{where}: code and name are required")
        elif code in codes:
            problems.append(f"{where} code: {code!r} is used twice")
        codes.add(code)
        try:
            level = NodeLevel(row["level"].strip())
        except ValueError:
            problems.append(
                f"{where} level: {row['level']!r} is not one of "
                f"{', '.join(lv.value for lv in NodeLevel)}"
            )
            level = NodeLevel.UNIT
        values = {
            k: parse_number(row[k], f"{where} {k}", problems, blank_ok=k != "subtotal")
            for k in sums
        }
        nodes.append(NodeSpec(code, name, level, district_code))
        for key, source in (
            ("local_surface", Source.LOCAL_SURFACE),
            ("groundwater", Source.GROUNDWATER),
        ):
            if values[key]:
                issues.append(
                    IssueLine(code, source, Sector.UNSPECIFIED, from_10k_m3(values[key] or ZERO))
                )
        for key in sums:
            sums[key] += values[key] or ZERO
        parts = (values["local_surface"] or ZERO) + (values["groundwater"] or ZERO)
        if values["subtotal"] is not None and parts != values["subtotal"]:
            found.append(
                Discrepancy(
                    "row",
                    name,
                    f"{name}: 小计 {values['subtotal']} ≠ 地表水 + 地下水 = {parts}",
                    values["subtotal"],
                    parts,
                )
            )
    for key, label in (
        ("subtotal", "小计"),
        ("local_surface", "地表水"),
        ("groundwater", "地下水"),
    ):
        if rows and sums[key] != stated[key]:
            found.append(
                Discrepancy(
                    "total",
                    f"全区 {label}",
                    f"全区 {label}: stated {stated[key]}, rows add up to {sums[key]}",
                    stated[key],
                    sums[key],
                )
            )
    both = stated["local_surface"] + stated["groundwater"]
    if both != stated["subtotal"]:
        found.append(
            Discrepancy(
                "total",
                "全区",
                f"全区: 小计 {stated['subtotal']} ≠ 地表水 + 地下水 = {both}",
                stated["subtotal"],
                both,
            )
        )
    found += numbering_discrepancies([r["seq"] for r in rows], "allocation")
    issues[:0] = [
        IssueLine(
            district_code,
            Source.LOCAL_SURFACE,
            Sector.UNSPECIFIED,
            from_10k_m3(stated["local_surface"]),
        ),
        IssueLine(
            district_code,
            Source.GROUNDWATER,
            Sector.UNSPECIFIED,
            from_10k_m3(stated["groundwater"]),
        ),
    ]
    if reclaimed_csv is not None:
        parse_reclaimed(
            manifest, reclaimed_csv, district_code, codes, problems, nodes, issues, found
        )
    found += sector_structure(manifest, problems)
    if problems:
        raise ImportFormatError(problems)
    # The stated district total is the control figure handed down (甘州 1.(1)①), split
    # surface/ground: the district's revenue. The seed gives no available reclaimed water.
    revenue = {
        Source.LOCAL_SURFACE: from_10k_m3(stated["local_surface"]),
        Source.GROUNDWATER: from_10k_m3(stated["groundwater"]),
    }
    return ImportPlan(
        year,
        district,
        tuple(nodes),
        tuple(issues),
        tuple(found),
        factor,
        revenue,
        f"{district_name} {year} 区级水预算分配 全区 (stated district total, control figure)",
        structure_percent(manifest),
        division_code or None,
    )
