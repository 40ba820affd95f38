"""Property-based tests on random small instances: the optimal plan passes the verifier,
keeps every budget and cap, equals brute-force enumeration, and is never below the greedy
baseline."""
from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.greedy import greedy_plan
from optimizer.core.model import build_model
from optimizer.core.plan import make_plan
from optimizer.core.solve import check, fund_grants_first, read_plan, solve_model
from optimizer.core.status import SolveOptions, Status
from optimizer.core.verify import plan_objective, verify
from tests.builders import m, problem, program, site

COMPONENTS = ["access_control", "video", "communication"]


@st.composite
def instances(draw, grants: bool):
    n = draw(st.integers(2, 4))
    measures, grouped = [], set()
    for i in range(n):
        cost = draw(st.integers(1, 20)) * 50
        prereq = draw(st.sampled_from([""] + [f"m{j}" for j in range(i) if j not in grouped]))
        group = "" if prereq else draw(st.sampled_from(["", "", "g"]))
        if group:
            grouped.add(i)
        measures.append(m(
            f"m{i}", component=draw(st.sampled_from(COMPONENTS)), tier=1,
            capital_low=cost, capital_typical=cost, capital_high=cost,
            annual_cost=draw(st.sampled_from([0, 0, 10, 40])),
            effectiveness=draw(st.sampled_from([0.1, 0.3, 0.5, 0.8, 1.0])),
            prerequisites=prereq,
            alternative_group=group,
        ))
    years = draw(st.integers(1, 2))
    sites = [site("A", risk_weight=draw(st.sampled_from([1, 2])))]
    if (years + 1) ** (2 * n) <= 243 and draw(st.booleans()):
        sites.append(site("B", risk_weight=1))
    kwargs = dict(sites=sites, horizon={"start": 2027, "years": years},
                  budget={"capital": draw(st.integers(0, 30)) * 50, "operating": draw(st.integers(0, 4)) * 25,
                          "carry_over": draw(st.booleans())},
                  policy={"tier_order": "off"})
    if grants:
        limits = [{"id": "cap-m0", "share": draw(st.sampled_from([0.25, 0.5])), "measures": ["m0"],
                   "reason": "at most a share on m0", "citation": "test", "year": 2024, "basis": "primary"}]
        kwargs["programs"] = [program("fed", match_rate=draw(st.sampled_from([0.0, 0.25])),
                                      recurring_costs_allowed=draw(st.booleans()),
                                      limits=limits if draw(st.booleans()) else [])]
        source = {"program": "fed", "amount": draw(st.integers(0, 20)) * 50}
        if len(sites) > 1 and draw(st.booleans()):
            source["sites"] = ["A"]
        kwargs["funding_sources"] = {"g": source}
    return measures, kwargs


def solved_case(tmp_path, case):
    """Write the drawn instance, solve it, and check the plan is valid."""
    measures, kwargs = case
    p = problem(tmp_path, measures, **kwargs)
    result = optimal(p)
    assert result.valid, result.violations
    return p, result


#: HiGHS settings of an exact optimum: at its defaults (absolute gap and MIP feasibility tolerance
#: 1e-6) a drawn case stopped 7.6e-7 below the greedy plan, and with only the absolute gap at 0 too;
#: with both it finds the better plan (tests/data/greedy_near_tie.json).
EXACT = {"mip_abs_gap": 0.0, "mip_feasibility_tolerance": 1e-9}


def optimal(p):
    model = build_model(p)
    report = solve_model(model, SolveOptions(gap=1e-9), settings=EXACT)
    assert report.status == Status.OPTIMAL
    return check(model, read_plan(model))


def net_value(p, plan) -> float:
    """What the optimizer maximises, over nothing bought (``verify.plan_objective``)."""
    return plan_objective(p, plan)


def brute_force_value(p) -> float:
    """Best net value over every assignment of candidates to (not bought, year 1, year 2, ...),
    each checked by the verifier with the district paying everything itself."""
    n = len(p.candidates)
    best = 0.0
    for choice in itertools.product([None, *p.years], repeat=n):
        installs = {c: y for c, y in enumerate(choice) if y is not None}
        plan = make_plan(p, installs, {}, {})
        if not verify(p, plan):
            best = max(best, net_value(p, plan))
    return best


