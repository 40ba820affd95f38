"""The efficient frontier: the best risk reduction at each local capital budget, as a
staircase, with the plan at each point, the marginal value of an extra $1,000 and the knee
(where more money starts to buy much less)."""
from __future__ import annotations

import os
from concurrent.futures import as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.analyses.sweep import at_least, scenario_budget, solve_chain
from optimizer.core.diagnose import why_no_plan
from optimizer.core import workers as processes
from optimizer.core.result import PlanResult
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs

FRONTIER_COLUMNS = ["budget", "risk_reduced", "value", "gain", "capital", "annual", "items", "status", "gap",
                    "marginal_per_1000", "step_proven", "knee", "why"]
#: The frontier table's columns in words.
FRONTIER_WORDS = {"budget": "local capital over the horizon ($)",
                  "risk_reduced": "modelled risk reduced (share of the risk left)",
                  "value": "risk reduced (serious-harm equivalents)", "gain": "serious-harm equivalents avoided",
                  "capital": "capital spend ($)", "annual": "annual cost, last year ($)", "items": "items",
                  "status": "status", "gap": "optimality gap",
                  "marginal_per_1000": "serious-harm equivalents avoided per $1,000 more",
                  "step_proven": "more money proven to buy more", "knee": "knee",
                  "why": "why there is no plan"}


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
        the previous point and this one, ``step_proven`` whether that step is proven to buy
        more at all (each plan is proven only within its gap: a step smaller than the gaps may
        be the solver's tolerance; None where there is no step), ``knee`` marks the point
        after which money buys markedly less.
    plans : list of PlanResult
        The plan at each point, in the order of ``table``.
    scenario_budget : float
        The scenario's own local capital over the horizon, for reference.
    """

    table: pd.DataFrame
    plans: list[PlanResult]
    scenario_budget: float

    def tolerance_words(self) -> str:
        """A sentence on the steps between budgets that are not proven to buy more (empty when
        every step is proven)."""
        within = [f"${b:,.0f}" for b in self.table.loc[self.table["step_proven"].eq(False), "budget"]]
        if not within:
            return ""
        named = ", ".join(within[:4]) + (" and more" if len(within) > 4 else "")
        verb = "is" if len(within) == 1 else "are"
        return (f"{len(within)} of the steps up to a budget ({named}) {verb} not proven to buy more: the plan at that "
                "budget is not proven worth more than the best plan of the budget before, within the gaps the solver "
                "proved, so the marginal value shown there may be the solver's tolerance rather than what the money "
                "buys; a smaller gap proves more of them.")

    @property
    def knee(self) -> pd.Series | None:
        """The knee's row of the table (None when no point has a plan)."""
        rows = self.table[self.table["knee"]]
        return None if rows.empty else rows.iloc[0]


def _steps_proven(plans: list[PlanResult]) -> list[bool | None]:
    """Per point: True when its plan is proven better than any plan the budget before allows
    (its objective above the bound proved there), so that the step's marginal value is the
    money's and not the solver's tolerance; False when not (no bound there, or a step within
    the gaps proved); None where there is no step to prove (the first point, a point or the
    one before without a plan, the least-cost objective, which a larger budget does not raise)."""
    out: list[bool | None] = [None]
    for before, now in zip(plans, plans[1:]):
        if now.plan is None or before.plan is None or now.problem.objective == "least_cost_tier":
            out.append(None)
            continue
        objective, bound = now.report.objective, before.report.dual_bound
        out.append(objective is not None and bound is not None and objective > bound + 1e-9 * max(1.0, abs(bound)))
    return out


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
             options: SolveOptions = SolveOptions(), workers: int | None = None, progress=None) -> Frontier:
    """Solve the scenario at evenly spaced local capital budgets.

    The model is built once (per worker); each point changes only the budget rows. The largest
    budget is solved first, and a smaller one that its plan fits keeps that plan, proven by the
    bound proved there; every other point starts from the previous point's plan, a budget
    below the least local capital that keeps every rule is not solved, and a point never shows
    less value than a smaller budget's (:class:`~optimizer.analyses.sweep.BudgetSweep`).

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    points : int
        Number of budgets, from zero to ``max_budget``.
    max_budget : float, optional
        Largest local capital over the horizon, in dollars (default twice the scenario's).
    options : SolveOptions
        Solver, time limit, gap and threads, for every point.
    workers : int, optional
        Processes solving points at the same time (each on an interleaved share of the
        budgets, with one solver thread); 1 solves the points in order in this process.
        By default, two when the machine has them and the scenario is not a toy
        (:func:`default_workers`).
    progress : callable, optional
        Called as ``progress(done, total)`` as points are done.

    Returns
    -------
    Frontier
    """
    whole = scenario_budget(inputs)
    budgets = budget_points(whole, points, max_budget)
    if workers is None:
        workers = default_workers(inputs, len(budgets))
    plans = (_in_parallel(inputs, budgets, options, workers, progress) if workers > 1
             else solve_chain(inputs, budgets, options, progress))
    rows = []
    for budget, result in zip(budgets, plans):
        has = result.plan is not None
        totals = result.totals() if has else {"capital": np.nan, "annual": np.nan}
        rows.append({"budget": budget, "risk_reduced": result.gap_closed if has else np.nan,
                     "value": result.value if has else np.nan,
                     "gain": result.value - result.baseline_value if has else np.nan,
                     "capital": totals["capital"], "annual": totals["annual"],
                     "items": len(result.plan.items) if has else 0, "status": str(result.status),
                     "gap": result.report.gap, "why": "" if has else why_no_plan(result)})
    table = pd.DataFrame(rows)
    step = table["value"].diff() / table["budget"].diff() * 1000
    table["marginal_per_1000"] = step
    table["step_proven"] = _steps_proven(plans)
    knee = knee_index(table["budget"].to_numpy(float), table["value"].to_numpy(float))
    table["knee"] = [k == knee for k in range(len(table))]
    return Frontier(table[FRONTIER_COLUMNS], plans, whole)


