"""Pushes the data source, the folder and the dashboards to a running Grafana
through its HTTP API (grafana-client; the only module that imports it).

Create or update, so pushing twice changes nothing but versions:
* data source: ``GET /api/datasources/uid/<uid>``, then ``PUT`` it, or
  ``POST /api/datasources`` when Grafana answers 404;
* folder: ``GET /api/folders/<uid>``, then ``PUT`` a changed title, or ``POST``;
* dashboards: ``POST /api/dashboards/db`` with ``overwrite: true`` into the folder.

Used by ``waterbudget dashboards push``; the provisioning files are the other
way to get the same dashboards into Grafana.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, TokenAuth

from dashboards.datasource import (
    DATASOURCE_UID,
    FOLDER_TITLE,
    FOLDER_UID,
    DatabaseConnection,
    datasource_payload,
)

TIMEOUT_S = 10.0
COMMIT_MESSAGE = "waterbudget dashboards push"


class PushError(RuntimeError):
    """Grafana refused or could not be reached; the message says which step."""


@dataclass
class PushResult:
    datasource: str = ""  # created | updated
    folder: str = ""  # created | updated | unchanged
    dashboards: list[tuple[str, int]] = field(default_factory=list)  # uid, version


def _missing(exc: GrafanaClientError) -> bool:
    return bool(exc.status_code == 404)


def _step(what: str, exc: Exception) -> PushError:
    status = getattr(exc, "status_code", None)
    return PushError(f"{what}: Grafana answered {status}: {exc}" if status
                     else f"{what}: {exc}")


def connect(url: str, *, token: str = "", timeout: float = TIMEOUT_S) -> GrafanaApi:
    """``url`` may carry ``user:password@``; a token (service account) wins over it."""
    api = GrafanaApi.from_url(url, credential=TokenAuth(token) if token else None,
                              timeout=timeout)
    try:
        api.health.check()
    except Exception as exc:
        raise _step(f"reaching Grafana at {url}", exc) from exc
    return api


def push_datasource(api: GrafanaApi, connection: DatabaseConnection, *,
                    timescaledb: bool) -> str:
    payload = datasource_payload(connection, timescaledb=timescaledb)
    try:
        try:
            api.datasource.get_datasource_by_uid(DATASOURCE_UID)
        except GrafanaClientError as exc:
            if not _missing(exc):
                raise
            api.datasource.create_datasource(payload)
            return "created"
        api.datasource.update_datasource_by_uid(DATASOURCE_UID, payload)
        return "updated"
    except GrafanaException as exc:
        raise _step("data source", exc) from exc


def push_folder(api: GrafanaApi) -> str:
    try:
        try:
            folder = api.folder.get_folder(FOLDER_UID)
        except GrafanaClientError as exc:
            if not _missing(exc):
                raise
            api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
            return "created"
        if folder.get("title") == FOLDER_TITLE:
            return "unchanged"
        api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
        return "updated"
    except GrafanaException as exc:
        raise _step("folder", exc) from exc


def push_dashboard(api: GrafanaApi, dashboard: Mapping[str, Any]) -> tuple[str, int]:
    body = {"dashboard": {**dashboard, "id": None}, "folderUid": FOLDER_UID,
            "overwrite": True, "message": COMMIT_MESSAGE}
    try:
        answer = api.dashboard.update_dashboard(body)
    except GrafanaException as exc:
        raise _step(f"dashboard {dashboard.get('uid')}", exc) from exc
    return str(answer.get("uid", dashboard.get("uid"))), int(answer.get("version", 0))


def push(api: GrafanaApi, *, connection: DatabaseConnection, timescaledb: bool,
         dashboards: Mapping[str, Mapping[str, Any]]) -> PushResult:
    result = PushResult()
    result.datasource = push_datasource(api, connection, timescaledb=timescaledb)
    result.folder = push_folder(api)
    for dashboard in dashboards.values():
        result.dashboards.append(push_dashboard(api, dashboard))
    return result
