"""The planning call: expand, build, solve, read, verify."""
from __future__ import annotations

from optimizer.core.greedy import greedy_plan
from optimizer.core.model import Model, build_model
from optimizer.core.plan import Plan
from optimizer.core.problem import expand
from optimizer.core.result import InvalidPlan, PlanResult
from optimizer.core.solve import (
    check,
    fund_grants_first,
    read_plan,
    relaxation_bound,
    solve_phases,
    start_values,
)
from optimizer.core.status import SolveOptions, SolveReport, Status
from optimizer.core.verify import plan_value, verify
from optimizer.data.inputs import Inputs


def _greedy_fallback(model, plan, report: SolveReport, baseline: float) -> PlanResult:
    """When the solver stops before it finds a plan, show the starting plan (it keeps every
    rule), clearly marked as not proven optimal."""
    problem = model.problem
    checked = check(model, plan)
    report.status = Status.FEASIBLE
    report.objective = report.gap = None
    if model.objective_kind == "risk_reduction":  # the objective is the gain over nothing bought
        report.objective = checked.value - baseline
        if report.dual_bound is None:
            report.dual_bound = relaxation_bound(model, max(10.0, report.solve_seconds))
        if report.dual_bound is not None:
            # the bound carries the tiny tie-break terms, so it can sit a hair below the value
            report.gap = max(0.0, report.dual_bound - report.objective) / max(abs(report.dual_bound), 1e-9)
    report.notes.append("the solver stopped before it found a plan: this is the starting plan (the "
                        "greedy baseline, or the plan of a nearby budget), verified but not proven optimal")
    return PlanResult(problem.scenario_name, problem, report, plan, checked.value, baseline, model.build_seconds)


def solve_and_check(model: Model, start: Plan | None = None, options: SolveOptions = SolveOptions()) -> PlanResult:
    """Solve a built model, read the plan and check it independently.

    Parameters
    ----------
    model : Model
        A built model (possibly re-solved at another budget, see ``Model.set_capital_budget``).
    start : Plan, optional
        A known plan; when it keeps every rule of the model's Problem it starts the solver
        and is shown (marked not proven optimal) if the solver finds nothing better in time.
    options : SolveOptions
        Solver, time limit, gap and threads.

    Raises
    ------
    InvalidPlan
        When the solver's plan fails the independent verifier.
    """
    problem = model.problem
    if start is not None:
        start = fund_grants_first(model, start.installs) or start
    usable = start is not None and not verify(problem, start)
    report = solve_phases(model, options, start=start_values(model, start.installs) if usable else None)
    report.notes[:0] = problem.notes
    baseline = plan_value(problem, {})
    if report.status == Status.NO_SOLUTION and usable:
        return _greedy_fallback(model, start, report, baseline)
    if not report.has_plan:
        return PlanResult(problem.scenario_name, problem, report, None, baseline, baseline, model.build_seconds)
    checked = check(model, read_plan(model))
    if not checked.valid:
        raise InvalidPlan(checked.violations)
    return PlanResult(problem.scenario_name, problem, report, checked.plan, checked.value, baseline,
                      model.build_seconds)


def optimize(inputs: Inputs, options: SolveOptions = SolveOptions()) -> PlanResult:
    """Plan a scenario: the whole pipeline, with the independent check of the plan.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog (``load_inputs``).
    options : SolveOptions
        Solver (falls back to the other one when missing, and says so in the notes), time
        limit, gap tolerance and threads.

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
    return solve_and_check(model, greedy_plan(problem), options)
