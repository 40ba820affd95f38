"""Where the built-in catalog and example scenarios live."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = PROJECT_ROOT / "catalog"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
EXAMPLE_SCENARIO = SCENARIOS_DIR / "suburban.yaml"
