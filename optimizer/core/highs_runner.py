"""Running HiGHS on a built PuLP model directly through highspy: the model is passed as
arrays in one call (PuLP's own interface adds it a row at a time), a starting plan can be
given, and the solution is written back into the PuLP variables."""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pulp

from optimizer.core import propagate, workers
from optimizer.core.status import LpBasis, stop_request, stop_requested
from optimizer.errors import SolverFailed


@dataclass(frozen=True)
class RawOutcome:
    """What one HiGHS run returned, in HiGHS's own terms (its model and primal solution
    statuses, objective in the minimisation sense it was given), before it is read as a
    plan; a solver process sends it back through a pipe."""

    status: int  # HiGHS's model status
    primal_status: int  # 2: a feasible point is returned
    objective: float
    dual_bound: float
    gap: float
    values: np.ndarray  # one per column
    duals: np.ndarray  # row duals of a linear program (empty for a MIP)
    basis: tuple[np.ndarray, np.ndarray] | None = None  # a linear program's final column and row statuses, when kept

    @property
    def has_point(self) -> bool:
        return self.primal_status == 2


@dataclass
class HighsOutcome:
    """What HiGHS returned, in PuLP's terms."""

    sol_status: int
    objective: float | None
    dual_bound: float | None
    gap: float | None
    stopped: bool = False  # True when HiGHS overran its time limit and was stopped
    died: bool = False  # True when the solver process ended without an answer
    row_dual: np.ndarray | None = None  # of a solved relaxation: HiGHS's row duals (minimisation sense)
    basis: LpBasis | None = None  # of a solved relaxation: its final basis
    bounds: tuple[np.ndarray, np.ndarray] | None = None  # of a relaxation: the column bounds it was solved with


def _structure(prob: pulp.LpProblem) -> tuple:
    """The variables of ``prob`` (PuLP's order), their positions and the constraint matrix by
    rows, kept on the problem until a constraint is added: the model changes bounds, the
    objective and right-hand sides in place but never a row's coefficients (see
    ``optimizer.core.model.Model``), and collecting them is most of the cost of passing a
    model to HiGHS."""
    count = prob.numConstraints()
    cached = getattr(prob, "_highs_structure", None)
    if cached is not None and cached[0] == count and (
            getattr(prob, "_highs_objective", None) is prob.objective or all(id(v) in cached[2] for v in prob.objective)):
        prob._highs_objective = prob.objective  # its variables are known: not looked up again
        return cached[1:]
    variables = prob.variables()
    position = {id(v): i for i, v in enumerate(variables)}
    starts, index, value = [0], [], []
    for con in prob.constraints():
        for var, coef in con.items():
            if coef:
                index.append(position[id(var)])
                value.append(coef)
        starts.append(len(index))
    structure = (variables, position, np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
                 np.array(value, dtype=float))
    prob._highs_structure, prob._highs_objective = (count, *structure), prob.objective
    return structure


def variables_of(prob: pulp.LpProblem) -> list[pulp.LpVariable]:
    """Every variable of ``prob`` in PuLP's order, from the cached structure (PuLP's own
    ``variables()`` sweeps every row on every call)."""
    return _structure(prob)[0]


def model_arrays(prob: pulp.LpProblem) -> tuple[list[pulp.LpVariable], dict[int, int], dict]:
    """The variables of ``prob``, their positions, and the model as HiGHS takes it: costs in
    HiGHS's minimisation sense (negated for a maximisation: ``sign`` is -1), column and row
    bounds, the matrix by rows (``start``, ``index``, ``value``) and which columns are
    integer."""
    variables, position, starts, index, value = _structure(prob)
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    cost = np.zeros(len(variables))
    for var, coef in prob.objective.items():
        cost[position[id(var)]] = sign * coef
    inf = highspy.kHighsInf
    lower = np.fromiter((-inf if v.lowBound is None else v.lowBound for v in variables), float, len(variables))
    upper = np.fromiter((inf if v.upBound is None else v.upBound for v in variables), float, len(variables))
    integer = np.fromiter((v.cat == pulp.LpInteger for v in variables), bool, len(variables))
    # a row is ``expression + constant (sense) 0``: PuLP's getLb/getUb one call at a time cost more than the rest
    rows = prob.constraints()
    bound = -np.fromiter((c.constant for c in rows), float, len(rows))
    sense = np.fromiter((c.sense for c in rows), np.int8, len(rows))
    row_lower = np.where(sense == pulp.LpConstraintLE, -inf, bound)
    row_upper = np.where(sense == pulp.LpConstraintGE, inf, bound)
    return variables, position, {
        "cost": cost, "lower": lower, "upper": upper, "integer": integer,
        "row_lower": row_lower, "row_upper": row_upper,
        "start": starts, "index": index, "value": value, "sign": sign}


