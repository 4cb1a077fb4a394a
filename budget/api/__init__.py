"""HTTP API of the budget module (FastAPI), routes grouped by resource under ``routes/``.

``router`` carries every budget route under ``/budget``; ``create_app`` is a
stand-alone app with only these routes. Authentication and scopes:
``budget.api.deps``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from budget.api.routes import (
    budgets,
    divisions,
    imports,
    ledger,
    nodes,
    procedure,
    quota,
    revenue,
    sectors,
    tokens,
    years,
)
from waterbudget.web.errors import ERROR_RESPONSES, install

router = APIRouter(prefix="/budget", tags=["budget"], responses=ERROR_RESPONSES)
for _resource in (
    nodes,
    budgets,
    revenue,
    quota,
    ledger,
    imports,
    tokens,
    sectors,
    divisions,
    years,
    procedure,
):
    router.include_router(_resource.router)


def create_app(database_url: str) -> FastAPI:
    """A stand-alone app with only the budget routes (tests, or until the main app mounts it)."""
    app = FastAPI(title="waterbudget — budgets", version="0.1.0")
    app.state.database_url = database_url
    install(app)
    app.include_router(router)
    return app
