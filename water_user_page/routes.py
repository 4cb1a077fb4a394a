"""The water-user page over HTTP: ``/my`` (FastAPI), Chinese unless ``?lang=en``.

How a farmer gets in: the water office creates the household's ``water_user``
token (``waterbudget budget token --role water_user --node CODE``) and hands it
over as a link or QR code ``…/my/login?code=<token>`` (SMS, or printed on the
card receipt, ``--qr``) with the token's short code (``ABCD-EFGH``,
water_user_page.codes), which is what a farmer types into the page's form.
Failed tries are limited per client address (``FAILED_TRIES``, then 429 with
``Retry-After``); behind a reverse proxy run uvicorn with ``--proxy-headers`` so
the address is the phone's, not the proxy's. The page
checks the token, keeps it in an HttpOnly cookie and redirects to ``/my``, so
the code leaves the address bar. No password to remember, nothing to install;
revoking the token (``budget_api_tokens.revoked_at``) locks the page again.
Only ``water_user`` tokens open the page, and only their own node.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import psycopg
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from limits import RateLimitItemPerMinute, storage, strategies

from budget import repository as budget_repo
from budget.ledger import allocation_of
from budget.plan_profile import PlanProfile, profile_for
from budget.year_ledger import BUDGET_TIMEZONE
from reports.labels import language, text
from water_user_page import repository as repo
from water_user_page.codes import normalized
from water_user_page.view import my_water
from waterbudget.web.errors import ErrorOut
from waterbudget.web.types import Text

_PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "signed in or out: on to the page"},
    400: {"description": "NUL byte or invalid encoding in the address",
          "content": {"application/json": {"schema": ErrorOut.model_json_schema()}}},
    401: {"description": "the sign-in form", "content": {"text/html": {}}},
    429: {"description": "too many wrong codes from this address: the form, try in a minute",
          "content": {"text/html": {}}},
}
router = APIRouter(prefix="/my", tags=["water user page"], responses=_PAGE_RESPONSES)
COOKIE = "wb_water_user"
COOKIE_MAX_AGE_S = 180 * 24 * 3600
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff"}
FAILED_TRIES = RateLimitItemPerMinute(5)  # wrong codes (typed, linked or in a cookie)


def _limiter(request: Request) -> strategies.MovingWindowRateLimiter:
    """One per app (in memory: per process), made on first use."""
    state = request.app.state
    if getattr(state, "water_user_limiter", None) is None:
        state.water_user_limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
    limiter: strategies.MovingWindowRateLimiter = state.water_user_limiter
    return limiter


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=PackageLoader("water_user_page", "templates"),
                       autoescape=select_autoescape(["html"]))


def _page(template: str, status_code: int = 200, **values: object) -> HTMLResponse:
    lang = str(values.get("lang", "zh"))
    html = _environment().get_template(template).render(
        t=lambda key, **p: text(lang, key, **p), **values)
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def _water_user(conn: budget_repo.Conn, secret: str | None) -> budget_repo.Principal | None:
    """The water user of a token or of a short code (``abcd-efgh`` as typed)."""
    if not secret:
        return None
    code = normalized(secret)
    found = (repo.principal_of_code(conn, code=code) if code
             else budget_repo.principal(conn, secret=secret))
    return found if found and found.role == "water_user" and found.node_id else None


class TooManyTriesError(Exception):
    pass


def _checked(request: Request, conn: budget_repo.Conn,
             secret: str | None) -> budget_repo.Principal | None:
    """As ``_water_user``, but a client past ``FAILED_TRIES`` wrong codes a minute is
    refused before its code is looked at; each wrong code counts."""
    if not secret:
        return None
    limiter, client = _limiter(request), _client(request)
    if not limiter.test(FAILED_TRIES, "my-login", client):
        raise TooManyTriesError
    found = _water_user(conn, secret)
    if found is None:
        limiter.hit(FAILED_TRIES, "my-login", client)
    return found


def _login_form(lang: str, failed: bool = False) -> HTMLResponse:
    return _page("login.html", status.HTTP_401_UNAUTHORIZED, lang=lang, failed=failed)


def _too_many(lang: str) -> HTMLResponse:
    response = _page("login.html", status.HTTP_429_TOO_MANY_REQUESTS, lang=lang,
                     failed=False, too_many=True)
    response.headers["Retry-After"] = "60"
    return response


@router.get("", response_class=HTMLResponse)
def my_page(request: Request, lang: Text | None = None) -> Response:
    """我的用水: budget, use so far, what remains, warnings, card sessions."""
    lang = language(lang)
    with psycopg.connect(request.app.state.database_url) as conn:
        try:
            user = _checked(request, conn, request.cookies.get(COOKIE))
        except TooManyTriesError:
            return _too_many(lang)
        if user is None or user.node_id is None:
            return _login_form(lang)
        node = budget_repo.load_hierarchy(conn).nodes[user.node_id]
        as_of = repo.data_clock(conn) or datetime.now(UTC)
        year = as_of.astimezone(BUDGET_TIMEZONE).year
        entries = repo.entries(conn, node_id=node.node_id, year=year)
        weights = budget_repo.plan_profile(conn, node_id=node.node_id)
        budget = allocation_of(entries, as_of=datetime.now(UTC))
        view = my_water(
            lang=lang, node=node, year=year, as_of=as_of, budget=budget,
            used_by_source=repo.used_by_source(conn, node_id=node.node_id, year=year),
            factor=budget_repo.load_policy(conn, year=year).non_conventional_factor,
            # as the monitor and the reports: the node's own, else its main sector's profile
            profile=profile_for(PlanProfile(tuple(weights)) if weights else None, budget),
            alerts=repo.my_alerts(conn, node_id=node.node_id, year=year),
            sessions=repo.my_sessions(conn, node_id=node.node_id),
            charges=repo.my_charges(conn, node_id=node.node_id, year=year))
    return _page("page.html", lang=lang, view=view)


def _sign_in(request: Request, code: str, lang: str) -> Response:
    secret = normalized(code) or code.strip()
    with psycopg.connect(request.app.state.database_url) as conn:
        try:
            user = _checked(request, conn, secret)
        except TooManyTriesError:
            return _too_many(lang)
    if user is None:
        return _login_form(lang, failed=True)
    target = "/my" if lang == "zh" else f"/my?lang={lang}"
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER, headers=_HEADERS)
    response.set_cookie(COOKIE, secret, max_age=COOKIE_MAX_AGE_S, path="/my",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_link(request: Request, code: Text = "", lang: Text | None = None) -> Response:
    """The link in the SMS or QR code: ``/my/login?code=…``."""
    return _sign_in(request, code, language(lang)) if code else _login_form(language(lang))


@router.post("/login", response_class=HTMLResponse)
async def login_form(request: Request, lang: Text | None = None) -> Response:
    """The form: the code typed by hand."""
    fields = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    return _sign_in(request, (fields.get("code") or [""])[0], language(lang))


@router.post("/logout")
def logout(lang: Text | None = None) -> Response:
    response = RedirectResponse("/my" if language(lang) == "zh" else "/my?lang=en",
                                status.HTTP_303_SEE_OTHER, headers=_HEADERS)
    response.delete_cookie(COOKIE, path="/my")
    return response