def _banner_set_aside() -> None:
    """HiGHS writes its banner to the process's standard output when the process's first
    solver object is made, before any option can silence it. That first object is made here,
    once, on import, with the output set aside, so that no solve ever redirects the standard
    output that the process's other threads (other sessions of the app) share."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_banner_set_aside()

_OPTIMAL = int(highspy.HighsModelStatus.kOptimal)
_STATUSES = {int(s): s for s in highspy.HighsBasisStatus.__members__.values()}
OPTIMAL, TIME_LIMIT = _OPTIMAL, int(highspy.HighsModelStatus.kTimeLimit)  # model statuses of solve_arrays
_ERRORS = {int(getattr(highspy.HighsModelStatus, name)) for name in
           ("kLoadError", "kModelError", "kPresolveError", "kSolveError", "kPostsolveError")
           if hasattr(highspy.HighsModelStatus, name)}
_REFUSED = int(highspy.HighsModelStatus.kNotset)  # the run did not start (its options were refused)
_INFEASIBLE = (int(highspy.HighsModelStatus.kInfeasible), int(highspy.HighsModelStatus.kUnboundedOrInfeasible))

#: Extra wall-clock seconds HiGHS gets past its own time limit before it is stopped (it can
#: overrun its limit in presolve on large models, and then ignores a cancel request).
GRACE = 0.25

STOPPED, DIED = "stopped", "died"

_clock = threading.Lock()
_clock_stops = [0]


def clock_stopped() -> None:
    """Count one step of a solve cut short by a wall-clock limit (see :func:`clock_stops`)."""
    with _clock:
        _clock_stops[0] += 1


def clock_stops() -> int:
    """Steps of a solve in this process cut short by a wall-clock limit so far: a HiGHS solve
    stopped at its time limit (or stopped by the guard past it), or a planning step skipped or
    cut for want of time. Only these make a plan depend on the machine's speed and load: a
    caller that must know (a robustness draw, one at a time in its worker process) compares
    the count before and after its solve. Counts every thread of the process."""
    return _clock_stops[0]

#: Models up to this many columns are solved in this process: HiGHS keeps to their time limit and a
#: solver process would cost more than it guards; larger ones keep the guard (benchmarks/README.md).
IN_PROCESS_COLUMNS = 20_000


def _highs_lp(arrays: dict) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(arrays["cost"]), len(arrays["row_lower"])
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = arrays["cost"], arrays["lower"], arrays["upper"]
    lp.row_lower_, lp.row_upper_ = arrays["row_lower"], arrays["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = arrays["start"], arrays["index"], arrays["value"]
    if arrays["integer"] is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in arrays["integer"]]
    return lp


def _interrupt_on(h: highspy.Highs, stop: threading.Event) -> None:
    """Let ``stop`` interrupt ``h``'s simplex, interior point and branch and bound."""
    def check(event) -> None:
        if stop.is_set():
            event.interrupt()
    h.cbSimplexInterrupt += check
    h.cbIpmInterrupt += check
    h.cbMipInterrupt += check


_scheduler = threading.local()  # ``threads``: the thread count this thread's HiGHS scheduler was made for


def _scheduler_for(threads: int | None) -> None:
    """Make this thread's HiGHS scheduler the one for ``threads``. HiGHS keeps one scheduler
    per calling thread (since HiGHS 1.2.2, ERGO-Code/HiGHS#818) and refuses a run whose
    ``threads`` option differs from the count it was made with, so this thread's scheduler is
    remade first when the count changes; another thread's solves never meet it."""
    made = getattr(_scheduler, "threads", threads)
    if made != threads:
        highspy.Highs.resetGlobalScheduler(True)  # the calling thread's scheduler only
    _scheduler.threads = threads


def _solve(arrays: dict, options: dict, start, basis=None, keep_basis: bool = False,
           stop: threading.Event | None = None) -> tuple:
    """Solve on this thread; the run's :class:`RawOutcome` (with a linear program's final basis
    when ``keep_basis``). ``start`` is a MIP's starting point (columns and values), ``basis``
    an LP's starting basis; ``stop`` interrupts the run when set."""
    _scheduler_for(options.get("threads"))
    h = highspy.Highs()
    if stop is not None:
        _interrupt_on(h, stop)
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.passModel(_highs_lp(arrays))
    if start is not None:
        h.setSolution(len(start[0]), start[0], start[1])
    if basis is not None:
        warm = highspy.HighsBasis()
        warm.col_status = [_STATUSES[s] for s in basis[0].tolist()]
        warm.row_status = [_STATUSES[s] for s in basis[1].tolist()]
        warm.valid = warm.alien = True
        h.setBasis(warm)  # a basis HiGHS cannot use is dropped: the solve then starts cold
    h.run()
    info = h.getInfo()
    solution = h.getSolution()
    linear = arrays["integer"] is None
    duals = np.asarray(solution.row_dual) if linear and solution.dual_valid else np.empty(0)
    final = h.getBasis() if linear and keep_basis else None
    statuses = None if final is None or not final.valid else (
        np.array([int(s) for s in final.col_status], dtype=np.int8),
        np.array([int(s) for s in final.row_status], dtype=np.int8))
    return RawOutcome(int(h.getModelStatus()), int(info.primal_solution_status), info.objective_function_value,
                      info.mip_dual_bound, info.mip_gap, np.asarray(solution.col_value), duals, statuses)


