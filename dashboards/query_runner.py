"""Runs a dashboard's queries against the database the way Grafana would.

Template variables are resolved in the order the dashboard lists them, each
from its own query (expanded with the variables before it), taking the first
option unless a value is asked for: what Grafana does when a dashboard opens.
Used by the integration tests and the benchmark; Grafana itself runs the SQL
in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from dashboards.datasource import MIN_INTERVAL
from dashboards.grafana_sql import (
    DEFAULT_MAX_DATA_POINTS,
    TimeRange,
    VariableValue,
    auto_interval,
    grafana_sql,
    panel_range,
)
from dashboards.panel_queries import Expectation, PanelQuery

Conn = psycopg.Connection[Any]
_NO_EXPECTATION = Expectation("table")


@dataclass(frozen=True)
class Result:
    columns: list[tuple[str, str]]  # name, PostgreSQL type name
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Viewing:
    """One dashboard opened at ``now`` (the data's time) on a data source with or
    without the TimescaleDB option."""

    dashboard: dict[str, Any]
    now: datetime
    timescaledb: bool
    variables: dict[str, VariableValue]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.dashboard.get("timezone") or "UTC")

    def time_range(self, query: PanelQuery | None = None) -> TimeRange:
        time = self.dashboard["time"]
        return panel_range(time["from"], time["to"], self.now, self.zone,
                           query.time_from if query else None)

    def sql(self, query: PanelQuery) -> str:
        time_range = self.time_range(query)
        interval = auto_interval(time_range, min_interval=query.min_interval or MIN_INTERVAL,
                                 max_data_points=query.max_data_points
                                 or DEFAULT_MAX_DATA_POINTS)
        return grafana_sql(query.raw_sql, variables=self.variables, time_range=time_range,
                           interval=interval, timescaledb=self.timescaledb)


def _type_names(conn: Conn, oids: list[int]) -> dict[int, str]:
    names = {}
    for oid in oids:
        info = conn.adapters.types.get(oid)
        if info is not None:
            names[oid] = info.name
    missing = [oid for oid in oids if oid not in names]
    if missing:
        names |= dict(conn.execute("SELECT oid::int, typname FROM pg_type WHERE oid = ANY(%s)",
                                   (missing,)).fetchall())
    return names


def run(conn: Conn, sql: str) -> Result:
    """Runs expanded SQL as text (as Grafana sends it: no parameters)."""
    with conn.cursor() as cur:
        cur.execute(sql.encode())
        description = cur.description or []
        rows = cur.fetchall()
    names = _type_names(conn, [column.type_code for column in description])
    return Result([(column.name, names.get(column.type_code, "unknown"))
                   for column in description], rows)


def variable_options(rows: list[tuple[Any, ...]], columns: list[str]) -> list[str]:
    """Grafana's reading of a variable query: ``__value`` if present, else column 1."""
    index = columns.index("__value") if "__value" in columns else 0
    return [str(row[index]) for row in rows if row[index] is not None]


def open_dashboard(conn: Conn, dashboard: dict[str, Any], *, now: datetime, timescaledb: bool,
                   choose: dict[str, str] | None = None) -> Viewing:
    choose = choose or {}
    viewing = Viewing(dashboard, now, timescaledb, {})
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = PanelQuery(dashboard["uid"], 0, variable["name"], "variable", "var",
                           str(variable["query"]), "table",
                           expectation=_NO_EXPECTATION)
        result = run(conn, viewing.sql(query))
        options = variable_options(result.rows, [name for name, _ in result.columns])
        wanted = choose.get(variable["name"])
        value = wanted if wanted in options else (options[0] if options else "")
        viewing.variables[variable["name"]] = VariableValue(
            value, multi=bool(variable.get("multi")),
            include_all=bool(variable.get("includeAll")))
    return viewing
