"""Alerts as annotations: an SQL annotation query on the provisioned data source
returning ``time``, ``timeend`` (a region while the alert lasts), ``text`` and
``tags`` (comma-separated)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import AnnotationQuery

from dashboards.datasource import datasource_ref
from dashboards.sql_target import SqlAnnotation


def alert_annotation(name: str, sql: str, color: str) -> AnnotationQuery:
    return (AnnotationQuery().name(name).datasource(datasource_ref()).enable(True)
            .icon_color(color).target(SqlAnnotation(sql)))
