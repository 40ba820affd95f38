"""Solving a built model with HiGHS (CBC as fallback), reading the true solution status and
the gap, and turning the solution into a verified Plan."""
from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pulp

from optimizer.core.decompose import Lanes, SchoolBound, Split, found_beside, school_bound, split
from optimizer.core.highs_runner import LpBasis, run_highs
from optimizer.core.model import K, Model
from optimizer.core.plan import Plan, make_plan
from optimizer.core.status import SolveOptions, SolveReport, Status
from optimizer.core.verify import Violation, plan_value, verify
from optimizer.errors import OptimizerError, SolverFailed, short


class SolverUnavailable(OptimizerError):
    """No usable MIP solver is installed."""


def available_solvers() -> list[str]:
    """Names of the solvers this machine can use, HiGHS first."""
    found = pulp.listSolvers(onlyAvailable=True)
    names = ["highs"] if "HiGHS" in found else []
    return names + (["cbc"] if {"COIN_CMD", "PULP_CBC_CMD"} & set(found) else [])


def _cbc(**options):
    """CBC: a CBC on the PATH (PuLP 4 no longer bundles one), else PuLP 3's bundled CBC."""
    if "COIN_CMD" in pulp.listSolvers(onlyAvailable=True):
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
def _quiet():
    """Silence the solver's banner, which HiGHS writes to the process's standard output."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


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
    with _values_kept(model), _quiet(), solver_errors("highs" if "highs" in available_solvers() else "cbc"):
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
    with _values_kept(model), _quiet(), solver_errors("highs"):
        return run_highs(model.prob, time_limit, 0.0, None, relax=True, keep_basis=True).basis


def _cbc_relaxation(model: Model) -> float | None:
    with model.relaxed():
        model.prob.solve(_cbc(msg=False))
        return pulp.value(model.prob.objective) if model.prob.status == pulp.LpStatusOptimal else None


def relaxation_bound(model: Model, time_limit: float | None = None) -> float | None:
    """Objective of the LP relaxation: a bound on the best plan (upper for maximisation)."""
    return relaxation(model, time_limit)[0]


def _integral(model: Model, tolerance: float = 1e-4) -> bool:
    return all(abs(v - round(v)) <= tolerance for ys in model.y for v in (var.value() for var in ys)
               if v is not None)


def start_values(model: Model, installs: dict[int, int]) -> dict[pulp.LpVariable, float]:
    """Values of the in-place variables for a known plan (a warm start)."""
    return {var: float(installs.get(c, 10**6) <= t) for c, ys in enumerate(model.y)
            for t, var in zip(model.problem.years, ys)}


def solve_model(model: Model, options: SolveOptions = SolveOptions(),
                start: dict[pulp.LpVariable, float] | None = None) -> SolveReport:
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
    """
    notes: list[str] = []
    time_limit = options.time_limit
    name, engine = _solver(options, notes)
    began = time.perf_counter()
    highs = None
    with _quiet(), solver_errors(name):
        if name == "highs":
            highs = run_highs(model.prob, time_limit, options.gap, options.threads, start)
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
    if status in (Status.OPTIMAL, Status.FEASIBLE) and not _integral(model):
        # CBC stopped on time can hand back a fractional point as if it were a plan.
        notes.append("the solver returned a fractional point, not a plan; treated as no solution")
        status, objective = Status.NO_SOLUTION, None
    bound = gap_value = None
    if highs is not None and objective is not None:
        bound, gap_value = highs.dual_bound, highs.gap
        if bound is None or gap_value is None:  # stopped before the root LP: bound it ourselves
            bound = relaxation_bound(model, None if time_limit is None else max(10.0, time_limit))
            gap_value = None if bound is None else abs(bound - objective) / max(abs(objective), 1e-9)
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
                gap_value = abs(bound - objective) / max(abs(objective), 1e-9)
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
    with _values_kept(model), model.funding_stage(installs), _quiet(), solver_errors(lp):
        if lp == "highs":
            ok = run_highs(model.prob, None, 0.0, None, relax=True).sol_status == pulp.LpSolutionOptimal
        else:
            ok = _cbc_relaxation(model) is not None
        return make_plan(model.problem, installs, *_funding(model)) if ok else None


def _solution(model: Model) -> tuple[float, Plan]:
    """The objective and the plan of the model's variable values, the plan paid as they pay it."""
    return float(pulp.value(model.prob.objective)), make_plan(model.problem, _installs(model), *_funding(model))


def plan_of(model: Model, values) -> tuple[float, Plan]:
    """:func:`_solution` of a value for every variable of the model, in its variable order;
    the model's own values are restored afterwards."""
    variables = model.variables()
    saved = [v.varValue for v in variables]
    try:
        for var, value in zip(variables, values):
            var.varValue = float(value)
        return _solution(model)
    finally:
        for var, value in zip(variables, saved):
            var.varValue = value


