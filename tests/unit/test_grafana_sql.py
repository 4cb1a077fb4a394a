"""Macro and variable expansion as Grafana's PostgreSQL data source does it
(expected strings from macros.go and SqlDatasource.interpolateVariable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboards.grafana_sql import (
    MacroError,
    TimeRange,
    VariableValue,
    auto_interval,
    expand_macros,
    format_interval,
    go_float,
    grafana_sql,
    interpolate_variables,
    panel_range,
    relative_time,
)

RANGE = TimeRange(datetime(2024, 6, 1, 0, 0, tzinfo=UTC),
                  datetime(2024, 6, 2, 0, 0, 0, 500_000, tzinfo=UTC))
HOUR = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def expand(sql: str, *, timescaledb: bool = True, interval: timedelta = HOUR) -> str:
    return expand_macros(sql, RANGE, timescaledb=timescaledb, interval=interval)


def test_time_filter_is_between_rfc3339_utc():
    assert expand("WHERE $__timeFilter(ts)") == \
        "WHERE ts BETWEEN '2024-06-01T00:00:00Z' AND '2024-06-02T00:00:00.5Z'"
    assert expand("$__timeFrom() $__timeTo()") == \
        "'2024-06-01T00:00:00Z' '2024-06-02T00:00:00.5Z'"


def test_time_group_uses_time_bucket_with_timescaledb_and_epoch_arithmetic_without():
    assert expand("$__timeGroupAlias(ts, '1h')") == "time_bucket('3600.000s',ts) AS \"time\""
    assert expand("$__timeGroup(ts, 1d)", timescaledb=False) == \
        "floor(extract(epoch from ts)/86400)*86400"
    assert expand("$__timeGroup(ts, 30d)", timescaledb=False) == \
        "floor(extract(epoch from ts)/2.592e+06)*2.592e+06"


def test_time_group_followed_by_a_comma_is_the_aliased_form():
    assert expand("SELECT $__timeGroup(ts, 1h), v") == \
        "SELECT time_bucket('3600.000s',ts) AS \"time\", v"


def test_interval_and_epoch_macros():
    assert expand("$__timeGroupAlias(ts, $__interval) $__interval_ms") == \
        "time_bucket('3600.000s',ts) AS \"time\" 3600000"
    assert expand("$__unixEpochFilter(t) $__unixEpochFrom() $__unixEpochTo()") == \
        "t >= 1717200000 AND t <= 1717286400 1717200000 1717286400"
    assert expand("$__time(ts), $__timeEpoch(ts)") == \
        "ts AS \"time\", extract(epoch from ts) as \"time\""


def test_unknown_macro_and_missing_arguments_are_errors():
    with pytest.raises(MacroError, match="unknown macro"):
        expand("$__timeFilterX(ts)")
    with pytest.raises(MacroError, match="missing time column"):
        expand("$__timeFilter()")
    with pytest.raises(MacroError, match="needs time column and interval"):
        expand("$__timeGroup(ts)")


def test_go_float_matches_gos_v_verb():
    assert [go_float(v) for v in (3600.0, 0.5, 86400.0, 604800.0, 1e6, 31536000.0)] == \
        ["3600", "0.5", "86400", "604800", "1e+06", "3.1536e+07"]


def test_single_value_variables_are_bare_with_quotes_doubled():
    variables = {"site": VariableValue("W'1")}
    assert interpolate_variables("s = '$site' OR s = '${site}' OR s = '[[site]]'",
                                 variables, HOUR) == \
        "s = 'W''1' OR s = 'W''1' OR s = 'W''1'"


def test_multi_and_include_all_variables_are_quoted_lists():
    assert interpolate_variables("IN ($m)", {"m": VariableValue(["a", "b'c"], multi=True)},
                                 HOUR) == "IN ('a','b''c')"
    assert interpolate_variables("IN ($m)", {"m": VariableValue("a", include_all=True)},
                                 HOUR) == "IN ('a')"


def test_unknown_names_and_macros_are_left_for_the_backend():
    assert interpolate_variables("$__timeFilter(ts) AND $other", {}, HOUR) == \
        "$__timeFilter(ts) AND $other"


def test_intervals_round_like_grafana_and_respect_the_minimum():
    day = TimeRange(RANGE.start, RANGE.start + timedelta(days=1))
    assert auto_interval(day, min_interval="1m") == timedelta(minutes=1)
    assert auto_interval(day, min_interval="1h") == HOUR
    year = TimeRange(RANGE.start, RANGE.start + timedelta(days=365))
    assert auto_interval(year, min_interval="1m") == timedelta(hours=12)
    assert format_interval(timedelta(days=7)) == "7d"
    assert format_interval(timedelta(minutes=90)) == "1h"
    assert format_interval(timedelta(milliseconds=500)) == "500ms"


def test_relative_ranges_round_in_the_dashboards_zone():
    now = datetime(2024, 6, 15, 10, 30, tzinfo=SHANGHAI)
    assert relative_time("now/y", now, SHANGHAI) == datetime(2023, 12, 31, 16, tzinfo=UTC)
    assert relative_time("now/d", now, SHANGHAI) == datetime(2024, 6, 14, 16, tzinfo=UTC)
    assert relative_time("now-6h", now, SHANGHAI) == datetime(2024, 6, 14, 20, 30, tzinfo=UTC)
    assert relative_time("now-1y/y", now, SHANGHAI) == datetime(2022, 12, 31, 16, tzinfo=UTC)
    window = panel_range("now/y", "now", now, SHANGHAI, "24h")
    assert window.end - window.start == timedelta(hours=24)


def test_the_whole_path_browser_then_backend():
    sql = "SELECT $__timeGroupAlias(ts, $__interval) FROM r WHERE m = '$site' AND " \
          "$__timeFilter(ts)"
    assert grafana_sql(sql, variables={"site": VariableValue("W1")}, time_range=RANGE,
                       interval=HOUR, timescaledb=False) == (
        "SELECT floor(extract(epoch from ts)/3600)*3600 AS \"time\" FROM r WHERE m = 'W1' "
        "AND ts BETWEEN '2024-06-01T00:00:00Z' AND '2024-06-02T00:00:00.5Z'")