def brute_force_with_grants(p) -> float:
    """Best net value over every assignment of candidates to years, each paid grants first by the
    model's funding stage and checked by the verifier."""
    model = build_model(p)
    best = 0.0
    for choice in itertools.product([None, *p.years], repeat=len(p.candidates)):
        installs = {c: y for c, y in enumerate(choice) if y is not None}
        plan = fund_grants_first(model, installs)
        if plan is not None and not verify(p, plan):
            best = max(best, net_value(p, plan))
    return best


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(instances(grants=False))
def test_optimum_equals_brute_force(tmp_path, case):
    p, result = solved_case(tmp_path, case)
    assert net_value(p, result.plan) == pytest.approx(brute_force_value(p), rel=1e-7, abs=1e-7)


@SETTINGS
@given(instances(grants=True))
def test_plan_is_verified_and_never_below_greedy(tmp_path, case):
    p, result = solved_case(tmp_path, case)
    f = result.plan.funding
    local = f[f["source"] == "local"]
    for t in p.years:
        assert local.query("kind == 'capital' and year <= @t")["amount"].sum() <= sum(
            v for y, v in p.capital_budget.items() if y <= t) + 1
        assert local.query("kind == 'annual' and year == @t")["amount"].sum() <= p.operating_budget[t] + 1
    for src in p.sources:
        assert f[f["source"] == src.id]["amount"].sum() <= src.amount + 1
    greedy = greedy_plan(p)
    if not verify(p, greedy):
        assert net_value(p, result.plan) >= net_value(p, greedy) - 1e-7


@SETTINGS
@given(instances(grants=True))
def test_optimum_with_grant_rules_equals_brute_force(tmp_path, case):
    # Program limits, award sites, match and recurring-cost rules: the optimizer's plan is
    # as good as the best of every possible plan, each paid grants first and verified.
    p, result = solved_case(tmp_path, case)
    assert net_value(p, result.plan) == pytest.approx(brute_force_with_grants(p), rel=1e-7, abs=1e-7)


@SETTINGS
@given(instances(grants=True))
def test_plan_read_off_the_relaxation_is_verified_and_its_gap_is_never_too_small(tmp_path, case):
    # The LP-guided start (relaxation, then the small MIP of what it leaves open, widened to
    # whole measures on a near miss, and here also widened whenever it misses; and with known
    # plans, cut back to what fits and kept when that is better): its plan
    # keeps every rule, its bound is a true bound, and the gap it reports is never smaller
    # than its true distance to the brute-force optimum; solved through the planning call at
    # a loose gap, the plan it hands back says the same.
    from unittest import mock

    from optimizer.core import guided as guided_mod
    from optimizer.core.run import solve_and_check

    measures, kwargs = case
    p = problem(tmp_path, measures, **kwargs)
    best_gain = brute_force_with_grants(p)
    # the model's objective carries tie-breaks worth less than 0.1% of the smallest step
    slack = 1e-3 * abs(best_gain) + 1e-6
    # known plans: the greedy plan, and the greedy plan of twice the capital (often too dear here)
    richer = problem(tmp_path / "richer", measures,
                     **{**kwargs, "budget": {**kwargs["budget"], "capital": 2 * kwargs["budget"]["capital"] + 100}})
    known = [greedy_plan(p), make_plan(p, greedy_plan(richer).installs, {}, {})]
    for near_miss, start in ((guided_mod.NEAR_MISS, []), (math.inf, []), (guided_mod.NEAR_MISS, known)):
        model = build_model(p)
        with mock.patch.object(guided_mod, "NEAR_MISS", near_miss):
            guided = guided_mod.lp_guided(model, SolveOptions(), start)
        assert guided is not None and guided.bound >= best_gain - slack
        if guided.plan is not None:  # the small MIP can be infeasible: then the full solve starts without it
            paid = fund_grants_first(model, guided.plan.installs)  # as every plan is paid before it is shown
            assert paid is not None and not verify(p, paid)
            gain = net_value(p, paid)
            assert gain <= best_gain + 1e-7
            assert guided.gap * max(abs(guided.objective), 1e-9) >= best_gain - gain - slack
    for gap in (0.5, 1e-6):  # proven by the first step, or through the per-school bound and the full solve
        result = solve_and_check(build_model(p), None, SolveOptions(gap=gap))
        assert not verify(p, result.plan)
        assert result.report.gap * max(abs(result.report.objective), 1e-9) >= (
            best_gain - net_value(p, result.plan) - slack)


