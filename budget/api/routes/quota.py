"""Zero-based quota proposals (甘州 附件1): computed, shown with the working, never stored.

An operator issues the proposal through the ledger routes (``entries`` in the
answer are ready to post to ``/budget/entries``), where approval runs the rules.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from budget import repository as repo
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep
from budget.ledger import by_sector, by_source
from budget.quota import CropLine, ProductLine, QuotaError, ResidentsLine, propose_budget
from budget.sector_split import SectorSplit, SplitBasis
from budget.year_ledger import year_bounds
from waterbudget.web.types import Id

router = APIRouter()


@router.post(
    "/nodes/{node_id}/quota-proposal",
    response_model=s.QuotaOut,
    summary="Propose a node's budget from quotas (quota ÷ efficiency × area; output × quota)",
)
def propose_quota(node_id: Id, body: s.QuotaIn, conn: ConnDep, access: AccessDep) -> s.QuotaOut:
    node = access.write(node_id)
    permits = repo.load_policy(conn, year=body.year).permits_of(node_id, body.year)
    permit = next((p.volume_m3 for p in permits if p.source is None), None)
    try:
        proposal = propose_budget(
            crops=[
                CropLine(c.crop, c.area_mu, c.quota_m3_per_mu, c.source, c.sector, c.efficiency)
                for c in body.crops
            ],
            efficiency=body.efficiency,
            products=[
                ProductLine(p.product, p.declared_output, p.quota_m3_per_unit, p.source, p.sector)
                for p in body.products
            ],
            residents=[
                ResidentsLine(r.population, r.norm_l_per_person_day, r.source, r.sector, r.days)
                for r in body.residents
            ],
            permit_m3=permit,
        )
    except QuotaError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    cells = proposal.cells()
    sectors = by_sector(cells)
    if body.record_split and proposal.total_m3 > 0:
        shares = {k: v / proposal.total_m3 for k, v in sectors.items() if v > 0}
        repo.set_sector_split(
            conn,
            node_id=node_id,
            year=body.year,
            split=SectorSplit(SplitBasis.QUOTA, shares, f"{node.code} {body.year} 零基定额测算"),
            by=access.principal.name,
        )
    valid_from = body.valid_from or year_bounds(body.year)[0]
    return s.QuotaOut(
        node_id=node_id,
        year=body.year,
        lines=[
            s.ProposedLineOut(
                source=line.source, sector=line.sector, volume_m3=line.volume_m3, basis=line.basis
            )
            for line in proposal.lines
        ],
        by_sector=sectors,
        by_source=by_source(cells),
        total_m3=proposal.total_m3,
        uncapped_total_m3=proposal.uncapped_total_m3,
        permit_m3=permit,
        capped_by_permit=proposal.capped_by_permit,
        entries=[
            s.EntryIn(
                node_id=node_id,
                year=body.year,
                kind="issue",
                source=source,
                sector=sector,
                volume_m3=volume,
                valid_from=valid_from,
                reason=f"zero-based quota proposal for {node.code} {body.year} (甘州 附件1)",
            )
            for (source, sector), volume in sorted(cells.items())
            if volume > 0
        ],
    )
