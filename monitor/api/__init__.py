"""HTTP API of the monitor (FastAPI) under ``/monitor``, with the budget API's tokens and roles.

Administrators see everything; operators their node's subtree (acknowledge,
resolve, levels, subscriptions, overrides there); water users read their own
node. A node or alert outside the caller's scope answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from monitor.api import alerts, delivery, enforcement, execution, status
from waterbudget.web.errors import ERROR_RESPONSES, install

router = APIRouter(prefix="/monitor", tags=["monitor"], responses=ERROR_RESPONSES)
for _resource in (execution, alerts, delivery, enforcement, status):
    router.include_router(_resource.router)


def create_app(database_url: str) -> FastAPI:
    """A stand-alone app with only the monitor routes (tests)."""
    app = FastAPI(title="waterbudget — monitor", version="0.1.0")
    app.state.database_url = database_url
    install(app)
    app.include_router(router)
    return app
