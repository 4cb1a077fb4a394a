"""SQL for a budget year's policy: the non-conventional factor, permits, control figures,
and the protected volumes a cut list keeps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row

from budget.cut_list import ProtectedVolumes
from budget.kinds import Source
from budget.repository.connection import Conn
from budget.rules import BudgetPolicy, ControlFigure, Permit


def load_policy(conn: Conn, *, year: int) -> BudgetPolicy:
    row = conn.execute(
        "SELECT non_conventional_factor FROM budget_years WHERE year = %s", (year,)
    ).fetchone()
    permits = tuple(
        Permit(node_id, year, volume, Source(source) if source else None, reference)
        for node_id, source, volume, reference in conn.execute(
            "SELECT node_id, source, volume_m3, reference FROM budget_permits WHERE year = %s",
            (year,),
        )
    )
    figures = tuple(
        ControlFigure(node_id, year, volume)
        for node_id, volume in conn.execute(
            "SELECT node_id, volume_m3 FROM budget_control_figures WHERE year = %s", (year,)
        )
    )
    factor = row[0] if row else Decimal(0)
    return BudgetPolicy(factor, permits, figures)


def set_year(conn: Conn, *, year: int, non_conventional_factor: Decimal) -> None:
    conn.execute(
        "INSERT INTO budget_years (year, non_conventional_factor) VALUES (%s, %s) "
        "ON CONFLICT (year) DO UPDATE SET non_conventional_factor = "
        "EXCLUDED.non_conventional_factor",
        (year, non_conventional_factor),
    )


def add_permit(conn: Conn, *, permit: Permit) -> None:
    conn.execute(
        "INSERT INTO budget_permits (node_id, year, source, volume_m3, reference) "
        "VALUES (%s, %s, %s, %s, %s)",
        (
            permit.node_id,
            permit.year,
            permit.source.value if permit.source else None,
            permit.volume_m3,
            permit.reference,
        ),
    )


def set_control_figure(conn: Conn, *, figure: ControlFigure, reference: str) -> None:
    conn.execute(
        "INSERT INTO budget_control_figures (node_id, year, volume_m3, reference) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (node_id, year) DO UPDATE SET "
        "volume_m3 = EXCLUDED.volume_m3, reference = EXCLUDED.reference",
        (figure.node_id, figure.year, figure.volume_m3, reference),
    )


_CUT_FIELDS = (
    "grain_irrigation_m3",
    "basic_ecological_flow_m3",
    "urban_environment_baseline_m3",
    "industry_non_production_m3",
    "services_non_essential_m3",
)


def protected_volumes(conn: Conn, *, year: int) -> dict[int, ProtectedVolumes]:
    """Every node's recorded cut-list figures of ``year`` (宁夏 7.1.2; NULL = not recorded)."""
    return {
        row[0]: ProtectedVolumes(*row[1:])
        for row in conn.execute(
            f"SELECT node_id, {', '.join(_CUT_FIELDS)} "
            "FROM budget_protected_volumes WHERE year = %s",
            (year,),
        )
    }


def protected_record(conn: Conn, *, node_id: int, year: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT node_id, year, {', '.join(_CUT_FIELDS)}, reference, "
            "recorded_by, recorded_at FROM budget_protected_volumes "
            "WHERE node_id = %s AND year = %s",
            (node_id, year),
        ).fetchone()


def set_protected_volumes(
    conn: Conn,
    *,
    node_id: int,
    year: int,
    volumes: ProtectedVolumes,
    reference: str,
    by: str,
) -> None:
    """Replace the node's record of the year; a figure left ``None`` is not recorded."""
    conn.execute(
        f"INSERT INTO budget_protected_volumes (node_id, year, {', '.join(_CUT_FIELDS)}, "
        "reference, recorded_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (node_id, year) DO UPDATE SET "
        + ", ".join(f"{f} = EXCLUDED.{f}" for f in _CUT_FIELDS)
        + ", reference = EXCLUDED.reference, recorded_by = EXCLUDED.recorded_by, "
        "recorded_at = now()",
        (node_id, year, *(getattr(volumes, f) for f in _CUT_FIELDS), reference, by),
    )
