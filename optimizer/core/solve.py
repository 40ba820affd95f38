"""Solving a built model with HiGHS (CBC as fallback), reading the true solution status and
the gap, and turning the solution into a verified Plan."""
from __future__ import annotations

import contextlib
import functools
import time
import warnings
from dataclasses import dataclass

import pulp

from optimizer.core.highs_runner import run_highs
from optimizer.core.model import K, Model
from optimizer.core.plan import Plan, make_plan
from optimizer.core.status import LpBasis, SolveOptions, SolveReport, Status, relative_gap
from optimizer.core.verify import Violation, plan_objective, plan_value, verify
from optimizer.errors import OptimizerError, SolverFailed, short


class SolverUnavailable(OptimizerError):
    """No usable MIP solver is installed."""


def available_solvers() -> list[str]:
    """Names of the solvers this machine can use, HiGHS first."""
    return (["highs"] if _installed("HiGHS") else []) + (
        ["cbc"] if _installed("COIN_CMD") or _installed("PULP_CBC_CMD") else [])


@functools.cache
def _installed(name: str) -> bool:
    # only the solvers this tool runs are probed: PuLP's list of every solver it knows imports
    # their Python packages (SCIP's among them), and what is installed does not change
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return bool(pulp.getSolver(name).available())


def highs_used(options: SolveOptions) -> bool:
    """True when these options solve with HiGHS: asked for, and installed."""
    return options.solver == "highs" and "highs" in available_solvers()


def _cbc(**options):
    """CBC: a CBC on the PATH (PuLP 4 no longer bundles one), else PuLP 3's bundled CBC."""
    if _installed("COIN_CMD"):
        return pulp.COIN_CMD(**options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)


def _solver(options: SolveOptions, notes: list[str]):
    name = options.solver
    usable = available_solvers()
    if name not in usable:
        if not usable:
            raise SolverUnavailable("neither HiGHS (pip install highspy) nor CBC is available")
        notes.append(f"solver {name} is not available; used {usable[0]} instead")
        name = usable[0]
    if name == "highs":
        return name, None  # run through highspy directly (see highs_runner)
    return name, _cbc(msg=False, timeLimit=options.time_limit, gapRel=options.gap, threads=options.threads)


@contextlib.contextmanager
def solver_errors(name: str):
    """Turn a solver's own crash into :class:`SolverFailed`, with what to do next."""
    try:
        yield
    except SolverFailed:
        raise
    except (RuntimeError, ValueError, OSError, pulp.PulpSolverError) as exc:
        raise SolverFailed(f"the {name} solver failed ({short(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 80)}); your inputs are unchanged. "
                           "Try the other solver (--solver cbc or highs) and report the scenario "
                           "if it happens again") from None


@contextlib.contextmanager
def _values_kept(model: Model):
    """The model's variable values are restored when the block ends."""
    saved = {v: v.varValue for v in model.variables()}
    try:
        yield
    finally:
        for var, value in saved.items():
            var.varValue = value


def relaxation(model: Model, time_limit: float | None = None) -> tuple[float | None, dict[pulp.LpVariable, float]]:
    """Solve the LP relaxation: its objective (a bound on the best plan: upper for a
    maximisation) and the values of the in-place variables. The model's own variable values
    are restored afterwards."""
    with _values_kept(model), solver_errors("highs" if "highs" in available_solvers() else "cbc"):
        if "highs" in available_solvers():
            bound = run_highs(model.prob, time_limit, 0.0, None, relax=True).dual_bound
        else:
            bound = _cbc_relaxation(model)
        return bound, ({v: v.varValue or 0.0 for ys in model.y for v in ys} if bound is not None else {})


def relaxation_basis(model: Model, time_limit: float | None = None) -> LpBasis | None:
    """The final basis of the LP relaxation (None without HiGHS, or when it is not solved),
    which the relaxations of changed versions of the model start from (robustness draws).
    The model's own variable values are restored afterwards."""
    if "highs" not in available_solvers():
        return None
    with _values_kept(model), solver_errors("highs"):
        return run_highs(model.prob, time_limit, 0.0, None, relax=True, keep_basis=True).basis


