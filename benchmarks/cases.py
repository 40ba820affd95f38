"""Benchmark cases: each names an instance, how to load it and the target issues 16 and 30 set for
it (gap and seconds). A what-if case also names the scenario it changes: its plan is solved
first, untimed, and the timed re-solve starts from it as the app's does."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from optimizer.analyses.robust import ROBUST_GAP
from optimizer.data.catalog import load_catalog
from optimizer.data.inputs import Inputs, check_against_catalog, load_inputs
from optimizer.data.synthetic import generate_scenario
from optimizer.defaults import DEFAULT_GAP
from optimizer.paths import SCENARIOS_DIR


@dataclass(frozen=True)
class Case:
    """One benchmark instance with its target.

    Attributes
    ----------
    gap : float
        Relative gap asked of the solve, and the largest proven gap the target accepts.
    time_limit : float
        The solver's limit per solve.
    target_seconds : float, optional
        Seconds the target allows, measured from the call (the process already running: a
        small instance is solved first so the solver's process is warm).
    kind : str
        Which measurement of ``run.MEASURES`` runs it.
    size, workers : int
        Frontier points or robustness draws, and the processes solving them (or valuing grant awards).
    before : callable, optional
        For a what-if: the scenario before the change, whose plan the re-solve starts from.
    memory_mb : float, optional
        Peak memory the target allows.
    """

    name: str
    load: Callable[[], Inputs]
    gap: float
    time_limit: float
    target_seconds: float | None
    target: str
    kind: str = "plan"
    size: int = 0
    workers: int = 1
    before: Callable[[], Inputs] | None = None
    memory_mb: float | None = None


def _example(file: str) -> Callable[[], Inputs]:
    return lambda: load_inputs(SCENARIOS_DIR / file)


def _synthetic(size: str) -> Callable[[], Inputs]:
    def load() -> Inputs:
        catalog = load_catalog()
        scenario = generate_scenario(size, catalog)
        check_against_catalog(scenario, catalog, f"synthetic-{size}")
        return Inputs(scenario, catalog, Path(f"synthetic-{size}"))
    return load


def _changed(file: str, change: Callable[[dict], None]) -> Callable[[], Inputs]:
    """An example scenario with one change made to its checked data (as the app's editors do)."""
    def load() -> Inputs:
        inputs = load_inputs(SCENARIOS_DIR / file)
        data = inputs.scenario.model_dump()
        change(data)
        return Inputs(type(inputs.scenario).model_validate(data), inputs.catalog, inputs.path)
    return load


def _capital_times(factor: float) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        budget = data["budget"]
        if isinstance(budget["capital"], dict):
            budget["capital"] = {year: round(amount * factor) for year, amount in budget["capital"].items()}
        else:
            budget["capital"] = round(budget["capital"] * factor)
    return change


def _grant_off(source: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["funding_sources"][source]["awarded"] = False
    return change


_SUBURBAN = _example("suburban.yaml")
_WHATIF = "verified, within the app's gap (0.1%), in 1 s, from the plan before"
_CLI = "planned by the command line from a cold start, Excel export included, in 2 s"
_FRONTIER = "20 budgets at the app's gap (0.1%) in 10 s on 2 workers"

CASES = {
    "S": Case("S", _synthetic("S"), 1e-3, 30, 1.0, "within 0.1% in 1 s"),
    "suburban": Case("suburban", _SUBURBAN, 1e-2, 60, 1.5, "within 1% in 1.5 s"),
    "M": Case("M", _synthetic("M"), 1e-2, 60, 1.5, "within 1% in 1.5 s"),
    "M-0.1%": Case("M-0.1%", _synthetic("M"), 1e-3, 60, 4.0, "within 0.1% in 4 s"),
    "rural": Case("rural", _example("rural.yaml"), 1e-3, 60, None, "example"),
    "urban": Case("urban", _example("urban.yaml"), 5e-3, 120, None, "example"),
    "budget-20%": Case("budget-20%", _changed("suburban.yaml", _capital_times(0.8)), DEFAULT_GAP, 60, 1.0, _WHATIF,
                       kind="whatif", before=_SUBURBAN),
    "budget+20%": Case("budget+20%", _changed("suburban.yaml", _capital_times(1.2)), DEFAULT_GAP, 60, 1.0, _WHATIF,
                       kind="whatif", before=_SUBURBAN),
    "grant-off": Case("grant-off", _changed("suburban.yaml", _grant_off("svpp")), DEFAULT_GAP, 60, 1.0, _WHATIF,
                      kind="whatif", before=_SUBURBAN),
    "mandate-added": Case("mandate-added", _example("suburban_mandate.yaml"), DEFAULT_GAP, 60, 1.0, _WHATIF,
                          kind="whatif", before=_SUBURBAN),
    "urban-budget-20%": Case("urban-budget-20%", _changed("urban.yaml", _capital_times(0.8)), DEFAULT_GAP, 120, None,
                             "a large district's what-if, from the plan before (measured, no target)", kind="whatif",
                             before=_example("urban.yaml")),
    "L": Case("L", _synthetic("L"), 5e-3, 25, 30.0, "within 0.5% in 30 s"),
    "XL": Case("XL", _synthetic("XL"), 1e-2, 95, 120.0, "within 1% in 120 s and 4 GB", memory_mb=4096),
    "M-frontier": Case("M-frontier", _synthetic("M"), 1e-2, 60, 30.0, "20 budgets at 1% in 30 s on 2 workers",
                       "frontier", 20, workers=2),
    "M-robust": Case("M-robust", _synthetic("M"), ROBUST_GAP, 60, 60.0,
                     "200 draws at the robustness gap (0.5%) in 60 s on 2 workers", "robust", 200, workers=2),
    "rural-frontier": Case("rural-frontier", _example("rural.yaml"), DEFAULT_GAP, 60, 10.0, _FRONTIER, "frontier", 20,
                           workers=2),
    "suburban-frontier": Case("suburban-frontier", _SUBURBAN, DEFAULT_GAP, 60, 10.0, _FRONTIER, "frontier", 20,
                              workers=2),
    "rural-cli": Case("rural-cli", _example("rural.yaml"), DEFAULT_GAP, 60, 2.0, _CLI, "cli"),
    "suburban-cli": Case("suburban-cli", _SUBURBAN, DEFAULT_GAP, 60, 2.0, _CLI, "cli"),
    "urban-cli": Case("urban-cli", _example("urban.yaml"), DEFAULT_GAP, 120, 2.0, _CLI, "cli"),
    "suburban-opportunities": Case("suburban-opportunities", _SUBURBAN, 1e-3, 60, 10.0,
                                   "every grant program valued in 10 s on 2 workers", "opportunities", workers=2),
    "M-robust-1w": Case("M-robust-1w", _synthetic("M"), ROBUST_GAP, 60, None, "the same draws on 1 worker (scaling)",
                        "robust", 200, workers=1),
}
