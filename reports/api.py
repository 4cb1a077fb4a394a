"""HTTP routes of the reports (FastAPI), under ``/reports``; tokens and scopes of the budget API.

* ``GET /reports`` — stored reports and revisions the caller may see;
* ``POST /reports`` — issue (operators, administrators): revision 1, or n+1 when a
  figure changed (201), or the stored revision when nothing did (200);
* ``GET /reports/{id}`` and ``GET /reports/{kind}/{node_id}/{period}?revision=`` —
  download as ``format=xlsx|pdf|html|csv|json``, ``lang=zh|en``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field

from budget.api.deps import Access, AccessDep, ConnDep, aware
from reports import repository as repo
from reports import service
from reports.document import document_json
from reports.formats import FORMATS, file_name
from reports.labels import language
from reports.monthly import ReportError
from reports.render_pdf import PdfUnavailableError
from waterbudget.web.errors import ERROR_RESPONSES, not_found
from waterbudget.web.types import Id, Text

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)
FormatName = Literal["xlsx", "pdf", "html", "csv", "json"]


class IssueRequest(BaseModel):
    kind: Literal["monthly", "final_accounts"]
    node_id: Id
    period: Text = Field(max_length=20, description="2024-06 (monthly) or 2024 (final accounts)")
    as_of: datetime | None = None  # default: the period's end


class ReportInfo(BaseModel):
    report_id: int
    kind: str
    node_id: int
    period: str
    revision: int
    as_of: datetime
    built_at: datetime
    built_by: str
    changes: int
    downloads: dict[str, str]


def _info(r: repo.StoredReport) -> ReportInfo:
    return ReportInfo(report_id=r.report_id, kind=r.kind, node_id=r.node_id, period=r.period,
                      revision=r.revision, as_of=r.as_of, built_at=r.built_at,
                      built_by=r.built_by, changes=r.changes,
                      downloads={f: f"/reports/{r.report_id}?format={f}"
                                 for f in (*FORMATS, "json")})


class TextsIn(BaseModel):
    """Operator-written parts of the final accounts (宁夏 附录C), plain text."""

    texts: dict[Literal["region", "implementation", "special", "safeguards"], Text]


@router.put("/texts/{node_id}/{year}", response_model=dict[str, str])
def set_texts(node_id: Id, year: Annotated[int, Path(ge=2000, le=2100)], body: TextsIn,
              conn: ConnDep, access: AccessDep) -> dict[str, str]:
    """概述 (region, implementation), 特殊情况说明 (special) and 保障措施 (safeguards) of
    the node's final accounts of the year; they appear when the accounts are next
    issued (a changed text gives a new revision). Operators within their subtree."""
    access.write(node_id)
    for section, text in body.texts.items():
        repo.add_report_text(conn, node_id=node_id, year=year, section=section,
                             body=text.strip(), by=access.principal.name)
    return repo.report_texts(conn, node_id=node_id, year=year)


@router.get("/texts/{node_id}/{year}", response_model=dict[str, str])
def get_texts(node_id: Id, year: Annotated[int, Path(ge=2000, le=2100)], conn: ConnDep,
              access: AccessDep) -> dict[str, str]:
    access.read(node_id)
    return repo.report_texts(conn, node_id=node_id, year=year)


@router.get("", response_model=list[ReportInfo])
def list_reports(conn: ConnDep, access: AccessDep, node_id: Id | None = None,
                 kind: Text | None = None, period: Text | None = None) -> list[ReportInfo]:
    """Stored reports (every revision), newest period first, within the caller's scope."""
    if node_id is not None:
        access.read(node_id)
        nodes: list[int] | None = [node_id]
    elif access.principal.role == "administrator":
        nodes = None
    else:
        scope = access.principal.node_id
        assert scope is not None
        nodes = [scope] if access.principal.role == "water_user" else (
            access.hierarchy.subtree(scope))
    return [_info(r) for r in repo.list_reports(conn, node_ids=nodes, kind=kind, period=period)]


@router.post("", response_model=ReportInfo, responses={201: {"model": ReportInfo}})
def issue_report(body: IssueRequest, conn: ConnDep, access: AccessDep,
                 response: Response) -> ReportInfo:
    access.write(body.node_id)
    as_of = aware(body.as_of, "as_of")
    try:
        issued = service.issue(conn, kind=body.kind, node_id=body.node_id, period=body.period,
                               built_at=datetime.now(UTC), by=access.principal.name,
                               as_of=as_of, close_year=True)
    except ReportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    response.status_code = status.HTTP_201_CREATED if issued.created else status.HTTP_200_OK
    return _info(issued.report)


def _download(stored: repo.StoredReport | None, access: Access, fmt: str,
              lang: str | None, ref: object) -> Response:
    if stored is None or not access.sees(stored.node_id):
        raise not_found("report", ref)
    document = stored.document
    assert document is not None
    if fmt == "json":
        return Response(_json(document_json(document)), media_type="application/json")
    chosen = FORMATS[fmt]
    try:
        body = chosen.render(document, language(lang))
    except PdfUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(body, media_type=chosen.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{file_name(document, fmt)}"'})


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


Fmt = Annotated[FormatName, Query(alias="format")]


@router.get("/{report_id}", response_class=Response)
def download(report_id: Id, conn: ConnDep, access: AccessDep, fmt: Fmt = "xlsx",
             lang: Text | None = None) -> Response:
    """One stored report as a file, Chinese unless ``lang=en``."""
    return _download(repo.report(conn, report_id=report_id), access, fmt, lang, report_id)


@router.get("/{kind}/{node_id}/{period}", response_class=Response)
def download_latest(kind: Text, node_id: Id, period: Text, conn: ConnDep, access: AccessDep,
                    revision: Id | None = None, fmt: Fmt = "xlsx",
                    lang: Text | None = None) -> Response:
    """The latest revision of a report (or ``revision=n``) as a file."""
    access.read(node_id)
    stored = repo.report_revision(conn, kind=kind, node_id=node_id, period=period,
                                  revision=revision)
    return _download(stored, access, fmt, lang, f"{kind}/{node_id}/{period}")
