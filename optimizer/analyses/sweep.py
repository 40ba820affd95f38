"""One built model re-solved at many local capital budgets. The frontier, the screening's
larger-budget check and the budget searches of the vendor-pitch check and of ``explain`` all
go through it, so the model is built once and each solve starts from the plan of the
nearest smaller budget (which stays feasible when the budget grows)."""
from __future__ import annotations

from dataclasses import replace

from optimizer.core.diagnose import least_local_capital, short_of_least
from optimizer.core.greedy import greedy_plan
from optimizer.core.model import Model, build_model
from optimizer.core.problem import Problem, expand
from optimizer.core.result import PlanResult
from optimizer.core.run import paid_and_valid, plan_model
from optimizer.core.solve import highs_used
from optimizer.core.status import SolveOptions, SolveReport, Status, proven_gap
from optimizer.core.verify import plan_objective, plan_value
from optimizer.data.inputs import Inputs


def scenario_budget(inputs: Inputs) -> float:
    """The scenario's local capital over the whole horizon (its yearly budgets summed)."""
    s = inputs.scenario
    return sum(s.budget.per_year("capital", s.horizon.fiscal_years).values())


def spread_budget(problem: Problem, total: float) -> dict[int, float]:
    """Split a total local capital budget over the fiscal years in the proportions of the
    scenario's own yearly budgets (evenly when those are all zero)."""
    return {t: total * share for t, share in problem.capital_shares().items()}


class BudgetSweep:
    """A scenario's model, solved at any total local capital budget over the horizon.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    options : SolveOptions
        Solver, time limit, gap and threads, for every solve.
    problem : Problem, optional
        An already expanded problem of these inputs (saves expanding it again).
    """

    def __init__(self, inputs: Inputs, options: SolveOptions = SolveOptions(), problem: Problem | None = None):
        self.inputs = inputs
        self.problem = problem or expand(inputs)
        self.model: Model = build_model(self.problem)
        self.scenario_budget = scenario_budget(inputs)
        self.options = options
        self.results: dict[float, PlanResult] = {}
        self.least: float | None = None  # proven least local capital, asked once a budget has no plan
        self._least_asked = False

    def at(self, total: float) -> PlanResult:
        """The verified plan at a total local capital budget (dollars over the horizon)."""
        total = float(total)
        if total in self.results:
            return self.results[total]
        self.model.set_capital_budget(spread_budget(self.problem, total), total)
        if self.least is not None and total < self.least * (1 - 1e-6) - 1.0:  # dollars: the solvers' tolerance
            result = self._short(total)
        elif (kept := self._larger_plan_kept(total)) is not None:
            result = kept
        else:
            smaller = [b for b, r in self.results.items() if b <= total and r.plan is not None]
            # the first budget solved starts as a plain plan does: the greedy plan made only when wanted
            start = self.results[max(smaller)].plan if smaller else (lambda: greedy_plan(self.model.problem))
            warm = self.results[max(smaller)].lp_basis if smaller else None  # its relaxation's final basis
            result = plan_model(self.inputs, self.model, start, self.options, warm)
            if smaller:
                result = at_least(self.results[max(smaller)], result, self.options.gap)
            if result.status == Status.INFEASIBLE and not self._least_asked:
                # every smaller budget has no plan either: the least budget spares their solves
                self._least_asked = True
                self.least = least_local_capital(self.problem, self.options)
        self.results[total] = result
        return result

    def _larger_plan_kept(self, total: float) -> PlanResult | None:
        """The plan of the nearest larger budget solved, at this budget, when it keeps every rule
        here too: no plan here beats the bound proved there (a smaller budget allows fewer
        plans), so it is proven within that gap without a solve. None when it does not fit."""
        larger = [b for b, r in self.results.items() if b > total and r.plan is not None]
        if not larger or self.problem.objective != "risk_reduction":
            return None
        there = self.results[min(larger)]
        if there.report.dual_bound is None:
            return None
        checked = paid_and_valid(self.model, there.plan, own_funding=False)  # paid for a larger budget
        if checked is None:
            return None
        problem = self.model.problem
        return _kept(there, problem, replace(there.report, solve_seconds=0.0), plan_objective(problem, checked.plan),
                     self.options.gap, KEPT_FROM_LARGER.format(budget=min(larger)), plan=checked.plan,
                     value=checked.value)

    def _short(self, total: float) -> PlanResult:
        """The result at a budget below the proven least local capital: no plan, and why."""
        problem = self.model.problem
        baseline = plan_value(problem, {})
        report = SolveReport(Status.INFEASIBLE, "highs" if highs_used(self.options) else "cbc", None, None, None, 0.0,
                             [short_of_least(self.least, total)])
        return PlanResult(problem.scenario_name, problem, report, None, baseline, baseline, self.model.build_seconds)


#: The note of a budget whose plan is a larger budget's, which fits it.
KEPT_FROM_LARGER = ("the plan of the budget of ${budget:,.0f}, which fits this budget: no plan here can beat the bound "
                    "proved there, so it is not solved again")


def at_least(smaller: PlanResult, larger: PlanResult, gap: float) -> PlanResult:
    """The plan at a larger budget, or the smaller budget's plan when the solver (within its
    gap ``gap``) returned something worth less: a larger budget can always buy the smaller
    plan. A plan kept so is reported at the larger budget: its objective there against the
    bound the larger budget's solve proved (the smaller budget's bound proves nothing here)."""
    if smaller.plan is None or (larger.plan is not None and larger.value >= smaller.value):
        return larger
    note = "kept the plan of a smaller budget: the solver's plan here was worth less, within its gap"
    problem = larger.problem
    objective = plan_objective(problem, smaller.plan) if problem.objective == "risk_reduction" else None
    return _kept(smaller, problem, larger.report, objective, gap, note)


def _kept(kept: PlanResult, problem: Problem, report: SolveReport, objective: float | None, gap: float, note: str,
          **changes) -> PlanResult:
    """The plan of ``kept`` (another budget's) reported at this budget (``problem``): its
    ``objective`` here against the bound of ``report``, optimal when within ``gap``, with
    ``note``; ``changes`` replace more of the result (the plan paid at this budget)."""
    bound = report.dual_bound
    proven = None if objective is None or bound is None else proven_gap(objective, bound)
    status = Status.OPTIMAL if proven is not None and proven <= gap else Status.FEASIBLE
    return replace(kept, problem=problem, report=replace(report, status=status, objective=objective, gap=proven,
                                                          notes=report.notes + [note]), **changes)


def solve_chain(inputs: Inputs, budgets: list[float], options: SolveOptions, progress=None) -> list[PlanResult]:
    """Plans at ``budgets`` (ascending) from one model, the largest solved first: a smaller
    budget that its plan fits keeps that plan (``BudgetSweep._larger_plan_kept``) and each
    other starts from the plan of the nearest smaller one. A frontier solves its budgets so,
    in one process or on each worker's share of them; ``progress(done, total)`` is called
    after each budget."""
    sweep = BudgetSweep(inputs, options)
    if budgets:
        sweep.at(budgets[-1])
    plans = []
    for k, budget in enumerate(budgets):
        plans.append(sweep.at(budget))
        if progress is not None:
            progress(k + 1, len(budgets))
    return plans
