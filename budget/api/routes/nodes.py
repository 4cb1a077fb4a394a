"""Nodes of the hierarchy: create, read, attach registry things, set the plan profile
and the protected volumes of a budget year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from budget import repository as repo
from budget import schemas as s
from budget import service
from budget.api.deps import AccessDep, ConnDep
from budget.cut_list import ProtectedVolumes
from budget.hierarchy import AttachmentKind, Contact, Node
from budget.plan_profile import PlanProfile, ProfileError
from waterbudget.web.errors import ApiError
from waterbudget.web.types import Id

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
        # names only the code the caller gave, never the node that holds it
        raise ApiError(status.HTTP_409_CONFLICT, "code_taken")
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
def get_node(node_id: Id, access: AccessDep) -> s.NodeOut:
    return _node_out(access.read(node_id))


@router.post(
    "/nodes/{node_id}/attachments",
    status_code=204,
    summary="Attach a registry site, meter or IC card to the node (moves it from where it was: "
    "the caller must be able to write every node whose water it counts against now)",
)
def attach(node_id: Id, body: s.AttachmentIn, conn: ConnDep, access: AccessDep) -> None:
    access.write(node_id)
    kind = AttachmentKind(body.kind).value
    access.write_all(repo.attachment_owners(conn, kind=kind, ref=body.ref), what=kind, ref=body.ref)
    service.attach(
        conn,
        node_id=node_id,
        kind=kind,
        ref=body.ref,
        sector=body.sector,
        given="sector" in body.model_fields_set,  # left out: the default of what it is
    )


@router.put(
    "/nodes/{node_id}/plan-profile",
    status_code=204,
    summary="Set the node's monthly plan profile (12 weights summing to 1)",
)
def set_profile(node_id: Id, body: s.ProfileIn, conn: ConnDep, access: AccessDep) -> None:
    access.write(node_id)
    try:
        PlanProfile(tuple(body.weights))
    except ProfileError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"weights: {exc}") from exc
    repo.set_plan_profile(conn, node_id=node_id, weights=body.weights)


@router.get(
    "/nodes/{node_id}/protected-volumes",
    response_model=s.ProtectedOut,
    summary="The figures the 7.1.2 cut list needs: protected and cuttable parts (宁夏 7.1.2)",
)
def get_protected(
    node_id: Id, conn: ConnDep, access: AccessDep, year: Annotated[int, Query(ge=2000, le=2100)]
) -> s.ProtectedOut:
    access.read(node_id)
    return _protected_out(conn, node_id, year)


@router.put(
    "/nodes/{node_id}/protected-volumes",
    response_model=s.ProtectedOut,
    summary="Record the protected and cuttable parts of a node's lines (宁夏 7.1.2)",
)
def set_protected(
    node_id: Id, body: s.ProtectedIn, conn: ConnDep, access: AccessDep
) -> s.ProtectedOut:
    access.write(node_id)
    repo.set_protected_volumes(
        conn,
        node_id=node_id,
        year=body.year,
        volumes=ProtectedVolumes(
            body.grain_irrigation_m3,
            body.basic_ecological_flow_m3,
            body.urban_environment_baseline_m3,
            body.industry_non_production_m3,
            body.services_non_essential_m3,
        ),
        reference=body.reference,
        by=access.principal.name,
    )
    return _protected_out(conn, node_id, body.year)


def _protected_out(conn: repo.Conn, node_id: int, year: int) -> s.ProtectedOut:
    row = repo.protected_record(conn, node_id=node_id, year=year)
    if row is None:
        return s.ProtectedOut(
            node_id=node_id,
            year=year,
            grain_irrigation_m3=None,
            basic_ecological_flow_m3=None,
            reference="",
            recorded=False,
            recorded_by=None,
            recorded_at=None,
        )
    return s.ProtectedOut(**row, recorded=True)
