"""The ledger: proposals, approvals and rejections of entries, and trades of surplus volume."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from budget import repository as repo
from budget import schemas as s
from budget import service
from budget.api.deps import Access, AccessDep, ConnDep, four_eyes_error, now, rule_error
from budget.api.views import entry_out
from budget.ledger import EntryKind
from budget.year_ledger import RuleError
from waterbudget.web.errors import not_found
from waterbudget.web.types import Id

router = APIRouter()


@router.get("/entries", response_model=list[s.EntryOut], summary="The ledger of one node")
def list_entries(
    conn: ConnDep,
    access: AccessDep,
    node_id: Id,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    entry_status: Annotated[
        Literal["proposed", "approved", "rejected"] | None, Query(alias="status")
    ] = None,
) -> list[s.EntryOut]:
    access.read(node_id)
    return [
        entry_out(e) for e in repo.entries(conn, node_ids=[node_id], year=year, status=entry_status)
    ]


@router.post(
    "/entries",
    response_model=s.EntryOut,
    status_code=201,
    summary="Propose an issue, supplement (追加) or cut (核减)",
)
def propose_entry(body: s.EntryIn, conn: ConnDep, access: AccessDep) -> s.EntryOut:
    access.write(body.node_id)
    try:
        service.ensure_year_open(conn, year=body.year)
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    entry_id = repo.insert_entry(
        conn,
        node_id=body.node_id,
        year=body.year,
        kind=EntryKind(body.kind),
        source=body.source,
        sector=body.sector,
        volume_m3=body.volume_m3,
        valid_from=body.valid_from,
        reason=body.reason,
        proposed_by=access.principal.name,
    )
    stored = repo.entry(conn, entry_id=entry_id)
    assert stored is not None
    return entry_out(stored)


def _decide_entry(entry_id: int, conn: repo.Conn, access: Access, approve: bool) -> s.EntryOut:
    stored = repo.entry(conn, entry_id=entry_id)
    if stored is None:
        raise not_found("entry", entry_id)
    access.approve(stored.entry.node_id, what="entry", ref=entry_id)
    try:
        if approve:
            service.approve_entry(conn, entry_id=entry_id, by=access.principal.name, now=now())
        elif stored.status == "proposed":
            repo.decide_entry(
                conn, entry_id=entry_id, status="rejected", by=access.principal.name, at=now()
            )
        else:
            raise service.StateError(f"entry {entry_id} is already {stored.status}")
    except RuleError as error:
        raise rule_error(error, access) from error
    except service.FourEyesError as error:
        raise four_eyes_error(error) from error
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    after = repo.entry(conn, entry_id=entry_id)
    assert after is not None
    return entry_out(after)


@router.post(
    "/entries/{entry_id}/approve",
    response_model=s.EntryOut,
    summary=(
        "Approve a proposal; 403 four_eyes_approval when the caller proposed it, "
        "409 names every rule it would break"
    ),
)
def approve_entry(entry_id: Id, conn: ConnDep, access: AccessDep) -> s.EntryOut:
    return _decide_entry(entry_id, conn, access, approve=True)


@router.post("/entries/{entry_id}/reject", response_model=s.EntryOut)
def reject_entry(entry_id: Id, conn: ConnDep, access: AccessDep) -> s.EntryOut:
    return _decide_entry(entry_id, conn, access, approve=False)


@router.post("/trades", status_code=201, summary="Propose a trade of surplus volume")
def propose_trade(body: s.TradeIn, conn: ConnDep, access: AccessDep) -> dict[str, int]:
    access.write(body.seller_id)
    access.write(body.buyer_id)
    try:
        service.ensure_year_open(conn, year=body.year)
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    trade_id = repo.insert_trade(
        conn,
        seller_id=body.seller_id,
        buyer_id=body.buyer_id,
        year=body.year,
        source=body.source,
        sector=body.sector,
        volume_m3=body.volume_m3,
        valid_from=body.valid_from,
        reason=body.reason,
        proposed_by=access.principal.name,
    )
    return {"trade_id": trade_id}


@router.post("/trades/{trade_id}/approve", summary="Approve a trade: ledger legs or 409")
def approve_trade(trade_id: Id, conn: ConnDep, access: AccessDep) -> dict[str, list[int]]:
    row = repo.trade(conn, trade_id=trade_id)
    if row is None:
        raise not_found("trade", trade_id)
    # both counterparties: a trade reaching outside the caller's scope is not theirs
    access.approve(row["seller_id"], what="trade", ref=trade_id)
    access.approve(row["buyer_id"], what="trade", ref=trade_id)
    try:
        ids = service.approve_trade(conn, trade_id=trade_id, by=access.principal.name, now=now())
    except RuleError as error:
        raise rule_error(error, access) from error
    except service.FourEyesError as error:
        raise four_eyes_error(error) from error
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return {"entry_ids": ids}
