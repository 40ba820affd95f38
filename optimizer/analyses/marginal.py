"""Marginal questions shared by the vendor-pitch check and ``explain``: what an item adds to
a plan, what the plan's last dollars buy, and the smallest budget at which an item enters."""
from __future__ import annotations

from optimizer.analyses.sweep import BudgetSweep
from optimizer.core.problem import Problem
from optimizer.core.result import PlanResult
from optimizer.core.verify import plan_value

#: A budget search stops when its bracket is narrower than this share of the scenario budget.
SEARCH_TOLERANCE = 0.05


def added_value(problem: Problem, installs: dict[int, int], rows: list[int]) -> float:
    """Risk reduction that candidate ``rows`` add to a plan's ``installs`` when bought in the
    first year (rows already installed add nothing)."""
    extra = {c: problem.years[0] for c in rows if c not in installs}
    if not extra:
        return 0.0
    return plan_value(problem, installs | extra) - plan_value(problem, installs)


def removed_value(problem: Problem, installs: dict[int, int], rows: list[int]) -> float:
    """Risk reduction a plan's ``installs`` lose without candidate ``rows``."""
    kept = {c: t for c, t in installs.items() if c not in set(rows)}
    return plan_value(problem, installs) - plan_value(problem, kept)


def cost_of_ownership(problem: Problem, rows: list[int]) -> float:
    """Capital plus every year's recurring cost of ``rows`` over the horizon, bought in year one."""
    cand = problem.candidates
    return float(sum(cand.at[c, "capital"] + cand.at[c, "annual"] * len(problem.years) for c in rows))


def marginal_value_per_dollar(sweep: BudgetSweep, budget: float, step: float = 0.1) -> float:
    """Value the plan's last dollars buy: the value gained from ``budget`` to ``budget``
    plus ``step`` of it (or $10,000 when the budget is zero), per dollar, and never less than
    the least value a dollar of local money must buy (``policy.least_value_per_1000``)."""
    more = max(budget * step, 10_000.0)
    low, high = sweep.at(budget), sweep.at(budget + more)
    if low.plan is None or high.plan is None:
        return float("nan")
    # where local money is left unspent, the last dollars buy what its price asks, at least
    return max((high.value - low.value) / more, low.problem.least_value_per_1000 / 1000)


def _chosen(result: PlanResult, measure_id: str, site_id: str | None) -> bool:
    if result.plan is None:
        return False
    items = result.plan.items
    hit = items["measure_id"] == measure_id
    if site_id is not None:
        hit &= items["site_id"] == site_id
    return bool(hit.any())


def entry_budget(sweep: BudgetSweep, measure_id: str, site_id: str | None = None,
                 multiple: float = 3.0) -> float | None:
    """The smallest total local capital budget (within 5% of the scenario's) at which
    the plan includes the measure (at the site, when given), searched by bisection between
    zero and ``multiple`` times the scenario's budget; None when it is not chosen even there.

    The search assumes that once a budget buys the measure, larger ones do too; the plans at
    every budget tried are kept in ``sweep.results``.
    """
    base = sweep.scenario_budget
    high = base * multiple if base > 0 else 1_000_000.0
    tolerance = SEARCH_TOLERANCE * (base if base > 0 else high)
    if _chosen(sweep.at(base), measure_id, site_id):
        high = base
    elif not _chosen(sweep.at(high), measure_id, site_id):
        return None
    low = 0.0
    if _chosen(sweep.at(low), measure_id, site_id):
        return low
    while high - low > tolerance:
        mid = round((low + high) / 2)
        if _chosen(sweep.at(mid), measure_id, site_id):
            high = mid
        else:
            low = mid
    return high
