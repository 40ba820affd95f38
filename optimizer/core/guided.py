"""Step 1 of planning (see :func:`~optimizer.core.run.solve_and_check`): a plan read off the
LP relaxation, the known plans cut back to what fits, the per-school bound that proves them,
and the wider neighbourhoods searched on a near miss. Each plan found here keeps every rule
of the model; the caller pays it grants first and checks it like any other plan."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pulp

from optimizer.core.decompose import (
    Lanes,
    SchoolBound,
    Split,
    block_workers,
    found_beside,
    school_bound,
    split,
)
from optimizer.core.highs_runner import HighsOutcome, clock_stopped, run_highs
from optimizer.core.model import Model
from optimizer.core.plan import Plan
from optimizer.core.solve import (
    highs_used,
    integral,
    solution_of,
    solver_errors,
    start_values,
)
from optimizer.core.status import LpBasis, SolveOptions, SolveReport, Status, relative_gap


#: A relaxation's value up to this is taken as 0 (the tolerance of ``Model.integral_fixed``).
RELAXED_ZERO = 1e-6


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
    relaxed : dict, optional
        The relaxation's value of every variable (see :meth:`bought_in_part`).
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
    relaxed: dict[pulp.LpVariable, float] | None = field(default=None, repr=False)

    def bought_in_part(self, model: Model, rows: Sequence[int]) -> list[int]:
        """The candidate ``rows`` that the relaxation puts in place, whole or in part, in some
        year (all of them when there is no relaxation)."""
        if self.relaxed is None:
            return list(rows)
        return [c for c in rows if any(self.relaxed[var] > RELAXED_ZERO for var in model.y[c])]

    @property
    def gap(self) -> float | None:
        """The proven relative gap of the plan: its distance to the bound."""
        if self.objective is None or self.bound is None:
            return None
        return float(relative_gap(self.objective, self.bound))

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
            report.gap = relative_gap(report.objective, self.bound)
        return report


#: Relative gap the small MIP left by the relaxation is solved to (it is small and fast).
SUB_MIP_GAP = 1e-3
#: Branch-and-bound nodes each small MIP may take: a count of work, not seconds, so a plan is the
#: same under any load (the time limit stays a safety net; measured in benchmarks/README.md).
SUB_MIP_NODES = 100


#: HiGHS settings for the neighbourhoods fixed by the relaxation or by a known plan alone, and the
#: full solve after them: HiGHS's root reduced-cost heuristic searches the same neighbourhood
#: again (benchmarks/README.md).
FIXED_NEIGHBOURHOOD = {"mip_heuristic_run_root_reduced_cost": False}
#: HiGHS settings of the relaxation when it may use more than one thread: the dual simplex with
#: parallel pricing (benchmarks/README.md); solves one to a thread keep the serial dual simplex.
RELAXATION = {"simplex_strategy": 2}
#: The neighbourhood is widened only for a near miss: a plan proven within this many times
#: the gap asked (further off, the bound itself is usually what is missing, and only the full
#: solve's cuts tighten it).
NEAR_MISS = 2.0


def lp_guided(model: Model, options: SolveOptions, known: Sequence[Plan] = (),
              warm: LpBasis | None = None, rivals: Sequence[Callable[[], Plan | None]] = ()) -> Guided | None:
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
    or only needs trimming, need not search for another). ``rivals`` make plans (the greedy
    plan), asked for only when the plan read off misses the gap: every decision where the
    relaxation and a rival agree is fixed and the rest solved from the rival (RINS). The
    relaxation starts from ``warm``, the final basis of the relaxation before a what-if's
    change, when given: a few dozen simplex iterations instead of thousands on the examples.

    The steps, in order, are the methods of :class:`_Search`: ``cut_back`` (the known plans),
    ``near_miss_bound`` (the per-school bound, when a known plan just misses the gap),
    ``read_off`` (the plan read off the relaxation, the rivals' neighbourhoods and, with no
    plan yet, the neighbourhood of the relaxation's zeros, with the per-school bound found
    beside them) and ``widen`` (the wider neighbourhoods on a near miss).

    Returns None when HiGHS is not the solver, for the two-phase tier-1 objective, or when
    the relaxation is infeasible (the full solve says so); a Guided without a bound when the
    relaxation does not finish within the time limit.
    """
    if not highs_used(options) or model.objective_kind == "tier1_count":
        return None
    began = time.perf_counter()
    with solver_errors("highs"):
        lp = run_highs(model.prob, options.time_limit, 0.0, options.threads, relax=True, warm=warm, keep_basis=True,
                       settings=RELAXATION if options.threads != 1 else None)
    lp_seconds = time.perf_counter() - began
    integers = sum(1 for v in model.variables() if v.cat == pulp.LpInteger)
    if lp.sol_status == pulp.LpSolutionInfeasible:
        return None
    if lp.sol_status != pulp.LpSolutionOptimal or lp.dual_bound is None:
        return Guided(None, None, None, 0, integers, lp_seconds, lp_seconds)
    search = _Search(model, options, lp, began,
                     Guided(lp.dual_bound, None, None, 0, integers, 0.0, lp_seconds, basis=lp.basis,
                            relaxed={v: v.varValue for v in model.variables()}))
    search.cut_back(known)
    search.near_miss_bound()
    search.read_off(rivals)
    search.widen()
    search.guided.seconds = time.perf_counter() - began
    return search.guided


