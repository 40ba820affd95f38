"""The planning call: expand, build, solve, read, verify."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from optimizer.core.by_school import plan_by_school
from optimizer.core.greedy import greedy_plan
from optimizer.core.grant_use import eligible_rows, left_unused
from optimizer.core.guided import FIXED_NEIGHBOURHOOD, Guided, lp_guided, spend_down
from optimizer.core.highs_runner import clock_stopped
from optimizer.core.model import Model, build_model
from optimizer.core.plan import Plan, make_plan
from optimizer.core.problem import Problem, expand
from optimizer.core.result import InvalidPlan, PlanResult
from optimizer.core.sample import LARGE_SITES, SamplePrices, sampled_prices
from optimizer.core.solve import (
    Checked,
    check,
    fund_grants_first,
    highs_used,
    read_plan,
    relaxation_basis,
    relaxation_bound,
    solve_phases,
    start_values,
)
from optimizer.core.status import (
    TIME_UP_SECONDS,
    LpBasis,
    SolveOptions,
    SolveReport,
    Status,
    proven_gap,
)
from optimizer.core.verify import objective_ceiling, plan_objective, plan_value
from optimizer.data.inputs import Inputs


@dataclass(frozen=True)
class Step:
    """One step of a solve: the function that runs it, when it runs, why, and what it proves."""

    name: str
    runs: str
    when: str
    why: str
    proves: str


#: The steps of a solve, in the order they run (docs/model.md shows this table: :func:`steps_table`).
STEPS = (
    Step("choose the way", "run.plan_model",
         "every plan: `optimize`, each budget of a frontier, the best plan of `alternatives`",
         "a district of more than `LARGE_SITES` places cannot be relaxed whole in time",
         "nothing: it picks the steps below or the last one"),
    Step("relaxation", "guided.lp_guided",
         "HiGHS is the solver and the objective is not tier-1-first; from the basis before a change when there is one",
         "its whole values decide most decisions, and its prices feed the per-school bound; in a model of at most "
         "`IMPLIED_BOUNDS_COLUMNS` columns an item that the rows leave no room for (`propagate.tighten`) is 0 in it, "
         "as in every plan",
         "a bound no plan beats"),
    Step("known plans cut back", "guided._Search.cut_back",
         "a what-if's plan before the change, or a nearby budget's plan, is given",
         "a plan that still fits needs no search",
         "a plan that keeps every rule, within its gap of the bound"),
    Step("bound near a known plan", "guided._Search.near_miss_bound",
         "the known plan is within `NEAR_MISS` times the gap of the bound, not within it, and the solve has one "
         "core (with two, the bound is found beside the plan read off, at the cost of the longer of the two)",
         "the per-school bound at the relaxation's prices is often tight enough to prove it",
         "a tighter bound, when it is one (never below a verified plan)"),
    Step("plan read off", "guided._Search.read_off",
         "no plan is yet proven within the gap",
         "fixing what the relaxation decides leaves a small MIP (RENS); the greedy plan's neighbourhood where "
         "they agree decides near ties (RINS); with still no plan, only the relaxation's zeros are fixed; the "
         "per-school bound is found beside, on the core left free",
         "a plan and, once, the tighter of the two bounds"),
    Step("wider neighbourhoods", "guided._Search.widen",
         "the plan is within `NEAR_MISS` times the gap, not within it, and time is left",
         "a near miss is usually a few decisions the relaxation fixed wrongly",
         "a better plan, stopped as soon as one is proven within the gap"),
    Step("never below the greedy plan", "run._made_better",
         "a plan from step 1 is proven within the gap (risk reduction)",
         "a plan worse than the simple rule would not be trusted; the greedy plan is paid only when "
         "its ceiling (`verify.objective_ceiling`: local money at least what the awards leave) beats the plan",
         "the better of the two, with the gap proven for it"),
    Step("full MIP", "run._after_guided",
         "step 1 misses the gap and time is left; started from the best known plan that keeps every rule; "
         "without HiGHS's presolve on a model of at most `NO_PRESOLVE_COLUMNS` columns",
         "only branch and bound's cuts tighten a bound the relaxation leaves loose",
         "HiGHS's plan and bound, with step 1's bound where tighter"),
    Step("starting plan shown", "run._greedy_fallback",
         "the solver stops before it finds a plan",
         "a verified plan is better than none; it is marked not proven optimal",
         "its gap against the relaxation's bound"),
    Step("spend down", "run._spent_down",
         "the plan leaves grant money unused in an award period while items that money may pay for are not "
         "bought, and time is left (not for a district planned one school at a time); above "
         "`SPEND_DOWN_DECISIONS` only the items the relaxation buys any of are let in",
         "within the gap asked a solve may stop before small gains, and grant money left unused is lost",
         "a better plan when one is found: the plan's items kept in their years, any of those items added"),
    Step("one school at a time", "run._by_school",
         "a district of more than `LARGE_SITES` places (the way chosen first)",
         "prices of sample districts stand in for the whole relaxation",
         "a plan from the schools' own choices and the per-school bound at those prices"),
)


def steps_table() -> str:
    """:data:`STEPS` as the Markdown table docs/model.md shows."""
    rows = ["| step | runs in | when | why | proves |", "|---|---|---|---|---|"]
    rows += [f"| {s.name} | `{s.runs}` | {s.when} | {s.why} | {s.proves} |" for s in STEPS]
    return "\n".join(rows)


def _greedy_fallback(model, checked: Checked, report: SolveReport, baseline: float,
                     bound_tried: bool = False) -> PlanResult:
    """When the solver stops before it finds a plan, show the starting plan (checked: it keeps
    every rule), clearly marked as not proven optimal. Its gap is against the LP relaxation's
    bound, solved now unless it was tried already (``bound_tried``) and did not finish."""
    problem = model.problem
    report.status = Status.FEASIBLE
    report.objective = report.gap = None
    if model.objective_kind == "risk_reduction":  # the gain over nothing bought, net of local money's price
        report.objective = checked.objective
        if report.dual_bound is None and not bound_tried:
            report.dual_bound = relaxation_bound(model, max(10.0, report.solve_seconds))
        if report.dual_bound is not None:
            report.gap = proven_gap(report.objective, report.dual_bound)
    report.notes.append("the solver stopped before it found a plan: this is the starting plan (the "
                        "greedy baseline, the plan read off the LP relaxation, or the plan of a nearby "
                        "budget), verified but not proven optimal")
    return PlanResult(problem.scenario_name, problem, report, checked.plan, checked.value, baseline,
                      model.build_seconds)


def paid_and_valid(model: Model, plan: Plan | Callable[[], Plan] | None, own_funding: bool = True) -> Checked | None:
    """A known plan (or the function that makes it) paid grants first and checked, when it
    then keeps every rule of the model's Problem; else None. When the funding stage cannot pay
    its items at all, the plan is checked as it was paid, or, without ``own_funding`` (a plan
    made for other budgets), taken not to fit without a check."""
    if callable(plan):
        plan = plan()
    if plan is None:
        return None
    paid = _paid(model, plan, own_funding)
    if paid is None:
        return None
    checked = check(model, paid)
    return checked if checked.valid else None


def _paid(model: Model, plan: Plan, own_funding: bool = True) -> Plan | None:
    """The plan paid grants first; when that stage fails, its own funding (None without
    ``own_funding``)."""
    return fund_grants_first(model, plan.installs) or (plan if own_funding else None)


def solve_and_check(model: Model, start: Plan | Callable[[], Plan] | Sequence | None = None,
                    options: SolveOptions = SolveOptions(), prices: SamplePrices | None = None,
                    warm: LpBasis | None = None) -> PlanResult:
    """Solve a built model, read the plan and check it independently.

    First the LP relaxation is solved and a plan read off it (:func:`lp_guided`); when that
    plan is proven within the gap asked, it is the answer. Otherwise the solver starts from
    the best known plan and the relaxation's bound tightens the gap it reports.

    Parameters
    ----------
    model : Model
        A built model (possibly re-solved at another budget, see ``Model.set_capital_budget``).
    start : Plan, a function returning one, or a list of them, optional
        Known plans (the greedy plan, the plan before a change, the plan of a nearby budget);
        the best that keeps every rule of the model's Problem starts the solver and is shown
        (marked not proven optimal) if the solver finds nothing better in time. A function
        is called when its plan is first needed, after the relaxation, and once; its plan
        takes part from then on (it starts the full solve, or replaces a plan read off the
        relaxation that it beats).
    options : SolveOptions
        Solver, time limit, gap and threads.
    prices : SamplePrices, optional
        For a district too large to relax whole: prices for its shared rows. The plan is
        then put together one school at a time (:func:`plan_by_school`) from them and the
        best known plan, and its gap is proven against the per-school bound at them; the
        full solve is not tried.
    warm : LpBasis, optional
        The final basis of the relaxation before a what-if's change, which this relaxation
        starts from; the result carries this relaxation's (``PlanResult.lp_basis``).

    Raises
    ------
    InvalidPlan
        When the solver's plan fails the independent verifier.
    """
    problem = model.problem
    baseline = plan_value(problem, {})
    if prices is not None:
        return _by_school(model, _known(start), options, prices, baseline)
    # a plan still to be made (the greedy one) is made when first asked for, once, on this thread: on a
    # second thread it contended for the interpreter with the relaxation's set-up (benchmarks/README.md)
    known = [cache(k) if callable(k) else k for k in _known(start)]
    guided = lp_guided(model, options, [k for k in known if k is not None and not callable(k)], warm,
                       [k for k in known if callable(k)])
    result = _after_guided(model, guided, known, options, baseline)
    result = _spent_down(model, result, options, guided)
    result.lp_basis = None if guided is None else guided.basis
    return result


#: Decisions (items let in, times fiscal years) up to which the spend-down step lets in every item
#: that a grant with money left may pay for; above it, only those the relaxation buys any of: the
#: whole search is then a MIP of tens of thousands of columns, and on urban's what-ifs it spent
#: the money no better (benchmarks/README.md).
SPEND_DOWN_DECISIONS = 5_000


def _spent_down(model: Model, result: PlanResult, options: SolveOptions, guided: Guided | None) -> PlanResult:
    """The plan with the grant money it leaves unused spent on items worth more than what keeping
    them costs the district, when the search of :func:`~optimizer.core.guided.spend_down` finds
    any: within the gap asked, a solve may stop before such small gains, and the money is lost.
    On a large district (``SPEND_DOWN_DECISIONS``) only the items that ``guided``'s relaxation
    buys any of are let in."""
    plan, problem = result.plan, model.problem
    if plan is None or model.objective_kind != "risk_reduction" or not highs_used(options):
        return result
    left = None if options.time_limit is None else options.time_limit - result.report.solve_seconds
    if left is not None and left <= 0:
        return result
    rows = sorted({c for src in left_unused(problem, plan) for c in eligible_rows(problem, src)} - set(plan.installs))
    if len(rows) * len(problem.years) > SPEND_DOWN_DECISIONS and guided is not None:
        rows = guided.bought_in_part(model, rows)
    if not rows:
        return result
    began = time.perf_counter()
    found = spend_down(model, plan, rows, options.but(time_limit=left))
    better = None if found is None else paid_and_valid(model, found[1])
    result.report.solve_seconds += time.perf_counter() - began
    before = plan_objective(problem, plan)
    if better is None or better.objective <= before + 1e-9 * max(1.0, abs(before)):
        return result
    added = len(set(better.plan.installs) - set(plan.installs))
    report = replace(result.report, objective=found[0], notes=[*result.report.notes, SPENT_DOWN.format(
        items="1 more item was" if added == 1 else f"{added} more items were")])
    if report.dual_bound is not None:
        report.gap = proven_gap(found[0], report.dual_bound)
    return replace(result, report=report, plan=better.plan, value=better.value)


#: The note of a plan that the spend-down step changed.
SPENT_DOWN = ("then {items} added with grant money the plan left unused, which would otherwise be lost: the "
              "protection added is worth more than what keeping it in service costs the district")


def _after_guided(model: Model, guided: Guided | None, start, options: SolveOptions, baseline: float) -> PlanResult:
    """The plan from the relaxation's step when it is proven close enough, else the full solve's."""
    problem = model.problem
    if guided is not None and guided.plan is not None and (guided.gap <= options.gap or _out_of_time(options, guided)):
        # proven close enough, or too little time left for the full solve to do better; the plan read
        # off is paid and checked only when the greedy plan does not beat it
        greedy = _made_better(model, start, guided.objective)
        if greedy is not None:
            guided, from_guided = replace(guided, objective=greedy.objective, plan=greedy.plan, how=GREEDY), greedy
        else:
            from_guided = paid_and_valid(model, guided.plan)
        if from_guided is not None:
            report = guided.report(Status.OPTIMAL if guided.gap <= options.gap else Status.FEASIBLE)
            report.notes[:0] = problem.notes
            return PlanResult(problem.scenario_name, problem, report, from_guided.plan, from_guided.value, baseline,
                              model.build_seconds)
    # only the plan to start from is checked here, not every plan that might have been
    best = _best_known(model, [*_known(start), None if guided is None else guided.plan])
    start = None if best is None else best.plan
    if guided is not None and _out_of_time(options, guided):  # the relaxation took the time
        report = SolveReport(Status.NO_SOLUTION, "highs", None, guided.bound, None, guided.seconds,
                             [] if guided.bound is not None else
                             ["the LP relaxation did not finish within the time limit: no bound is proven"])
    else:
        rest = options if guided is None or options.time_limit is None else \
            options.but(time_limit=max(MIN_FULL_SOLVE_SECONDS, options.time_limit - guided.seconds))
        report = solve_phases(model, rest, None if start is None else start_values(model, start.installs),
                              _full_solve_settings(model, guided))
        if guided is not None:
            report = guided.tighten(report)
    report.notes[:0] = problem.notes
    if report.status == Status.NO_SOLUTION and best is not None:
        return _greedy_fallback(model, best, report, baseline, bound_tried=guided is not None)
    if not report.has_plan:
        return PlanResult(problem.scenario_name, problem, report, None, baseline, baseline, model.build_seconds)
    checked = check(model, read_plan(model))
    if not checked.valid:
        raise InvalidPlan(checked.violations)
    return PlanResult(problem.scenario_name, problem, report, checked.plan, checked.value, baseline,
                      model.build_seconds)


#: Columns up to which the full solve runs without HiGHS's presolve: on every example and real
#: district this size it was faster, with the same plan or one within the gap; on urban (63,063
#: columns) the plan without it left more of a state allotment unspent (benchmarks/README.md).
NO_PRESOLVE_COLUMNS = 20_000


def _full_solve_settings(model: Model, guided: Guided | None) -> dict | None:
    """HiGHS settings of the full solve: after the relaxation's step, its neighbourhood heuristic
    off; on a small model, presolve off too (``NO_PRESOLVE_COLUMNS``)."""
    if guided is None:
        return None
    small = len(model.variables()) <= NO_PRESOLVE_COLUMNS
    return {**FIXED_NEIGHBOURHOOD, "presolve": "off"} if small else FIXED_NEIGHBOURHOOD


#: How a plan was found when the greedy plan beats the plan read off the relaxation.
GREEDY = ("put together greedily (the items that reduce the most risk per dollar first), which does better "
          "than the plan read off the LP relaxation")


def _made_better(model: Model, start, than: float) -> Checked | None:
    """The best plan still to be made among the known ones (the greedy plan), paid grants first
    and checked, when it beats the objective ``than`` (risk reduced net of local money's
    price): a plan proven within the gap asked may still fall a hair below the greedy plan,
    and a plan worse than the simple rule would not be trusted. A plan that does not beat it
    is not checked. (The greedy plan ranks by risk reduced, so it is no rival under the other
    objectives.)"""
    if model.objective_kind != "risk_reduction":
        return None
    return _best_known(model, [k for k in _known(start) if callable(k)], above=than)


def _best_known(model: Model, known: list, above: float | None = None) -> Checked | None:
    """The best plan that keeps every rule, by what the optimizer maximises, among the ``known``
    plans (or the functions that make them), each paid grants first: checked best first, until
    one keeps every rule (None when none does, or when none beats the objective ``above``; a plan
    that does not is not checked)."""
    plans = [plan for plan in (k() if callable(k) else k for k in known) if plan is not None]
    if above is not None:  # one that cannot beat it however it is paid is not paid
        plans = [plan for plan in plans if objective_ceiling(model.problem, plan) > above]
    paid = [_paid(model, plan) for plan in plans]
    ranked = sorted((plan_objective(model.problem, plan), -n, plan) for n, plan in enumerate(paid))
    for objective, _, plan in reversed(ranked):
        if above is not None and objective <= above:
            break
        checked = check(model, plan)
        if checked.valid:
            return checked
    return None


def _known(start) -> list:
    return list(start) if isinstance(start, (list, tuple)) else [start]


def _by_school(model: Model, known: list, options: SolveOptions, prices: SamplePrices,
               baseline: float) -> PlanResult:
    """The plan of a district too large to relax whole (see :func:`solve_and_check`)."""
    problem = model.problem
    best = _best_known(model, known)
    if best is None:  # no known plan keeps every rule: the full solve says why
        return solve_and_check(model, None, options)
    rest = options if options.time_limit is None else options.but(
        time_limit=max(TIME_UP_SECONDS, options.time_limit - prices.seconds))
    guided = plan_by_school(model, prices, best.plan, rest)
    guided.seconds += prices.seconds
    found = paid_and_valid(model, guided.plan)
    if found is None or found.objective < best.objective or guided.gap is None:
        report = SolveReport(Status.NO_SOLUTION, "highs", None, guided.bound, None, guided.seconds,
                             [*problem.notes, "planned one school at a time, as a district this size is: no plan "
                                              "better than the greedy plan was put together in time"])
        return _greedy_fallback(model, best, report, baseline, bound_tried=True)
    report = guided.report(Status.OPTIMAL if guided.gap <= options.gap else Status.FEASIBLE,
                           f"proven within {guided.gap:.2%}, not the {options.gap:.2%} asked: the whole LP "
                           f"relaxation of a district this size does not fit the time, so the bound comes "
                           f"from sample prices")
    report.notes[:0] = problem.notes
    return PlanResult(problem.scenario_name, problem, report, found.plan, found.value, baseline, model.build_seconds)


#: Fewest seconds worth giving the full solve after the plan from the relaxation.
MIN_FULL_SOLVE_SECONDS = 1.0


def _out_of_time(options: SolveOptions, guided: Guided) -> bool:
    """True when the time left after the plan from the relaxation is too short for the full
    solve to improve on it: under a second, or under twice the relaxation's own time (the
    full solve's root needs at least one such solve before it can tighten the bound).
    Counted when True (see ``highs_runner.clock_stops``)."""
    if options.time_limit is None:
        return False
    out = options.time_limit - guided.seconds < max(MIN_FULL_SOLVE_SECONDS, 2 * guided.lp_seconds)
    if out:
        clock_stopped()
    return out


def carried_over(problem: Problem, previous: PlanResult) -> Plan | None:
    """The plan before a change, on the changed problem: each item matched by measure and
    place (its candidate key) to the same fiscal year; items with no candidate any more, or
    in a year outside the new horizon, are left out. Paid and checked by the caller."""
    if previous.plan is None:
        return None
    index = {key: c for c, key in enumerate(problem.candidates["key"])}
    installs = {index[key]: t for key, t in previous.keyed_installs().items() if key in index and t in problem.years}
    return make_plan(problem, installs, {}, {})


def optimize(inputs: Inputs, options: SolveOptions = SolveOptions(), previous: PlanResult | None = None,
             warm: LpBasis | None = None) -> PlanResult:
    """Plan a scenario: the whole pipeline, with the independent check of the plan.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog (``load_inputs``).
    options : SolveOptions
        Solver (falls back to the other one when missing, and says so in the notes), time
        limit, gap tolerance and threads.
    previous : PlanResult, optional
        The plan before a change (a what-if): when it still keeps every rule it is one of
        the plans the solver may start from, and the relaxation starts from its relaxation's
        final basis.
    warm : LpBasis, optional
        Without ``previous``: the final basis of a similar scenario's relaxation to start the
        relaxation from (a robustness draw starts from the scenario's own, see
        :func:`scenario_basis`).

    Returns
    -------
    PlanResult
        Infeasible scenarios come back with ``status`` infeasible and no plan (see
        ``diagnose`` for the conflicting rules).

    Raises
    ------
    InvalidPlan
        When the solver's plan fails the independent verifier.
    """
    problem = expand(inputs)
    model = build_model(problem)
    starts = [lambda: greedy_plan(problem)] + ([] if previous is None else [carried_over(problem, previous)])
    if previous is not None:
        warm = previous.lp_basis
    return plan_model(inputs, model, starts, options, warm)


def plan_model(inputs: Inputs, model: Model, start=None, options: SolveOptions = SolveOptions(),
               warm: LpBasis | None = None) -> PlanResult:
    """Plan a built model of ``inputs`` by the way that fits its size: a district too large to
    relax whole (more than ``LARGE_SITES`` sites, planned for risk reduction with HiGHS) one
    school at a time at sample prices for its shared rows, any other by
    :func:`solve_and_check`. The one entry of :func:`optimize` and of a frontier's budgets
    (``start`` and ``warm`` as for :func:`solve_and_check`)."""
    problem = model.problem
    prices = None
    if len(problem.sites) > LARGE_SITES and problem.objective == "risk_reduction" and highs_used(options):
        prices = sampled_prices(inputs, model, time_limit=None if options.time_limit is None else
                                options.time_limit / 4, threads=options.threads)
    return solve_and_check(model, start, options, prices, warm)


def scenario_basis(inputs: Inputs, options: SolveOptions = SolveOptions()) -> LpBasis | None:
    """The final basis of the scenario's LP relaxation, which the relaxations of changed
    versions of it start from (robustness draws: about a third of the simplex iterations on
    M); None when it is not solved."""
    return relaxation_basis(build_model(expand(inputs)), options.time_limit)