def read_plan(model: Model) -> Plan:
    """Read the installations of a solved model and pay them grants first (see
    :func:`fund_grants_first`); the solver's own funding split is kept if that stage fails."""
    installs = _installs(model)
    return fund_grants_first(model, installs) or make_plan(model.problem, installs, *_funding(model))


def solve_phases(model: Model, options: SolveOptions = SolveOptions(),
                 start: dict[pulp.LpVariable, float] | None = None) -> SolveReport:
    """Solve, running both phases for the ``tier1_first`` objective: first the most
    site-layer pairs at tier 1, then the best risk reduction that keeps that count (the
    start fits the first phase's objective only)."""
    report = solve_model(model, options, start)
    if model.objective_kind != "tier1_count" or not report.has_plan:
        return report
    reached = round(report.objective)
    model.second_phase(reached)
    second = solve_model(model, options)
    second.notes.insert(0, f"phase 1: {reached} site-layer pairs reach tier 1")
    second.solve_seconds += report.solve_seconds
    return second


@dataclass
class Checked:
    """A plan with its independent verification and value."""

    plan: Plan
    violations: list[Violation]
    value: float

    @property
    def valid(self) -> bool:
        """True when the verifier found no violation."""
        return not self.violations


def check(model: Model, plan: Plan) -> Checked:
    """Verify a plan and compute its value from the Problem alone."""
    return Checked(plan, verify(model.problem, plan), plan_value(model.problem, plan.installs))


@dataclass
class Guided:
    """A plan read off the LP relaxation (RENS: every decision the relaxation already makes
    whole is fixed, and the small MIP of the rest is solved), with the relaxation's bound or
    the tighter bound found one school at a time.

    Attributes
    ----------
    bound : float, optional
        No plan does better (a maximisation's upper bound, a minimisation's lower bound):
        the LP relaxation's objective, or the per-school Lagrangian bound when that is
        tighter (see ``schools``). None when the relaxation did not finish within the time
        limit (then there is no plan either).
    objective : float, optional
        Model objective of the plan found (None when the small MIP found none in time).
    plan : Plan, optional
        That plan, paid as the small MIP pays it; the caller pays it grants first and checks
        it like any other plan.
    fixed, integers : int
        Integer variables fixed by the relaxation, of all the model's integer variables.
    seconds : float
        Relaxation and small MIP together.
    lp_seconds : float
        The relaxation alone (the full solve needs at least as long for its own root).
    widened : str
        When the plan comes from a wider neighbourhood, where its decisions were fixed
        (where the relaxation rules them out, or where the relaxation and each school's own
        best choice at its prices agree); empty otherwise.
    schools : int
        Blocks of the per-school bound when it is the bound used (0 otherwise).
    prices : str
        Where the per-school bound's prices come from.
    how : str
        How the plan was found, when not read off the relaxation.
    basis : LpBasis, optional
        The relaxation's final basis, which a what-if's relaxation starts from.
    """

    bound: float | None
    objective: float | None
    plan: Plan | None
    fixed: int
    integers: int
    seconds: float
    lp_seconds: float
    widened: str = ""
    schools: int = 0
    prices: str = "the relaxation's prices"
    how: str = ""
    basis: LpBasis | None = None

    @property
    def gap(self) -> float | None:
        """The proven relative gap of the plan: its distance to the bound."""
        if self.objective is None or self.bound is None:
            return None
        return float(abs(self.bound - self.objective) / max(abs(self.objective), 1e-9))

    def report(self, status: Status,
               unproven: str = "time limit reached: the plan is feasible but not proven optimal") -> SolveReport:
        """The plan's solve report; a ``feasible`` one says why (``unproven``)."""
        by = (f"a bound found one school at a time (the decisions at each of {self.schools - 1} places, and the "
              f"district's money, solved whole at {self.prices} for the shared budgets and grants)"
              if self.schools else "the relaxation")
        how = self.how or "read off the LP relaxation: " + (
            f"{self.fixed:,} of {self.integers:,} decisions fixed where {self.widened}, the rest solved as a "
            f"MIP from the plan of what the relaxation leaves open, until proven close enough" if self.widened
            else f"{self.fixed:,} of {self.integers:,} decisions fixed where the relaxation already decides "
                 f"them, the rest solved as a small MIP")
        notes = [f"plan {how}; proven within {self.gap:.2%} of the best possible plan by {by}"]
        if status == Status.FEASIBLE:
            notes.append(unproven)
        return SolveReport(status, "highs", self.objective, self.bound, self.gap, self.seconds, notes)

    def tighten(self, report: SolveReport) -> SolveReport:
        """A later solve's report with this step's bound (the relaxation's or the per-school
        one) where it is the tighter one, and this step's time added."""
        report.solve_seconds += self.seconds
        if report.objective is None or self.bound is None:
            return report
        tighter = (report.dual_bound is None or
                   abs(self.bound - report.objective) < abs(report.dual_bound - report.objective))
        if tighter:
            report.dual_bound = self.bound
            report.gap = abs(self.bound - report.objective) / max(abs(report.objective), 1e-9)
        return report


