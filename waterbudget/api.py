"""The HTTP API: one FastAPI app that mounts each feature's router."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, HTTPException

from budget.api import router as budget_router
from monitor.api import router as monitor_router
from monitor.channels.destinations import AddressPolicy
from monitor.enforcement import EnforcementPolicy
from reports.api import router as reports_router
from water_user_page.routes import router as water_user_router
from waterbudget.web.errors import install

log = logging.getLogger(__name__)


def create_app(database_url: str, *, enforcement: EnforcementPolicy | None = None,
               destinations: AddressPolicy | None = None) -> FastAPI:
    """``destinations``: where webhook subscriptions may point (default: public addresses
    only; ``WATERBUDGET_WEBHOOK_ALLOW_NETWORKS`` through ``waterbudget api``)."""
    app = FastAPI(title="waterbudget", version="0.1.0",
                  description="Water-budget execution monitoring (水预算执行监控)")
    app.state.database_url = database_url
    app.state.monitor_enforcement = enforcement or EnforcementPolicy()
    app.state.webhook_destinations = destinations or AddressPolicy()
    install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Ready when the database answers."""
        try:
            with psycopg.connect(database_url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            # the driver's text names hosts, ports and users: the log gets it, callers not
            log.warning("health check: database unavailable: %s", exc)
            raise HTTPException(503, "database unavailable (数据库不可用)") from None
        return {"status": "ok"}

    app.include_router(budget_router)
    app.include_router(monitor_router)
    app.include_router(reports_router)
    app.include_router(water_user_router)
    return app
