"""A real HTTP server on 127.0.0.1 answering like Grafana's HTTP API for the
endpoints ``waterbudget dashboards push`` uses, recording every request.

Grafana cannot run on this machine; this checks what grafana-client sends
(method, path, authorization, JSON body) and how the publisher reacts to
Grafana's answers (404 then create, 401, versions). The answers follow
Grafana's API documentation (data sources, folders, dashboards); it is not a
Grafana and does not validate dashboards.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    authorization: str
    body: Any


@dataclass
class GrafanaState:
    token: str
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> saved body
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: GrafanaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            auth = self.headers.get("Authorization", "")
            with state.lock:
                state.requests.append(Request(self.command, self.path, auth, body))
                if auth != f"Bearer {state.token}":
                    self._answer(401, {"message": "Unauthorized"})
                else:
                    status, answer = route(state, self.command, self.path, body)
                    self._answer(status, answer)

        do_GET = do_POST = do_PUT = _handle  # noqa: N815

    return Handler


def route(state: GrafanaState, method: str, path: str, body: Any) -> tuple[int, Any]:
    parts = path.strip("/").split("/")
    match method, parts:
        case "GET", ["api", "frontend", "settings"]:
            return 200, {"buildInfo": {"version": "11.6.0", "edition": "Open Source"}}
        case "GET", ["api", "datasources", "uid", uid]:
            found = state.datasources.get(uid)
            return (200, found) if found else (404, {"message": "Data source not found"})
        case "POST", ["api", "datasources"]:
            if any(d["name"] == body["name"] for d in state.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            saved = {**body, "id": len(state.datasources) + 1, "version": 1}
            saved.pop("secureJsonData", None)
            state.datasources[body["uid"]] = saved
            return 200, {"datasource": saved, "id": saved["id"], "message": "Datasource added"}
        case "PUT", ["api", "datasources", "uid", uid]:
            if uid not in state.datasources:
                return 404, {"message": "Data source not found"}
            old = state.datasources[uid]
            saved = {**body, "id": old["id"], "version": old["version"] + 1}
            saved.pop("secureJsonData", None)
            state.datasources[uid] = saved
            return 200, {"datasource": saved, "message": "Datasource updated"}
        case "GET", ["api", "folders", uid]:
            found = state.folders.get(uid)
            return (200, found) if found else (404, {"message": "folder not found"})
        case "POST", ["api", "folders"]:
            if body.get("uid") in state.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            saved = {"id": len(state.folders) + 1, "uid": body["uid"], "title": body["title"],
                     "version": 1}
            state.folders[body["uid"]] = saved
            return 200, saved
        case "PUT", ["api", "folders", uid]:
            if uid not in state.folders:
                return 404, {"message": "folder not found"}
            folder = state.folders[uid]
            folder.update(title=body["title"], version=folder["version"] + 1)
            return 200, folder
        case "POST", ["api", "dashboards", "db"]:
            return _save_dashboard(state, body)
    return 404, {"message": "Not found"}


def _save_dashboard(state: GrafanaState, body: dict[str, Any]) -> tuple[int, Any]:
    dashboard = body.get("dashboard") or {}
    uid = dashboard.get("uid")
    if not uid or not dashboard.get("title"):
        return 400, {"message": "Dashboard title cannot be empty", "status": "bad-request"}
    if body.get("folderUid") not in state.folders:
        return 400, {"message": "folder not found", "status": "folder-not-found"}
    old = state.dashboards.get(uid)
    if old and not body.get("overwrite"):
        return 412, {"message": "The dashboard has been changed by someone else",
                     "status": "version-mismatch"}
    version = old["version"] + 1 if old else 1
    state.dashboards[uid] = {"version": version, "body": body}
    return 200, {"id": len(state.dashboards), "uid": uid, "url": f"/d/{uid}",
                 "status": "success", "version": version}


class GrafanaStandIn:
    def __init__(self, token: str) -> None:
        self.state = GrafanaState(token=token)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> GrafanaStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