def solve_arrays(arrays: dict, options: dict) -> RawOutcome:
    """Solve a small model given as arrays (see :func:`model_arrays`) in this process, with
    HiGHS's ``options``."""
    outcome = _checked(_solve(arrays, {"output_flag": False, **options}, None), len(arrays["cost"]))
    if outcome.status == TIME_LIMIT:
        clock_stopped()
    return outcome


def _solve_child(conn, arrays: dict, options: dict, start, basis, keep_basis: bool) -> None:
    """In a child process: solve and send the outcome back."""
    conn.send(_solve(arrays, options, start, basis, keep_basis))
    conn.close()


def _run_guarded(arrays: dict, options: dict, start, basis, keep_basis: bool, time_limit: float | None):
    """Run HiGHS in a child process and stop it if it overruns its time limit by the grace.

    Returns what :func:`_solve` returns,
    ``STOPPED`` when the solver had to be stopped, or ``DIED`` when its process ended without
    an answer (out of memory, a crash)."""
    ctx = workers.context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_solve_child, args=(send, arrays, options, start, basis, keep_basis), daemon=True)
    try:
        with workers.starting():
            proc.start()
    except (OSError, RuntimeError):  # no child process possible here (e.g. code read from stdin)
        return _solve(arrays, options, start, basis, keep_basis, stop_request())
    send.close()
    wait = None if time_limit is None else time_limit * (1 + GRACE) + 5
    stop = stop_request()
    result = STOPPED
    if _answered(receive, wait, stop):
        try:
            result = receive.recv()
        except EOFError:  # the child died (out of memory, crash)
            result = DIED
    if proc.is_alive():
        proc.kill()
    proc.join()
    return result


#: Seconds between looks at a stop request while a solver process runs.
STOP_POLL = 0.1


def _answered(receive, wait: float | None, stop: threading.Event | None) -> bool:
    """Wait up to ``wait`` seconds (for ever when None) for the solver process's answer;
    False when none came in time or ``stop`` was set meanwhile."""
    if stop is None:
        return receive.poll(wait)
    began = time.monotonic()
    while not stop.is_set():
        step = STOP_POLL if wait is None else min(STOP_POLL, max(0.0, wait - (time.monotonic() - began)))
        if receive.poll(step):
            return True
        if wait is not None and time.monotonic() - began >= wait:
            return False
    return False


def _run(arrays: dict, options: dict, start, time_limit: float | None, basis=None, keep_basis: bool = False):
    stop_requested()
    # A daemon process (a Dask or multiprocessing worker) may not start children.
    if len(arrays["cost"]) <= IN_PROCESS_COLUMNS or mp.current_process().daemon:
        outcome = _solve(arrays, options, start, basis, keep_basis, stop_request())
    else:
        outcome = _run_guarded(arrays, options, start, basis, keep_basis, time_limit)
    stop_requested()  # an interrupted solve has no result to use
    return outcome


def _checked(outcome, columns: int):
    """The solver's outcome if it has the expected shape, else a :class:`SolverFailed`."""
    if isinstance(outcome, str):
        return outcome
    if not isinstance(outcome, RawOutcome):
        raise SolverFailed("HiGHS returned an answer of the wrong shape")
    status, objective, values = outcome.status, outcome.objective, outcome.values
    if status == _REFUSED:
        raise SolverFailed("HiGHS refused to run the model (it set no status); your inputs are unchanged. "
                           "Report the scenario, or try --solver cbc")
    if status in _ERRORS:
        raise SolverFailed(f"HiGHS stopped with an error ({highspy.HighsModelStatus(status).name})")
    if outcome.has_point and (len(values) != columns or not np.all(np.isfinite(values))
                              or not np.isfinite(objective)):
        raise SolverFailed(f"HiGHS returned {len(values)} values for {columns} variables, or values "
                           "that are not finite numbers")
    return outcome


