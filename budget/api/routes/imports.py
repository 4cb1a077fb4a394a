"""Imports of allocation tables (Ganzhou format, docs/budget-import.md)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from budget import schemas as s
from budget import service
from budget.api.deps import AccessDep, ConnDep, now, rule_error
from budget.api.views import discrepancy_out
from budget.ganzhou_files import DEMO_MANIFEST, read_manifest
from budget.ganzhou_import import parse_ganzhou
from budget.import_plan import ImportFormatError
from budget.year_ledger import RuleError

router = APIRouter()


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
            now=now(),
            discrepancies=[d.model_dump(mode="json") for d in found],
        )
    except RuleError as error:
        raise rule_error(error, access) from error
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
