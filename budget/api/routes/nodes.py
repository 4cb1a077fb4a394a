"""Nodes of the hierarchy: create, read, attach registry things, set the plan profile."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from budget import repository as repo
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep
from budget.hierarchy import AttachmentKind, Contact, Node
from budget.plan_profile import PlanProfile, ProfileError

router = APIRouter()


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