class _Search:
    """The steps of :func:`lp_guided` after the relaxation, each a method, sharing the plan and
    bound held (``guided``), the relaxation's values and prices, and the clock."""

    def __init__(self, model: Model, options: SolveOptions, lp: HighsOutcome, began: float, guided: Guided):
        self.model, self.options, self.lp, self.began, self.guided = model, options, lp, began, guided
        self.relaxed = guided.relaxed
        self.sense = _sense(model)
        self.choices: dict[pulp.LpVariable, float] | None = None  # each school's own best choice at the prices
        self.tightened = False

    # -- the steps --------------------------------------------------------------------------

    def cut_back(self, known: Sequence[Plan]) -> None:
        """Each known plan cut back: only its own items, each in its year or later, or dropped."""
        for plan in known:
            self._take(self._neighbourhood(_ruled_out, around=start_values(self.model, plan.installs),
                                           settings=FIXED_NEIGHBOURHOOD), how=KNOWN)

    def near_miss_bound(self) -> None:
        """On one core, the per-school bound when the plan held just misses the gap: the known
        plan may be proven close enough by the tighter bound alone, before any search. With a
        core to spare the bound is found beside the read-off instead (``read_off``), which
        then costs the longer of the two, not both."""
        if (block_workers(self.options.threads) == 1 and self.guided.gap is not None
                and self.guided.gap <= NEAR_MISS * self.options.gap):
            self._tighten(self._school_bound)

    def read_off(self, rivals: Sequence[Callable[[], Plan | None]]) -> None:
        """When no plan held is proven within the gap: the plan read off the relaxation, then
        each rival's neighbourhood (RINS), then, with still no plan, the neighbourhood of the
        relaxation's zeros. A bound still to be found is found beside them, on the core that
        search leaves free (with nothing to find, only if asked for: never)."""
        guided, options = self.guided, self.options
        if guided.gap is not None and guided.gap <= options.gap:
            return
        beside = not self.tightened and self.lp.row_dual is not None
        # taken before the search fixes any decision, with the bounds the relaxation had
        parts = split(self.model, self.lp.bounds) if beside else None
        with found_beside(lambda lanes: self._school_bound(parts, lanes), options.threads if beside else 1) as school:
            self._take(self._neighbourhood(alone=True, settings=FIXED_NEIGHBOURHOOD), how="")
            for made in rivals:
                if self.guided.gap is not None and self.guided.gap <= options.gap or self._spent():
                    break
                rival = made()
                if rival is not None:
                    values = start_values(self.model, rival.installs)
                    self._take(self._neighbourhood(lambda var, value: values.get(var) == value, values,
                                                   self._at_gap(), alone=True, settings=FIXED_NEIGHBOURHOOD),
                               widened=AGREES, how="")
            if self.guided.plan is None and not self._spent():
                # the whole values leave too little money for what is still open, and no rival helped
                self._take(self._neighbourhood(_ruled_out, alone=True, settings=FIXED_NEIGHBOURHOOD),
                           widened=RULED_OUT, how="")
            self._tighten(school)

    def widen(self) -> None:
        """On a near miss (proven within ``NEAR_MISS`` times the gap, not within it), the wider
        neighbourhoods from the plan held, each stopped once a plan is proven within the gap:
        only the relaxation's zeros fixed, then the decisions where the relaxation and each
        school's own best choice agree."""
        wider = [] if self.guided.widened == RULED_OUT else [(RULED_OUT, _ruled_out, FIXED_NEIGHBOURHOOD)]
        if self.choices is not None:
            choices = self.choices
            wider.append(("the relaxation and each school's own best choice agree",
                          lambda var, value: round(choices.get(var, -1.0)) == value, None))
        for why, also, settings in wider:
            guided = self.guided
            if guided.plan is None or not self.options.gap < guided.gap <= NEAR_MISS * self.options.gap \
                    or self._spent():
                break
            self._take(self._neighbourhood(also, start_values(self.model, guided.plan.installs), self._at_gap(),
                                           settings=settings), widened=why, how="")

    # -- what the steps share ---------------------------------------------------------------

    def _neighbourhood(self, also=None, start: dict | None = None, target: float | None = None, around=None,
                       alone: bool = False, settings: dict | None = None) -> tuple:
        """(fixed, objective, plan) of the small MIP left when the integer decisions whole in
        ``around`` (default: the relaxation) are fixed where ``also`` agrees, on one thread when
        ``alone`` (beside the per-school bound) else on the threads asked; objective and plan are
        None when it finds none."""
        options, model = self.options, self.model
        left = None if options.time_limit is None else max(0.1, options.time_limit - (time.perf_counter() - self.began))
        settings = {**(settings or {}), "mip_max_nodes": SUB_MIP_NODES}
        # solved closer than asked: the plan's gap is then proven against the relaxation's bound;
        # a wider one, much closer: its start is often within the first gap of its own optimum
        gap = min(options.gap, SUB_MIP_GAP) if target is None else options.gap / 10
        with model.integral_fixed(self.relaxed if around is None else around, also) as fixed, solver_errors("highs"):
            sub = run_highs(model.prob, left, gap, 1 if alone else options.threads, start, target=target,
                            settings=settings)
        if sub.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) or not integral(model):
            return fixed, None, None
        return (fixed, *solution_of(model))

    def _at_gap(self) -> float:
        """The objective of a plan the bound held proves within the gap asked (a search's target)."""
        bound, gap = self.guided.bound, self.options.gap
        return bound / (1 + gap) if self.sense > 0 else bound * (1 + gap)

    def _take(self, found: tuple, **how) -> None:
        """Take a neighbourhood's (fixed, objective, plan) when its plan beats the one held."""
        fixed, objective, plan = found
        guided = self.guided
        if plan is not None and (guided.plan is None or self.sense * objective > self.sense * guided.objective):
            self.guided = replace(guided, objective=objective, plan=plan, fixed=fixed, **how)

    def _school_bound(self, parts: Split | None = None, lanes: Lanes | None = None) -> SchoolBound:
        """The per-school bound at the relaxation's prices (``parts``: the model's blocks)."""
        options = self.options
        left = None if options.time_limit is None else options.time_limit - (time.perf_counter() - self.began)
        return school_bound(self.model, self.lp.row_dual, left, options.threads, parts, lanes)

    def _tighten(self, found: Callable[[], SchoolBound]) -> None:
        """Once: the per-school bound in place of the relaxation's when the plan held misses the gap."""
        guided = self.guided
        if (not self.tightened and guided.plan is not None and guided.gap > self.options.gap
                and self.lp.row_dual is not None and not self._spent()):
            self.choices, self.tightened = _tighten_by_school(self.model, guided, found()), True

    def _spent(self) -> bool:
        return _spent(self.options, self.began)


