"""Command-line actions of the budget module, for ``waterbudget`` subcommands to call."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from budget import repository as repo
from budget import service
from budget.ganzhou_files import DEMO_MANIFEST, load_import


def create_token(database_url: str, *, name: str, role: str, node_code: str | None) -> str:
    """Create an API token and return its secret (shown once). Admins take no node."""
    with psycopg.connect(database_url) as conn:
        node_id = None
        if node_code is not None:
            node = repo.load_hierarchy(conn).by_code(node_code)
            if node is None:
                raise SystemExit(f"no budget node with code {node_code!r}")
            node_id = node.node_id
        return repo.create_token(conn, name=name, role=role, node_id=node_id)


def import_ganzhou(
    database_url: str,
    *,
    manifest: Path = DEMO_MANIFEST,
    accept_discrepancies: bool = False,
    by: str = "cli",
) -> list[str]:
    """Import a Ganzhou-format budget; returns the discrepancy report lines.

    Without ``accept_discrepancies`` nothing is stored when the files do not add up.
    """
    plan = load_import(manifest)
    report = [d.message for d in plan.discrepancies]
    if report and not accept_discrepancies:
        return report
    found = [
        {
            "kind": d.kind,
            "where": d.where,
            "message": d.message,
            "stated": str(d.stated),
            "computed": str(d.computed),
        }
        for d in plan.discrepancies
    ]
    with psycopg.connect(database_url) as conn:
        service.apply_import(conn, plan=plan, by=by, now=datetime.now(UTC), discrepancies=found)
    return report
