"""The efficient frontier: the best risk reduction at each local capital budget, as a
staircase, with the plan at each point, the marginal value of an extra $1,000 and the knee
(where more money starts to buy much less)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .defaults import DEFAULT_GAP
from .inputs import Inputs
from .result import PlanResult
from .sweep import BudgetSweep

FRONTIER_COLUMNS = ["budget", "value", "gain", "capital", "annual", "items", "status", "gap",
                    "marginal_per_1000", "knee"]


@dataclass
class Frontier:
    """Value against budget.

    Attributes
    ----------
    table : DataFrame
        One row per budget point (``FRONTIER_COLUMNS``): ``budget`` is the local capital over
        the horizon (grants come on top, as in the scenario), ``value`` the risk reduction,
        ``gain`` its increase over buying nothing, ``capital`` and ``annual`` what the plan
        spends (all sources), ``marginal_per_1000`` the value one more $1,000 bought between
        the previous point and this one, ``knee`` marks the point after which money buys
        markedly less.
    plans : list of PlanResult
        The plan at each point, in the order of ``table``.
    scenario_budget : float
        The scenario's own local capital over the horizon, for reference.
    """

    table: pd.DataFrame
    plans: list[PlanResult]
    scenario_budget: float

    @property
    def knee(self) -> pd.Series | None:
        """The knee's row of the table (None when no point has a plan)."""
        rows = self.table[self.table["knee"]]
        return None if rows.empty else rows.iloc[0]


def budget_points(scenario_budget: float, points: int, max_budget: float | None) -> list[float]:
    """``points`` evenly spaced budgets from zero to ``max_budget`` (twice the scenario's
    budget when not given), in whole dollars."""
    top = max_budget if max_budget is not None else 2 * scenario_budget
    if top <= 0:
        raise ValueError("the frontier needs a positive maximum budget (--max-budget)")
    return [float(round(b)) for b in np.linspace(0.0, top, max(points, 2))]


def knee_index(budgets: np.ndarray, values: np.ndarray) -> int | None:
    """The point farthest above the straight line from the first to the last point, both
    axes scaled to 0-1 (the "kneedle" rule); None when fewer than three points."""
    ok = ~np.isnan(values)
    if ok.sum() < 3:
        return None
    b, v = budgets[ok], values[ok]
    if v[-1] - v[0] <= 0:
        return int(np.flatnonzero(ok)[0])
    x = (b - b[0]) / (b[-1] - b[0])
    y = (v - v[0]) / (v[-1] - v[0])
    return int(np.flatnonzero(ok)[int(np.argmax(y - x))])


def frontier(inputs: Inputs, points: int = 11, max_budget: float | None = None,
             solver: str = "highs", gap: float = DEFAULT_GAP, time_limit: float | None = None,
             threads: int | None = None, progress=None) -> Frontier:
    """Solve the scenario at evenly spaced local capital budgets.

    The model is built once; each point changes only the budget rows and starts from the
    previous point's plan, so the value never decreases along the frontier.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    points : int
        Number of budgets, from zero to ``max_budget``.
    max_budget : float, optional
        Largest local capital over the horizon, in dollars (default twice the scenario's).
    solver, gap, time_limit, threads
        As for :func:`~optimizer.result.optimize`, for every point.
    progress : callable, optional
        Called as ``progress(done, total)`` after each point.

    Returns
    -------
    Frontier
    """
    sweep = BudgetSweep(inputs, solver, gap, time_limit, threads)
    budgets = budget_points(sweep.scenario_budget, points, max_budget)
    rows, plans = [], []
    for k, budget in enumerate(budgets):
        result = sweep.at(budget)
        plans.append(result)
        has = result.plan is not None
        totals = result.totals() if has else {"capital": np.nan, "annual": np.nan}
        rows.append({"budget": budget, "value": result.value if has else np.nan,
                     "gain": result.value - result.baseline_value if has else np.nan,
                     "capital": totals["capital"], "annual": totals["annual"],
                     "items": len(result.plan.items) if has else 0, "status": str(result.status),
                     "gap": result.report.gap})
        if progress is not None:
            progress(k + 1, len(budgets))
    table = pd.DataFrame(rows)
    step = table["value"].diff() / table["budget"].diff() * 1000
    table["marginal_per_1000"] = step
    knee = knee_index(table["budget"].to_numpy(float), table["value"].to_numpy(float))
    table["knee"] = [k == knee for k in range(len(table))]
    return Frontier(table[FRONTIER_COLUMNS], plans, sweep.scenario_budget)
