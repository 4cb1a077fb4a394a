"""Sectors everywhere (issue 12): the sector split of a node's budget issued by
source only, and what a registry site is (the default sector of its water)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from budget import repository as repo
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep
from budget.sector_split import SectorSplit, SplitBasis, SplitError, split_of
from waterbudget.web.errors import ApiError, not_found
from waterbudget.web.types import Id, Text

router = APIRouter()


@router.get(
    "/nodes/{node_id}/sector-split",
    response_model=s.SectorSplitOut,
    summary="The sector split the by-sector views use for the node's 未分行业 budget",
)
def get_split(
    node_id: Id, conn: ConnDep, access: AccessDep, year: Annotated[int, Query(ge=2000, le=2100)]
) -> s.SectorSplitOut:
    access.read(node_id)
    return _split_out(conn, node_id, year, access)


@router.put(
    "/nodes/{node_id}/sector-split",
    response_model=s.SectorSplitOut,
    summary="Replace the node's estimated sector split with the water office's shares",
)
def set_split(
    node_id: Id, body: s.SectorSplitIn, conn: ConnDep, access: AccessDep
) -> s.SectorSplitOut:
    access.write(node_id)
    try:
        split = SectorSplit(SplitBasis.OPERATOR, dict(body.shares), body.reference)
    except SplitError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"shares: {exc}") from exc
    repo.set_sector_split(
        conn, node_id=node_id, year=body.year, split=split, by=access.principal.name
    )
    return _split_out(conn, node_id, body.year, access)


def _split_out(conn: repo.Conn, node_id: int, year: int, access: AccessDep) -> s.SectorSplitOut:
    splits = repo.sector_splits(conn, year=year)
    split = split_of(access.hierarchy, splits, node_id)
    owner = next((n for n in access.hierarchy.path_to_root(node_id) if n in splits), None)
    return s.SectorSplitOut(
        node_id=node_id,
        year=year,
        basis=split.basis.value if split else None,
        estimate=split.basis.is_estimate if split else None,
        shares=dict(split.shares) if split else {},
        reference=split.reference if split else "",
        from_node_id=owner,
        note=split.note if split else None,
    )


@router.put(
    "/sites/{site_id}/sector",
    status_code=204,
    summary="What a registry site is and/or its sector: the default of its draw (administrators)",
)
def set_site_sector(site_id: Text, body: s.SiteSectorIn, conn: ConnDep, access: AccessDep) -> None:
    access.admin()
    if body.purpose is None and body.sector is None:
        raise ApiError(status.HTTP_422_UNPROCESSABLE_CONTENT, "purpose_or_sector")
    if not repo.set_site_sector(
        conn, site_id=site_id, purpose=body.purpose, sector=body.sector, by=access.principal.name
    ):
        raise not_found("site", site_id)
