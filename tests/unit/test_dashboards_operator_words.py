"""What operators see first and the words they read (issue 15), from the generated JSON."""

from __future__ import annotations

import json
from typing import Any

from dashboards.catalog import rendered
from dashboards.panels import GAP_STEPS


def _panels(name: str) -> list[dict[str, Any]]:
    return [p for p in rendered()[name]["panels"] if p["type"] != "row"]


def test_the_overview_leads_with_execution_minus_time_progress_per_township() -> None:
    first = _panels("overview.json")[0]
    assert first["title"] == "乡镇 执行率 − 时间进度（个百分点）"
    assert first["type"] == "bargauge"
    sql = first["targets"][0]["rawSql"]
    assert "e.execution_rate - e.time_progress" in sql
    defaults = first["fieldConfig"]["defaults"]
    assert defaults["unit"] == "suffix: 个百分点"
    steps = [(s["value"], s["color"]) for s in defaults["thresholds"]["steps"]]
    assert steps == list(GAP_STEPS)  # coloured by the difference, not by the rate


def test_no_township_bar_is_coloured_by_the_absolute_rate() -> None:
    for panel in _panels("overview.json"):
        if panel["type"] in ("bargauge", "geomap"):
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            assert [s["value"] for s in steps] == [v for v, _ in GAP_STEPS], panel["title"]


def test_the_quality_dashboard_speaks_plain_words() -> None:
    text = json.dumps(rendered()["quality.json"], ensure_ascii=False)
    titles = [p["title"] for p in _panels("quality.json")]
    assert not [t for t in titles if "死信" in t or "静默" in t or "MQTT" in t]
    assert "未能识别的上报" in titles
    assert "设备离线" in titles
    assert '"主题"' not in text
    assert '"device": "设备"' in text
