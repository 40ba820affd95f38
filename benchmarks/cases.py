"""Benchmark cases: each case names an instance and how to load it, with the gap and time
limit its target asks for. Later analyses (frontier, robustness) add their own cases here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from optimizer.data.catalog import load_catalog
from optimizer.data.inputs import Inputs, check_against_catalog, load_inputs
from optimizer.data.synthetic import generate_scenario
from optimizer.paths import SCENARIOS_DIR


@dataclass(frozen=True)
class Case:
    """One benchmark instance with its target."""

    name: str
    load: Callable[[], Inputs]
    gap: float
    time_limit: float
    target_seconds: float | None
    target: str
    kind: str = "plan"  # which measurement of run.MEASURES runs it
    size: int = 0  # frontier points or robustness draws, for the analysis kinds
    workers: int = 1  # processes of a frontier


def _example(file: str) -> Callable[[], Inputs]:
    return lambda: load_inputs(SCENARIOS_DIR / file)


def _synthetic(size: str) -> Callable[[], Inputs]:
    def load() -> Inputs:
        catalog = load_catalog()
        scenario = generate_scenario(size, catalog)
        check_against_catalog(scenario, catalog, f"synthetic-{size}")
        return Inputs(scenario, catalog, Path(f"synthetic-{size}"))
    return load


CASES = {
    "rural": Case("rural", _example("rural.yaml"), 1e-3, 60, None, "example"),
    "suburban": Case("suburban", _example("suburban.yaml"), 1e-3, 60, None, "example"),
    "urban": Case("urban", _example("urban.yaml"), 5e-3, 120, None, "example"),
    "S": Case("S", _synthetic("S"), 1e-3, 30, 1.0, "optimal within 0.1% in under 1 s"),
    "M": Case("M", _synthetic("M"), 1e-3, 60, 3.0, "optimal within 0.1% in under 3 s"),
    "L": Case("L", _synthetic("L"), 5e-3, 120, 30.0, "within 0.5% in under 30 s"),
    "M-frontier": Case("M-frontier", _synthetic("M"), 5e-3, 60, 30.0, "20-point frontier in under 30 s",
                       "frontier", 20),
    "M-frontier-2w": Case("M-frontier-2w", _synthetic("M"), 5e-3, 60, 30.0, "20-point frontier in under 30 s",
                          "frontier", 20, workers=2),
    "M-robust": Case("M-robust", _synthetic("M"), 5e-3, 60, 120.0, "200 draws in under 2 min, both cores",
                     "robust", 200, workers=2),
    "XL": Case("XL", _synthetic("XL"), 1e-2, 120, 120.0, "verified plan, gap under 1%, under 120 s and 4 GB"),
}