#: Sites x fiscal years x catalog measures from which a frontier is solved by two processes by
#: default: below it (a handful of measures), starting the processes costs more than they save;
#: every example and real district is above it (benchmarks/README.md).
PARALLEL_FROM = 1_000


def default_workers(inputs: Inputs, points: int) -> int:
    """Two workers for frontiers of four budgets or more, on machines with two cores or more,
    unless the scenario is so small that its solves take hundredths of a second."""
    size = len(inputs.scenario.sites) * inputs.scenario.horizon.years * len(inputs.catalog.measures)
    return 2 if (os.cpu_count() or 1) >= 2 and size >= PARALLEL_FROM and points >= 4 else 1


def _in_parallel(inputs: Inputs, budgets: list[float], options: SolveOptions, workers: int,
                 progress) -> list[PlanResult]:
    """Interleaved shares of the budgets, each solved in order by its own process (one
    solver thread each), then made non-decreasing."""
    # every share ends with the largest budget, solved first: the plan it finds fits many smaller ones
    chains = [sorted(set(budgets[i::workers]) | {budgets[-1]}) for i in range(workers)]
    options = options.but(threads=1)
    by_budget: dict[float, PlanResult] = {}
    with processes.pool(workers) as pool:
        with processes.starting():  # the workers start here
            futures = [pool.submit(solve_chain, inputs, chain, options) for chain in chains]
        for future in as_completed(futures):
            chain = chains[futures.index(future)]
            by_budget.update(zip(chain, future.result()))
            if progress is not None:
                progress(len(by_budget), len(budgets))
    plans = [by_budget[b] for b in budgets]
    for k in range(1, len(plans)):
        plans[k] = at_least(plans[k - 1], plans[k], options.gap)
    return plans
