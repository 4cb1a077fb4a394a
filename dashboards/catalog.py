"""The dashboards, rendered to the JSON Grafana provisions.

``render`` builds a dashboard with the SDK, numbers its panels (rows too) in
order, and encodes it; ``generate.py`` writes the files and checks them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import drilldown, overview, quality, site_detail

# file name -> builder; the file name is what the provisioning folder holds.
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "overview.json": overview.build,
    "drilldown.json": drilldown.build,
    "site-detail.json": site_detail.build,
    "quality.json": quality.build,
}


def render(builder: Dashboard) -> dict[str, Any]:
    dashboard = builder.build()
    for number, panel in enumerate(dashboard.panels or [], start=1):
        panel.id_val = number
    encoded: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(dashboard))
    encoded["annotations"].setdefault("list", [])  # Grafana's model: always a list
    return encoded


def to_text(dashboard: dict[str, Any]) -> str:
    return json.dumps(dashboard, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def rendered() -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON, as the builders produce it now."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}
