"""Infeasibility diagnosis: which data-driven rules conflict and by how much, found by
giving budgets, caps, match, mandates and must items penalised slack and solving again."""
from __future__ import annotations

from dataclasses import dataclass

import pulp

from .model import K, build_model
from .problem import Problem
from .solve import solve_model

#: Money rules bend before requirements: a dollar of budget slack costs 1, an unmet
#: requirement costs as much as a million dollars would.
MONEY_RULES = ("capital_budget", "operating_budget", "total_budget", "cap", "match")
REQUIREMENTS = ("mandate", "must", "target_tier")
REQUIREMENT_PENALTY = 1000.0


@dataclass(frozen=True)
class Conflict:
    """One rule that had to bend, and by how much."""

    rule: str
    constraint: str
    amount: float
    message: str

    def __str__(self) -> str:
        return self.message


def _describe(problem: Problem, name: str, amount: float) -> str:
    family = name.split("[")[0]
    inside = name[name.find("[") + 1:-1] if "[" in name else ""
    dollars = f"${amount * K:,.0f}"
    if family == "capital_budget":
        return f"local capital budget of fiscal year {inside} is short by {dollars}"
    if family == "operating_budget":
        return f"local operating budget of fiscal year {inside} is short by {dollars} for recurring costs"
    if family == "total_budget":
        return f"the total local capital budget is short by {dollars}"
    if family == "cap":
        source = inside.split(",")[0]
        return f"funding source {source} would have to give {dollars} more than its award"
    if family == "match":
        return f"funding source {inside} lacks {dollars} of eligible local match"
    if family == "mandate":
        mandate_id, place, year = inside.rsplit(",", 2)
        rule = next(r for r in problem.mandates if r.id == mandate_id)
        return f"mandate '{rule.title}' cannot be met at {place} by {year}"
    if family == "must":
        return f"must-have item {inside} cannot be bought"
    return f"target tier cannot be reached: {inside}"


def _required_cost(problem: Problem) -> float:
    """Cheapest capital cost of meeting every mandate and must item (a lower bound)."""
    cand = problem.candidates
    cost = sum(float(cand.at[c, "capital"]) for c in problem.musts)
    for rule in problem.mandates:
        cost += sum(min((float(cand.at[o, "capital"]) for o in options), default=0.0)
                    for _, _, options in rule.requirements())
    return cost


def diagnose(problem: Problem) -> list[Conflict]:
    """Explain why a problem has no feasible plan.

    Returns
    -------
    list of Conflict
        The rules that must bend for a plan to exist, largest first; the first message adds
        what the requirements cost against the money available.
    """
    model = build_model(problem, elastic=frozenset(MONEY_RULES + REQUIREMENTS))
    penalty = [(v, REQUIREMENT_PENALTY if name.split("[")[0] in REQUIREMENTS else 1.0)
               for name, v in model.slack.items()]
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(pulp.LpAffineExpression(penalty))
    report = solve_model(model)
    if not report.has_plan:
        return [Conflict("structure", "", 0.0, "no plan exists even with every budget, cap, mandate "
                         "and must item relaxed: prerequisites, tier order or alternatives conflict")]
    conflicts = []
    for name, var in model.slack.items():
        amount = var.value() or 0.0
        if amount > 1e-6:
            conflicts.append(Conflict(name.split("[")[0], name, amount, _describe(problem, name, amount)))
    conflicts.sort(key=lambda c: (c.rule not in REQUIREMENTS, -c.amount))
    money = sum(s.award_over_horizon for s in problem.sources)
    local = sum(problem.capital_budget.values())
    if conflicts:
        required = _required_cost(problem)
        conflicts.insert(0, Conflict("summary", "", 0.0, (
            f"mandated and must-have items cost at least ${required:,.0f} in capital; local capital "
            f"budgets total ${local:,.0f} and awarded funding sources ${money:,.0f} (not all of it "
            "may pay for these items)")))
    return conflicts