def _cbc_relaxation(model: Model) -> float | None:
    with model.relaxed():
        model.prob.solve(_cbc(msg=False))
        return pulp.value(model.prob.objective) if model.prob.status == pulp.LpStatusOptimal else None


def relaxation_bound(model: Model, time_limit: float | None = None) -> float | None:
    """Objective of the LP relaxation: a bound on the best plan (upper for maximisation)."""
    return relaxation(model, time_limit)[0]


def integral(model: Model, tolerance: float = 1e-4) -> bool:
    """True when every in-place decision of the model's current values is whole."""
    return all(abs(v - round(v)) <= tolerance for ys in model.y for v in (var.value() for var in ys)
               if v is not None)


def start_values(model: Model, installs: dict[int, int]) -> dict[pulp.LpVariable, float]:
    """Values of the in-place variables and project flags for a known plan (a warm start)."""
    return model.plan_values(installs)


def solve_model(model: Model, options: SolveOptions = SolveOptions(),
                start: dict[pulp.LpVariable, float] | None = None, settings: dict | None = None) -> SolveReport:
    """Solve a built model and report status, objective, dual bound and gap.

    Parameters
    ----------
    model : Model
        From :func:`~optimizer.core.model.build_model`.
    options : SolveOptions
        Solver (HiGHS through highspy by default; CBC when HiGHS is missing), time limit (at
        the limit the best plan so far is returned as ``feasible`` with its gap), gap, threads.
    start : dict, optional
        Values of the in-place variables of a known plan, given to HiGHS as a first
        incumbent (see :func:`start_values`).
    settings : dict, optional
        Further HiGHS options by name.
    """
    notes: list[str] = []
    time_limit = options.time_limit
    name, engine = _solver(options, notes)
    began = time.perf_counter()
    highs = None
    with solver_errors(name):
        if name == "highs":
            highs = run_highs(model.prob, time_limit, options.gap, options.threads, start, settings=settings)
            sol = highs.sol_status
            if highs.stopped:
                notes.append("HiGHS overran its time limit and was stopped")
            if highs.died:
                notes.append("the HiGHS process ended without an answer (out of memory, or a crash)")
        else:
            model.prob.solve(engine)
            sol = model.prob.sol_status
    seconds = time.perf_counter() - began
    objective = pulp.value(model.prob.objective) if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) else None
    if sol == pulp.LpSolutionOptimal:
        status = Status.OPTIMAL
    elif sol == pulp.LpSolutionIntegerFeasible:
        status = Status.FEASIBLE
    elif sol == pulp.LpSolutionInfeasible:
        status = Status.INFEASIBLE
    else:
        status = Status.NO_SOLUTION
    if status in (Status.OPTIMAL, Status.FEASIBLE) and not integral(model):
        # CBC stopped on time can hand back a fractional point as if it were a plan.
        notes.append("the solver returned a fractional point, not a plan; treated as no solution")
        status, objective = Status.NO_SOLUTION, None
    bound = gap_value = None
    if highs is not None and objective is not None:
        bound, gap_value = highs.dual_bound, highs.gap
        if bound is None or gap_value is None:  # stopped before the root LP: bound it ourselves
            bound = relaxation_bound(model, None if time_limit is None else max(10.0, time_limit))
            gap_value = None if bound is None else relative_gap(objective, bound)
    elif highs is not None:
        bound = highs.dual_bound
    elif objective is not None:
        if status == Status.OPTIMAL:
            # CBC does not report its bound: the requested gap is what it proved, at most.
            gap_value = options.gap
            notes.append(f"CBC proved optimality within the requested gap of {options.gap:.2%}; the gap shown is that bound")
        else:
            bound = relaxation_bound(model, None if time_limit is None else max(10.0, time_limit))
            if bound is not None:
                gap_value = relative_gap(objective, bound)
    if status == Status.FEASIBLE:
        notes.append("time limit reached: the plan is feasible but not proven optimal")
    return SolveReport(status, name, objective, bound, gap_value, seconds, notes)