def _with_prices(tmp_path, case, noise):
    """A random instance with grants, its model and LP relaxation, the brute-force best gain
    with the slack of the objective's tie-breaks, and the relaxation's prices moved by
    ``noise``; None when the relaxation is infeasible."""
    from optimizer.core.highs_runner import run_highs

    measures, kwargs = case
    p = problem(tmp_path, measures, **kwargs)
    model = build_model(p)
    lp = run_highs(model.prob, None, 0.0, None, relax=True)
    if lp.row_dual is None:
        return None
    best_gain = brute_force_with_grants(p)
    slack = 1e-3 * abs(best_gain) + 1e-6  # the tie-break terms of the model's objective
    return p, model, lp, best_gain, slack, lp.row_dual + np.resize(np.array(noise), len(lp.row_dual))


@SETTINGS
@given(instances(grants=True), st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=8))
def test_the_school_bound_is_never_below_the_best_plan_whatever_the_prices(tmp_path, case, noise):
    # The per-school (Lagrangian) bound: with the relaxation's prices it is never above the
    # relaxation's bound and never below the brute-force optimum; with any other prices on
    # the shared rows (here the relaxation's, moved at random, either sign) it is still
    # never below the optimum (or there is none: a school's problem can be unbounded at
    # prices far from the relaxation's).
    from optimizer.core.decompose import school_bound

    priced = _with_prices(tmp_path, case, noise)
    if priced is None:  # an infeasible relaxation: nothing to bound
        return
    _p, model, lp, best_gain, slack, moved = priced
    at_lp = school_bound(model, lp.row_dual)
    # the relaxation's prices are exact only to HiGHS's dual tolerance (1e-7 a price), which the
    # bound carries over every row: 1e-5 of the bound (a seen case: 1.8e-6 of it above)
    assert at_lp.bound is not None and best_gain - slack <= at_lp.bound <= lp.dual_bound * (1 + 1e-5) + 1e-6
    elsewhere = school_bound(model, moved)  # None: at these prices a block is unbounded, so no finite bound
    assert elsewhere.bound is None or elsewhere.bound >= best_gain - slack


@SETTINGS
@given(instances(grants=True), st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=8))
def test_a_plan_put_together_one_school_at_a_time_keeps_every_rule_and_its_gap_is_never_too_small(
        tmp_path, case, noise):
    # The large-district path at any prices (the relaxation's, moved at random, as sample
    # districts' prices would be): the plan from the schools' own choices and their parts of
    # the greedy plan keeps every rule, is never worth less than the greedy plan, and the
    # gap it reports is never smaller than its true distance to the brute-force optimum.
    from optimizer.core.run import solve_and_check
    from optimizer.core.sample import SamplePrices

    priced = _with_prices(tmp_path, case, noise)
    if priced is None:  # an infeasible relaxation: nothing to plan
        return
    p, _model, lp, best_gain, slack, moved = priced
    greedy = greedy_plan(p)
    for prices in (lp.row_dual, moved):
        result = solve_and_check(build_model(p), [greedy], SolveOptions(gap=1e-6),
                                 prices=SamplePrices(prices, 1, 1, 0.0))
        assert result.plan is not None and not verify(p, result.plan)
        gain = net_value(p, result.plan)
        assert gain >= net_value(p, greedy) - 1e-7
        report = result.report
        if report.gap is not None:  # relative to the plan's objective, or to the bound for the greedy plan
            assert report.dual_bound >= best_gain - slack
            assert report.gap * max(abs(report.objective), abs(report.dual_bound), 1e-9) >= best_gain - gain - slack


def test_an_exact_optimum_is_not_below_the_greedy_plan_at_a_near_tie(tmp_path):
    # drawn by test_plan_is_verified_and_never_below_greedy: at HiGHS's default tolerances the
    # solve stopped at a plan 7.6e-7 below the greedy plan (m0 put off a year, m2 brought forward)
    case = json.loads((Path(__file__).parent / "data" / "greedy_near_tie.json").read_text())
    p, result = solved_case(tmp_path, (case["measures"], case["scenario"]))
    greedy = greedy_plan(p)
    assert not verify(p, greedy)
    assert net_value(p, result.plan) >= net_value(p, greedy) - 1e-9
    assert result.plan.installs == greedy.installs
