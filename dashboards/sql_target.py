"""Grafana's PostgreSQL query as a foundation-SDK query type.

The SDK ships query types for many data sources but not the SQL ones, and
documents how to add one ("Defining a custom query type"): a ``Dataquery``
variant with ``to_json``/``from_json``, a builder, and a registration so that
dashboards read back from JSON keep their SQL targets typed.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import AnnotationTarget, DataSourceRef

from dashboards.datasource import DATASOURCE_TYPE, datasource_ref

Format = Literal["time_series", "table"]


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target (``editorMode: code``), as Grafana's query editor saves it."""

    def __init__(self, raw_sql: str = "", format_val: Format = "table", ref_id: str = "A",
                 datasource: DataSourceRef | None = None, hide: bool | None = None) -> None:
        self.raw_sql = raw_sql
        self.format_val: Format = format_val
        self.ref_id = ref_id
        self.datasource = datasource if datasource is not None else datasource_ref()
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": self.datasource,
            "editorMode": "code",
            "format": self.format_val,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ref = data.get("datasource") or {}
        return cls(raw_sql=data.get("rawSql", ""), format_val=data.get("format", "table"),
                   ref_id=data.get("refId", "A"),
                   datasource=DataSourceRef(type_val=ref.get("type"), uid=ref.get("uid")),
                   hide=data.get("hide"))


class Sql(cogbuilder.Builder[cogvariants.Dataquery]):
    """``Sql(query).time_series()`` or ``Sql(query).table()``."""

    def __init__(self, raw_sql: str) -> None:
        self._internal = SqlQuery(raw_sql=raw_sql.strip())

    def build(self) -> SqlQuery:
        return self._internal

    def time_series(self) -> Self:
        self._internal.format_val = "time_series"
        return self

    def table(self) -> Self:
        self._internal.format_val = "table"
        return self

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self


class SqlAnnotationTarget(AnnotationTarget):
    """An annotation query's target is a plain SQL query for this data source
    (columns ``time``, ``timeend``, ``text``, ``tags``)."""

    def __init__(self, raw_sql: str) -> None:
        super().__init__()
        self.query = SqlQuery(raw_sql=raw_sql.strip(), ref_id="Anno")

    def to_json(self) -> dict[str, object]:
        return self.query.to_json()


class SqlAnnotation(cogbuilder.Builder[AnnotationTarget]):
    def __init__(self, raw_sql: str) -> None:
        self._internal = SqlAnnotationTarget(raw_sql)

    def build(self) -> SqlAnnotationTarget:
        return self._internal


cogruntime.register_dataquery_variant(
    cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=SqlQuery.from_json))