def _installs(model: Model) -> dict[int, int]:
    """Candidate row -> first fiscal year in place, read from a solved model."""
    installs = {}
    for c, ys in enumerate(model.y):
        for t, var in zip(model.problem.years, ys):
            if (var.value() or 0) > 0.5:
                installs[c] = t
                break
    return installs


def _funding(model: Model):
    """Class-level grant and match dollars of a solved model."""
    grants = {}
    for kind, table in (("capital", model.fcap), ("annual", model.fop)):
        for (src, q, t), var in table.items():
            if (var.value() or 0) * K > 0.005:
                grants[kind, src, q, t] = var.value() * K
    matches = {(src, q, t): var.value() * K for (src, q, t), var in model.match.items()
               if (var.value() or 0) * K > 0.005}
    return grants, matches


def fund_grants_first(model: Model, installs: dict[int, int]) -> Plan | None:
    """The second stage: with the items and years of a plan fixed, pay them with as many
    grant dollars (and so as few local dollars) as every rule allows, by a linear program.
    Returns None when the items cannot be paid at all under the model's rules."""
    if not model.fcap and not model.fop:
        return make_plan(model.problem, installs, {}, {})
    lp = "highs" if "highs" in available_solvers() else "cbc"
    with _values_kept(model), model.funding_stage(installs), solver_errors(lp):
        if lp == "highs":
            ok = run_highs(model.prob, None, 0.0, None, relax=True).sol_status == pulp.LpSolutionOptimal
        else:
            ok = _cbc_relaxation(model) is not None
        return make_plan(model.problem, installs, *_funding(model)) if ok else None


def solution_of(model: Model) -> tuple[float, Plan]:
    """The objective and the plan of the model's variable values, the plan paid as they pay it."""
    return float(pulp.value(model.prob.objective)), make_plan(model.problem, _installs(model), *_funding(model))


def plan_of(model: Model, values) -> tuple[float, Plan]:
    """:func:`solution_of` of a value for every variable of the model, in its variable order;
    the model's own values are restored afterwards."""
    variables = model.variables()
    saved = [v.varValue for v in variables]
    try:
        for var, value in zip(variables, values):
            var.varValue = float(value)
        return solution_of(model)
    finally:
        for var, value in zip(variables, saved):
            var.varValue = value


def read_plan(model: Model) -> Plan:
    """Read the installations of a solved model and pay them grants first (see
    :func:`fund_grants_first`); the solver's own funding split is kept if that stage fails."""
    installs = _installs(model)
    return fund_grants_first(model, installs) or make_plan(model.problem, installs, *_funding(model))


def solve_phases(model: Model, options: SolveOptions = SolveOptions(),
                 start: dict[pulp.LpVariable, float] | None = None, settings: dict | None = None) -> SolveReport:
    """Solve, running both phases for the ``tier1_first`` objective: first the most
    site-layer pairs at tier 1, then the best risk reduction that keeps that count (the
    start fits the first phase's objective only). ``settings``: further HiGHS options."""
    report = solve_model(model, options, start, settings)
    if model.objective_kind != "tier1_count" or not report.has_plan:
        return report
    reached = round(report.objective)
    model.second_phase(reached)
    second = solve_model(model, options, settings=settings)
    second.notes.insert(0, f"phase 1: {reached} site-layer pairs reach tier 1")
    second.solve_seconds += report.solve_seconds
    return second


@dataclass
class Checked:
    """A plan with its independent verification, its risk reduced over the horizon (``value``)
    and what the optimizer maximises, recomputed (``objective``: ``verify.plan_objective``)."""

    plan: Plan
    violations: list[Violation]
    value: float
    objective: float

    @property
    def valid(self) -> bool:
        """True when the verifier found no violation."""
        return not self.violations


def check(model: Model, plan: Plan) -> Checked:
    """Verify a plan and compute its value from the Problem alone."""
    p = model.problem
    return Checked(plan, verify(p, plan), plan_value(p, plan.installs), plan_objective(p, plan))
