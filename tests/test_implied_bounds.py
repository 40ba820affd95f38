"""The integer bounds the rows imply (``core.propagate``): never cut off a plan that keeps every
row (brute force on random integer programs), and tighten the relaxation the planning steps read
where an item cannot be afforded alone."""
from __future__ import annotations

import itertools

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.highs_runner import run_highs
from optimizer.core.propagate import implied_integer_bounds

INF = np.inf


def _arrays(rows: list[tuple[dict[int, float], float, float]], lower, upper, integer) -> dict:
    """A model as ``model_arrays`` gives it, from rows (coefficients by column, lower, upper)."""
    start, index, value = [0], [], []
    for coefs, _, _ in rows:
        for col, coef in coefs.items():
            index.append(col)
            value.append(coef)
        start.append(len(index))
    return {"start": np.array(start, dtype=np.int32), "index": np.array(index, dtype=np.int32),
            "value": np.array(value, dtype=float), "row_lower": np.array([r[1] for r in rows], dtype=float),
            "row_upper": np.array([r[2] for r in rows], dtype=float), "lower": np.array(lower, dtype=float),
            "upper": np.array(upper, dtype=float), "integer": np.array(integer, dtype=bool)}


def test_an_item_that_cannot_be_afforded_after_what_must_be_bought_is_never_bought():
    # a (mandated) and b each cost 3 of a budget of 5, c costs 1: b cannot join a, so b is 0;
    # c still fits. The continuous money column m carries the budget from a second row.
    arrays = _arrays([({0: 1}, 1, INF),                      # a is mandated
                      ({0: 3, 1: 3, 2: 1, 3: -1}, -INF, 0),  # spend <= money
                      ({3: 1}, -INF, 5)],                     # money <= 5
                     lower=[0, 0, 0, 0], upper=[1, 1, 1, INF], integer=[True, True, True, False])
    lower, upper = implied_integer_bounds(arrays)
    assert lower.tolist()[:3] == [1, 0, 0] and upper.tolist()[:3] == [1, 0, 1]
    assert upper[3] == INF  # a continuous column keeps its bounds


def test_the_relaxation_the_planning_steps_read_is_as_tight_as_the_rows_imply():
    # max 10a + 6b with 5a + 3b <= 4: a cannot be afforded at all. The plain relaxation
    # buys b and a fifth of a (worth 8); the best plan buys b alone (6), and so does the
    # relaxation the planning steps read.
    prob = pulp.LpProblem("afford", pulp.LpMaximize)
    a, b = (prob.add_variable(name, 0, 1, pulp.LpBinary) for name in ("a", "b"))
    prob += 10 * a + 6 * b
    prob += 5 * a + 3 * b <= 4
    assert run_highs(prob, None, 0.0, 1, relax=True).dual_bound == pytest.approx(6.0)
    assert run_highs(prob, None, 0.0, 1).objective == pytest.approx(6.0)


def test_rows_that_cannot_all_hold_give_no_bounds():
    arrays = _arrays([({0: 1, 1: 1}, 3, INF)], lower=[0, 0], upper=[1, 1], integer=[True, True])
    assert implied_integer_bounds(arrays) is None


@st.composite
def integer_programs(draw):
    columns = draw(st.integers(2, 4))
    upper = [draw(st.integers(0, 2)) for _ in range(columns)]
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        coefs = {c: draw(st.sampled_from([-3, -2, -1, 1, 2, 3, 0.5, 2.5])) for c in range(columns)
                 if draw(st.booleans())}
        if not coefs:
            continue
        low = draw(st.sampled_from([-INF, -2, 0, 1, 2.5]))
        high = draw(st.sampled_from([INF, 0, 1, 2, 3.5, 5]))
        rows.append((coefs, low, max(low, high) if np.isfinite(low) else high))
    return rows, upper


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(integer_programs())
def test_the_implied_bounds_keep_every_point_that_keeps_every_row(program):
    # Brute force: every integer point that keeps every row lies within the implied bounds,
    # and rows said to be unsatisfiable have no such point.
    rows, upper = program
    if not rows:
        return
    columns = len(upper)
    arrays = _arrays(rows, [0] * columns, upper, [True] * columns)
    feasible = [point for point in itertools.product(*(range(u + 1) for u in upper))
                if all(low - 1e-9 <= sum(coef * point[c] for c, coef in coefs.items()) <= high + 1e-9
                       for coefs, low, high in rows)]
    implied = implied_integer_bounds(arrays)
    if implied is None:
        assert not feasible
        return
    lower, upper_implied = implied
    for point in feasible:
        assert np.all(lower <= np.array(point)) and np.all(np.array(point) <= upper_implied)


def test_the_suburban_plan_and_its_what_ifs_are_proven_without_the_full_solve(monkeypatch):
    # With the integer bounds the rows imply, the relaxation of the suburban example and of a
    # what-if (a fifth less capital) is within 0.1% of its best plan, so the plan read off it is
    # proven at the app's gap without branch and bound (the plain relaxation left 0.23% and
    # needed the full MIP every time).
    from optimizer import load_inputs
    from optimizer.core import run
    from optimizer.core.status import SolveOptions
    from optimizer.core.verify import verify
    from optimizer.defaults import DEFAULT_GAP
    from optimizer.paths import SCENARIOS_DIR

    monkeypatch.setattr(run, "solve_phases", lambda *a, **k: pytest.fail("the full MIP was run"))
    inputs = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    before = run.optimize(inputs, SolveOptions(gap=DEFAULT_GAP))
    data = inputs.scenario.model_dump()
    data["budget"]["capital"] = {year: round(0.8 * amount) for year, amount in data["budget"]["capital"].items()}
    smaller = type(inputs)(type(inputs.scenario).model_validate(data), inputs.catalog, inputs.path)
    after = run.optimize(smaller, SolveOptions(gap=DEFAULT_GAP), previous=before)
    for result in (before, after):
        assert result.report.gap <= DEFAULT_GAP and not verify(result.problem, result.plan)


def test_a_model_above_the_size_limit_and_the_sample_districts_keep_the_plain_relaxation(monkeypatch):
    # Above IMPLIED_BOUNDS_COLUMNS the relaxation is the plain one (re-solving one that size with the
    # decisions it can no longer buy a part of cost L more than it saved); sample districts' prices,
    # which stand in for a large district's relaxation, come from plain relaxations.
    from optimizer.core import propagate, sample

    prob = pulp.LpProblem("afford", pulp.LpMaximize)
    a, b = (prob.add_variable(name, 0, 1, pulp.LpBinary) for name in ("a", "b"))
    prob += 10 * a + 6 * b
    prob += 5 * a + 3 * b <= 4
    monkeypatch.setattr(propagate, "IMPLIED_BOUNDS_COLUMNS", 1)
    assert run_highs(prob, None, 0.0, 1, relax=True).dual_bound == pytest.approx(8.0)
    asked = []
    monkeypatch.setattr(sample, "run_highs", lambda *args, **kwargs: asked.append(kwargs) or run_highs(*args, **kwargs))
    from optimizer import load_inputs
    from optimizer.core.model import build_model
    from optimizer.core.problem import expand
    from optimizer.paths import SCENARIOS_DIR
    inputs = load_inputs(SCENARIOS_DIR / "rural.yaml")
    sample.sampled_prices(inputs, build_model(expand(inputs)), samples=1, sites=2)
    assert asked and all(kwargs.get("implied") is False for kwargs in asked)
