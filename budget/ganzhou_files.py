"""Read a Ganzhou-format import (manifest YAML + CSV files) from disk.

The only I/O of the import; parsing and checking are in ``ganzhou_import``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from budget.ganzhou_import import parse_ganzhou
from budget.import_plan import ImportFormatError, ImportPlan

DATA_DIR = Path(__file__).parent / "data"
DEMO_MANIFEST = DATA_DIR / "ganzhou-2024.yaml"


def read_manifest(text: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImportFormatError([f"manifest: not valid YAML ({exc})"]) from exc
    if not isinstance(loaded, dict):
        raise ImportFormatError(["manifest: must be a YAML mapping"])
    return loaded


def load_import(manifest_path: Path = DEMO_MANIFEST) -> ImportPlan:
    """Parse the manifest at ``manifest_path`` and the CSV files it names (same folder)."""
    manifest = read_manifest(manifest_path.read_text(encoding="utf-8"))
    folder = manifest_path.parent
    allocation = (folder / str(manifest.get("allocation_csv", ""))).read_text(encoding="utf-8")
    reclaimed_cfg = manifest.get("reclaimed")
    reclaimed = None
    if isinstance(reclaimed_cfg, dict) and reclaimed_cfg.get("csv"):
        reclaimed = (folder / str(reclaimed_cfg["csv"])).read_text(encoding="utf-8")
    return parse_ganzhou(manifest, allocation, reclaimed)
