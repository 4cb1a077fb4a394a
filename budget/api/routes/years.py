"""Budget years: an administrator reopens a year whose final accounts were issued
(issue 12; ``budget.year_closure``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from budget import repository as repo
from budget import service
from budget.api.deps import AccessDep, ConnDep, now
from waterbudget.web.types import Text

router = APIRouter()


class ReopenIn(BaseModel):
    reason: Text = Field(min_length=1, description="why the closed year must change")


class YearEventOut(BaseModel):
    event: str
    at: str
    by: str
    reason: str


@router.post(
    "/years/{year}/reopen",
    response_model=list[YearEventOut],
    summary="Reopen a closed budget year (administrators; recorded, marks the next 决算)",
)
def reopen(
    year: Annotated[int, Path(ge=2000, le=2100)], body: ReopenIn, conn: ConnDep, access: AccessDep
) -> list[YearEventOut]:
    access.admin()
    try:
        service.reopen_year(
            conn, year=year, by=access.principal.name, reason=body.reason, now=now()
        )
    except service.StateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return [
        YearEventOut(event=e.event, at=e.at.isoformat(), by=e.by, reason=e.reason)
        for e in repo.year_events(conn, year=year)
    ]
