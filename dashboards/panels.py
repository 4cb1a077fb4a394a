"""Panel factories: every panel queries the provisioned data source with raw SQL,
has a Chinese title and an English description, and is sized on the 24-column grid.

What a panel expects of its query is part of its Grafana configuration, so the
tests read it back from the JSON: a time series wants ``time`` plus numbers, a
table the columns its ``organize`` transformation names (numbers where a unit
is set), a map the latitude and longitude fields of its marker layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import (
    barchart,
    bargauge,
    common,
    geomap,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    FrameGeometrySourceMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    VisibilityMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
)
from grafana_foundation_sdk.models.geomap import TooltipMode

from budget.kinds import Source
from dashboards.datasource import datasource_ref
from dashboards.sql_target import Sql

M3 = "suffix: m³"
WAN_M3 = "suffix: 万m³"
M3_PER_H = "suffix: m³/h"
RATE = "percentunit"
PERCENT_POINTS = "suffix: 个百分点"
HOURS = "h"
COUNT = "short"

# Registry sources are free text; the budget's are Ningxia 4.3.1 kinds.
SOURCE_LABELS = {source.value: source.label for source in Source} | {"surface": "地表水"}
# Execution rows: 'all' is the node's all-sources row (the only one of a
# single-source node, docs/monitor-schema.md).
SOURCE_TOTAL_LABELS = {"all": "全部水源", **SOURCE_LABELS}
METHOD_LABELS = {"measured": "计量", "card": "IC卡", "converted": "以电折水",
                 "estimated": "估算", "computed": "推算"}
KIND_LABELS = {"well": "机井", "canal_gate": "渠道闸口", "pump_station": "泵站"}


class Configurable(Protocol):
    def title(self, title: str) -> Self: ...
    def description(self, description: str) -> Self: ...
    def datasource(self, datasource: DataSourceRef) -> Self: ...
    def with_target(self, target: cogbuilder.Builder[cogvariants.Dataquery]) -> Self: ...
    def height(self, h: int) -> Self: ...
    def span(self, w: int) -> Self: ...


P = TypeVar("P", bound=Configurable)


@dataclass(frozen=True)
class Size:
    w: int
    h: int


FULL = Size(24, 8)
HALF = Size(12, 8)
THIRD = Size(8, 8)
QUARTER_STAT = Size(6, 4)


def _placed(panel: P, title: str, description: str, query: Sql, size: Size) -> P:
    return (panel.title(title).description(description).datasource(datasource_ref())
            .with_target(query).span(size.w).height(size.h))


def labels(mapping: dict[str, str]) -> ValueMap:
    return ValueMap(options={key: ValueMappingResult(text=text, index=i)
                             for i, (key, text) in enumerate(mapping.items())})


def _display_names(panel: timeseries.Panel, mapping: dict[str, str]) -> timeseries.Panel:
    """Series named after a ``metric`` column's values, shown by their Chinese labels."""
    for key, text in mapping.items():
        panel = panel.override_by_name(key, [DynamicConfigValue(id_val="displayName",
                                                                value=text)])
    return panel


def _legend() -> common.VizLegendOptions:
    return (common.VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM))


def time_series(title: str, description: str, sql: str, *, unit: str, size: Size = HALF,
                bars: bool = False, stacked: bool = False, series: dict[str, str] | None = None,
                min_interval: str | None = None, relative: str | None = None
                ) -> timeseries.Panel:
    """``sql`` returns ``time``, numbers, and optionally a ``metric`` column naming series."""
    panel = _placed(timeseries.Panel(), title, description, Sql(sql).time_series(), size)
    panel = panel.unit(unit).legend(_legend()).fill_opacity(30 if bars or stacked else 10)
    if bars:
        panel = panel.draw_style(GraphDrawStyle.BARS)
    if stacked:
        panel = panel.stacking(common.StackingConfig().mode(StackingMode.NORMAL))
    if series:
        panel = _display_names(panel, series)
    if min_interval:
        panel = panel.interval(min_interval)
    if relative:
        panel = panel.time_from(relative)
    return panel


@dataclass(frozen=True)
class Column:
    """A table column: the query's column name, its Chinese header, and a unit
    for numeric columns."""

    name: str
    header: str
    unit: str | None = None
    mapping: dict[str, str] | None = None
    link: tuple[str, str] | None = None  # (title, URL), e.g. to the site dashboard


def _organize(columns: list[Column]) -> DataTransformerConfig:
    return DataTransformerConfig(id_val="organize", options={
        "excludeByName": {},
        "indexByName": {c.name: i for i, c in enumerate(columns)},
        "renameByName": {c.name: c.header for c in columns},
    })


