"""SQL fragments for the dashboard's time range in China time, shared by the
panels over the monitor's roll-ups (docs/monitor-schema.md).

Roll-ups are per China-time ``day``; the budget period of a range is the
calendar year (China time) of its end, as a ``monitor_periods`` key ('2025').
"""

from __future__ import annotations

ZONE = "Asia/Shanghai"
FIRST_DAY = f"(($__timeFrom())::timestamptz AT TIME ZONE '{ZONE}')::date"
LAST_DAY = f"(($__timeTo())::timestamptz AT TIME ZONE '{ZONE}')::date"
# The budget year the range ends in: the period key of monitor_executions.
YEAR = f"extract(year FROM ($__timeTo())::timestamptz AT TIME ZONE '{ZONE}')::int::text"


def days_in_range(column: str) -> str:
    return f"{column} BETWEEN {FIRST_DAY} AND {LAST_DAY}"


def node(code_variable: str) -> str:
    """The node_id of the node whose code a variable holds."""
    return f"(SELECT node_id FROM budget_nodes WHERE code = '${code_variable}')"


def subtree(code_variable: str) -> str:
    """node_ids of that node and everything below it (monitor_node_paths)."""
    return f"(SELECT node_id FROM monitor_node_paths WHERE ancestor_id = {node(code_variable)})"


SEVERITY_RANK = "CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END"
