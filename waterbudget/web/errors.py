"""Errors of the HTTP API: Chinese by default, English with ``Accept-Language: en``.

``ApiError`` is an ``HTTPException`` whose ``detail`` is the Chinese message (so it
reads right wherever it surfaces); ``install`` adds the handlers every app of the
project uses:

* ``ApiError`` in the caller's language;
* content the database cannot take (``psycopg.DataError``: a NUL in text, a number
  out of a column's range …; a CHECK or NOT NULL violation) and text Python cannot
  encode (lone surrogates) → 422, any other integrity error (a unique or foreign key a
  route did not foresee) → 409, never 500 — without echoing the database's message;
* a NUL byte or malformed percent-encoding in the path or query string → 400 before
  any route runs (no parameter of this API can carry one).

Messages never name an object the caller did not name: a node, alert or report
outside the caller's scope is "not found", whatever it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import psycopg
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

# key: (Chinese, English); ``{…}`` are filled from the error's parameters.
MESSAGES: dict[str, tuple[str, str]] = {
    "unauthorized": ("需要有效的访问令牌（Authorization: Bearer …）",
                     "a valid bearer token is required"),
    "not_found": ("未找到{what} {ref}（不存在，或不在您的权限范围内）",
                  "{what} {ref} not found (it does not exist or is outside your scope)"),
    "read_only": ("用水户只有查看权限", "water users have read-only access"),
    "admins_only": ("仅限管理员", "administrators only"),
    "operators_only": ("仅限管理员和操作员", "operators and administrators only"),
    "own_node_from_above": ("操作员本级节点的指标由上级下达，须由管理员批准",
                            "an operator's own node is issued from above: an administrator "
                            "approves it"),
    "region_out_of_scope": ("该汇总表包含您权限范围之外的节点",
                            "the region table lists nodes outside your scope"),
    "bad_request_text": ("请求地址或查询参数含有空字符（NUL）或无效的编码",
                         "the path or query string holds a NUL byte or an invalid encoding"),
    "bad_content": ("请求内容无法保存：含有空字符、无效字符或超出范围的数值",
                    "the request holds content that cannot be stored: a NUL or invalid "
                    "character, or a number out of range"),
    "code_taken": ("code：该编码已被占用", "code: already used"),
    "conflict": ("与已保存的数据冲突", "conflicts with the stored data"),
    "outside_scope": ("您权限范围之外的节点", "a node outside your scope"),
    "address_refused": ("地址被拒绝：{reason}", "address refused: {reason}"),
    "purpose_or_sector": ("请给出站点用途（purpose）或行业（sector）",
                          "give the site's purpose or its sector"),
}

WHAT: dict[str, tuple[str, str]] = {
    "node": ("节点", "node"), "entry": ("台账条目", "entry"), "trade": ("交易", "trade"),
    "alert": ("预警", "alert"), "report": ("报告", "report"), "contact": ("联系人", "contact"),
    "override": ("豁免", "override"), "site": ("站点", "site"), "meter": ("计量设备", "meter"),
    "card": ("IC卡", "card"),
}


def english(request: Request) -> bool:
    wanted = request.headers.get("accept-language", "")
    return wanted.strip().lower().startswith("en") or request.query_params.get("lang") == "en"


def render(key: str, params: dict[str, Any], *, en: bool = False) -> str:
    zh_text, en_text = MESSAGES[key]
    values = {k: (WHAT[v][1 if en else 0] if k == "what" else v) for k, v in params.items()}
    return (en_text if en else zh_text).format(**values)


class ErrorOut(BaseModel):
    """Every error answer: ``detail`` — a message (Chinese unless ``Accept-Language: en``),
    or for validation and rule errors a list or object naming each problem."""

    detail: Any
    error: str | None = Field(None, description="a stable key: not_found, read_only …")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "NUL byte or invalid encoding in path or query"},
    401: {"model": ErrorOut, "description": "no valid bearer token"},
    403: {"model": ErrorOut, "description": "the caller's role may not do this"},
    404: {"model": ErrorOut, "description": "not found, or outside the caller's scope"},
    409: {"model": ErrorOut, "description": "conflicts with the stored state or a rule"},
    422: {"model": ErrorOut, "description": "invalid input"},
}


class ApiError(HTTPException):
    def __init__(self, status_code: int, key: str, headers: dict[str, str] | None = None,
                 **params: Any) -> None:
        super().__init__(status_code, render(key, params), headers=headers)
        self.key = key
        self.params = params


def not_found(what: str, ref: object) -> ApiError:
    return ApiError(status.HTTP_404_NOT_FOUND, "not_found", what=what, ref=ref)


def _has_bad_text(raw: bytes) -> bool:
    if not raw:
        return False
    if b"\x00" in raw:
        return True
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    if b"\x00" in decoded:
        return True
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def install(app: FastAPI) -> None:
    """The error handlers and the path/query guard, once per app."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        body = {"detail": render(exc.key, exc.params, en=english(request)), "error": exc.key}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def bad_content(request: Request, exc: Exception) -> Response:
        # the database's or codec's own text may quote the input: log it, answer plainly
        log.info("%s %s: refused content (%s: %s)", request.method, request.url.path,
                 type(exc).__name__, exc)
        message = render("bad_content", {}, en=english(request))
        return JSONResponse({"detail": message, "error": "bad_content"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def invalid(request: Request, exc: Exception) -> Response:
        # FastAPI's own handler echoes the input, which may not even encode (a lone
        # surrogate): the location, the type and pydantic's message name the problem
        assert isinstance(exc, RequestValidationError)
        errors = [{k: v for k, v in error.items() if k in ("type", "loc", "msg")}
                  for error in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def conflict(request: Request, exc: Exception) -> Response:
        # a unique or foreign key the route did not foresee: the stored state disagrees
        log.warning("%s %s: integrity error (%s: %s)", request.method, request.url.path,
                    type(exc).__name__, exc)
        message = render("conflict", {}, en=english(request))
        return JSONResponse({"detail": message, "error": "conflict"},
                            status_code=status.HTTP_409_CONFLICT)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(psycopg.DataError, bad_content)
    app.add_exception_handler(psycopg.errors.CheckViolation, bad_content)
    app.add_exception_handler(psycopg.errors.NotNullViolation, bad_content)
    app.add_exception_handler(psycopg.IntegrityError, conflict)
    app.add_exception_handler(UnicodeEncodeError, bad_content)

    @app.middleware("http")
    async def refuse_bad_text(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        raw_path = request.scope.get("raw_path") or request.scope.get("path", "").encode(
            "utf-8", "surrogateescape")
        if _has_bad_text(raw_path) or _has_bad_text(request.scope.get("query_string", b"")):
            message = render("bad_request_text", {}, en=english(request))
            return JSONResponse({"detail": message, "error": "bad_request_text"},
                                status_code=status.HTTP_400_BAD_REQUEST)
        return await call_next(request)
