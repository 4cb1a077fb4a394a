"""``GET /monitor/status``: how far the monitor is behind the data (``monitor.status``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from budget.api.deps import AccessDep, ConnDep
from monitor.repository import status as repo
from monitor.status import BEHIND, problems

router = APIRouter()


@router.get("/status", summary="How far the monitor is behind the data")
def monitor_status(conn: ConnDep, access: AccessDep,
                   behind_s: Annotated[int, Query(ge=1, le=86_400 * 30,
                                                  description="threshold, seconds")]
                   = int(BEHIND.total_seconds())) -> dict[str, Any]:
    """Administrators and operators; the given-up change rows' errors for administrators
    only (they name sites anywhere)."""
    access.staff()
    role = access.principal.role
    found = repo.read(conn, errors=5 if role == "administrator" else 0)
    age = found.oldest_pending_age
    return {
        "pending_changes": found.pending,
        "oldest_pending_at": found.oldest_pending_at,
        "oldest_pending_age_s": None if age is None else age.total_seconds(),
        "given_up_changes": found.given_up,
        "data_clock": found.data_clock,
        "rollup_clock": found.rollup_clock,
        "rollup_lag_s": None if found.data_lag == timedelta.max
        else found.data_lag.total_seconds(),
        "swept_at": found.swept_at,
        "swept_data": found.swept_data,
        "problems": problems(found, behind=timedelta(seconds=behind_s)),
        "errors": list(found.errors),
    }