def table_panel(title: str, description: str, sql: str, columns: list[Column], *,
                size: Size = HALF, relative: str | None = None) -> table.Panel:
    panel = _placed(table.Panel(), title, description, Sql(sql).table(), size)
    panel = panel.with_transformation(_organize(columns)).filterable(True)
    for column in columns:
        properties = []
        if column.unit:
            properties.append(DynamicConfigValue(id_val="unit", value=column.unit))
        if column.mapping:
            properties.append(DynamicConfigValue(id_val="mappings",
                                                 value=[labels(column.mapping)]))
        if column.link:
            properties.append(DynamicConfigValue(id_val="links", value=[
                {"title": column.link[0], "url": column.link[1]}]))
        if properties:
            panel = panel.override_by_name(column.name, properties)
    if relative:
        panel = panel.time_from(relative)
    return panel


def _rate_thresholds() -> ThresholdsConfig:
    """Green, then notice 80 %, warning 90 %, overrun 100 % (the monitor's defaults)."""
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
        Threshold(value=None, color="green"), Threshold(value=0.8, color="yellow"),
        Threshold(value=0.9, color="orange"), Threshold(value=1.0, color="red")])


GAP_STEPS = ((None, "green"), (5.0, "yellow"), (10.0, "orange"), (20.0, "red"))
"""执行率 − 时间进度 in percentage points: at or behind the plan green; ahead of it by
5, 10, 20 points yellow, orange, red — a township at 60 % in May is red (the plan
says about 25 %), one at 95 % in December green."""


def gap_thresholds() -> ThresholdsConfig:
    """Colour by how far the execution rate runs ahead of the time progress (issue 15),
    not by the rate itself."""
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
        Threshold(value=v, color=c) for v, c in GAP_STEPS])


def stat_panel(title: str, description: str, sql: str, *, unit: str,
               size: Size = QUARTER_STAT, rate: bool = False, gap: bool = False) -> stat.Panel:
    """``sql`` returns one row of numbers (format table); ``rate``: coloured at the
    monitor's levels, ``gap``: coloured by the lead over the time progress."""
    panel = _placed(stat.Panel(), title, description, Sql(sql).table(), size)
    panel = (panel.unit(unit).color_mode(BigValueColorMode.VALUE)
             .graph_mode(BigValueGraphMode.NONE))
    if rate:
        panel = panel.thresholds(_rate_thresholds())
    if gap:
        panel = panel.thresholds(gap_thresholds())
    return panel


def gap_bars(title: str, description: str, sql: str, *, size: Size = HALF) -> bargauge.Panel:
    """执行率 − 时间进度 (percentage points), one bar per row: ``sql`` returns a text label
    and the differences; coloured by the difference."""
    panel = _placed(bargauge.Panel(), title, description, Sql(sql).table(), size)
    return (panel.unit(PERCENT_POINTS).min(-50).max(50).thresholds(gap_thresholds())
            .orientation(VizOrientation.HORIZONTAL)
            .reduce_options(common.ReduceDataOptions().values(True).calcs([])))


def grouped_bars(title: str, description: str, sql: str, *, x_field: str, unit: str,
                 size: Size = HALF, mapping: dict[str, str] | None = None,
                 stacked: bool = False) -> barchart.Panel:
    """A category axis (``x_field``, text) and one bar per numeric column."""
    panel = _placed(barchart.Panel(), title, description, Sql(sql).table(), size)
    panel = panel.x_field(x_field).unit(unit).legend(_legend())
    if mapping:
        panel = panel.mappings([labels(mapping)])
    if stacked:
        panel = panel.stacking(StackingMode.NORMAL)
    return panel


def state_timeline(title: str, description: str, sql: str, *, states: dict[str, str],
                   size: Size = FULL) -> statetimeline.Panel:
    """``sql`` returns ``time`` and one numeric state column per series."""
    panel = _placed(statetimeline.Panel(), title, description, Sql(sql).time_series(), size)
    return panel.mappings([labels(states)]).show_value(VisibilityMode.NEVER)


def site_map(title: str, description: str, sql: str, *, lat: str = "lat", lon: str = "lon",
             size_field: str, color_field: str, size: Size = HALF) -> geomap.Panel:
    """Markers at each row's ``lat``/``lon``; size and colour from two numeric columns
    (the colour column is a lead over the time progress, coloured as ``gap_thresholds``)."""
    markers = (common.MapLayerOptions().type("markers").name("站点 sites")
               .location(common.FrameGeometrySource().mode(FrameGeometrySourceMode.COORDS)
                         .latitude(lat).longitude(lon))
               .config({"showLegend": True, "style": {
                   "size": {"field": size_field, "fixed": 5, "min": 3, "max": 15},
                   "color": {"field": color_field, "fixed": "dark-green"},
                   "opacity": 0.7,
                   "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
               }}).tooltip(True))
    panel = _placed(geomap.Panel(), title, description, Sql(sql).table(), size)
    return (panel.basemap(common.MapLayerOptions().type("default").name("底图 basemap"))
            .layers([markers])
            .view(geomap.MapViewConfig().id("fit").lat(0).lon(0).zoom(10).all_layers(True))
            .controls(geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True))
            .tooltip(geomap.TooltipOptions().mode(TooltipMode.DETAILS))
            .thresholds(gap_thresholds()))