#: The wider neighbourhood where only the decisions the relaxation rules out are fixed: also
#: the plan read off when the relaxation's whole values leave no plan at all (on S, a
#: procurement the relaxation pays half in each of two years, with the operating money of
#: both years spent by the decisions it fixes).
RULED_OUT = "the relaxation rules them out"


def _ruled_out(var: pulp.LpVariable, value: float) -> bool:
    return value == 0


#: Where a rival plan's neighbourhood fixes its decisions: near ties of the relaxation do not round,
#: where the greedy plan decides them (benchmarks/README.md).
AGREES = "the relaxation and the greedy plan agree"


#: How a plan kept from a known plan was found (see :func:`lp_guided`).
KNOWN = ("kept from the plan it started from (the plan before the change, or the plan of a nearby budget), "
         "cut back where it no longer fits (items dropped or put off to a later year) and its money decided anew")


#: Relative gap of the spend-down search: what it may find is small beside the whole plan, but it is
#: bought with grant money that is otherwise lost.
SPEND_DOWN_GAP = 1e-6


def spend_down(model: Model, plan: Plan, rows: Sequence[int], options: SolveOptions) -> tuple[float, Plan] | None:
    """(objective, plan) of the best plan that keeps every item of ``plan`` in its year and may
    add any of the candidate ``rows`` (items a grant with money left may pay for, not bought):
    the small MIP of those rows' decisions, started from ``plan``, with every other decision
    fixed and the money decided anew. None when it finds no plan."""
    let_in = {var for c in rows for var in model.y[c]}
    decisions = {var for ys in model.y for var in ys}
    settings = {**FIXED_NEIGHBOURHOOD, "mip_max_nodes": SUB_MIP_NODES}
    with model.integral_fixed(model.plan_values(plan.installs),
                              lambda var, _: var in decisions and var not in let_in), solver_errors("highs"):
        sub = run_highs(model.prob, options.time_limit, SPEND_DOWN_GAP, options.threads,
                        start_values(model, plan.installs), settings=settings)
    if sub.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) or not integral(model):
        return None
    return solution_of(model)


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
    """True (and counted, see ``highs_runner.clock_stops``) when the time limit is spent."""
    spent = options.time_limit is not None and time.perf_counter() - began >= options.time_limit
    if spent:
        clock_stopped()
    return spent
