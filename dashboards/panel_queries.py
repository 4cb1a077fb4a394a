"""Every query a dashboard's JSON makes, with what its panel expects back.

Read from the generated JSON (what Grafana loads), not from the builders, so the
checks cover the artifact. Expectations come from the panel's own configuration:

* format ``time_series``: a ``time`` column (timestamp, date, or epoch number)
  and at least one numeric value column; text only in a ``metric`` column; rows
  in time order (Grafana rejects unsorted long frames);
* a table: exactly the columns its ``organize`` transformation names, numeric
  where a unit override is set;
* stat, bar gauge: numeric columns (a bar gauge may add one text label);
* bar chart: its ``xField`` text column plus numeric columns;
* geomap: the marker layer's latitude/longitude fields, numeric;
* annotations: ``time`` (and optional ``timeend``), ``text``, ``tags``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

NUMERIC = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric"})
TIME = frozenset({"timestamptz", "timestamp", "date"})
TEXT = frozenset({"text", "varchar", "bpchar", "name"})


@dataclass(frozen=True)
class Expectation:
    kind: str  # time_series | table | numbers | labelled_numbers | bars | geomap | annotation
    columns: tuple[str, ...] = ()  # required columns (tables: exactly these)
    numeric: frozenset[str] = frozenset()  # of those, the numeric ones
    label: str | None = None  # text category column (bars, bar gauge)


@dataclass(frozen=True)
class PanelQuery:
    dashboard_uid: str
    panel_id: int
    title: str
    panel_type: str
    ref_id: str
    raw_sql: str
    format: str
    expectation: Expectation
    time_from: str | None = None  # panel's relative time override
    min_interval: str | None = None
    max_data_points: int | None = None
    datasource: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.dashboard_uid}#{self.panel_id} {self.title} [{self.ref_id}]"


def _overridden_units(panel: dict[str, Any]) -> set[str]:
    names = set()
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") == "byName" and any(p.get("id") == "unit"
                                                 for p in override.get("properties", [])):
            names.add(matcher["options"])
    return names


def _organized_columns(panel: dict[str, Any]) -> tuple[str, ...]:
    for transformation in panel.get("transformations", []):
        if transformation.get("id") == "organize":
            index: dict[str, int] = transformation["options"].get("indexByName", {})
            return tuple(sorted(index, key=index.__getitem__))
    return ()


def expectation_of(panel: dict[str, Any], target: dict[str, Any]) -> Expectation:
    kind = panel["type"]
    if target.get("format") == "time_series":
        return Expectation("time_series", ("time",))
    if kind == "table":
        columns = _organized_columns(panel)
        return Expectation("table", columns, frozenset(_overridden_units(panel)))
    if kind == "geomap":
        layer = panel["options"]["layers"][0]
        lat, lon = layer["location"]["latitude"], layer["location"]["longitude"]
        style = layer["config"]["style"]
        numeric = {lat, lon, style["size"]["field"], style["color"]["field"]}
        return Expectation("geomap", tuple(sorted(numeric)), frozenset(numeric))
    if kind == "barchart":
        return Expectation("bars", (panel["options"]["xField"],),
                           label=panel["options"]["xField"])
    if kind == "bargauge":
        return Expectation("labelled_numbers")
    return Expectation("numbers")


def panel_queries(dashboard: dict[str, Any]) -> Iterator[PanelQuery]:
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            continue
        for target in panel.get("targets", []):
            yield PanelQuery(
                dashboard_uid=dashboard["uid"], panel_id=panel.get("id", 0),
                title=panel.get("title", ""), panel_type=panel["type"],
                ref_id=target.get("refId", ""), raw_sql=target.get("rawSql", ""),
                format=target.get("format", "time_series"),
                expectation=expectation_of(panel, target),
                time_from=panel.get("timeFrom"), min_interval=panel.get("interval"),
                max_data_points=panel.get("maxDataPoints"),
                datasource=target.get("datasource") or {})


def annotation_queries(dashboard: dict[str, Any]) -> Iterator[PanelQuery]:
    for annotation in dashboard.get("annotations", {}).get("list", []):
        target = annotation.get("target") or {}
        if "rawSql" not in target:
            continue  # Grafana's built-in annotations
        yield PanelQuery(
            dashboard_uid=dashboard["uid"], panel_id=0,
            title=f"annotation {annotation['name']}", panel_type="annotation",
            ref_id=target.get("refId", ""), raw_sql=target["rawSql"], format="table",
            expectation=Expectation("annotation", ("time", "text", "tags"),
                                    frozenset({"time"})),
            datasource=annotation.get("datasource") or {})


def all_queries(dashboard: dict[str, Any]) -> list[PanelQuery]:
    return [*panel_queries(dashboard), *annotation_queries(dashboard)]


def result_problems(query: PanelQuery, columns: list[tuple[str, str]],
                    rows: list[tuple[Any, ...]]) -> list[str]:
    """What is wrong with a result (column name, PostgreSQL type name) for its panel."""
    names = [name for name, _ in columns]
    types = dict(columns)
    problems = [f"column {name!r} appears twice" for name in set(names)
                if names.count(name) > 1]
    expect = query.expectation
    missing = [c for c in expect.columns if c not in types]
    if missing:
        problems.append(f"missing columns {missing} (got {names})")
    if expect.kind == "table" and set(names) - set(expect.columns):
        problems.append(f"columns not configured in the table: "
                        f"{sorted(set(names) - set(expect.columns))}")
    for name in expect.numeric:
        if name in types and types[name] not in NUMERIC and not (
                expect.kind == "annotation" and types[name] in TIME):
            problems.append(f"column {name!r} is {types[name]}, the panel needs a number")
    if expect.kind == "time_series":
        problems += _time_series_problems(columns, rows)
    elif expect.kind in ("numbers", "labelled_numbers", "bars", "geomap"):
        values = [n for n, t in columns if t in NUMERIC]
        texts = [n for n, t in columns if t not in NUMERIC]
        if not values:
            problems.append(f"no numeric column (got {columns})")
        if expect.kind == "numbers" and texts:
            problems.append(f"text columns {texts} in a panel of numbers")
        if expect.kind == "labelled_numbers" and len(texts) > 1:
            problems.append(f"more than one label column: {texts}")
        if expect.label and types.get(expect.label) not in TEXT:
            problems.append(f"category column {expect.label!r} should be text")
    elif expect.kind == "annotation" and types.get("time") not in TIME | NUMERIC:
        problems.append("annotation time must be a timestamp or epoch number")
    return problems


def _time_series_problems(columns: list[tuple[str, str]],
                          rows: list[tuple[Any, ...]]) -> list[str]:
    problems = []
    types = dict(columns)
    if types.get("time") not in TIME | NUMERIC:
        problems.append(f"time column is {types.get('time')}, not a time or epoch")
    values = [n for n, t in columns if n not in ("time", "metric") and t in NUMERIC]
    texts = [n for n, t in columns if n not in ("time", "metric") and t not in NUMERIC]
    if not values:
        problems.append(f"no numeric value column (got {columns})")
    if texts:
        problems.append(f"text columns {texts} besides 'metric'")
    if "metric" in types and types["metric"] not in TEXT:
        problems.append("metric column should be text")
    if rows and "time" in types:
        index = [n for n, _ in columns].index("time")
        times = [row[index] for row in rows]
        if any(t is None for t in times):
            problems.append("null time values")
        elif times != sorted(times):
            problems.append("rows are not in time order")
    return problems
