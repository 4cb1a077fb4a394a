"""Execution per node and period, alert levels, irrigation rounds, tariffs and charges."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from budget.api.deps import AccessDep, ConnDep
from budget.kinds import SourceFamily
from monitor.api.scope import visible_nodes
from monitor.budget_alerts import AlertLevels
from monitor.charges import ChargeError, TierSchedule
from monitor.repository import budgets, executions
from monitor.repository import charges as charges_repo
from waterbudget.web.types import Id, Seconds, Text, Year

router = APIRouter()


class ExecutionOut(BaseModel):
    node_id: int
    period: str
    period_kind: str
    starts_at: datetime
    ends_at: datetime
    source: str = Field(description="'' = all sources (non-conventional at the year's factor)")
    sector: str
    at: datetime = Field(description="data time of the evaluation")
    drawn_m3: Decimal
    budget_m3: Decimal
    remaining_m3: Decimal
    execution_rate: Decimal | None
    time_progress: Decimal
    projected_m3: Decimal
    exhaustion_at: datetime | None
    level: str | None
    evaluated_at: datetime


@router.get("/nodes/{node_id}/execution", response_model=list[ExecutionOut],
            summary="Execution of a node: rate, time progress, projections, per period")
def node_execution(node_id: Id, conn: ConnDep, access: AccessDep,
                   period: Annotated[list[Text] | None, Query(max_length=50)] = None
                   ) -> list[dict[str, Any]]:
    access.read(node_id)
    return executions.for_node(conn, node_id=node_id, periods=period)


class LevelsIn(BaseModel):
    notice: Decimal = Decimal("0.80")
    warning: Decimal = Decimal("0.90")
    overrun: Decimal = Decimal("1.00")
    margin: Decimal = Decimal("0.02")
    hold_s: Seconds = 3600
    crop_class: Text | None = None


@router.put("/nodes/{node_id}/levels", status_code=204,
            summary="Alert levels, hold time and crop class of a node and its subtree")
def set_levels(node_id: Id, body: LevelsIn, conn: ConnDep, access: AccessDep) -> None:
    access.write(node_id)
    try:
        levels = AlertLevels(body.notice, body.warning, body.overrun, body.margin)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    budgets.set_levels(conn, node_id=node_id, levels=levels, hold=timedelta(seconds=body.hold_s),
                       crop_class=body.crop_class, by=access.principal.name)


class RoundIn(BaseModel):
    label: str = Field(pattern=r"^R[0-9A-Za-z_-]{1,20}$", description="e.g. R1: period 2024-R1")
    name: Text = Field(description="e.g. 春灌, 夏灌, 冬灌")
    first_day: date
    last_day: date


@router.post("/rounds", status_code=201, summary="Define an irrigation round (a period)")
def add_round(body: RoundIn, conn: ConnDep, access: AccessDep) -> dict[str, str]:
    access.admin()
    if body.first_day.year != body.last_day.year or body.first_day > body.last_day:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "a round is whole days within one budget year")
    label = f"{body.first_day.year}-{body.label}"
    try:
        with conn.transaction():
            conn.execute("INSERT INTO monitor_periods (period, kind, year, first_day, last_day, "
                         "name) VALUES (%s, 'round', %s, %s, %s, %s)",
                         (label, body.first_day.year, body.first_day, body.last_day, body.name))
    except psycopg.errors.UniqueViolation:
        raise HTTPException(status.HTTP_409_CONFLICT, f"period {label} exists") from None
    conn.execute("INSERT INTO monitor_changes (kind, node_ids, years) VALUES "
                 "('budget', NULL, ARRAY[%s])", (body.first_day.year,))
    return {"period": label}


class BandIn(BaseModel):
    up_to: Decimal | None = Field(description="upper bound of the excess as a share of quota; "
                                              "null for the last, open band")
    multiplier: Decimal


class TariffIn(BaseModel):
    year: int = Field(ge=2000, le=2100)
    area_node_id: Id | None = None
    source_family: SourceFamily | None = None
    crop_class: Text | None = None
    price_per_m3: Decimal = Field(ge=0, description="base price, yuan per m³")
    bands: list[BandIn]


@router.put("/tariffs", summary="Record a progressive tier table (超定额累进加价)")
def put_tariff(body: TariffIn, conn: ConnDep, access: AccessDep) -> dict[str, int]:
    access.admin()
    if body.area_node_id is not None:
        access.read(body.area_node_id)
    try:
        schedule = TierSchedule.of(*((None if b.up_to is None else str(b.up_to),
                                      str(b.multiplier)) for b in body.bands))
    except ChargeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"bands: {exc}") from None
    tariff_id = charges_repo.save_tariff(
        conn, year=body.year, area_node_id=body.area_node_id,
        source_family=body.source_family.value if body.source_family else None,
        crop_class=body.crop_class, price_per_m3=body.price_per_m3, schedule=schedule,
        by=access.principal.name)
    return {"tariff_id": tariff_id}


@router.get("/charges", summary="Over-quota charges of water users (computed by the sweep)")
def list_charges(conn: ConnDep, access: AccessDep, year: Year,
                 node_id: Id | None = None) -> list[dict[str, Any]]:
    nodes = visible_nodes(access)
    if node_id is not None:
        access.read(node_id)
        nodes = [node_id]
    return charges_repo.charges(conn, node_ids=nodes, year=year)