#: Relative gap the small MIP left by the relaxation is solved to (it is small and fast).
SUB_MIP_GAP = 1e-3
#: Seconds the small MIP may take at least; it may also take twice the relaxation's own time.
#: Most finish in a fraction of that; a rare one (1 draw in 30 of the robustness run on M)
#: would take 20 s to prove its 0.1%, while its best plan after a second is already proven
#: within the gap asked against the relaxation.
SUB_MIP_SECONDS = 1.0
#: HiGHS settings for the neighbourhoods fixed by the relaxation or by a known plan alone
#: (the plan read off the relaxation, every decision it does not rule out, a known plan cut
#: back). HiGHS's root reduced-cost heuristic (a sub-MIP over the columns the root LP
#: prices best) searches much the same neighbourhood again there, and costs a third of the
#: time: on the suburban example the plan read off took 0.26 s with it and 0.19 s without,
#: the neighbourhood of the relaxation's zeros 0.60 s and 0.39 s, each with the same plan;
#: the plan before cut back to 20% less capital 0.45 s and 0.36 s (526.14 against 526.18,
#: both proven within the 1% asked). The neighbourhood fixed where the relaxation and the
#: schools' own choices agree keeps it: there it found the better plan of one frontier
#: point on M (1107.3 against 1106.4), without which the full solve took 10.7 s instead of
#: 4.2 s.
FIXED_NEIGHBOURHOOD = {"mip_heuristic_run_root_reduced_cost": False}
#: The neighbourhood is widened only for a near miss: a plan proven within this many times
#: the gap asked (further off, the bound itself is usually what is missing, and only the full
#: solve's cuts tighten it).
NEAR_MISS = 2.0


