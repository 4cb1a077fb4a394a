"""Checks of a dashboard's JSON against Grafana's dashboard model, as pure functions.

Each returns a list of problems (empty: fine): unique panel ids, grid positions
inside 24 columns that do not overlap, every panel, target, variable and
annotation bound to the provisioned data source, every variable a query uses
defined (and defined before the variables that use it), links to dashboards
that exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from dashboards.datasource import DATASOURCE_TYPE, DATASOURCE_UID

GRID_COLUMNS = 24
_REFERENCE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]")
_DASHBOARD_LINK = re.compile(r"/d/([A-Za-z0-9_-]+)")
PROVISIONED = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}


def panels_of(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # inside collapsed rows


def referenced_variables(sql: str) -> set[str]:
    names = {m.group(1) or m.group(2) or m.group(3) for m in _REFERENCE.finditer(sql)}
    return {name for name in names if not name.startswith("__")}


def id_problems(dashboard: dict[str, Any]) -> list[str]:
    ids = [panel.get("id") for panel in panels_of(dashboard)]
    problems = [f"panel {p.get('title')!r} has no integer id" for p in panels_of(dashboard)
                if not isinstance(p.get("id"), int) or p["id"] <= 0]
    problems += [f"panel id {i} is used twice" for i in sorted({i for i in ids
                                                                if ids.count(i) > 1}, key=str)]
    return problems


def grid_problems(dashboard: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in dashboard.get("panels", []):
        title = panel.get("title", "?")
        grid = panel.get("gridPos") or {}
        try:
            x, y, w, h = (int(grid[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            problems.append(f"panel {title!r} has no complete gridPos: {grid}")
            continue
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS:
            problems.append(f"panel {title!r} lies outside the {GRID_COLUMNS}-column grid: "
                            f"{grid}")
        for other, ox, oy, ow, oh in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                problems.append(f"panels {other!r} and {title!r} overlap")
        boxes.append((title, x, y, w, h))
    return problems


def _bound(ref: Any) -> bool:
    return isinstance(ref, dict) and {k: ref.get(k) for k in PROVISIONED} == PROVISIONED


def datasource_problems(dashboard: dict[str, Any]) -> list[str]:
    problems = []
    for panel in panels_of(dashboard):
        if panel.get("type") == "row":
            continue
        title = panel.get("title")
        if not _bound(panel.get("datasource")):
            problems.append(f"panel {title!r} is not bound to the provisioned data source")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"panel {title!r} has no query")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            problems.append(f"panel {title!r} repeats a refId: {refs}")
        problems += [f"a query of panel {title!r} is not bound to the provisioned data source"
                     for t in targets if not _bound(t.get("datasource"))]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query" and not _bound(variable.get("datasource")):
            problems.append(f"variable {variable.get('name')!r} is not bound to the "
                            "provisioned data source")
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("builtIn"):
            continue
        if not _bound(annotation.get("datasource")):
            problems.append(f"annotation {annotation.get('name')!r} is not bound to the "
                            "provisioned data source")
    return problems


def _query_text(variable: dict[str, Any]) -> str:
    query = variable.get("query", "")
    return str(query.get("rawSql", "") if isinstance(query, dict) else query)


def variable_problems(dashboard: dict[str, Any]) -> list[str]:
    problems = []
    defined: list[str] = []
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable.get("name", "")
        for used in sorted(referenced_variables(_query_text(variable))):
            if used not in defined:
                problems.append(f"variable {name!r} uses ${used}, which is not defined "
                                "before it")
        defined.append(name)
    texts: list[tuple[str, str]] = []
    for panel in panels_of(dashboard):
        texts += [(f"panel {panel.get('title')!r}", t.get("rawSql", ""))
                  for t in panel.get("targets") or []]
        texts += [(f"panel {panel.get('title')!r}", link.get("url", ""))
                  for link in _links(panel)]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        texts.append((f"annotation {annotation.get('name')!r}",
                      (annotation.get("target") or {}).get("rawSql", "")))
    for where, text in texts:
        problems += [f"{where} uses ${used}, which is not a variable of the dashboard"
                     for used in sorted(referenced_variables(text) - set(defined))]
    return problems


def _links(panel: dict[str, Any]) -> list[dict[str, Any]]:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    links = list(defaults.get("links", []))
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        for prop in override.get("properties", []):
            if prop.get("id") == "links":
                links += prop.get("value", [])
    return links + list(panel.get("links", []))


def link_problems(dashboards: Iterable[dict[str, Any]]) -> list[str]:
    boards = list(dashboards)
    uids = {d.get("uid") for d in boards}
    problems = []
    for dashboard in boards:
        for panel in panels_of(dashboard):
            for link in _links(panel):
                for uid in _DASHBOARD_LINK.findall(link.get("url", "")):
                    if uid not in uids:
                        problems.append(f"panel {panel.get('title')!r} of {dashboard['uid']} "
                                        f"links to unknown dashboard {uid}")
    return problems


def dashboard_problems(dashboard: dict[str, Any]) -> list[str]:
    problems = [f"{key} is missing" for key in ("uid", "title", "schemaVersion", "time")
                if not dashboard.get(key)]
    return (problems + id_problems(dashboard) + grid_problems(dashboard)
            + datasource_problems(dashboard) + variable_problems(dashboard))


def catalog_problems(dashboards: Iterable[dict[str, Any]]) -> list[str]:
    boards = list(dashboards)
    uids = [d.get("uid") for d in boards]
    problems = [f"dashboard uid {u} is used twice"
                for u in sorted({u for u in uids if uids.count(u) > 1}, key=str)]
    for dashboard in boards:
        problems += [f"{dashboard.get('uid')}: {p}" for p in dashboard_problems(dashboard)]
    return problems + link_problems(boards)
