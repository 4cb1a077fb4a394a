"""What a panel expects of its query's result, read from the panel's JSON, and
the check that a result meets it (pure; the database run is an integration test)."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboards.catalog import rendered
from dashboards.panel_queries import PanelQuery, all_queries, result_problems

T1, T2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)


def _query(title: str) -> PanelQuery:
    return next(q for d in rendered().values() for q in all_queries(d) if q.title == title)


def test_a_time_series_needs_time_then_numbers_in_time_order():
    register = _query("表码读数")
    good = [("time", "timestamptz"), ("metric", "text"), ("value", "float8")]
    assert result_problems(register, good, [(T1, "M1", 1.0), (T2, "M1", 2.0)]) == []
    epoch = [("time", "numeric"), ("metric", "text"), ("value", "float8")]
    assert result_problems(register, epoch, [(1.0, "M1", 1.0)]) == []
    assert any("time order" in p for p in
               result_problems(register, good, [(T2, "M1", 1.0), (T1, "M1", 2.0)]))
    assert any("text columns" in p for p in result_problems(
        register, [*good, ("note", "text")], [(T1, "M1", 1.0, "x")]))
    assert any("missing columns" in p for p in
               result_problems(register, [("ts", "timestamptz"), ("value", "float8")], []))


def test_a_table_needs_exactly_its_configured_columns_with_numbers_where_a_unit_is_set():
    cards = _query("IC卡用水记录")
    columns = [(name, "float8" if name in {"volume_m3", "kwh", "balance_m3"} else "text")
               for name in cards.expectation.columns]
    assert result_problems(cards, columns, []) == []
    assert any("missing" in p for p in result_problems(cards, columns[1:], []))
    assert any("not configured" in p for p in
               result_problems(cards, [*columns, ("extra", "text")], []))
    as_text = [(n, "text") for n, _ in columns]
    assert any("volume_m3" in p and "number" in p for p in result_problems(cards, as_text, []))


def test_a_map_needs_numeric_coordinates_and_a_stat_numbers_only():
    site_map = _query("站点地图")
    assert {"lat", "lon"} <= set(site_map.expectation.columns)
    numeric = [("lat", "float8"), ("lon", "float8"), ("day_m3", "numeric"),
               ("gap", "numeric"), ("name", "text")]  # coloured by 执行率 − 时间进度
    assert result_problems(site_map, numeric, []) == []
    assert any("'lat'" in p for p in
               result_problems(site_map, [("lat", "text"), *numeric[1:]], []))
    budget = _query("年度预算")
    assert result_problems(budget, [("budget", "numeric")], [(1,)]) == []
    assert any("text columns" in p for p in
               result_problems(budget, [("budget", "numeric"), ("name", "text")], []))


def test_an_annotation_needs_time_text_and_tags():
    annotation = next(q for q in all_queries(rendered()["site-detail.json"])
                      if q.panel_type == "annotation")
    good = [("time", "timestamptz"), ("timeend", "timestamptz"), ("text", "text"),
            ("tags", "text")]
    assert result_problems(annotation, good, []) == []
    assert any("missing" in p for p in result_problems(annotation, good[:2], []))
