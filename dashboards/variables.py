"""Template variables: query variables answered by the provisioned data source.

A query returns ``__text`` (shown) and ``__value`` (substituted). None of ours
is multi-value or has "All", so Grafana substitutes the bare value (quotes
doubled) and the SQL writes ``'$name'``; where a drill-down needs "all of the
level above", the options include the parent node itself.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import QueryVariable
from grafana_foundation_sdk.models.dashboard import VariableRefresh, VariableSort

from dashboards.datasource import datasource_ref


def query_variable(name: str, label: str, description: str, sql: str) -> QueryVariable:
    return (QueryVariable(name).label(label).description(description)
            .datasource(datasource_ref()).query(" ".join(sql.split()))
            .refresh(VariableRefresh.ON_DASHBOARD_LOAD).sort(VariableSort.DISABLED)
            .multi(False).include_all(False))
