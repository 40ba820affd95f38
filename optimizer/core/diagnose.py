"""Infeasibility diagnosis: which data-driven rules conflict and by how much, found by
giving budgets, caps, match, mandates and must items penalised slack and solving again."""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from optimizer.core.guided import SUB_MIP_NODES
from optimizer.core.model import K, LEAST_CAPITAL, Model, Slack, build_model
from optimizer.core.problem import DISTRICT, MandateRule, Problem
from optimizer.core.solve import solve_model
from optimizer.core.status import SolveOptions, SolveReport, Status

#: Money rules bend before requirements: a dollar of budget slack costs 1, an unmet
#: requirement costs as much as a million dollars would.
MONEY_RULES = ("capital_budget", "operating_budget", "total_budget", "cap", "match")
REQUIREMENTS = ("mandate", "must", "target_tier")
REQUIREMENT_PENALTY = 1000.0
#: Up to this many district-wide options, every combination of them is tried when pricing
#: the cheapest way to meet the requirements; beyond it, they are added one at a time.
EXACT_DISTRICT_OPTIONS = 8


@dataclass(frozen=True)
class Conflict:
    """One rule that had to bend, and by how much."""

    rule: str
    constraint: str
    amount: float
    message: str

    def __str__(self) -> str:
        return self.message


def _describe(problem: Problem, slack: Slack) -> str:
    family, keys, amount = slack.rule, slack.keys, slack.amount
    inside = ",".join(keys)
    dollars = f"${amount * K:,.0f}"
    if family == "capital_budget":
        return f"local capital budget of fiscal year {inside} is short by {dollars}"
    if family == "operating_budget":
        return f"local operating budget of fiscal year {inside} is short by {dollars} for recurring costs"
    if family == "total_budget":
        return f"the total local capital budget is short by {dollars}"
    if family == "cap":
        source = keys[0]
        return f"funding source {source} would have to give {dollars} more than its award"
    if family == "match":
        return f"funding source {inside} lacks {dollars} of eligible local match"
    if family == "mandate":
        mandate_id, place, year = keys
        rule = next(r for r in problem.mandates if r.id == mandate_id)
        source = f" ({rule.source})" if rule.source else ""
        return f"mandate '{rule.title}'{source} cannot be met at {place} by {year}"
    if family == "must":
        return f"must-have item {inside} cannot be bought"
    return f"target tier cannot be reached: {inside}"


def _cheapest_cover(cand: pd.DataFrame, requirements: Iterable[tuple[int, ...]],
                    free: frozenset[int] = frozenset(), column: str = "capital") -> float:
    """Least cost (``column`` of the candidates) of meeting every requirement, each one of
    its candidate rows; rows in ``free`` (must items) cost nothing here.

    A district-wide option meets every requirement it is an option of (every school of an
    every-site mandate) and is paid once; each requirement that no chosen district-wide
    option meets takes its own cheapest option, a row chosen for several requirements
    again paid once. Combinations of district-wide options are tried exactly up to
    :data:`EXACT_DISTRICT_OPTIONS` of them, else added greedily while they save money."""
    cost = cand[column].astype(float)
    todo = {frozenset(options) for options in requirements if options and not free.intersection(options)}
    if not todo:
        return 0.0
    cheapest = {options: min(options, key=lambda o: (cost.at[o], o)) for options in todo}
    shared = sorted({o for options in todo for o in options if cand.at[o, "site_id"] == DISTRICT})

    def total(chosen: tuple[int, ...]) -> float:
        rows = set(chosen) | {cheapest[options] for options in todo if not options.intersection(chosen)}
        return float(sum(cost.at[o] for o in rows))

    if len(shared) <= EXACT_DISTRICT_OPTIONS:
        return min(total(chosen) for k in range(len(shared) + 1)
                   for chosen in itertools.combinations(shared, k))
    chosen: tuple[int, ...] = ()
    best = total(chosen)
    while True:
        trials = [(total(chosen + (d,)), d) for d in shared if d not in chosen]
        value, d = min(trials, default=(best, None))
        if d is None or value >= best:
            return best
        chosen, best = chosen + (d,), value


def _requirement_options(rules: Iterable[MandateRule]) -> list[tuple[int, ...]]:
    return [options for rule in rules for _, _, options in rule.requirements()]


def _required_cost(problem: Problem) -> float:
    """Cheapest capital cost of meeting every mandate and must item: must items at their
    cost, and the mandates' requirements priced by :func:`_cheapest_cover` (a district-wide
    option that meets a mandate at every school counts once, not once per school)."""
    cand = problem.candidates
    musts = frozenset(problem.musts)
    cost = sum(float(cand.at[c, "capital"]) for c in musts)
    return cost + _cheapest_cover(cand, _requirement_options(problem.mandates), musts)


def _elastic(problem: Problem, skip: frozenset[str] = frozenset()) -> tuple[Model, SolveReport]:
    """Solve with budgets, caps, match, mandates and must items given penalised slack:
    the least bending that gives a plan."""
    model = build_model(problem, skip=skip, elastic=frozenset(MONEY_RULES + REQUIREMENTS))
    model.minimise_slack(dict.fromkeys(REQUIREMENTS, REQUIREMENT_PENALTY))
    return model, solve_model(model)


def _money_short(model: Model) -> float:
    """Total slack the money rules needed (model units)."""
    return sum(s.amount for s in model.slack_used(MONEY_RULES, tolerance=0.0))


