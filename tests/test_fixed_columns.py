"""A search's MIP with its fixed columns taken out before HiGHS sees it
(``highs_runner.without_fixed``): the same best plan and bound as the whole model (brute force on
random integer programs), the fixed columns at their values, and an infeasible fixing still
found infeasible."""
from __future__ import annotations

import itertools

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core import highs_runner
from optimizer.core.highs_runner import model_arrays, run_highs, without_fixed

INF = float("inf")


@st.composite
def fixed_programs(draw):
    """(costs, upper bounds, fixed values by column, rows) of a small integer program to maximise."""
    columns = draw(st.integers(2, 5))
    upper = [draw(st.integers(0, 2)) for _ in range(columns)]
    cost = [draw(st.sampled_from([-2, -1, 0, 1, 1.5, 3])) for _ in range(columns)]
    fixed = {c: draw(st.integers(0, upper[c])) for c in range(columns) if draw(st.booleans())}
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        coefs = {c: draw(st.sampled_from([-3, -1, 1, 2, 0.5, 2.5])) for c in range(columns) if draw(st.booleans())}
        if coefs:
            rows.append((coefs, draw(st.sampled_from([-INF, -2, 0, 1])), draw(st.sampled_from([INF, 0, 1, 2, 3.5]))))
    rows.append(({c: 1 for c in range(columns)}, -INF, sum(upper)))  # a model has rows (HiGHS solves no model without)
    return cost, upper, fixed, rows


def _problem(cost, upper, fixed, rows) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    prob = pulp.LpProblem("fixed", pulp.LpMaximize)
    xs = [prob.add_variable(f"x{c}", fixed.get(c, 0), fixed.get(c, u), pulp.LpInteger) for c, u in enumerate(upper)]
    prob += pulp.lpSum(k * x for k, x in zip(cost, xs))
    for i, (coefs, low, high) in enumerate(rows):
        expr = pulp.lpSum(k * xs[c] for c, k in coefs.items())
        if low > -INF:
            prob += expr >= low, f"low{i}"
        if high < INF:
            prob += expr <= high, f"high{i}"
    return prob, xs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixed_programs())
def test_the_fixed_columns_taken_out_give_the_whole_model_s_best_plan(program):
    cost, upper, fixed, rows = program
    best = None
    for point in itertools.product(*(range(u + 1) for u in upper)):
        if any(point[c] != v for c, v in fixed.items()):
            continue
        if all(low - 1e-9 <= sum(k * point[c] for c, k in coefs.items()) <= high + 1e-9 for coefs, low, high in rows):
            value = sum(k * x for k, x in zip(cost, point))
            best = value if best is None else max(best, value)
    prob, xs = _problem(cost, upper, fixed, rows)
    out = run_highs(prob, None, 0.0, 1, fixed_out=True)
    if best is None:
        assert out.sol_status == pulp.LpSolutionInfeasible
        return
    assert out.sol_status == pulp.LpSolutionOptimal
    assert out.objective == pytest.approx(best, abs=1e-6) and out.dual_bound == pytest.approx(best, abs=1e-6)
    assert all(xs[c].varValue == v for c, v in fixed.items())
    assert pulp.value(prob.objective) == pytest.approx(best, abs=1e-6)


def test_a_fixing_that_breaks_a_row_leaves_the_model_whole_and_infeasible():
    # x + y <= 1 with both fixed at 1: no column is left in the row, which the fixing breaks.
    prob = pulp.LpProblem("broken", pulp.LpMaximize)
    x, y, z = (prob.add_variable(n, lo, 1, pulp.LpInteger) for n, lo in (("x", 1), ("y", 1), ("z", 0)))
    prob += x + y + z
    prob += x + y <= 1, "pair"
    prob += z <= 1, "single"
    assert without_fixed(model_arrays(prob)[2]) is None
    assert run_highs(prob, None, 0.0, 1, fixed_out=True).sol_status == pulp.LpSolutionInfeasible


def test_highs_sees_only_the_columns_and_rows_left_and_a_start_on_them(monkeypatch):
    # Of x (fixed at 1), y and z, HiGHS is given y and z, the row that still holds one of them,
    # the fixed value in the row's bounds and the objective's constant, and the start without x.
    prob = pulp.LpProblem("seen", pulp.LpMaximize)
    x, y, z = (prob.add_variable(n, lo, 1, pulp.LpInteger) for n, lo in (("x", 1), ("y", 0), ("z", 0)))
    prob += 4 * x + 2 * y + z
    prob += x + y + z <= 2, "two"
    prob += 3 * x <= 3, "x_only"
    seen, real = [], highs_runner._solve
    monkeypatch.setattr(highs_runner, "_solve", lambda arrays, options, start, *rest: seen.append((arrays, start))
                        or real(arrays, options, start, *rest))
    out = run_highs(prob, None, 0.0, 1, start={x: 1, y: 1, z: 0}, fixed_out=True)
    arrays, start = seen[0]
    assert arrays["cost"].tolist() == [-2.0, -1.0] and arrays["offset"] == -4.0  # HiGHS minimises
    assert arrays["row_upper"].tolist() == [1.0] and arrays["start"].tolist() == [0, 2]
    assert start[0].tolist() == [0, 1] and start[1].tolist() == [1.0, 0.0]
    assert out.objective == pytest.approx(6.0) and (x.varValue, y.varValue, z.varValue) == (1.0, 1.0, 0.0)
    assert run_highs(prob, None, 0.0, 1).objective == pytest.approx(6.0)
