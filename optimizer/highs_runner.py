"""Running HiGHS on a built PuLP model directly through highspy: the model is passed as
arrays in one call (PuLP's own interface adds it a row at a time), a starting plan can be
given, and the solution is written back into the PuLP variables."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import highspy
import numpy as np
import pulp


@dataclass
class HighsOutcome:
    """What HiGHS returned, in PuLP's terms."""

    sol_status: int
    objective: float | None
    dual_bound: float | None
    gap: float | None


def _arrays(prob: pulp.LpProblem):
    variables = prob.variables()
    position = {id(v): i for i, v in enumerate(variables)}
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    cost = np.zeros(len(variables))
    for var, coef in prob.objective.items():
        cost[position[id(var)]] = sign * coef
    inf = highspy.kHighsInf
    lower = np.array([-inf if v.lowBound is None else v.lowBound for v in variables], dtype=float)
    upper = np.array([inf if v.upBound is None else v.upBound for v in variables], dtype=float)
    integer = np.array([v.cat == pulp.LpInteger for v in variables])
    starts, index, value, row_lower, row_upper = [0], [], [], [], []
    for con in prob.constraints():
        for var, coef in con.items():
            if coef:
                index.append(position[id(var)])
                value.append(coef)
        starts.append(len(index))
        lb, ub = con.getLb(), con.getUb()
        row_lower.append(-inf if lb is None else lb)
        row_upper.append(inf if ub is None else ub)
    return variables, position, cost, lower, upper, integer, starts, index, value, row_lower, row_upper


#: Extra wall-clock seconds HiGHS gets past its own time limit before it is cancelled
#: (it can overrun its limit in presolve on large models).
GRACE = 0.25


def _run_guarded(h: highspy.Highs, time_limit: float | None) -> None:
    """Run HiGHS in a worker thread and cancel it if it overruns its time limit."""
    worker = threading.Thread(target=h.run, daemon=True)
    worker.start()
    if time_limit is None:
        worker.join()
        return
    worker.join(time_limit * (1 + GRACE) + 5)
    if worker.is_alive():
        h.cancelSolve()
        worker.join()


def run_highs(prob: pulp.LpProblem, time_limit: float | None, gap: float, threads: int | None,
              start: dict[pulp.LpVariable, float] | None = None) -> HighsOutcome:
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
    """
    (variables, position, cost, lower, upper, integer, starts, index, value,
     row_lower, row_upper) = _arrays(prob)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(variables), len(row_lower)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = np.array(row_lower, dtype=float), np.array(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    h.passModel(lp)
    if start:
        idx = np.array([position[id(v)] for v in start], dtype=np.int32)
        h.setSolution(len(idx), idx, np.array(list(start.values()), dtype=float))
    _run_guarded(h, time_limit)
    status = h.getModelStatus()
    info = h.getInfo()
    has_point = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if has_point:
        for var, val in zip(variables, h.getSolution().col_value):
            var.varValue = val
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    objective = sign * info.objective_function_value if has_point else None
    bound = sign * info.mip_dual_bound if abs(info.mip_dual_bound) < 1e30 else None
    if status == highspy.HighsModelStatus.kOptimal and has_point:
        sol = pulp.LpSolutionOptimal
    elif status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        sol = pulp.LpSolutionInfeasible
    elif has_point:
        sol = pulp.LpSolutionIntegerFeasible
    else:
        sol = pulp.LpSolutionNoSolutionFound
    gap_value = info.mip_gap if has_point and info.mip_gap < 1e30 else None
    return HighsOutcome(sol, objective, bound, gap_value)