def _mandate_drivers(problem: Problem, short: float, families: set[str]) -> tuple[list[Conflict], bool]:
    """The mandates behind a money shortfall (``short``, in the money rule ``families`` that
    bent), each with what meeting it costs at least, and whether the money would suffice
    without them; none when the money falls short as much without any mandate. A mandate
    met at no capital cost is named for a shortfall of capital only when it has recurring
    costs that some short rule pays (the operating budget, a grant)."""
    due = [rule for rule in problem.mandates if rule.requirements()]
    if not due:
        return [], False
    without = 0.0  # with nothing else to buy, a plan that buys nothing fits any money
    if problem.musts or problem.objective == "least_cost_tier":  # must items, a target tier
        model, report = _elastic(problem, skip=frozenset({"mandates"}))
        if not report.has_plan:
            return [], False
        without = _money_short(model)
    if without >= short - 1e-6:
        return [], False
    cand, musts = problem.candidates, frozenset(problem.musts)
    capital_short = bool(families - {"operating_budget"})
    annual_short = bool(families & {"operating_budget", "cap", "match"})
    out = []
    for rule in due:
        options = _requirement_options([rule])
        capital = _cheapest_cover(cand, options, musts)
        annual = _cheapest_cover(cand, options, musts, column="annual")
        if not (capital_short and capital > 0 or annual_short and annual > 0):
            continue
        places = len({place for place, _, _ in rule.requirements()})
        costs = " and ".join(part for part in (
            f"${capital:,.0f} in capital" if capital > 0 else "",
            f"${annual:,.0f} a year in recurring costs" if annual > 0 else "") if part) or "nothing"
        source = f" ({rule.source})" if rule.source else ""
        out.append(Conflict("mandate_cost", rule.id, capital / K, (
            f"the mandate '{rule.title}'{source} drives the shortfall: meeting it at {places} "
            f"place{'s' if places != 1 else ''} by fiscal year {rule.by_year} costs at least {costs}")))
    out.sort(key=lambda c: -c.amount)
    return out, bool(out) and without <= 1e-6


def diagnose(problem: Problem) -> list[Conflict]:
    """Explain why a problem has no feasible plan.

    Returns
    -------
    list of Conflict
        The rules that must bend for a plan to exist, largest first; the first message adds
        what the requirements cost against the money available. When the money falls short
        because of mandates, each of them follows the first message, named with its legal
        source and what meeting it costs at least.
    """
    model, report = _elastic(problem)
    if not report.has_plan:
        return [Conflict("structure", "", 0.0, "no plan exists even with every budget, cap, mandate "
                         "and must item relaxed: prerequisites, tier order or alternatives conflict")]
    conflicts = []
    for slack in model.slack_used():
        conflicts.append(Conflict(slack.rule, slack.name, slack.amount, _describe(problem, slack)))
    conflicts.sort(key=lambda c: (c.rule not in REQUIREMENTS, -c.amount))
    money = sum(s.award_over_horizon for s in problem.sources)
    local = sum(problem.capital_budget.values())
    if conflicts:
        short = _money_short(model)
        families = {c.rule for c in conflicts if c.rule in MONEY_RULES}
        drivers, suffice = _mandate_drivers(problem, short, families) if short > 1e-6 else ([], False)
        conflicts[:0] = drivers
        required = _required_cost(problem)
        because = ""
        if drivers:
            many = len(drivers) > 1
            because = (f"; the money falls short because of the mandate{'s' if many else ''} named below"
                       + (f" (it would suffice without {'them' if many else 'it'})" if suffice else ""))
        conflicts.insert(0, Conflict("summary", "", 0.0, (
            f"mandated and must-have items cost at least ${required:,.0f} in capital; local capital "
            f"budgets total ${local:,.0f} and awarded funding sources ${money:,.0f} (not all of it "
            f"may pay for these items){because}")))
    return conflicts


#: How the reason a budget has no plan begins; a result that already knows it carries it as a note.
NO_MONEY = "the rules cannot all be kept with the money there is: "


def why_no_plan(result) -> str:
    """Why a result (``PlanResult``) has no plan, in one sentence: what the rules that cannot
    all be kept cost against the money there is, then by how much and where it falls short
    (the diagnosis of an infeasible plan, unless the result carries it already, see
    :func:`short_of_least`); else the solver's last note, or its status."""
    if result.status == Status.INFEASIBLE:
        known = [note for note in result.report.notes if note.startswith(NO_MONEY)]
        if known:
            return known[-1]
        conflicts = [str(c) for c in diagnose(result.problem)]
        if conflicts:
            return NO_MONEY + (conflicts[0] if len(conflicts) == 1 else f"{conflicts[0]}; {conflicts[-1]}")
    return "; ".join(result.report.notes[-1:]) or str(result.status)


def least_local_capital(problem: Problem, options: SolveOptions) -> float | None:
    """A proven lower bound, in dollars, on the local capital over the horizon (spread over the
    years as the scenario's budgets are) that any plan keeping every other rule needs: the
    bound of the ``LEAST_CAPITAL`` model after at most ``SUB_MIP_NODES`` branch-and-bound
    nodes (a count of work, so the same on any machine). None when no budget would do, or no
    bound is proven."""
    report = solve_model(build_model(problem, objective=LEAST_CAPITAL), options.but(gap=0.0),
                         settings={"mip_max_nodes": SUB_MIP_NODES})
    if report.status == Status.INFEASIBLE or report.dual_bound is None:
        return None
    return max(report.dual_bound, 0.0) * K


def short_of_least(least: float, total: float) -> str:
    """Why a local capital budget over the horizon of ``total`` dollars has no plan, when it is
    below the proven ``least`` (:func:`least_local_capital`)."""
    return (f"{NO_MONEY}no plan keeps every rule with less than ${least:,.0f} of local capital over the horizon, "
            f"spread over the years as the scenario's budgets are; this budget is short by ${least - total:,.0f}")
