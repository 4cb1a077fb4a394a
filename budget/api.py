"""HTTP API of the budget module (FastAPI ``APIRouter``) and its authentication.

Bearer tokens (``budget_api_tokens``, stored hashed) carry a role:
administrator (everything), operator (one township or irrigation district and
below: reads and proposes there, approves strictly below it), water user (own
node only, read only). A node outside the caller's scope is answered 404, as
if it did not exist. Every request runs in one transaction: a refused change
stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from budget import repository as repo
from budget import schemas as s
from budget import service
from budget.api_views import accounting_out, budget_out, discrepancy_out, entry_out, violations
from budget.ganzhou_files import DEMO_MANIFEST, read_manifest
from budget.ganzhou_import import parse_ganzhou
from budget.hierarchy import AttachmentKind, Contact, Hierarchy, Node
from budget.import_plan import ImportFormatError
from budget.ledger import EntryKind
from budget.plan_profile import PlanProfile, ProfileError
from budget.year_ledger import RuleError

router = APIRouter(prefix="/budget", tags=["budget"])
_bearer = HTTPBearer(auto_error=False)


def get_conn(request: Request) -> Iterator[repo.Conn]:
    """One connection and transaction per request; rolled back on any error."""
    with psycopg.connect(request.app.state.database_url) as conn:
        yield conn


ConnDep = Annotated[repo.Conn, Depends(get_conn)]


def get_principal(
    conn: ConnDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> repo.Principal:
    found = repo.principal(conn, secret=credentials.credentials) if credentials else None
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


PrincipalDep = Annotated[repo.Principal, Depends(get_principal)]


class Access:
    """What the caller may see and do, over the current hierarchy."""

    def __init__(self, principal: repo.Principal, hierarchy: Hierarchy) -> None:
        self.principal = principal
        self.hierarchy = hierarchy

    def sees(self, node_id: int) -> bool:
        p = self.principal
        if p.role == "administrator":
            return True
        if p.node_id is None:
            return False
        if p.role == "water_user":
            return node_id == p.node_id
        return self.hierarchy.is_within(node_id, p.node_id)

    def read(self, node_id: int) -> Node:
        if node_id not in self.hierarchy.nodes or not self.sees(node_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"node {node_id} not found")
        return self.hierarchy.nodes[node_id]

    def write(self, node_id: int) -> Node:
        node = self.read(node_id)
        if self.principal.role == "water_user":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "water users have read-only access")
        return node

    def approve(self, node_id: int) -> Node:
        node = self.write(node_id)
        if self.principal.role == "operator" and node_id == self.principal.node_id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "an operator's own node is issued from above: an administrator approves it",
            )
        return node

    def admin(self) -> None:
        if self.principal.role != "administrator":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")


def get_access(conn: ConnDep, principal: PrincipalDep) -> Access:
    return Access(principal, repo.load_hierarchy(conn))


AccessDep = Annotated[Access, Depends(get_access)]


def _now() -> datetime:
    return datetime.now(UTC)


def _rule_error(error: RuleError) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT, {"error": "rule_violation", "violations": violations(error)}
    )


def _node_out(node: Node) -> s.NodeOut:
    return s.NodeOut(
        node_id=node.node_id,
        code=node.code,
        name=node.name,
        level=node.level,
        parent_id=node.parent_id,
        contacts=[
            s.ContactIn(name=c.name, phone=c.phone, email=c.email, role=c.role)
            for c in node.contacts
        ],
    )


@router.get("/nodes", response_model=list[s.NodeOut], summary="Nodes the caller may see")
def list_nodes(access: AccessDep) -> list[s.NodeOut]:
    return [_node_out(n) for n in access.hierarchy.nodes.values() if access.sees(n.node_id)]


@router.post("/nodes", response_model=s.NodeOut, status_code=201, summary="Create a node")
def create_node(body: s.NodeIn, conn: ConnDep, access: AccessDep) -> s.NodeOut:
    if body.parent_id is None:
        access.admin()
    else:
        access.write(body.parent_id)
    if access.hierarchy.by_code(body.code):
        raise HTTPException(status.HTTP_409_CONFLICT, f"code: {body.code!r} is already used")
    contacts = [Contact(c.name, c.phone, c.email, c.role) for c in body.contacts]
    node_id = repo.create_node(
        conn,
        code=body.code,
        name=body.name,
        level=body.level,
        parent_id=body.parent_id,
        contacts=contacts,
    )
    return _node_out(
        Node(node_id, body.code, body.name, body.level, body.parent_id, tuple(contacts))
    )


@router.get("/nodes/{node_id}", response_model=s.NodeOut)
def get_node(node_id: int, access: AccessDep) -> s.NodeOut:
    return _node_out(access.read(node_id))


@router.post(
    "/nodes/{node_id}/attachments",
    status_code=204,
    summary="Attach a registry site, meter or IC card to the node",
)
def attach(node_id: int, body: s.AttachmentIn, conn: ConnDep, access: AccessDep) -> None:
    access.write(node_id)
    repo.attach(
        conn,
        node_id=node_id,
        kind=AttachmentKind(body.kind).value,
        ref=body.ref,
        sector=body.sector,
    )


@router.put(
    "/nodes/{node_id}/plan-profile",
    status_code=204,
    summary="Set the node's monthly plan profile (12 weights summing to 1)",
)
def set_profile(node_id: int, body: s.ProfileIn, conn: ConnDep, access: AccessDep) -> None:
    access.write(node_id)
    try:
        PlanProfile(tuple(body.weights))
    except ProfileError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"weights: {exc}") from exc
    repo.set_plan_profile(conn, node_id=node_id, weights=body.weights)


@router.get(
    "/nodes/{node_id}/budget",
    response_model=s.BudgetOut,
    summary="Effective budget of a node as of a moment, derived from the ledger",
)
def get_budget(
    node_id: int,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: Annotated[datetime | None, Query(description="default: now")] = None,
    known_at: Annotated[
        datetime | None,
        Query(description="count only entries approved by then (reproduce a past view)"),
    ] = None,
) -> s.BudgetOut:
    access.read(node_id)
    moment = _aware(as_of, "as_of") or _now()
    view = service.effective_budget(
        conn,
        node_id=node_id,
        year=year,
        as_of=moment,
        known_at=_aware(known_at, "known_at"),
        hierarchy=access.hierarchy,
    )
    return budget_out(view, _aware(known_at, "known_at"))


@router.get(
    "/nodes/{node_id}/accounting",
    response_model=s.AccountingOut,
    summary="宁夏 7.1.1 balance, 6.5.3 consistency and the 7.1.2 cut list",
)
def get_accounting(
    node_id: int,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: datetime | None = None,
) -> s.AccountingOut:
    access.read(node_id)
    view = service.accounting(
        conn,
        node_id=node_id,
        year=year,
        as_of=_aware(as_of, "as_of") or _now(),
        hierarchy=access.hierarchy,
    )
    return accounting_out(view)


@router.get("/entries", response_model=list[s.EntryOut], summary="The ledger of one node")
def list_entries(
    conn: ConnDep,
    access: AccessDep,
    node_id: int,
    year: int | None = None,
    entry_status: Annotated[
        str | None, Query(alias="status", pattern="^(proposed|approved|rejected)$")
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
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"entry {entry_id} not found")
    access.approve(stored.entry.node_id)
    try:
        if approve:
            service.approve_entry(conn, entry_id=entry_id, by=access.principal.name, now=_now())
        elif stored.status == "proposed":
            repo.decide_entry(
                conn, entry_id=entry_id, status="rejected", by=access.principal.name, at=_now()
            )
        else:
            raise service.StateError(f"entry {entry_id} is already {stored.status}")
    except RuleError as error:
        raise _rule_error(error) from error
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    after = repo.entry(conn, entry_id=entry_id)
    assert after is not None
    return entry_out(after)


@router.post(
    "/entries/{entry_id}/approve",
    response_model=s.EntryOut,
    summary="Approve a proposal; 409 names every rule it would break",
)
def approve_entry(entry_id: int, conn: ConnDep, access: AccessDep) -> s.EntryOut:
    return _decide_entry(entry_id, conn, access, approve=True)


@router.post("/entries/{entry_id}/reject", response_model=s.EntryOut)
def reject_entry(entry_id: int, conn: ConnDep, access: AccessDep) -> s.EntryOut:
    return _decide_entry(entry_id, conn, access, approve=False)


@router.post("/trades", status_code=201, summary="Propose a trade of surplus volume")
def propose_trade(body: s.TradeIn, conn: ConnDep, access: AccessDep) -> dict[str, int]:
    access.write(body.seller_id)
    access.write(body.buyer_id)
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
def approve_trade(trade_id: int, conn: ConnDep, access: AccessDep) -> dict[str, list[int]]:
    row = repo.trade(conn, trade_id=trade_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"trade {trade_id} not found")
    access.approve(row["seller_id"])
    access.approve(row["buyer_id"])
    try:
        ids = service.approve_trade(conn, trade_id=trade_id, by=access.principal.name, now=_now())
    except RuleError as error:
        raise _rule_error(error) from error
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return {"entry_ids": ids}


@router.post(
    "/imports/ganzhou",
    response_model=s.ImportOut,
    summary="Import a Ganzhou-format allocation (docs/budget-import.md)",
)
def import_ganzhou(body: s.ImportIn, conn: ConnDep, access: AccessDep) -> s.ImportOut:
    access.admin()
    try:
        plan = parse_ganzhou(
            read_manifest(body.manifest_yaml), body.allocation_csv, body.reclaimed_csv
        )
    except ImportFormatError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"error": "bad_import", "problems": error.problems},
        ) from error
    found = [discrepancy_out(d) for d in plan.discrepancies]
    result = s.ImportOut(
        import_id=None,
        year=plan.year,
        nodes=len(plan.nodes) + 1,
        issues=len(plan.issues),
        discrepancies=found,
    )
    if body.dry_run:
        return result
    pending = sorted({d.where for d in found} - set(body.acknowledge))
    if pending:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {
                "error": "unacknowledged_discrepancies",
                "unacknowledged": pending,
                "discrepancies": [d.model_dump(mode="json") for d in found],
            },
        )
    try:
        import_id = service.apply_import(
            conn,
            plan=plan,
            by=access.principal.name,
            now=_now(),
            discrepancies=[d.model_dump(mode="json") for d in found],
        )
    except RuleError as error:
        raise _rule_error(error) from error
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return result.model_copy(update={"import_id": import_id})


@router.get(
    "/imports/ganzhou/demo",
    response_model=s.ImportIn,
    summary="The bundled Ganzhou 2024 demo files, ready to post to /imports/ganzhou",
)
def demo_import_files(access: AccessDep) -> s.ImportIn:
    manifest = DEMO_MANIFEST.read_text(encoding="utf-8")
    folder = DEMO_MANIFEST.parent
    return s.ImportIn(
        manifest_yaml=manifest,
        allocation_csv=(folder / "ganzhou-2024-allocation.csv").read_text(encoding="utf-8"),
        reclaimed_csv=(folder / "ganzhou-2024-reclaimed.csv").read_text(encoding="utf-8"),
    )


@router.post(
    "/tokens",
    response_model=s.TokenOut,
    status_code=201,
    summary="Create an API token (administrators); the secret is shown once",
)
def create_token(body: s.TokenIn, conn: ConnDep, access: AccessDep) -> s.TokenOut:
    access.admin()
    if (body.role == "administrator") != (body.node_id is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "node_id: required for operators and water users, not for admins",
        )
    if body.node_id is not None:
        access.read(body.node_id)
    secret = repo.create_token(conn, name=body.name, role=body.role, node_id=body.node_id)
    return s.TokenOut(token=secret, role=body.role, node_id=body.node_id)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{field}: give a time zone (e.g. 2024-06-01T00:00:00+08:00)",
        )
    return value


def create_app(database_url: str) -> FastAPI:
    """A stand-alone app with only the budget routes (tests, or until the main app mounts it)."""
    app = FastAPI(title="waterbudget — budgets", version="0.1.0")
    app.state.database_url = database_url
    app.include_router(router)
    return app