def lp_guided(model: Model, options: SolveOptions, known: Sequence[Plan] = (),
              warm: LpBasis | None = None) -> Guided | None:
    """Solve the LP relaxation, fix every integer variable it leaves whole, and solve the
    small MIP that is left (relaxation-enforced neighbourhood search). When that plan is not
    proven within the gap asked, the bound is tightened one school at a time
    (:func:`~optimizer.core.decompose.school_bound` at the relaxation's prices); when the plan
    then just misses the gap (proven within ``NEAR_MISS`` times it), wider neighbourhoods are
    tried from that plan, each stopped once a plan is proven within the gap asked: every
    decision the relaxation does not rule out (only its zeros fixed), then every decision
    where the relaxation and the schools' own best choices disagree. On the
    example districts the relaxation decides about 95% of the decisions, and the plan found is
    within about 1% of the optimum in a fraction of a full solve.

    ``known`` plans (the plan before a what-if's change, a nearby budget's plan) take part,
    each cut back to what still fits: the best plan that uses only its items, each in its
    year or later, or not at all, with the money decided anew (a small MIP: the plan itself
    when it still keeps every rule, the plan before shrunk to a smaller budget, nothing when
    the change asks for an item it lacks). The best of them is the answer when the
    relaxation's bound already proves it close enough, and otherwise stands in for the plan
    read off the relaxation whenever it is better (a what-if whose plan before still holds,
    or only needs trimming, need not search for another). The relaxation starts from
    ``warm``, the final basis of the relaxation before a what-if's change, when given: a few
    dozen simplex iterations instead of thousands on the examples.

    Returns None when HiGHS is not the solver, for the two-phase tier-1 objective, or when
    the relaxation is infeasible (the full solve says so); a Guided without a bound when the
    relaxation does not finish within the time limit.
    """
    if (options.solver != "highs" or "highs" not in available_solvers()
            or model.objective_kind == "tier1_count"):
        return None
    began = time.perf_counter()
    with _quiet(), solver_errors("highs"):
        lp = run_highs(model.prob, options.time_limit, 0.0, options.threads, relax=True, warm=warm, keep_basis=True)
    lp_seconds = time.perf_counter() - began
    integers = sum(1 for v in model.variables() if v.cat == pulp.LpInteger)
    if lp.sol_status == pulp.LpSolutionInfeasible:
        return None
    if lp.sol_status != pulp.LpSolutionOptimal or lp.dual_bound is None:
        return Guided(None, None, None, 0, integers, lp_seconds, lp_seconds)
    relaxed = {v: v.varValue for v in model.variables()}

    def neighbourhood(also=None, start: dict | None = None, target: float | None = None, around=None,
                      threads: int | None = options.threads, settings: dict | None = None):
        left = max(SUB_MIP_SECONDS, 2 * lp_seconds)
        if options.time_limit is not None:
            left = min(left, max(0.1, options.time_limit - (time.perf_counter() - began)))
        # solved closer than asked: the plan's gap is then proven against the relaxation's bound;
        # a wider one, much closer: its start is often within the first gap of its own optimum
        gap = min(options.gap, SUB_MIP_GAP) if target is None else options.gap / 10
        with model.integral_fixed(relaxed if around is None else around, also) as fixed, _quiet(), \
                solver_errors("highs"):
            sub = run_highs(model.prob, left, gap, threads, start, target=target, settings=settings)
        if sub.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) or not _integral(model):
            return fixed, None, None
        return (fixed, *_solution(model))

    sense = _sense(model)
    guided = Guided(lp.dual_bound, None, None, 0, integers, 0.0, lp_seconds, basis=lp.basis)

    def better(found: tuple, **how) -> None:
        """Take a neighbourhood's (fixed, objective, plan) when its plan beats the one held."""
        nonlocal guided
        fixed, objective, plan = found
        if plan is not None and (guided.plan is None or sense * objective > sense * guided.objective):
            guided = replace(guided, objective=objective, plan=plan, fixed=fixed, **how)

    for plan in known:  # each cut back: only its own items, each in its year or later, or dropped
        better(neighbourhood(lambda var, value: value == 0, around=start_values(model, plan.installs),
                            settings=FIXED_NEIGHBOURHOOD), how=KNOWN)

    def bound(parts: Split | None = None, lanes: Lanes | None = None) -> SchoolBound:
        """The per-school bound at the relaxation's prices (``parts``: the model's blocks)."""
        left = None if options.time_limit is None else options.time_limit - (time.perf_counter() - began)
        return school_bound(model, lp.row_dual, left, options.threads, parts, lanes)

    choices, tightened = None, False  # each school's own best choice at the relaxation's prices

    def tighten(found) -> None:
        nonlocal choices, tightened
        if (not tightened and guided.plan is not None and guided.gap > options.gap and lp.row_dual is not None
                and not _spent(options, began)):
            choices, tightened = _tighten_by_school(model, guided, found()), True

    if guided.gap is not None and guided.gap <= NEAR_MISS * options.gap:
        tighten(bound)  # the known plan may be proven close enough by the tighter bound alone
    if guided.gap is None or guided.gap > options.gap:
        # a bound still to be found is found beside the plan read off the relaxation, on the
        # core that search leaves free (with nothing to find, only if asked for: never)
        beside = not tightened and lp.row_dual is not None
        parts = split(model) if beside else None  # taken before the search fixes any decision
        with found_beside(lambda lanes: bound(parts, lanes), options.threads if beside else 1) as school:
            better(neighbourhood(threads=1, settings=FIXED_NEIGHBOURHOOD), how="")
            tighten(school)
    wider = [("the relaxation rules them out", lambda var, value: value == 0, FIXED_NEIGHBOURHOOD)]
    if choices is not None:
        wider.append(("the relaxation and each school's own best choice agree",
                      lambda var, value: round(choices.get(var, -1.0)) == value, None))
    for why, also, settings in wider:
        if guided.plan is None or not options.gap < guided.gap <= NEAR_MISS * options.gap or _spent(options, began):
            break
        # a plan at the target is proven within the gap asked
        target = guided.bound / (1 + options.gap) if sense > 0 else guided.bound * (1 + options.gap)
        better(neighbourhood(also, start_values(model, guided.plan.installs), target, settings=settings),
               widened=why, how="")
    guided.seconds = time.perf_counter() - began
    return guided


#: How a plan kept from a known plan was found (see :func:`lp_guided`).
KNOWN = ("kept from the plan it started from (the plan before the change, or the plan of a nearby budget), "
         "cut back where it no longer fits (items dropped or put off to a later year) and its money decided anew")


def _tighten_by_school(model: Model, guided: Guided, found: SchoolBound) -> dict[pulp.LpVariable, float] | None:
    """Replace the relaxation's bound by the per-school bound ``found`` when that is
    tighter, and return each school's own best choice at its prices. A bound that a
    verified-feasible plan beats by more than the solvers' tolerance is not a bound and is
    not used."""
    if found.bound is None:
        return None
    sense, tolerance = _sense(model), 1e-6 * max(1.0, abs(guided.objective))
    if sense * found.bound < sense * guided.bound and sense * found.bound >= sense * guided.objective - tolerance:
        guided.bound, guided.schools = found.bound, found.schools
        return dict(zip(model.variables(), found.point))
    return None


def _sense(model: Model) -> float:
    return 1.0 if model.prob.sense == pulp.LpMaximize else -1.0


def _spent(options: SolveOptions, began: float) -> bool:
    return options.time_limit is not None and time.perf_counter() - began >= options.time_limit