def _point_disagrees(outcome: RawOutcome, cost: np.ndarray) -> bool:
    """True when the returned point's objective is not the objective HiGHS reports."""
    if not outcome.has_point:
        return False
    actual = float(np.dot(cost, outcome.values))
    return abs(actual - outcome.objective) > 1e-6 * max(1.0, abs(outcome.objective))


def run_highs(prob: pulp.LpProblem, time_limit: float | None, gap: float, threads: int | None,
              start: dict[pulp.LpVariable, float] | None = None, relax: bool = False,
              target: float | None = None, warm: LpBasis | None = None, keep_basis: bool = False,
              settings: dict | None = None, implied: bool = True) -> HighsOutcome:
    """Solve ``prob`` with HiGHS; set every variable's value; return status and bounds.

    Parameters
    ----------
    prob : LpProblem
        A built model (mixed-integer, linear).
    time_limit, gap, threads
        Solver limits; ``gap`` is the relative MIP gap.
    start : dict, optional
        Values of some variables (a known plan); HiGHS completes and uses it as a first
        incumbent.
    relax : bool
        Solve the LP relaxation (every variable continuous) instead.
    target : float, optional
        Stop as soon as a plan this good is found (an objective value of ``prob``): the
        caller has a bound that proves such a plan close enough.
    warm : LpBasis, optional
        For the relaxation: the final basis of a similar model's relaxation to start from
        (matched by variable and row name; see :meth:`LpBasis.on`).
    keep_basis : bool
        For the relaxation: return its final basis (``HighsOutcome.basis``).
    settings : dict, optional
        Further HiGHS options by name (a search's heuristics, say).
    implied : bool
        For the relaxation: with the integer bounds the rows imply (``propagate.tighten``).
    """
    variables, position, arrays = model_arrays(prob)
    cost, row_lower = arrays["cost"], arrays["row_lower"]
    if relax:
        if implied:
            propagate.tighten(arrays)  # the bounds a MIP solver finds before its own first relaxation
        arrays["integer"] = None
    options = {"output_flag": False, "mip_rel_gap": gap, **(settings or {})}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    if threads is not None:
        options["threads"] = int(threads)
    if target is not None:
        options["objective_target"] = float((-1.0 if prob.sense == pulp.LpMaximize else 1.0) * target)
    start_arrays = None
    if start:
        start_arrays = (np.array([position[id(v)] for v in start], dtype=np.int32),
                        np.array(list(start.values()), dtype=float))
    names = ([v.name for v in variables], [c.name for c in prob.constraints()]) if relax and (
        warm is not None or keep_basis) else None
    basis = None if names is None or warm is None else warm.on(*names)
    outcome = _checked(_run(arrays, options, start_arrays, time_limit, basis, keep_basis and relax), len(cost))
    if start_arrays is not None and not isinstance(outcome, str) and _point_disagrees(outcome, cost):
        # HiGHS 1.16 can hand back the starting point while reporting the objective of a
        # better solution it found in the presolved space: never trust such a point.
        outcome = _checked(_run(arrays, options, None, time_limit), len(cost))
    if outcome == STOPPED or (not isinstance(outcome, str) and outcome.status == TIME_LIMIT):
        clock_stopped()
    if isinstance(outcome, str):
        return HighsOutcome(pulp.LpSolutionNoSolutionFound, None, None, None, stopped=outcome == STOPPED,
                            died=outcome == DIED)
    status, has_point = outcome.status, outcome.has_point
    if has_point:
        for var, val in zip(variables, outcome.values):
            var.varValue = float(val)
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    objective = sign * outcome.objective if has_point else None
    if relax:
        bound = objective if status == _OPTIMAL else None
    else:
        bound = sign * outcome.dual_bound if abs(outcome.dual_bound) < 1e30 else None
    if status == _OPTIMAL and has_point:
        sol = pulp.LpSolutionOptimal
    elif status in _INFEASIBLE:
        sol = pulp.LpSolutionInfeasible
    elif has_point:
        sol = pulp.LpSolutionIntegerFeasible
    else:
        sol = pulp.LpSolutionNoSolutionFound
    gap_value = outcome.gap if has_point and outcome.gap < 1e30 and not relax else None
    duals = outcome.duals if relax and status == _OPTIMAL and len(outcome.duals) == len(row_lower) else None
    statuses = outcome.basis
    final = None if statuses is None or names is None or status != _OPTIMAL else LpBasis(
        tuple(names[0]), statuses[0], tuple(names[1]), statuses[1])
    return HighsOutcome(sol, objective, bound, gap_value, row_dual=duals, basis=final,
                        bounds=(arrays["lower"], arrays["upper"]) if relax else None)
